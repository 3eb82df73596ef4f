"""Step 5 checks against wrong and correct-but-different answers (see exercise_zoo.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from course_utils.exercises import step05
from tests.exercise_zoo import assert_zoo_sizes, expect_fail, expect_pass, zoo_params
from tests.test_exercises_step05 import (
    cuped_correlation,
    cuped_cov,
    cuped_mixed_ddof,
    cuped_not_centred,
    cuped_polyfit,
    cuped_sums,
    cuped_wrong_variance,
    srm_ignores_ratios,
    srm_manual,
    srm_neyman,
    srm_scipy,
    srm_statistic,
    srm_wrong_df,
)


def _k(k):
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")


# --------------------------------------------------------------------------- precision
def prec_divide_by_length(hits, k):
    _k(k)
    h = np.asarray(hits)
    return h[..., :k].sum(axis=-1) / h.shape[-1]


def prec_off_by_one(hits, k):
    _k(k)
    return np.asarray(hits)[..., : k + 1].sum(axis=-1) / k


def prec_no_validation(hits, k):
    return np.asarray(hits)[..., :k].sum(axis=-1) / max(k, 1)


def prec_whole_list(hits, k):
    _k(k)
    return np.asarray(hits).sum(axis=-1) / k


def prec_cumsum(hits, k):
    _k(k)
    h = np.asarray(hits, dtype=np.float32)
    return np.cumsum(h, axis=-1)[..., min(k, h.shape[-1]) - 1] / k


def prec_loop(hits, k):
    _k(k)
    h = np.atleast_2d(hits)
    out = [sum(bool(x) for x in row[:k]) / k for row in h]
    return out[0] if np.ndim(hits) == 1 else out


# --------------------------------------------------------------------------- NDCG
def _dcg(h, k, disc):
    h = np.asarray(h, dtype=float)[..., :k]
    return (h * disc(np.arange(h.shape[-1]))).sum(axis=-1)


def _ndcg(hits, n_relevant, k, disc=lambda i: 1 / np.log2(i + 2), ideal_n=None):
    _k(k)
    dcg = _dcg(hits, k, disc)
    n = np.minimum(np.asarray(n_relevant), k) if ideal_n is None else ideal_n(hits, n_relevant, k)
    ideal_curve = np.r_[0.0, np.cumsum(disc(np.arange(k)))]
    idcg = ideal_curve[np.asarray(n, dtype=int)]
    return np.divide(dcg, idcg, out=np.zeros_like(dcg, dtype=float), where=idcg > 0)


def ndcg_log_off_by_one(hits, n_relevant, k):
    with np.errstate(divide="ignore"):
        return _ndcg(hits, n_relevant, k, disc=lambda i: 1 / np.log2(i + 1.0 + (i == 0) * 1e-12))


def ndcg_ideal_over_k(hits, n_relevant, k):
    return _ndcg(hits, n_relevant, k, ideal_n=lambda h, n, k: np.where(np.asarray(n) > 0, k, 0))


def ndcg_ideal_from_hits(hits, n_relevant, k):
    return _ndcg(hits, n_relevant, k, ideal_n=lambda h, n, k: np.asarray(h)[..., :k].sum(axis=-1))


def ndcg_linear_discount(hits, n_relevant, k):
    return _ndcg(hits, n_relevant, k, disc=lambda i: 1 / (i + 1.0))


def ndcg_natural_log(hits, n_relevant, k):
    return _ndcg(hits, n_relevant, k, disc=lambda i: 1 / np.log(i + 2))  # the base cancels


def ndcg_loop(hits, n_relevant, k):
    _k(k)
    rows, rel = np.atleast_2d(hits), np.atleast_1d(n_relevant)
    out = []
    for row, n in zip(rows, rel, strict=True):
        dcg = sum(1 / math.log2(i + 2) for i, h in enumerate(row[:k]) if h)
        idcg = sum(1 / math.log2(i + 2) for i in range(min(k, int(n))))
        out.append(dcg / idcg if idcg else 0.0)
    return out[0] if np.ndim(hits) == 1 else np.array(out, dtype=np.float32)


# --------------------------------------------------------------------------- bootstrap
def _means(values, idx):
    return np.asarray(values, dtype=float)[idx].mean(axis=1)


def boot_transposed(values, n_boot, seed):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(len(values), n_boot)).T
    return tuple(np.quantile(_means(values, idx), [0.025, 0.975]))


def boot_legacy_random(values, n_boot, seed):
    np.random.seed(seed)  # noqa: NPY002 - the legacy global generator is the mistake here
    idx = np.random.randint(0, len(values), size=(n_boot, len(values)))  # noqa: NPY002
    return tuple(np.quantile(_means(values, idx), [0.025, 0.975]))


def boot_90_percent(values, n_boot, seed):
    idx = np.random.default_rng(seed).integers(0, len(values), size=(n_boot, len(values)))
    return tuple(np.quantile(_means(values, idx), [0.05, 0.95]))


def boot_normal_interval(values, n_boot, seed):
    idx = np.random.default_rng(seed).integers(0, len(values), size=(n_boot, len(values)))
    m = _means(values, idx)
    return (m.mean() - 1.96 * m.std(), m.mean() + 1.96 * m.std())


def boot_ndarray(values, n_boot, seed):
    idx = np.random.default_rng(seed).integers(0, len(values), size=(n_boot, len(values)))
    return np.quantile(_means(values, idx), [0.025, 0.975])


def boot_choice_rows(values, n_boot, seed):
    rng = np.random.default_rng(seed)
    values = np.asarray(values)
    means = [rng.choice(values, size=len(values)).mean() for _ in range(n_boot)]
    return [float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))]


# --------------------------------------------------------------------------- sample size
def _n(p_a, lift, alpha, power, *, ceil=math.ceil, z_alpha=None, pooled_only=False, absolute=False):
    p_b = p_a + lift if absolute else p_a * (1 + lift)
    if not 0 < p_b < 1:
        raise ValueError(f"p_b must be in (0, 1); got {p_b}")
    za = norm.ppf(1 - alpha / 2) if z_alpha is None else z_alpha(alpha)
    zb = norm.ppf(power)
    p_bar = (p_a + p_b) / 2
    second = (
        math.sqrt(2 * p_bar * (1 - p_bar))
        if pooled_only
        else math.sqrt(p_a * (1 - p_a) + p_b * (1 - p_b))
    )
    return ceil((za * math.sqrt(2 * p_bar * (1 - p_bar)) + zb * second) ** 2 / (p_b - p_a) ** 2)


def ss_not_rounded(p, lift, alpha=0.05, power=0.8):
    return _n(p, lift, alpha, power, ceil=lambda x: x)


def ss_rounded_nearest(p, lift, alpha=0.05, power=0.8):
    return _n(p, lift, alpha, power, ceil=round)


def ss_one_sided(p, lift, alpha=0.05, power=0.8):
    return _n(p, lift, alpha, power, z_alpha=lambda a: norm.ppf(1 - a))


def ss_absolute_lift(p, lift, alpha=0.05, power=0.8):
    return _n(p, lift, alpha, power, absolute=True)


def ss_pooled_everywhere(p, lift, alpha=0.05, power=0.8):
    return _n(p, lift, alpha, power, pooled_only=True)


def ss_isf(p, lift, alpha=0.05, power=0.8):
    p_b = p * (1 + lift)
    if p_b <= 0 or p_b >= 1:
        raise ValueError("p_b is not a rate")
    p_bar = (p + p_b) / 2
    a = norm.isf(alpha / 2) * (2 * p_bar * (1 - p_bar)) ** 0.5
    b = -norm.isf(power) * (p * (1 - p) + p_b * (1 - p_b)) ** 0.5
    return int(-(-((a + b) ** 2) // (p_b - p) ** 2))


def ss_numpy(p, lift, alpha=0.05, power=0.8):
    return _n(np.float64(p), np.float64(lift), alpha, power, ceil=lambda x: int(np.ceil(x)))


# --------------------------------------------------------------------------- peeking
def _peek(n_sims, n_days, users, p, alpha=0.05, seed=0, *, crit=None, cumulative=True, looks=None):
    rng = np.random.default_rng(seed + 1000)
    a = rng.binomial(users, p, size=(n_sims, n_days))
    b = rng.binomial(users, p, size=(n_sims, n_days))
    if cumulative:
        a, b = a.cumsum(axis=1), b.cumsum(axis=1)
        n = users * np.arange(1, n_days + 1)
    else:
        n = np.full(n_days, users)
    pooled = (a + b) / (2 * n)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (b / n - a / n) / np.sqrt(pooled * (1 - pooled) * (2 / n))
    z = np.nan_to_num(z)
    z = z[:, looks] if looks is not None else z
    c = norm.ppf(1 - alpha / 2) if crit is None else crit(alpha)
    return float((np.abs(z) > c).any(axis=1).mean())


def peek_last_look_only(n_sims, n_days, users, p, alpha=0.05, seed=0):
    return _peek(n_sims, n_days, users, p, alpha, seed, looks=[-1])


def peek_one_sided_critical(n_sims, n_days, users, p, alpha=0.05, seed=0):
    return _peek(n_sims, n_days, users, p, alpha, seed, crit=lambda a: norm.ppf(1 - a))


def peek_daily_not_cumulative(n_sims, n_days, users, p, alpha=0.05, seed=0):
    return _peek(n_sims, n_days, users, p, alpha, seed, cumulative=False)


def peek_percent(n_sims, n_days, users, p, alpha=0.05, seed=0):
    return 100 * _peek(n_sims, n_days, users, p, alpha, seed)


def peek_other_seed(n_sims, n_days, users, p, alpha=0.05, seed=0):
    return _peek(n_sims, n_days, users, p, alpha, seed)


def peek_loop_over_days(n_sims, n_days, users, p, alpha=0.05, seed=0):
    rng = np.random.default_rng([seed, 7])
    conv_a = np.zeros(n_sims)
    conv_b = np.zeros(n_sims)
    flagged = np.zeros(n_sims, dtype=bool)
    crit = norm.ppf(1 - alpha / 2)
    for day in range(n_days):
        conv_a += rng.binomial(users, p, n_sims)
        conv_b += rng.binomial(users, p, n_sims)
        n = users * (day + 1)
        pa, pb = conv_a / n, conv_b / n
        se = np.sqrt(pa * (1 - pa) / n + pb * (1 - pb) / n)  # unpooled standard error
        with np.errstate(invalid="ignore", divide="ignore"):
            flagged |= np.nan_to_num(np.abs(pb - pa) / se) > crit
    return np.float32(flagged.mean())


ZOO = {
    step05.check_cuped_adjust: (
        [cuped_mixed_ddof, cuped_not_centred, cuped_correlation, cuped_wrong_variance],
        [cuped_cov, cuped_polyfit, cuped_sums],
    ),
    step05.check_srm_p_value: (
        [srm_neyman, srm_wrong_df, srm_ignores_ratios, srm_statistic],
        [srm_scipy, srm_manual],
    ),
    step05.check_precision_at_k: (
        [prec_divide_by_length, prec_off_by_one, prec_no_validation, prec_whole_list],
        [prec_cumsum, prec_loop],
    ),
    step05.check_ndcg_at_k: (
        [ndcg_log_off_by_one, ndcg_ideal_over_k, ndcg_ideal_from_hits, ndcg_linear_discount],
        [ndcg_natural_log, ndcg_loop],
    ),
    step05.check_bootstrap_ci: (
        [boot_transposed, boot_legacy_random, boot_90_percent, boot_normal_interval],
        [boot_ndarray, boot_choice_rows],
    ),
    step05.check_sample_size_two_proportions: (
        [ss_not_rounded, ss_rounded_nearest, ss_one_sided, ss_absolute_lift, ss_pooled_everywhere],
        [ss_isf, ss_numpy],
    ),
    step05.check_peeking_false_positive_rate: (
        [peek_last_look_only, peek_one_sided_critical, peek_daily_not_cumulative, peek_percent],
        [peek_other_seed, peek_loop_over_days],
    ),
}


def test_every_step05_check_has_a_zoo():
    assert_zoo_sizes(ZOO)


@pytest.mark.parametrize(("check", "fn", "extra"), zoo_params(ZOO, 0))
def test_wrong_answers_fail(check, fn, extra):
    expect_fail(check, fn, extra)


@pytest.mark.parametrize(("check", "fn", "extra"), zoo_params(ZOO, 1))
def test_correct_answers_pass(check, fn, extra):
    expect_pass(check, fn, extra)
