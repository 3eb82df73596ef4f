"""Step 7, monitoring: alert rules and their evaluation on a summary table.

``AlertRule`` states a threshold on a summary column with a minimum duration and a
severity; ``evaluate_alerts`` turns a ``summarize`` table into ``Alert`` objects;
``DEFAULT_RULES`` are the course's rules for a 200 ms p99 SLO.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from course_utils.monitoring.drift import PSI_SIGNIFICANT

__all__ = ["Alert", "AlertRule", "DEFAULT_RULES", "evaluate_alerts"]

# ---------------------------------------------------------------------------------------
# 4. Alerting
# ---------------------------------------------------------------------------------------

_SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class AlertRule:
    """A threshold on one summary metric, evaluated per window.

    Why this shape: an alert should page a human only when a metric is (a) past a level
    tied to a user-visible promise (an SLO) or to a known-bad change, (b) measured on
    enough traffic to trust it, and (c) not a one-window blip when blips are common. Hence
    the three knobs ``threshold``/``direction``, ``min_count`` and ``window``.

    Parameters
    ----------
    metric : summary column, or a glob pattern such as ``"psi_*"`` (one check per match)
    threshold : the level that fires the rule
    direction : ``">"`` fires when value > threshold, ``"<"`` when value < threshold
    window : number of consecutive windows that must breach (1: fire at once)
    min_count : skip windows with fewer requests (p99 of 20 requests is noise)
    mode : ``"level"`` compares the metric itself; ``"delta"`` its difference from the
        mean of the previous ``baseline_windows`` windows; ``"relative"`` that
        difference divided by the baseline mean
    baseline_windows : length of the trailing baseline for ``delta`` / ``relative``
    severity : ``"info"``, ``"warning"`` or ``"critical"``
    description : the reason for the rule, shown in the alert message
    """

    metric: str
    threshold: float
    direction: Literal[">", "<"] = ">"
    window: int = 1
    min_count: int = 0
    mode: Literal["level", "delta", "relative"] = "level"
    baseline_windows: int = 7
    severity: str = "warning"
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise TypeError(f"metric must be a non-empty str; got {self.metric!r}")
        if self.direction not in (">", "<"):
            raise ValueError(f"direction must be '>' or '<'; got {self.direction!r}")
        if not np.isfinite(self.threshold):
            raise ValueError(f"threshold must be a finite number; got {self.threshold!r}")
        if self.window < 1:
            raise ValueError(f"window must be >= 1; got {self.window}")
        if self.min_count < 0:
            raise ValueError(f"min_count must be >= 0; got {self.min_count}")
        if self.mode not in ("level", "delta", "relative"):
            raise ValueError(f"mode must be 'level', 'delta' or 'relative'; got {self.mode!r}")
        if self.baseline_windows < 1:
            raise ValueError(f"baseline_windows must be >= 1; got {self.baseline_windows}")
        if self.severity not in _SEVERITIES:
            raise ValueError(f"severity must be one of {_SEVERITIES}; got {self.severity!r}")


@dataclass(frozen=True)
class Alert:
    """One fired rule in one window; ``str(alert)`` is the one-line page text."""

    time: Any
    metric: str
    value: float
    threshold: float
    severity: str
    message: str

    def __str__(self) -> str:
        when = (
            f"{self.time:%Y-%m-%d %H:%M} UTC"
            if isinstance(self.time, pd.Timestamp)
            else str(self.time)
        )
        return f"[{self.severity.upper()}] {when} | {self.message}"


# Defaults for a service with a 200 ms p99 SLO. Each threshold is a convention or a
# promise, not a fitted number; tune min_count to your traffic per window.
DEFAULT_RULES: tuple[AlertRule, ...] = (
    AlertRule(
        "latency_total_ms_p99", 200.0, ">", min_count=100, severity="critical",
        description="p99 latency SLO is 200 ms (>= 100 requests so p99 is not one request)",
    ),
    AlertRule(
        "error_rate", 0.01, ">", min_count=1000, severity="critical",
        description="error budget is 1% of requests (>= 1000 requests: ~10 expected errors)",
    ),
    AlertRule(
        "share_cold_start", 0.05, ">", mode="delta", baseline_windows=7,
        description="cold-start share jumped 5+ points over its 7-window mean: new-user "
        "surge, or user histories missing from the feature store",
    ),
    AlertRule(
        "coverage", -0.2, "<", mode="relative", baseline_windows=7,
        description="catalog coverage fell 20%+ below its 7-window mean: stale candidate "
        "index or ranking collapsed onto popular items",
    ),
    AlertRule(
        "psi_*", PSI_SIGNIFICANT, ">", min_count=1000, severity="critical",
        description="PSI > 0.2 is a significant distribution shift (credit-risk convention; "
        "0.1-0.2 is moderate)",
    ),
)  # fmt: skip


def _rule_value(series: pd.Series, rule: AlertRule) -> pd.Series:
    values = series.astype(float)
    if rule.mode == "level":
        return values
    k = rule.baseline_windows
    baseline = values.shift(1).rolling(k, min_periods=k).mean()
    if rule.mode == "delta":
        return values - baseline
    return (values - baseline) / baseline.where(baseline != 0)


def evaluate_alerts(
    summary: pd.DataFrame,
    rules: Sequence[AlertRule] = DEFAULT_RULES,
    *,
    missing: Literal["raise", "skip"] = "raise",
) -> list[Alert]:
    """Check every rule on every window of a ``summarize`` frame.

    A rule fires in each window where its condition has held for ``rule.window``
    consecutive windows (windows with NaN, or fewer than ``min_count`` requests, break
    the run). A glob rule (``"psi_*"``) that matches no column is skipped; an exact metric
    name missing from ``summary`` raises unless ``missing="skip"``.

    Returns
    -------
    list of Alert, ordered by time and then by rule order.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    >>> s = pd.DataFrame({"error_rate": [0.001, 0.03, 0.002], "request_count": 5000}, index=idx)
    >>> [str(a) for a in evaluate_alerts(s, [AlertRule("error_rate", 0.01)])]
    ['[WARNING] 2024-01-02 00:00 UTC | error_rate = 0.03 > 0.01']
    """
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"summary must be a DataFrame; got {type(summary).__name__}")
    if missing not in ("raise", "skip"):
        raise ValueError(f"missing must be 'raise' or 'skip'; got {missing!r}")
    fired: list[tuple[int, int, Alert]] = []
    for rule_no, rule in enumerate(rules):
        if not isinstance(rule, AlertRule):
            raise TypeError(f"rules must hold AlertRule objects; got {type(rule).__name__}")
        is_glob = any(ch in rule.metric for ch in "*?[")
        metrics = (
            fnmatch.filter(map(str, summary.columns), rule.metric) if is_glob else [rule.metric]
        )
        if not is_glob and rule.metric not in summary.columns:
            if missing == "raise":
                raise ValueError(
                    f"metric {rule.metric!r} is not a summary column (columns: {list(summary.columns)}); "
                    "pass the inputs summarize() needs for it, or missing='skip'"
                )
            continue
        eligible = pd.Series(True, index=summary.index)
        if rule.min_count > 0:
            if "request_count" not in summary.columns:
                raise ValueError(
                    f"rule on {rule.metric!r} has min_count but summary has no request_count"
                )
            eligible = summary["request_count"] >= rule.min_count
        for metric in metrics:
            value = _rule_value(summary[metric], rule)
            breach = (value > rule.threshold) if rule.direction == ">" else (value < rule.threshold)
            breach &= eligible
            if rule.window > 1:
                breach = (
                    breach.astype(int).rolling(rule.window, min_periods=rule.window).sum()
                    == rule.window
                )
            what = {"level": metric, "delta": f"{metric} change vs {rule.baseline_windows}-window mean",
                    "relative": f"{metric} relative change vs {rule.baseline_windows}-window mean"}[rule.mode]  # fmt: skip
            for pos in np.flatnonzero(breach.to_numpy()):
                v = float(value.iloc[pos])
                message = f"{what} = {v:.4g} {rule.direction} {rule.threshold:g}"
                if rule.window > 1:
                    message += f" for {rule.window} windows"
                if rule.description:
                    message += f" ({rule.description})"
                alert = Alert(
                    summary.index[pos], metric, v, float(rule.threshold), rule.severity, message
                )
                fired.append((pos, rule_no, alert))
    fired.sort(key=lambda t: (t[0], t[1]))
    return [a for _, _, a in fired]
