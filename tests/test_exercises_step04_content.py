"""The time-aware content check: realistic wrong answers fail, differently written right ones pass."""

from __future__ import annotations

import pandas as pd
import pytest

from course_utils.exercises import step04_content


# ----------------------------------------------------------------- correct, written differently
def _right_vectorised(tag_events, cutoffs):
    limit = cutoffs.reindex(tag_events["user_id"]).to_numpy()
    kept = tag_events[pd.notna(limit) & (tag_events["timestamp"].to_numpy() <= limit)]
    grouped = kept.drop_duplicates(["item_id", "tag"]).groupby("item_id")["tag"]
    return {int(item): sorted(tags) for item, tags in grouped}


def _right_loop(tag_events, cutoffs):
    out: dict[int, set] = {}
    for user, item, tag, when in tag_events.itertuples(index=False):
        if user in cutoffs.index and when <= cutoffs[user]:
            out.setdefault(int(item), set()).add(tag)
    return pd.Series({item: sorted(tags) for item, tags in out.items()}, dtype=object)


def _right_merge(tag_events, cutoffs):
    frame = tag_events.merge(cutoffs.rename("cutoff"), left_on="user_id", right_index=True)
    frame = frame[frame["timestamp"] <= frame["cutoff"]]
    return frame.groupby("item_id")["tag"].agg(lambda t: sorted(set(t))).to_dict()


# ----------------------------------------------------------------- realistic wrong answers
def _ignores_time(tag_events, cutoffs):
    grouped = tag_events.groupby("item_id")["tag"]  # every tag ever applied: the leak
    return {int(item): sorted(set(tags)) for item, tags in grouped}


def _strictly_before(tag_events, cutoffs):
    limit = cutoffs.reindex(tag_events["user_id"]).to_numpy()
    kept = tag_events[tag_events["timestamp"].to_numpy() < limit]  # drops a tag at the cutoff
    return {int(i): sorted(set(t)) for i, t in kept.groupby("item_id")["tag"]}


def _one_global_cutoff(tag_events, cutoffs):
    kept = tag_events[tag_events["timestamp"] <= cutoffs.min()]  # not per user
    return {int(i): sorted(set(t)) for i, t in kept.groupby("item_id")["tag"]}


def _keeps_duplicates(tag_events, cutoffs):
    limit = cutoffs.reindex(tag_events["user_id"]).to_numpy()
    kept = tag_events[pd.notna(limit) & (tag_events["timestamp"].to_numpy() <= limit)]
    return {int(i): sorted(t) for i, t in kept.groupby("item_id")["tag"]}  # no set()


def _keeps_unknown_users(tag_events, cutoffs):
    limit = cutoffs.reindex(tag_events["user_id"]).fillna(pd.Timestamp("2200-01-01", tz="UTC"))
    kept = tag_events[tag_events["timestamp"].to_numpy() <= limit.to_numpy()]
    return {int(i): sorted(set(t)) for i, t in kept.groupby("item_id")["tag"]}


def _empty_lists_for_untagged(tag_events, cutoffs):
    answer = _right_vectorised(tag_events, cutoffs)
    for item in tag_events["item_id"].unique():
        answer.setdefault(int(item), [])  # items without a tag left must be absent
    return answer


RIGHT = [_right_vectorised, _right_loop, _right_merge, step04_content.item_tags_reference]
WRONG = [
    _ignores_time,
    _strictly_before,
    _one_global_cutoff,
    _keeps_duplicates,
    _keeps_unknown_users,
    _empty_lists_for_untagged,
]


@pytest.mark.parametrize("fn", RIGHT, ids=lambda f: f.__name__)
def test_right_answers_pass(fn, capsys):
    assert step04_content.check_item_tags_as_of(fn)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("fn", WRONG, ids=lambda f: f.__name__)
def test_wrong_answers_fail(fn, capsys):
    with pytest.raises(AssertionError):
        step04_content.check_item_tags_as_of(fn)
    assert "❌" in capsys.readouterr().out


def test_not_attempted_is_not_a_pass(capsys):
    def todo(tag_events, cutoffs):
        raise NotImplementedError()

    assert not step04_content.check_item_tags_as_of(todo)
    assert "⏳" in capsys.readouterr().out
