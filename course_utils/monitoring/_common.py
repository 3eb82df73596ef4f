"""Input checks and time conversions shared by the step 7 simulations (private)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from course_utils.data import schema as S

__all__ = []

_BATCH_USERS = 2048  # users scored at once: bounds the dense (users x items) block


def _utc(value: Any, name: str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError(f"{name} must be a timestamp; got {value!r}")
    if ts.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. tz='UTC'); got {ts}")
    return ts.tz_convert("UTC")


def _ns(timestamps: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch (int64) of tz-aware timestamps, whatever their unit."""
    return pd.DatetimeIndex(timestamps).as_unit("ns").asi8


def _check_events(events: Any, name: str = "interactions") -> None:
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"{name} must be a DataFrame; got {type(events).__name__}")
    missing = {S.USER_ID, S.ITEM_ID, S.TIMESTAMP} - set(events.columns)
    if missing:
        raise ValueError(f"{name} lacks columns {sorted(missing)}; has {list(events.columns)}")
