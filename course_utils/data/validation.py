"""Data validation: check a :class:`~course_utils.data.dataset.Dataset` before anything trains on it.

:func:`validate_dataset` runs a list of named checks (schema, dtypes, duplicates, value
ranges, timestamps, orphan ids, catalogue gaps) and returns a :class:`ValidationReport`
that renders as a small table (``str`` and ``_repr_html_``): check, status, count,
example. Each check has a severity: ``FAIL`` means the data breaks a contract (a
pipeline should stop), ``WARN`` means it is suspicious but usable. A check whose columns
are missing is reported as ``SKIP`` instead of crashing.

:func:`corrupt_copy` makes a deliberately broken copy of a dataset, to see what the
validator catches (used in the course notebook and the tests).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.data.dataset import Dataset

__all__ = [
    "CheckResult",
    "DataValidationError",
    "ValidationReport",
    "validate_dataset",
    "corrupt_copy",
    "RATING_SCALES",
    "EARLIEST",
]

RATING_SCALES = {"movielens": (0.5, 5.0), "synthetic": (1.0, 5.0)}
"""Allowed rating range per dataset; ratings are multiples of 0.5 on both."""

EARLIEST = {"movielens": pd.Timestamp("1995-01-01", tz="UTC")}
"""No event may be older than this (MovieLens opened in 1997; its log starts in 1996)."""

_SYNTHETIC_START = pd.Timestamp("2024-01-01", tz="UTC")  # make_synthetic's default start

INTERACTION_DTYPES = {S.USER_ID: "integer", S.ITEM_ID: "integer", S.RATING: "float",
                      S.TIMESTAMP: "UTC datetime", S.WATCH_PCT: "float", S.COMPLETED: "bool"}  # fmt: skip
ITEM_DTYPES = {S.ITEM_ID: "integer", S.TITLE: "string", S.YEAR: "integer",
               S.GENRES: "list", S.TAGS: "list"}  # fmt: skip
REQUIRED = {
    "interactions": (S.USER_ID, S.ITEM_ID, S.RATING, S.TIMESTAMP),
    "items": (S.ITEM_ID, S.TITLE, S.YEAR, S.GENRES, S.TAGS),
}
SYNTHETIC_REQUIRED = (S.WATCH_PCT, S.COMPLETED)

_STATUS_ORDER = {"FAIL": 0, "WARN": 1, "SKIP": 2, "OK": 3}
_STATUS_COLOUR = {"OK": "#1a7f37", "WARN": "#9a6700", "FAIL": "#cf222e", "SKIP": "#57606a"}


class DataValidationError(ValueError):
    """Raised by :meth:`ValidationReport.raise_if_failed` when a FAIL check fired."""


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check: ``status`` is ``"OK"``, ``"WARN"``, ``"FAIL"`` or ``"SKIP"``."""

    name: str
    status: str
    count: int
    example: str = ""


@dataclass
class ValidationReport:
    """All check results for one dataset; renders as a table in text and HTML.

    Attributes
    ----------
    dataset : str
        Name of the validated dataset.
    checks : list of CheckResult
        In the order they ran.
    """

    dataset: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return not any(c.status == "FAIL" for c in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "FAIL"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "WARN"]

    def to_frame(self) -> pd.DataFrame:
        """One row per check: ``check``, ``status``, ``count``, ``example``."""
        return pd.DataFrame(
            [(c.name, c.status, c.count, c.example) for c in self.checks],
            columns=["check", "status", "count", "example"],
        )

    def summary(self) -> str:
        n = {s: sum(c.status == s for c in self.checks) for s in _STATUS_ORDER}
        verdict = "PASSED" if self.ok else "FAILED"
        return (
            f"Validation of {self.dataset!r}: {verdict} "
            f"({len(self.checks)} checks: {n['OK']} ok, {n['WARN']} warn, "
            f"{n['FAIL']} fail, {n['SKIP']} skipped)"
        )

    def raise_if_failed(self) -> None:
        """Raise :class:`DataValidationError` listing the failed checks (pipeline gate)."""
        if not self.ok:
            names = "; ".join(f"{c.name} ({c.count:,})" for c in self.failed)
            raise DataValidationError(f"{self.dataset}: {len(self.failed)} checks failed: {names}")

    def __str__(self) -> str:
        frame = self.to_frame()
        frame["count"] = frame["count"].map("{:,}".format)
        widths = {c: max(len(c), frame[c].str.len().max()) for c in frame.columns}
        widths["example"] = min(widths["example"], 90)

        def line(values) -> str:
            cells = [
                str(v)[: widths[c]].ljust(widths[c])
                for c, v in zip(frame.columns, values, strict=True)
            ]
            cells[2] = str(values[2]).rjust(widths["count"])
            return "  ".join(cells).rstrip()

        rows = [line(frame.columns), line(["-" * widths[c] for c in frame.columns])]
        rows += [line(r) for r in frame.itertuples(index=False)]  # a dozen checks, not data
        return self.summary() + "\n" + "\n".join(rows)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        cells = []
        for c in self.checks:
            colour = _STATUS_COLOUR[c.status]
            cells.append(
                f"<tr><td style='text-align:left'>{html.escape(c.name)}</td>"
                f"<td style='color:{colour};font-weight:bold'>{c.status}</td>"
                f"<td style='text-align:right'>{c.count:,}</td>"
                f"<td style='text-align:left'>{html.escape(c.example)}</td></tr>"
            )
        return (
            f"<p><b>{html.escape(self.summary())}</b></p>"
            "<table><thead><tr><th style='text-align:left'>check</th><th>status</th>"
            "<th>count</th><th style='text-align:left'>example</th></tr></thead>"
            f"<tbody>{''.join(cells)}</tbody></table>"
        )


# --------------------------------------------------------------------------- helpers
def _kind_ok(series: pd.Series, kind: str) -> bool:
    dtype = series.dtype
    if kind == "integer":
        return pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if kind == "float":
        return pd.api.types.is_float_dtype(dtype)
    if kind == "bool":
        return pd.api.types.is_bool_dtype(dtype)
    if kind == "UTC datetime":
        return isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC"
    if kind == "string":
        return pd.api.types.is_string_dtype(dtype)
    if kind == "list":
        return bool(series.map(lambda v: isinstance(v, list)).all())  # object column of lists
    raise ValueError(f"unknown kind {kind!r}")


def _format(value) -> str:
    if isinstance(value, pd.Timestamp):
        return "NaT" if pd.isna(value) else f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _row_example(frame: pd.DataFrame, mask, columns) -> str:
    """'user_id=1, item_id=5, ...' for the first row where ``mask`` is True."""
    hits = np.flatnonzero(np.asarray(mask, dtype=bool))
    if hits.size == 0:
        return ""
    return ", ".join(f"{c}={_format(frame[c].iloc[hits[0]])}" for c in columns)


class _Checks:
    """Collects results; each ``add`` turns a count into OK or the check's severity."""

    def __init__(self) -> None:
        self.results: list[CheckResult] = []

    def add(self, name: str, count: int, example: str = "", severity: str = "FAIL") -> None:
        status = "OK" if count == 0 else severity
        self.results.append(CheckResult(name, status, int(count), example if count else ""))

    def skip(self, name: str, why: str) -> None:
        self.results.append(CheckResult(name, "SKIP", 0, why))

    def guarded(self, name: str, frame: pd.DataFrame, columns, fn: Callable[[], None]) -> None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            self.skip(name, f"needs column(s) {missing}")
        else:
            fn()


# --------------------------------------------------------------------------- main entry
def validate_dataset(
    ds: Dataset,
    *,
    rating_scale: tuple[float, float] | None = None,
    start=None,
    now=None,
) -> ValidationReport:
    """Run every data check on a dataset and return a readable report.

    Checks: required columns; dtypes; missing ids; duplicate events (same user, item and
    timestamp); duplicate catalogue ids; ratings within the scale and on the 0.5 grid;
    MovieLens rows without a rating; ``watch_pct`` within 0-100 and ``completed`` agreeing
    with it; missing timestamps (NaT), timestamps in the future or before the dataset's
    start; events before the title's release (synthetic) or rated before the release
    year (MovieLens, a warning); interactions with unknown items or users; titles without
    a year and without genres (warnings).

    Parameters
    ----------
    ds : Dataset
        ``ds.name`` selects the defaults (``"movielens"`` or ``"synthetic"``).
    rating_scale : (low, high), optional
        Defaults to :data:`RATING_SCALES` for the dataset (0.5-5 when unknown).
    start : timestamp, optional
        Earliest plausible event: 1995-01-01 for MovieLens, 2024-01-01 (the generator's
        default start) for synthetic data; pass it when you generated another period.
    now : timestamp, optional
        Events after ``now`` are "in the future"; defaults to the current UTC time.

    Returns
    -------
    ValidationReport
        ``report.ok`` is False when any FAIL check fired; ``report.raise_if_failed()``
        turns that into an exception for use as a pipeline gate.

    Examples
    --------
    >>> from course_utils.data.synthetic import make_synthetic
    >>> ds = make_synthetic(n_users=100, n_items=50, n_interactions=1000, random_state=0)
    >>> report = validate_dataset(ds)
    >>> report.ok
    True
    >>> report.to_frame().columns.tolist()
    ['check', 'status', 'count', 'example']
    """
    if not isinstance(ds, Dataset):
        raise TypeError(f"ds must be a course_utils Dataset; got {type(ds).__name__}")
    inter, items = ds.interactions, ds.items
    low, high = rating_scale or RATING_SCALES.get(ds.name, (0.5, 5.0))
    if not low < high:
        raise ValueError(f"rating_scale must be (low, high) with low < high; got {rating_scale}")
    default_start = EARLIEST.get(ds.name, _SYNTHETIC_START if ds.name == "synthetic" else None)
    start = pd.Timestamp(start, tz="UTC") if start is not None else default_start
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    now = now.tz_localize("UTC") if now.tzinfo is None else now
    synthetic = ds.name == "synthetic"
    checks = _Checks()

    # ---- schema and dtypes
    required = {
        "interactions": REQUIRED["interactions"] + (SYNTHETIC_REQUIRED if synthetic else ())
    }
    required["items"] = REQUIRED["items"]
    missing = [
        f"{table}.{col}"
        for table, frame in (("interactions", inter), ("items", items))
        for col in required[table]
        if col not in frame.columns
    ]
    checks.add("schema: required columns present", len(missing), ", ".join(missing))
    wrong = [
        f"{table}.{col} is {frame[col].dtype} (expected {kind})"
        for table, frame, spec in (("interactions", inter, INTERACTION_DTYPES), ("items", items, ITEM_DTYPES))
        for col, kind in spec.items()
        if col in frame.columns and not _kind_ok(frame[col], kind)
    ]  # fmt: skip
    checks.add("dtypes: columns have the expected types", len(wrong), "; ".join(wrong))

    # ---- ids and duplicates
    def missing_ids() -> None:
        mask = inter[[S.USER_ID, S.ITEM_ID]].isna().any(axis=1)
        checks.add("ids: user_id / item_id present", int(mask.sum()),
                   _row_example(inter, mask, [S.USER_ID, S.ITEM_ID]))  # fmt: skip

    checks.guarded("ids: user_id / item_id present", inter, [S.USER_ID, S.ITEM_ID], missing_ids)

    def duplicate_events() -> None:
        mask = inter.duplicated([S.USER_ID, S.ITEM_ID, S.TIMESTAMP], keep="first")
        checks.add("duplicates: (user, item, timestamp) events", int(mask.sum()),
                   _row_example(inter, mask, [S.USER_ID, S.ITEM_ID, S.TIMESTAMP]))  # fmt: skip

    checks.guarded(
        "duplicates: (user, item, timestamp) events", inter,
        [S.USER_ID, S.ITEM_ID, S.TIMESTAMP], duplicate_events,
    )  # fmt: skip

    def duplicate_items() -> None:
        mask = items.duplicated(S.ITEM_ID, keep="first")
        checks.add("duplicates: item ids in the catalogue", int(mask.sum()),
                   _row_example(items, mask, [S.ITEM_ID]))  # fmt: skip

    checks.guarded("duplicates: item ids in the catalogue", items, [S.ITEM_ID], duplicate_items)

    # ---- value ranges
    def rating_range() -> None:
        r = pd.to_numeric(inter[S.RATING], errors="coerce")
        bad = r.notna() & ((r < low) | (r > high) | ((r * 2) % 1 != 0))
        checks.add(f"ratings: within {low:g}-{high:g} in steps of 0.5", int(bad.sum()),
                   _row_example(inter, bad, [S.USER_ID, S.ITEM_ID, S.RATING]))  # fmt: skip

    checks.guarded(
        "ratings: within the scale", inter, [S.RATING, S.USER_ID, S.ITEM_ID], rating_range
    )

    if ds.name == "movielens":

        def rating_missing() -> None:
            mask = inter[S.RATING].isna()
            checks.add("ratings: present (MovieLens rates every row)", int(mask.sum()),
                       _row_example(inter, mask, [S.USER_ID, S.ITEM_ID]))  # fmt: skip

        checks.guarded("ratings: present", inter, [S.RATING, S.USER_ID, S.ITEM_ID], rating_missing)

    if S.WATCH_PCT in inter.columns or synthetic:

        def watch_range() -> None:
            w = pd.to_numeric(inter[S.WATCH_PCT], errors="coerce")
            bad = w.isna() | (w < 0) | (w > 100)
            checks.add("watch_pct: present and within 0-100", int(bad.sum()),
                       _row_example(inter, bad, [S.USER_ID, S.ITEM_ID, S.WATCH_PCT]))  # fmt: skip

        checks.guarded("watch_pct: within 0-100", inter, [S.WATCH_PCT], watch_range)

        def completed_consistent() -> None:
            w = pd.to_numeric(inter[S.WATCH_PCT], errors="coerce")
            bad = inter[S.COMPLETED].astype(bool) != (w >= 90)
            checks.add("completed: equals watch_pct >= 90", int(bad.sum()),
                       _row_example(inter, bad, [S.USER_ID, S.ITEM_ID, S.WATCH_PCT, S.COMPLETED]))  # fmt: skip

        checks.guarded("completed: equals watch_pct >= 90", inter, [S.WATCH_PCT, S.COMPLETED],
                       completed_consistent)  # fmt: skip

    # ---- timestamps
    def timestamps() -> None:
        ts = inter[S.TIMESTAMP]
        if not isinstance(ts.dtype, pd.DatetimeTZDtype):
            for name in ("timestamps: present (no NaT)", "timestamps: not in the future"):
                checks.skip(name, f"timestamp is {ts.dtype}, not a UTC datetime")
            return
        cols = [S.USER_ID, S.ITEM_ID, S.TIMESTAMP]
        nat = ts.isna()
        checks.add(
            "timestamps: present (no NaT)", int(nat.sum()), _row_example(inter, nat, cols[:2])
        )
        future = ts > now
        checks.add(
            "timestamps: not in the future", int(future.sum()), _row_example(inter, future, cols)
        )
        if start is not None:
            early = ts < start
            checks.add(f"timestamps: not before {start:%Y-%m-%d}", int(early.sum()),
                       _row_example(inter, early, cols))  # fmt: skip

    checks.guarded("timestamps", inter, [S.USER_ID, S.ITEM_ID, S.TIMESTAMP], timestamps)

    def before_release() -> None:
        ts = inter[S.TIMESTAMP]
        catalogue = items.drop_duplicates(S.ITEM_ID).set_index(S.ITEM_ID)
        if S.RELEASE_DATE in items.columns:
            release = inter[S.ITEM_ID].map(catalogue[S.RELEASE_DATE])
            bad = (ts < release).to_numpy(dtype=bool)  # NaT compares False
            name, severity = "timestamps: not before the title's release date", "FAIL"
        else:
            release = inter[S.ITEM_ID].map(catalogue[S.YEAR]).astype("Float64")
            bad = (ts.dt.year < release).fillna(False).to_numpy(dtype=bool)
            name, severity = "timestamps: not before the title's release year", "WARN"
        cols = [S.USER_ID, S.ITEM_ID, S.TIMESTAMP, "release"]
        example = _row_example(inter.assign(release=release), bad, cols)
        checks.add(name, int(bad.sum()), example, severity)

    has_release = S.RELEASE_DATE in items.columns or S.YEAR in items.columns
    if has_release and isinstance(inter.get(S.TIMESTAMP, pd.Series()).dtype, pd.DatetimeTZDtype):
        checks.guarded("timestamps: not before release", inter, [S.USER_ID, S.ITEM_ID],
                       before_release)  # fmt: skip

    # ---- referential integrity
    def orphan_items() -> None:
        mask = ~inter[S.ITEM_ID].isin(items[S.ITEM_ID])
        checks.add("orphans: interactions with unknown item_id", int(mask.sum()),
                   _row_example(inter, mask, [S.USER_ID, S.ITEM_ID]))  # fmt: skip

    checks.guarded("orphans: unknown item_id", inter, [S.USER_ID, S.ITEM_ID], orphan_items)
    if ds.users is not None:

        def orphan_users() -> None:
            mask = ~inter[S.USER_ID].isin(ds.users[S.USER_ID])
            checks.add("orphans: interactions with unknown user_id", int(mask.sum()),
                       _row_example(inter, mask, [S.USER_ID, S.ITEM_ID]))  # fmt: skip

        checks.guarded("orphans: unknown user_id", inter, [S.USER_ID, S.ITEM_ID], orphan_users)

    # ---- catalogue quality (warnings)
    def no_year() -> None:
        mask = items[S.YEAR].isna()
        checks.add("catalogue: titles with a year", int(mask.sum()),
                   _row_example(items, mask, [S.ITEM_ID, S.TITLE]), "WARN")  # fmt: skip

    checks.guarded("catalogue: titles with a year", items, [S.ITEM_ID, S.TITLE, S.YEAR], no_year)

    def no_genres() -> None:
        mask = ~items[S.GENRES].map(lambda g: isinstance(g, list) and len(g) > 0)
        checks.add("catalogue: titles with genres", int(mask.sum()),
                   _row_example(items, mask, [S.ITEM_ID, S.TITLE]), "WARN")  # fmt: skip

    checks.guarded(
        "catalogue: titles with genres", items, [S.ITEM_ID, S.TITLE, S.GENRES], no_genres
    )
    return ValidationReport(ds.name, checks.results)


# --------------------------------------------------------------------------- corruption
def corrupt_copy(ds: Dataset, *, random_state: int = 0) -> Dataset:
    """A copy of ``ds`` with typical production defects injected (the original is untouched).

    Defects: 50 duplicated events (a retried upload), 3 ratings off the scale
    (7.0, -1.0 and 3.7), 2 timestamps in the future (year 2100, a clock bug), 2 NaT
    timestamps (a failed parse), 1 event from 1970 (an epoch-0 default), 5 events for an
    item id missing from the catalogue (a title deleted upstream), 1 title whose year was
    lost, and on data with ``watch_pct`` 2 values above 100.

    Examples
    --------
    >>> from course_utils.data.synthetic import make_synthetic
    >>> ds = make_synthetic(n_users=100, n_items=50, n_interactions=1000, random_state=0)
    >>> validate_dataset(corrupt_copy(ds)).ok
    False
    """
    if len(ds.interactions) < 65:
        raise ValueError(f"ds needs >= 65 interactions to corrupt; got {len(ds.interactions)}")
    rng = np.random.default_rng(random_state)
    inter = ds.interactions.copy()
    items = ds.items.copy()
    perm = rng.permutation(len(inter))
    rows, copies = perm[:15], perm[15:65]  # rows to damage; disjoint rows to duplicate
    inter = pd.concat([inter, inter.iloc[copies]]).reset_index(drop=True)
    col = inter.columns.get_loc
    inter.iloc[rows[:3], col(S.RATING)] = [7.0, -1.0, 3.7]
    inter.iloc[rows[3:5], col(S.TIMESTAMP)] = pd.Timestamp("2100-01-01", tz="UTC")
    inter.iloc[rows[5:7], col(S.TIMESTAMP)] = pd.NaT
    inter.iloc[rows[7], col(S.TIMESTAMP)] = pd.Timestamp("1970-01-01", tz="UTC")
    inter.iloc[rows[8:13], col(S.ITEM_ID)] = int(items[S.ITEM_ID].max()) + 1
    if S.WATCH_PCT in inter.columns:
        inter.iloc[rows[13:15], col(S.WATCH_PCT)] = [130.0, 250.0]
    with_year = np.flatnonzero(items[S.YEAR].notna().to_numpy())
    items.iloc[with_year[rng.integers(len(with_year))], items.columns.get_loc(S.YEAR)] = pd.NA
    return Dataset(ds.name, inter, items, users=ds.users, links=ds.links)
