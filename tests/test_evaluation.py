"""Evaluation harness: per-user metrics, bootstrap intervals, paired comparison."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import evaluation as E
from course_utils.data.splits import per_user_temporal_split
from course_utils.models import Popularity, Random


def test_evaluate_table_shape(tiny_interactions):
    split = per_user_temporal_split(tiny_interactions)
    table = E.evaluate(Popularity().fit(split.train), split, ks=(1, 3))
    assert list(table.columns) == ["model", "k", *E.ACCURACY_METRICS]
    assert table["k"].tolist() == [1, 3] and (table["model"] == "Popularity").all()


def test_recommendations_are_scored_like_metrics(tiny_interactions):
    split = per_user_temporal_split(tiny_interactions)
    model = Popularity().fit(split.train)
    recs, _ = model.recommend(split.eval_users, k=3)
    per_user = E.evaluate_recommendations(recs, split, ks=3)
    rel = split.relevant.groupby("user_id")["item_id"].agg(set)
    expected = [len(set(r) & rel[u]) / 3 for u, r in zip(split.eval_users, recs)]
    np.testing.assert_allclose(per_user["precision"], expected)


def test_bootstrap_ci_matches_normal_theory():
    rng = np.random.default_rng(1)
    v = rng.normal(0.1, 0.2, size=600)
    lo, hi = E.bootstrap_ci(v, n_boot=4000, random_state=0)
    se = v.std(ddof=1) / np.sqrt(v.size)
    assert lo == pytest.approx(v.mean() - 1.96 * se, abs=0.15 * se * 1.96)
    assert hi == pytest.approx(v.mean() + 1.96 * se, abs=0.15 * se * 1.96)
    assert E.bootstrap_ci(v, random_state=5) == E.bootstrap_ci(v, random_state=5)


@pytest.mark.parametrize("bad", [[1.0], [np.nan, 1.0], [[1.0, 2.0]]])
def test_bootstrap_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        E.bootstrap_ci(bad)


def test_paired_compare_detects_a_real_difference():
    rng = np.random.default_rng(0)
    a = rng.random(500)
    b = a + 0.05 + rng.normal(0, 0.01, 500)
    res = E.paired_compare(a, b, names=("A", "B"))
    assert res["ci_low"] > 0 and res["p_value"] < 1e-6
    assert "B vs A" in str(res)


def test_compare_and_plot(tiny_interactions):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    split = per_user_temporal_split(tiny_interactions)
    models = {
        "pop": Popularity().fit(split.train),
        "rand": Random(random_state=0).fit(split.train),
    }
    table = E.compare(models, split, ks=(3,), n_boot=200)
    assert {"ndcg", "ndcg_lo", "ndcg_hi"} <= set(table.columns)
    assert (table["ndcg_lo"] <= table["ndcg"]).all() and (table["ndcg"] <= table["ndcg_hi"]).all()
    ax = E.plot_comparison(table, "ndcg", k=3)
    assert ax.get_xlabel().startswith("ndcg@3")
    plt.close("all")


def test_benchmark_popularity_and_random(benchmark):
    pop = E.evaluate(Popularity().fit(benchmark.train), benchmark, ks=10)
    rnd = E.evaluate(Random(random_state=0).fit(benchmark.train), benchmark, ks=10)
    assert pop["ndcg"].iloc[0] == pytest.approx(0.0740, abs=0.001)
    assert rnd["ndcg"].iloc[0] < 0.01


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_bootstrap_ci_refuses_non_finite_values(bad):
    with pytest.raises(ValueError, match="values must be finite"):
        E.bootstrap_ci(np.r_[np.zeros(20), bad])
