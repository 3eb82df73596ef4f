"""Step 7, monitoring: how old the model and its training data are.

``freshness`` reports model age and data age as two different clocks, with a
staleness verdict against a retraining budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from course_utils.monitoring.alerts import Alert

__all__ = ["Freshness", "freshness"]

# ---------------------------------------------------------------------------------------
# 5. Freshness
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """Ages of the serving model and of its training data at time ``now``."""

    now: pd.Timestamp
    model_age: pd.Timedelta
    data_age: pd.Timedelta
    max_model_age: pd.Timedelta
    max_data_age: pd.Timedelta
    alerts: tuple[Alert, ...] = field(default=())

    @property
    def is_fresh(self) -> bool:
        """True when neither age exceeds its limit."""
        return not self.alerts


def _aware(ts: Any, name: str) -> pd.Timestamp:
    out = pd.Timestamp(ts)
    if out.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. tz='UTC'); got {out}")
    return out.tz_convert("UTC")


def freshness(
    now: Any,
    model_trained_at: Any,
    data_cutoff: Any,
    *,
    max_model_age: str | pd.Timedelta = "7D",
    max_data_age: str | pd.Timedelta = "2D",
) -> Freshness:
    """Model age (now - training time) and data age (now - newest training event).

    Defaults: a weekly retraining schedule tolerates a 7-day-old model; the data age
    limit of 2 days is a daily pipeline plus one day of slack. Exceeding either adds a
    warning ``Alert`` (metric ``model_age_days`` / ``data_age_days``).

    Examples
    --------
    >>> f = freshness("2024-03-10T00:00Z", "2024-03-01T00:00Z", "2024-02-29T00:00Z")
    >>> f.model_age.days, f.data_age.days, f.is_fresh
    (9, 10, False)
    """
    now_ts = _aware(now, "now")
    trained = _aware(model_trained_at, "model_trained_at")
    cutoff = _aware(data_cutoff, "data_cutoff")
    if trained > now_ts:
        raise ValueError(f"model_trained_at ({trained}) is after now ({now_ts})")
    if cutoff > trained:
        raise ValueError(f"data_cutoff ({cutoff}) is after model_trained_at ({trained})")
    limits = {}
    for name, limit in [("max_model_age", max_model_age), ("max_data_age", max_data_age)]:
        limits[name] = pd.Timedelta(limit)
        if limits[name] <= pd.Timedelta(0):
            raise ValueError(f"{name} must be a positive duration; got {limit!r}")
    model_age, data_age = now_ts - trained, now_ts - cutoff
    day = pd.Timedelta("1D")
    alerts = tuple(
        Alert(now_ts, metric, age / day, limit / day, "warning",
              f"{metric} = {age / day:.2f} > {limit / day:g} ({what})")
        for metric, age, limit, what in [
            ("model_age_days", model_age, limits["max_model_age"], "model overdue for retraining"),
            ("data_age_days", data_age, limits["max_data_age"], "training data is stale"),
        ]
        if age > limit
    )  # fmt: skip
    return Freshness(
        now_ts, model_age, data_age, limits["max_model_age"], limits["max_data_age"], alerts
    )
