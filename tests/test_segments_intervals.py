"""Tests for evaluation.segments.segment_intervals: a bootstrap interval per segment and model."""

import numpy as np
import pandas as pd
import pytest

from course_utils.data import schema as S
from course_utils.evaluation import bootstrap_ci, segment_intervals


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    users = np.arange(60)
    segments = pd.DataFrame(
        {"activity": np.where(users < 20, "light", np.where(users < 40, "medium", "heavy"))},
        index=pd.Index(users, name=S.USER_ID),
    )
    per_user = {
        name: pd.DataFrame(
            {S.USER_ID: np.repeat(users, 2), "k": np.tile([5, 10], 60), "ndcg": rng.random(120)}
        )
        for name in ("A", "B")
    }
    return per_user, segments


def test_means_and_intervals_match_direct_computation(toy):
    per_user, segments = toy
    table = segment_intervals(per_user, segments, "activity", n_boot=200, random_state=3)
    assert len(table) == 6 and set(table["users"]) == {20}
    frame = per_user["B"]
    values = frame[frame["k"] == 10].set_index(S.USER_ID)["ndcg"]
    light = values[segments["activity"] == "light"].to_numpy()
    row = table.query("model == 'B' and segment == 'light'").iloc[0]
    assert row["mean"] == pytest.approx(light.mean())
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        bootstrap_ci(light, n_boot=200, random_state=3)
    )
    assert (table["ci_low"] <= table["mean"]).all() and (table["mean"] <= table["ci_high"]).all()


def test_unknown_column_is_an_error(toy):
    per_user, segments = toy
    with pytest.raises(ValueError, match="no column"):
        segment_intervals(per_user, segments, "taste")
