"""Step 7, monitoring: the first day a daily series crosses a threshold.

``detect_change_day`` is the simplest change detector, used to date an incident.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["detect_change_day"]


def detect_change_day(
    series: pd.Series, threshold: float, *, direction: Literal[">", "<"] = ">"
) -> Hashable | None:
    """Index label of the first value past ``threshold`` (None if it never crosses).

    Examples
    --------
    >>> s = pd.Series([0.05, 0.05, 0.21, 0.22], index=["mon", "tue", "wed", "thu"])
    >>> detect_change_day(s, 0.1)
    'wed'
    """
    if not isinstance(series, pd.Series):
        raise TypeError(f"series must be a pandas Series; got {type(series).__name__}")
    if direction not in (">", "<"):
        raise ValueError(f"direction must be '>' or '<'; got {direction!r}")
    values = series.to_numpy(dtype=float)
    hits = np.flatnonzero(values > threshold if direction == ">" else values < threshold)
    return series.index[hits[0]] if hits.size else None
