"""Checks for the step 4 exercise on time-aware (point-in-time) item content.

* ``check_item_tags_as_of(fn)`` - ``fn(tag_events, cutoffs) -> {item_id: [tags]}``: each
  item's sorted unique tags among the tag events applied **at or before the tagging user's
  own cutoff** (``cutoffs``: a Series of timestamps indexed by user_id; tags by users
  without a cutoff are dropped; items left without a tag are absent), against
  :func:`course_utils.features.content.tags_as_of`.

All inputs are small DataFrames with fixed timestamps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from course_utils.exercises.checking import (
    Case,
    check_function,
    describe_difference,
    with_reference,
)
from course_utils.features.content import tags_as_of

__all__ = ["check_item_tags_as_of", "item_tags_reference"]

TAGS_HINT = (
    "Each tag event must be judged against the cutoff of the user who applied it, not one "
    "global date. Which comparison does 'at or before' mean, what happens to a user with no "
    "cutoff, and are the tags of an item unique and sorted?"
)


def item_tags_reference(tag_events: pd.DataFrame, cutoffs: pd.Series) -> dict:
    """The reference answer: :func:`tags_as_of` as a plain dict of lists."""
    return {int(k): list(v) for k, v in tags_as_of(tag_events, cutoffs).items()}


def _as_plain(value):
    """A learner's Series / dict of arrays or lists, as a dict of int -> list of str."""
    if isinstance(value, pd.Series):
        value = value.to_dict()
    if not isinstance(value, Mapping):
        return value
    out = {}
    for key, tags in value.items():
        k = int(key) if isinstance(key, (int, np.integer)) else key
        out[k] = [str(t) for t in tags] if isinstance(tags, (list, tuple, np.ndarray)) else tags
    return out


def _compare(expected, got) -> bool:
    return describe_difference(expected, _as_plain(got)) is None


def _events(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "tag", "timestamp"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.astype({"user_id": np.int64, "item_id": np.int64})


def _cutoffs(mapping: dict) -> pd.Series:
    return pd.Series(pd.to_datetime(list(mapping.values()), utc=True), index=list(mapping))


def check_item_tags_as_of(fn: Callable) -> bool:
    """Check ``fn(tag_events, cutoffs)``, item tags as of each tagging user's cutoff.

    Examples
    --------
    >>> ok = check_item_tags_as_of(item_tags_reference)  # doctest: +ELLIPSIS
    ✅ item_tags_as_of: passed 6 checks
    ...
    """
    basic = _events(
        [
            (1, 10, "pixar", "2001-01-01"),
            (1, 10, "funny", "2003-06-01"),  # after user 1's cutoff
            (2, 10, "funny", "2002-01-01"),
            (2, 20, "dark", "2002-01-01"),
        ]
    )
    per_user = _events(
        [
            (1, 10, "space", "2005-01-01"),  # user 1's cutoff is early: dropped
            (2, 10, "space", "2005-01-01"),  # user 2's cutoff is late: kept
            (2, 30, "slow", "2009-01-01"),
        ]
    )
    duplicates = _events(
        [
            (1, 10, "zombies", "2001-01-01"),
            (2, 10, "zombies", "2001-02-01"),
            (2, 10, "gore", "2001-03-01"),
            (2, 10, "atmospheric", "2001-03-02"),
        ]
    )
    at_cutoff = _events([(1, 10, "twist", "2004-01-01 12:00:00")])
    unknown_user = _events([(1, 10, "heist", "2001-01-01"), (9, 20, "heist", "2001-01-01")])
    cases = [
        Case(basic, _cutoffs({1: "2003-01-01", 2: "2003-01-01"}), label="a tag after the cutoff is dropped"),
        Case(per_user, _cutoffs({1: "2004-01-01", 2: "2008-01-01"}),
             label="each user's own cutoff, not one date for everybody"),
        Case(duplicates, _cutoffs({1: "2002-01-01", 2: "2002-01-01"}),
             label="tags unique per item and sorted"),
        Case(at_cutoff, _cutoffs({1: "2004-01-01 12:00:00"}),
             label="a tag applied exactly at the cutoff is kept"),
        Case(unknown_user, _cutoffs({1: "2002-01-01"}),
             label="a user without a cutoff (not in train) contributes nothing"),
        Case(basic, _cutoffs({1: "2000-01-01", 2: "2000-01-01"}),
             label="every tag after the cutoffs: an empty dict"),
    ]  # fmt: skip
    return check_function(
        fn,
        reference=item_tags_reference,
        cases=cases,
        name="item_tags_as_of",
        hint=TAGS_HINT,
        compare=_compare,
    )


# the reference the demo cells fall back to (working_or_reference)
with_reference(item_tags_reference)(check_item_tags_as_of)
