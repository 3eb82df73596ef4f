"""Input checks shared by the feature builders (private): sorted catalogues, cutoffs,
the interactions strictly before a cutoff, release years.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from course_utils.data import schema as S

__all__ = []

_DAY = pd.Timedelta(days=1)


# --------------------------------------------------------------------------- input checks
def _sorted_items(items: pd.DataFrame, need: Sequence[str] = ()) -> pd.DataFrame:
    """The item table sorted by item_id (positional index), after checking ids and columns."""
    if not isinstance(items, pd.DataFrame):
        raise TypeError(f"items must be a pandas DataFrame; got {type(items).__name__}")
    missing = sorted({S.ITEM_ID, *need} - set(items.columns))
    if missing:
        raise ValueError(f"items lacks columns {missing}; has {list(items.columns)}")
    if items[S.ITEM_ID].duplicated().any():
        dup = items.loc[items[S.ITEM_ID].duplicated(), S.ITEM_ID].iloc[0]
        raise ValueError(f"items must have unique item_id values; {dup} appears more than once")
    return items.sort_values(S.ITEM_ID, kind="stable").reset_index(drop=True)


def _as_cutoff(cutoff) -> pd.Timestamp:
    """A UTC timestamp; naive values are taken as UTC."""
    if not isinstance(cutoff, (str, pd.Timestamp, _dt.datetime, np.datetime64)):
        raise TypeError(
            f"cutoff must be a timestamp (str, datetime or pandas Timestamp); "
            f"got {type(cutoff).__name__}"
        )
    ts = pd.Timestamp(cutoff)
    if pd.isna(ts):
        raise ValueError("cutoff must be a valid timestamp; got NaT")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _past(interactions: pd.DataFrame, cutoff) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Interactions strictly before ``cutoff``: the only rows a point-in-time feature may use."""
    if not isinstance(interactions, pd.DataFrame):
        raise TypeError(
            f"interactions must be a pandas DataFrame; got {type(interactions).__name__}"
        )
    missing = sorted({S.USER_ID, S.ITEM_ID, S.TIMESTAMP} - set(interactions.columns))
    if missing:
        raise ValueError(f"interactions lacks columns {missing}; has {list(interactions.columns)}")
    ts = interactions[S.TIMESTAMP]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        raise TypeError(f"column 'timestamp' must be a timezone-aware datetime; got {ts.dtype}")
    cutoff = _as_cutoff(cutoff)
    return interactions[(ts < cutoff).to_numpy()], cutoff


def _year_array(items: pd.DataFrame) -> np.ndarray:
    """The release year as float64 with NaN where unknown."""
    return pd.to_numeric(items[S.YEAR], errors="coerce").astype("float64").to_numpy()
