"""select_with_evidence: the simpler setting wins unless a paired interval says otherwise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.evaluation.harness import bootstrap_ci
from course_utils.evaluation.tuning import select_with_evidence


def test_interval_is_the_paired_bootstrap_of_the_difference():
    rng = np.random.default_rng(1)
    a = rng.random(300)
    b = a + rng.normal(0.01, 0.05, 300)
    table, _ = select_with_evidence({"a": a, "b": b}, prefer="a")
    lo, hi = bootstrap_ci(b - a)
    row = table.set_index("candidate").loc["b"]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
    assert row["diff"] == pytest.approx(np.mean(b - a))
    assert row["mean"] == pytest.approx(b.mean())


def test_clear_gain_wins_and_noise_does_not():
    rng = np.random.default_rng(0)
    base = rng.random(500)
    noisy = base + rng.normal(0.0, 0.05, 500)
    per_user = {1.0: base, 0.9: noisy, 0.8: base + 0.02, 0.7: base + 0.03}
    table, chosen = select_with_evidence(per_user, prefer=1.0)
    assert chosen == 0.7  # the highest mean among the candidates that beat the preferred one
    assert table["beats_preferred"].tolist() == [False, False, True, True]
    assert select_with_evidence({1.0: base, 0.9: noisy}, prefer=1.0)[1] == 1.0


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=5, max_size=40),
    st.lists(st.floats(-0.5, 0.5), min_size=5, max_size=40),
)
def test_chosen_is_preferred_or_beats_it(base, shift):
    n = min(len(base), len(shift))
    a = np.asarray(base[:n])
    b = a + np.asarray(shift[:n])
    table, chosen = select_with_evidence({"a": a, "b": b}, prefer="a", n_boot=200)
    assert chosen in {"a", "b"}
    if chosen == "b":
        assert table.set_index("candidate").loc["b", "ci_low"] > 0
    assert table.set_index("candidate").loc["a", "diff"] == 0.0


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="prefer must be one of"):
        select_with_evidence({"a": np.zeros(3)}, prefer="z")
    with pytest.raises(ValueError, match="aligned by user"):
        select_with_evidence({"a": np.zeros(3), "b": np.zeros(4)}, prefer="a")
