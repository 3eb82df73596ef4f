"""Step 7, monitoring: drift statistics between a reference and a current sample.

``psi`` (numeric, quantile bins from the reference) and ``psi_categorical``, the
Kolmogorov-Smirnov test ``ks_test``, the chi-squared test ``chi2_test_categorical`` and
``drift_report``, which runs the right test per column of two frames.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import scipy.stats

__all__ = [
    "Chi2Result",
    "KSResult",
    "PSI_MODERATE",
    "PSI_SIGNIFICANT",
    "chi2_test_categorical",
    "drift_report",
    "ks_test",
    "psi",
    "psi_categorical",
]


# Population Stability Index conventions from credit-risk scorecard monitoring
# (Siddiqi, "Credit Risk Scorecards", 2006): < 0.1 no real change, 0.1-0.2 moderate shift
# worth a look, > 0.2 significant shift (investigate / retrain).
PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.2
# ---------------------------------------------------------------------------------------
# 3. Drift statistics
# ---------------------------------------------------------------------------------------


def _finite_1d(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be numeric; got values like {np.asarray(values).ravel()[:3]}"
        ) from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf; drop or impute them first")
    return arr


def _quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges at the reference's interior quantiles (ties merged).

    The outer bins are open, (-inf, e_1) and [e_last, inf), so current values outside
    the reference range still land in a bin.
    """
    return np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))


def _psi_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float) -> np.ndarray:
    """PSI = sum_b (q_b - p_b) ln(q_b / p_b); proportions clipped at eps (empty bins).

    ``cur_counts`` is (n_windows, n_bins); rows without observations give NaN. Every term
    is >= 0 because (q - p) and ln(q / p) share their sign.
    """
    p = np.maximum(ref_counts / ref_counts.sum(), eps)
    totals = cur_counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.maximum(cur_counts / totals, eps)
        return np.where(totals[:, 0] > 0, ((q - p) * np.log(q / p)).sum(axis=1), np.nan)


def psi(reference: Any, current: Any, *, bins: int = 10, eps: float = 1e-4) -> float:
    """Population Stability Index of a numeric feature, bins at reference quantiles.

    Reading (credit-risk convention): < 0.1 stable, 0.1-0.2 moderate shift, > 0.2
    significant shift.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.normal(size=10_000)
    >>> round(psi(ref, ref), 6)
    0.0
    >>> psi(ref, rng.normal(0.5, 1, 10_000)) > PSI_SIGNIFICANT
    True
    """
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be an int >= 1; got {bins!r}")
    if not 0 < eps < 1:
        raise ValueError(f"eps must be in (0, 1); got {eps}")
    ref = _finite_1d(reference, "reference")
    cur = _finite_1d(current, "current")
    edges = _quantile_edges(ref, bins)
    n_bins = len(edges) + 1
    ref_counts = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=n_bins)
    cur_counts = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=n_bins)
    return float(_psi_from_counts(ref_counts, cur_counts[None, :], eps)[0])


def _category_counts(reference: Any, current: Any, counts: bool) -> pd.DataFrame:
    """Two-column table (reference, current) of counts over the union of categories."""

    def one(x: Any, name: str) -> pd.Series:
        if counts:
            if not isinstance(x, (Mapping, pd.Series)):
                raise TypeError(f"with counts=True, {name} must be a mapping category -> count")
            s = pd.Series(x, dtype=float)
            if (s < 0).any() or not np.isfinite(s).all():
                raise ValueError(f"{name} counts must be finite and >= 0")
        else:
            try:
                s = pd.Series(np.asarray(x, dtype=object).ravel()).value_counts()
            except TypeError as e:
                raise TypeError(f"{name} values must be hashable categories: {e}") from None
        if s.sum() <= 0:
            raise ValueError(f"{name} has no observations")
        return s

    table = pd.concat([one(reference, "reference"), one(current, "current")], axis=1).fillna(0)
    table.columns = ["reference", "current"]
    return table[table.sum(axis=1) > 0]


def psi_categorical(
    reference: Any, current: Any, *, counts: bool = False, eps: float = 1e-4
) -> float:
    """PSI of a categorical feature (one bin per category of either sample).

    Pass raw values, or ``counts=True`` with mappings / Series category -> count.

    Examples
    --------
    >>> psi_categorical(["a", "a", "b"], ["a", "b", "b"]) > 0
    True
    >>> psi_categorical({"a": 2, "b": 1}, {"a": 20, "b": 10}, counts=True)
    0.0
    """
    if not 0 < eps < 1:
        raise ValueError(f"eps must be in (0, 1); got {eps}")
    table = _category_counts(reference, current, counts).to_numpy()
    return float(_psi_from_counts(table[:, 0], table[None, :, 1], eps)[0])


class KSResult(NamedTuple):
    """Two-sample KS test: D = max |F_ref - F_cur| and its p-value."""

    statistic: float
    pvalue: float


class Chi2Result(NamedTuple):
    """Pearson chi-square homogeneity test: statistic, p-value, degrees of freedom."""

    statistic: float
    pvalue: float
    dof: int


def ks_test(
    reference: Any, current: Any, *, method: Literal["auto", "asymp", "exact"] = "auto"
) -> KSResult:
    """Two-sample Kolmogorov-Smirnov test: D = max_x |F_ref(x) - F_cur(x)|.

    The statistic is computed here (both empirical CDFs evaluated at every pooled value).
    The p-value comes from scipy: Smirnov's asymptotic distribution
    ``scipy.stats.kstwo.sf(D, round(n m / (n + m)))`` for large samples and scipy's exact
    computation when ``method="exact"`` (``"auto"``: exact up to 10,000 per sample, as
    ``scipy.stats.ks_2samp`` does, which falls back to the asymptotic value when the exact
    computation fails).

    Examples
    --------
    >>> ks_test([1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0]).statistic
    0.5
    """
    if method not in ("auto", "asymp", "exact"):
        raise ValueError(f"method must be 'auto', 'asymp' or 'exact'; got {method!r}")
    ref = np.sort(_finite_1d(reference, "reference"))
    cur = np.sort(_finite_1d(current, "current"))
    pooled = np.concatenate([ref, cur])
    cdf_ref = np.searchsorted(ref, pooled, side="right") / ref.size
    cdf_cur = np.searchsorted(cur, pooled, side="right") / cur.size
    d = float(np.max(np.abs(cdf_ref - cdf_cur)))

    if method == "exact" or (method == "auto" and max(ref.size, cur.size) <= 10_000):
        with warnings.catch_warnings():  # scipy itself falls back to asymp when exact fails
            warnings.simplefilter("ignore", RuntimeWarning)
            pvalue = float(scipy.stats.ks_2samp(ref, cur, method="exact").pvalue)
    else:
        en = ref.size * cur.size / (ref.size + cur.size)
        pvalue = float(np.clip(scipy.stats.kstwo.sf(d, np.round(en)), 0, 1))
    return KSResult(d, pvalue)


def chi2_test_categorical(reference: Any, current: Any, *, counts: bool = False) -> Chi2Result:
    """Pearson chi-square test that two samples share one categorical distribution.

    Builds the 2 x K contingency table over the union of categories and calls
    ``scipy.stats.chi2_contingency(table, correction=False)``.

    Examples
    --------
    >>> r = chi2_test_categorical(["a"] * 50 + ["b"] * 50, ["a"] * 80 + ["b"] * 20)
    >>> r.dof, round(r.statistic, 3)
    (1, 19.78)
    """
    table = _category_counts(reference, current, counts).to_numpy().T
    res = scipy.stats.chi2_contingency(table, correction=False)
    return Chi2Result(float(res.statistic), float(res.pvalue), int(res.dof))


def drift_report(
    reference_df: pd.DataFrame,
    current_df: pd.DataFrame,
    columns: Sequence[str],
    *,
    bins: int = 10,
    eps: float = 1e-4,
    psi_threshold: float = PSI_SIGNIFICANT,
    alpha: float = 0.01,
) -> pd.DataFrame:
    """Drift of each column between two frames: PSI plus a significance test.

    Numeric columns get ``psi`` and a KS test, other columns ``psi_categorical`` and a
    chi-square test; missing values are dropped. ``drift`` flags PSI > ``psi_threshold``:
    an effect size, because with monitoring-sized samples a p-value is tiny for any shift,
    however harmless. ``significant`` (p < ``alpha``) is reported next to it.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"age": rng.normal(30, 5, 5000), "device": rng.choice(["tv", "app"], 5000)})
    >>> cur = pd.DataFrame({"age": rng.normal(36, 5, 5000), "device": rng.choice(["tv", "app"], 5000)})
    >>> drift_report(ref, cur, ["age", "device"])["drift"].tolist()
    [True, False]
    """
    for name, frame in [("reference_df", reference_df), ("current_df", current_df)]:
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{name} must be a DataFrame; got {type(frame).__name__}")
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}")
    if isinstance(columns, str) or len(columns) == 0:
        raise ValueError(f"columns must be a non-empty list of column names; got {columns!r}")
    rows = []
    for col in columns:
        ref, cur = reference_df[col].dropna(), current_df[col].dropna()
        numeric = pd.api.types.is_numeric_dtype(ref.dtype) and not pd.api.types.is_bool_dtype(
            ref.dtype
        )
        if numeric:
            value, (stat, p) = psi(ref, cur, bins=bins, eps=eps), ks_test(ref, cur)
            test = "ks"
        else:
            value = psi_categorical(ref, cur, eps=eps)
            stat, p, _ = chi2_test_categorical(ref, cur)
            test = "chi2"
        level = (
            "significant"
            if value > PSI_SIGNIFICANT
            else "moderate"
            if value > PSI_MODERATE
            else "none"
        )
        rows.append({
            "feature": col, "kind": "numeric" if numeric else "categorical",
            "n_reference": len(ref), "n_current": len(cur), "psi": value, "psi_level": level,
            "test": test, "statistic": stat, "p_value": p,
            "significant": p < alpha, "drift": value > psi_threshold,
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("feature")
