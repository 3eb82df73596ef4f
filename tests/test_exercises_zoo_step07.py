"""Step 7 checks against wrong and correct-but-different answers (see exercise_zoo.py).

A PSI without ``np.unique`` on the edges is *correct* here: duplicated edges only create
bins that are empty in both samples, whose clipped proportions are equal (eps) and add 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_utils import monitoring
from course_utils.exercises import step07
from tests.exercise_zoo import assert_zoo_sizes, expect_fail, expect_pass, zoo_params
from tests.test_exercise_burn_rate import (
    right_float32,
    right_loop,
    wrong_budget_is_objective,
    wrong_ge,
    wrong_no_validation,
    wrong_percent,
    wrong_share_only,
)


# --------------------------------------------------------------------------- PSI
def _psi(ref, cur, bins=10, eps=1e-4, *, side="right", unique=True, clip=True, log=np.log):
    if bins < 1:
        raise ValueError("bins must be >= 1")
    ref, cur = np.asarray(ref, dtype=float), np.asarray(cur, dtype=float)
    edges = np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1])
    edges = np.unique(edges) if unique else edges
    r = np.bincount(np.searchsorted(edges, ref, side=side), minlength=len(edges) + 1)
    c = np.bincount(np.searchsorted(edges, cur, side=side), minlength=len(edges) + 1)
    p, q = r / r.sum(), c / c.sum()
    if clip:
        p, q = np.maximum(p, eps), np.maximum(q, eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.nansum((q - p) * log(q / p)))


def psi_side_left(reference, current, bins=10, eps=1e-4):
    return _psi(reference, current, bins, eps, side="left")


def psi_no_clipping(reference, current, bins=10, eps=1e-4):
    return _psi(reference, current, bins, eps, clip=False)


def psi_log2(reference, current, bins=10, eps=1e-4):
    return _psi(reference, current, bins, eps, log=np.log2)


def psi_equal_width(reference, current, bins=10, eps=1e-4):
    if bins < 1:
        raise ValueError("bins must be >= 1")
    edges = np.linspace(np.min(reference), np.max(reference), bins + 1)[1:-1]
    r = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=bins)
    c = np.bincount(np.searchsorted(edges, current, side="right"), minlength=bins)
    p, q = np.maximum(r / r.sum(), eps), np.maximum(c / c.sum(), eps)
    return float(np.sum((q - p) * np.log(q / p)))


def psi_without_unique(reference, current, bins=10, eps=1e-4):
    return _psi(reference, current, bins, eps, unique=False)


def psi_digitize_pandas(reference, current, bins=10, eps=1e-4):
    if bins < 1:
        raise ValueError(f"bins must be >= 1; got {bins}")
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    r = pd.Series(np.digitize(reference, edges)).value_counts(normalize=True)
    c = pd.Series(np.digitize(current, edges)).value_counts(normalize=True)
    index = range(len(edges) + 1)
    p = r.reindex(index, fill_value=0.0).clip(lower=eps)
    q = c.reindex(index, fill_value=0.0).clip(lower=eps)
    return np.float32(((q - p) * np.log(q / p)).sum())


# --------------------------------------------------------------------------- A/A threshold
def aa_fixed_halves(reference, n_splits=200, q=99.0, random_state=0):
    x = np.asarray(reference)
    return float(np.percentile([monitoring.psi(x[: len(x) // 2], x[len(x) // 2 :])] * n_splits, q))


def aa_rng_in_loop(reference, n_splits=200, q=99.0, random_state=0):
    x = np.asarray(reference)
    scores = []
    for _ in range(n_splits):
        perm = np.random.default_rng(random_state).permutation(len(x))
        scores.append(monitoring.psi(x[perm[: len(x) // 2]], x[perm[len(x) // 2 :]]))
    return float(np.percentile(scores, q))


def aa_quantile_not_percentile(reference, n_splits=200, q=99.0, random_state=0):
    rng, x = np.random.default_rng(random_state), np.asarray(reference)
    scores = []
    for _ in range(n_splits):
        perm = rng.permutation(len(x))
        scores.append(monitoring.psi(x[perm[: len(x) // 2]], x[perm[len(x) // 2 :]]))
    return float(np.percentile(scores, q / 100))


def aa_five_bins(reference, n_splits=200, q=99.0, random_state=0):
    rng, x = np.random.default_rng(random_state), np.asarray(reference)
    scores = []
    for _ in range(n_splits):
        perm = rng.permutation(len(x))
        scores.append(monitoring.psi(x[perm[: len(x) // 2]], x[perm[len(x) // 2 :]], bins=5))
    return float(np.percentile(scores, q))


def aa_preallocated(reference, n_splits=200, q=99.0, random_state=0):
    rng, x = np.random.default_rng(random_state), np.asarray(reference, dtype=float)
    half = len(x) // 2
    scores = np.empty(n_splits)
    for i in range(n_splits):
        idx = rng.permutation(len(x))
        scores[i] = _psi(x[idx[:half]], x[idx[half:]])
    return np.percentile(scores, q)


def aa_permute_values(reference, n_splits=200, q=99.0, random_state=0):
    rng, x = np.random.default_rng(random_state), np.asarray(reference, dtype=float)
    scores = []
    for _ in range(n_splits):
        shuffled = x[rng.permutation(len(x))]
        a, b = np.split(shuffled, [len(x) // 2])
        scores.append(psi_digitize_pandas(a, b))
    return float(np.percentile(scores, q))


# --------------------------------------------------------------------------- drift day
def drift_inclusive(series, threshold, direction=">"):
    hits = series >= threshold if direction == ">" else series <= threshold
    return hits.idxmax() if hits.any() else None


def drift_position(series, threshold, direction=">"):
    hits = np.flatnonzero(
        series.to_numpy() > threshold if direction == ">" else series.to_numpy() < threshold
    )
    return int(hits[0]) if len(hits) else None


def drift_last_breach(series, threshold, direction=">"):
    hits = series > threshold if direction == ">" else series < threshold
    return hits[hits].index[-1] if hits.any() else None


def drift_ignores_direction(series, threshold, direction=">"):
    hits = series > threshold
    return hits.idxmax() if hits.any() else None


def drift_loop(series, threshold, direction=">"):
    for label, value in series.items():
        if (value > threshold) if direction == ">" else (value < threshold):
            return label
    return None


def drift_idxmax(series, threshold, direction=">"):
    breached = (series - threshold) * (1 if direction == ">" else -1) > 0
    return breached.idxmax() if breached.any() else None


# --------------------------------------------------------------------------- rolling p99
def roll_min_periods(latencies, window):
    return pd.Series(latencies).rolling(window, min_periods=1).quantile(0.99).to_numpy()


def roll_nearest(latencies, window):
    return pd.Series(latencies).rolling(window).quantile(0.99, interpolation="nearest").to_numpy()


def roll_off_by_one(latencies, window):
    return pd.Series(latencies).rolling(window + 1).quantile(0.99).to_numpy()


def roll_fraction_as_percent(latencies, window):
    x = np.asarray(latencies, dtype=float)
    out = np.full(len(x), np.nan)
    if window <= len(x):
        out[window - 1 :] = np.percentile(
            np.lib.stride_tricks.sliding_window_view(x, window), 0.99, axis=1
        )
    return out


def roll_series(latencies, window):
    return pd.Series(latencies, dtype="float32").astype(float).rolling(window).quantile(0.99)


def roll_loop(latencies, window):
    x = list(latencies)
    return [
        float(np.percentile(x[i - window + 1 : i + 1], 99)) if i >= window - 1 else np.nan
        for i in range(len(x))
    ]


ZOO = {
    step07.check_burn_rate: (
        [wrong_ge, wrong_budget_is_objective, wrong_percent, wrong_no_validation, wrong_share_only],
        [right_loop, right_float32],
    ),
    step07.check_psi: (
        [psi_side_left, psi_no_clipping, psi_log2, psi_equal_width],
        [psi_without_unique, psi_digitize_pandas],
    ),
    step07.check_aa_threshold: (
        [aa_fixed_halves, aa_rng_in_loop, aa_quantile_not_percentile, aa_five_bins],
        [aa_preallocated, aa_permute_values],
    ),
    step07.check_detect_drift_day: (
        [drift_inclusive, drift_position, drift_last_breach, drift_ignores_direction],
        [drift_loop, drift_idxmax],
    ),
    step07.check_rolling_p99: (
        [roll_min_periods, roll_nearest, roll_off_by_one, roll_fraction_as_percent],
        [roll_series, roll_loop],
    ),
}


def test_every_step07_check_has_a_zoo():
    assert_zoo_sizes(ZOO)


@pytest.mark.parametrize(("check", "fn", "extra"), zoo_params(ZOO, 0))
def test_wrong_answers_fail(check, fn, extra):
    expect_fail(check, fn, extra)


@pytest.mark.parametrize(("check", "fn", "extra"), zoo_params(ZOO, 1))
def test_correct_answers_pass(check, fn, extra):
    expect_pass(check, fn, extra)
