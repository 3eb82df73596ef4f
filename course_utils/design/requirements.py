"""The agreed requirements of the streaming recommender, as one validated object.

Step 1 of the course ends with a short list of numbers that every later design decision
is checked against: how many users and titles, the peak load, the latency targets, how
fresh recommendations must be and how available the service is. :class:`SystemRequirements`
holds them, rejects impossible values with a clear message and renders as a readable
summary (plain text with ``str`` and an HTML table in a notebook).

The defaults are the platform of the course: 100M users, 50K titles, 100K requests per
second at peak, p50 50 ms and p99 200 ms, new titles recommendable within a day, a user's
latest plays reflected within minutes, and 99.9 % availability.
"""

from __future__ import annotations

import html
import math
import numbers
from dataclasses import dataclass, fields

__all__ = ["SystemRequirements", "format_duration"]


def format_duration(seconds: float) -> str:
    """Render a duration in its largest whole-ish unit: ``"1 day"``, ``"5 min"``, ``"43.2 min"``.

    Parameters
    ----------
    seconds : float
        Non-negative duration in seconds.

    Returns
    -------
    str
        The duration with at most one decimal and a unit (s, min, h, day/days).

    Examples
    --------
    >>> format_duration(86_400), format_duration(300), format_duration(2_592.0)
    ('1 day', '5 min', '43.2 min')
    """
    if not _is_number(seconds) or seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"seconds must be a finite number >= 0; got {seconds!r}")
    units = ((86_400, "day"), (3_600, "h"), (60, "min"), (1, "s"))
    unit_seconds, unit = next((u for u in units if seconds >= u[0]), units[-1])
    text = f"{seconds / unit_seconds:.1f}".removesuffix(".0")
    plural = unit == "day" and text != "1"
    return f"{text} {unit}{'s' if plural else ''}"


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True, kw_only=True)
class SystemRequirements:
    """Functional and non-functional requirements agreed with the product team.

    Parameters
    ----------
    n_users : int, default 100_000_000
        Registered users (accounts whose history the system stores).
    n_items : int, default 50_000
        Titles in the catalogue.
    peak_qps : float, default 100_000
        Recommendation requests per second at the daily peak.
    slate_size : int, default 20
        Titles returned per request (one row on the home screen).
    p50_ms, p99_ms : float, default 50 and 200
        Server-side latency targets: median and 99th percentile, in milliseconds.
    new_item_freshness_hours : float, default 24
        A newly added title must be recommendable within this many hours.
    user_history_freshness_minutes : float, default 5
        A user's latest plays and likes must influence recommendations within this many
        minutes.
    availability : float, default 0.999
        Share of time the service answers successfully (0 < availability < 1).

    Raises
    ------
    TypeError
        If a value is not a number (booleans are rejected).
    ValueError
        If a value is out of range, e.g. ``p99_ms < p50_ms``.

    Examples
    --------
    >>> req = SystemRequirements()
    >>> req.n_users, req.p99_ms, req.error_budget_minutes()
    (100000000, 200.0, 43.2)
    >>> SystemRequirements(p50_ms=250)
    Traceback (most recent call last):
        ...
    ValueError: p99_ms must be >= p50_ms; got p99_ms=200.0, p50_ms=250.0
    """

    n_users: int = 100_000_000
    n_items: int = 50_000
    peak_qps: float = 100_000.0
    slate_size: int = 20
    p50_ms: float = 50.0
    p99_ms: float = 200.0
    new_item_freshness_hours: float = 24.0
    user_history_freshness_minutes: float = 5.0
    availability: float = 0.999

    _INTEGERS = ("n_users", "n_items", "slate_size")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not _is_number(value):
                raise TypeError(f"{f.name} must be a number; got {type(value).__name__} {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{f.name} must be finite; got {value!r}")
            if f.name in self._INTEGERS:
                if value != int(value):
                    raise ValueError(f"{f.name} must be a whole number; got {value!r}")
                object.__setattr__(self, f.name, int(value))
            else:
                object.__setattr__(self, f.name, float(value))
            if getattr(self, f.name) <= 0:
                raise ValueError(f"{f.name} must be > 0; got {value!r}")
        if self.availability >= 1:
            raise ValueError(
                f"availability must be < 1 (no service is never down); got {self.availability!r}"
            )
        if self.p99_ms < self.p50_ms:
            raise ValueError(
                f"p99_ms must be >= p50_ms; got p99_ms={self.p99_ms!r}, p50_ms={self.p50_ms!r}"
            )
        if self.slate_size > self.n_items:
            raise ValueError(
                f"slate_size must be <= n_items; got slate_size={self.slate_size}, "
                f"n_items={self.n_items}"
            )

    def error_budget_minutes(self, period_days: float = 30.0) -> float:
        """Minutes of unavailability the availability target allows per period.

        Parameters
        ----------
        period_days : float, default 30
            Length of the period (an SLO window is usually 28 or 30 days).

        Returns
        -------
        float
            ``(1 - availability) x period`` in minutes, rounded to 6 decimals.

        Examples
        --------
        >>> SystemRequirements(availability=0.99).error_budget_minutes(period_days=1)
        14.4
        """
        if not _is_number(period_days) or period_days <= 0:
            raise ValueError(f"period_days must be a number > 0; got {period_days!r}")
        return round((1.0 - self.availability) * period_days * 24 * 60, 6)

    def summary_rows(self) -> list[tuple[str, str]]:
        """The requirements as ``(requirement, target)`` pairs of display strings.

        Examples
        --------
        >>> SystemRequirements().summary_rows()[0]
        ('users', '100,000,000')
        """
        return [
            ("users", f"{self.n_users:,}"),
            ("titles in the catalogue", f"{self.n_items:,}"),
            ("peak load", f"{self.peak_qps:,.0f} requests/s"),
            ("titles per request", f"{self.slate_size:,}"),
            ("latency p50 (server side)", f"{self.p50_ms:g} ms"),
            ("latency p99 (server side)", f"{self.p99_ms:g} ms"),
            (
                "new title recommendable within",
                format_duration(self.new_item_freshness_hours * 3_600),
            ),
            (
                "user history reflected within",
                format_duration(self.user_history_freshness_minutes * 60),
            ),
            (
                "availability",
                f"{self.availability * 100:.10g} % "
                f"(<= {self.error_budget_minutes():g} min down per 30 days)",
            ),
        ]

    def __str__(self) -> str:
        rows = self.summary_rows()
        width = max(len(name) for name, _ in rows)
        lines = ["System requirements"] + [f"  {name:<{width}}  {value}" for name, value in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td style='text-align:left'>{html.escape(name)}</td>"
            f"<td style='text-align:right'>{html.escape(value)}</td></tr>"
            for name, value in self.summary_rows()
        )
        return (
            "<table><caption>System requirements</caption>"
            "<thead><tr><th style='text-align:left'>requirement</th>"
            "<th style='text-align:right'>target</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
