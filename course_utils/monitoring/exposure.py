"""Step 7, monitoring: is a segment served as much as it is watched? (output-side drift)

Input-drift monitors compare what users do now with what the model was trained on; after a
retrain the reference moves and they go quiet, even if the new model still ignores the
segment that moved. An **output-side** monitor compares what the service *serves* with what
users *watch*: :func:`segment_exposure` gives, per window, a segment's share of the served
slots, its share of the watches, and their ratio (1: served as much as watched).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.monitoring.request_log import RequestLog

__all__ = ["segment_exposure"]


def segment_exposure(
    log: RequestLog, events: pd.DataFrame, in_segment: pd.Series, *, freq: str = "1D"
) -> pd.DataFrame:
    """Per window: a segment's share of served items, of watched items, and their ratio.

    Parameters
    ----------
    log : the service's request log (served lists in ``items``)
    events : watch events (``user_id``, ``item_id``, ``timestamp``)
    in_segment : boolean Series indexed by item id (e.g. "is a documentary"); items it
        does not list count as outside the segment
    freq : window length (pandas offset)

    Returns
    -------
    DataFrame indexed by window start with ``served_share``, ``watched_share`` and
    ``exposure_ratio`` (served / watched; NaN where nothing in the segment was watched),
    over the windows in which the log served something.

    Examples
    --------
    >>> log = RequestLog()
    >>> log.record(timestamp="2024-01-01T08:00Z", user_id=1, source="p", stage_ms={},
    ...            model_version="v1", items=[1, 2, 3, 4])
    >>> ev = pd.DataFrame({"user_id": [1, 1], "item_id": [1, 5],
    ...                    "timestamp": pd.to_datetime(["2024-01-01 09:00"] * 2, utc=True)})
    >>> seg = pd.Series([True, False, False, False, True], index=[1, 2, 3, 4, 5])
    >>> segment_exposure(log, ev, seg).round(2).to_dict("records")
    [{'served_share': 0.25, 'watched_share': 1.0, 'exposure_ratio': 0.25}]
    """
    if not isinstance(log, RequestLog):
        raise TypeError(f"log must be a RequestLog; got {type(log).__name__}")
    if not isinstance(events, pd.DataFrame) or not {S.ITEM_ID, S.TIMESTAMP} <= set(events):
        raise ValueError("events must be a DataFrame with 'item_id' and 'timestamp' columns")
    if not isinstance(in_segment, pd.Series) or in_segment.dtype != bool:
        raise TypeError("in_segment must be a boolean Series indexed by item id")
    window = pd.Timedelta(freq)
    if window <= pd.Timedelta(0):
        raise ValueError(f"freq must be a positive duration; got {freq!r}")
    frame = log.to_frame()
    served = frame[[S.TIMESTAMP, "items"]].explode("items").dropna()
    served_in = in_segment.reindex(served["items"].astype(np.int64)).fillna(False).to_numpy()
    served_share = (
        pd.Series(served_in, index=served[S.TIMESTAMP].dt.floor(window)).groupby(level=0).mean()
    )
    watched_in = in_segment.reindex(events[S.ITEM_ID].to_numpy()).fillna(False).to_numpy()
    watched_share = pd.Series(watched_in, index=events[S.TIMESTAMP].dt.floor(window).to_numpy())
    watched_share = watched_share.groupby(level=0).mean().reindex(served_share.index)
    out = pd.DataFrame({"served_share": served_share, "watched_share": watched_share})
    out["exposure_ratio"] = out["served_share"] / out["watched_share"].where(
        out["watched_share"] > 0
    )
    out.index.name = S.TIMESTAMP
    return out
