"""Tests for evaluation.off_policy: IPS against the exact policy value of a simulated log."""

import doctest

import numpy as np
import pytest

from course_utils.evaluation import off_policy
from course_utils.evaluation.off_policy import (
    ips_estimate,
    policy_value,
    simulate_logged_bandit,
    softmax_policy,
)


def test_doctests():
    assert doctest.testmod(off_policy).failed == 0


def test_ips_of_the_logging_policy_is_the_observed_mean():
    logs = simulate_logged_bandit(5000, random_state=0)
    est = ips_estimate(logs.rewards, logs.propensities, logs.propensities)
    assert est.value == pytest.approx(logs.rewards.mean())
    assert est.effective_sample_size == pytest.approx(5000)


def test_ips_is_unbiased_for_a_supported_target():
    """On a large log, IPS of a different (supported) policy is within 4 SE of its exact value."""
    logs = simulate_logged_bandit(1_000_000, random_state=3)
    target = softmax_policy(np.log(logs.true_ctr), 0.3)
    truth = policy_value(target, logs.true_ctr, logs.context_probs)
    logged = policy_value(logs.logging_policy, logs.true_ctr, logs.context_probs)
    est = ips_estimate(logs.rewards, target[logs.contexts, logs.actions], logs.propensities)
    assert abs(truth - logged) > 10 * est.se  # the target really differs from the logger
    assert abs(est.value - truth) < 4 * est.se
    assert est.effective_sample_size < 0.5 * est.n_events  # reweighting costs samples


def test_ips_error_shrinks_as_one_over_sqrt_n():
    errors = {}
    for n in (2000, 32_000):
        err = []
        for seed in range(40):
            logs = simulate_logged_bandit(n, random_state=np.random.default_rng([seed, n]))
            target = softmax_policy(np.log(logs.true_ctr), 0.3)
            truth = policy_value(target, logs.true_ctr, logs.context_probs)
            est = ips_estimate(logs.rewards, target[logs.contexts, logs.actions], logs.propensities)
            err.append(est.value - truth)
        errors[n] = np.sqrt(np.mean(np.square(err)))
    assert 2.5 < errors[2000] / errors[32_000] < 6.5  # sqrt(16) = 4


def test_ips_misses_items_the_logging_policy_never_shows():
    logs = simulate_logged_bandit(200_000, n_unsupported=5, random_state=1)
    only_new = np.zeros_like(logs.logging_policy)
    only_new[:, -5:] = 0.2  # the target shows only the 5 never-logged items
    truth = policy_value(only_new, logs.true_ctr, logs.context_probs)
    est = ips_estimate(logs.rewards, only_new[logs.contexts, logs.actions], logs.propensities)
    assert truth > 0.05 and est.value == 0.0


def test_softmax_policy_rows_and_support():
    p = softmax_policy([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], support=[True, True, False])
    assert np.allclose(p.sum(axis=1), 1) and np.all(p[:, 2] == 0)
    assert p[1, 0] == pytest.approx(0.5)


def test_clipping_reduces_the_weights():
    est = ips_estimate([1, 1, 0], [1.0, 1.0, 1.0], [0.01, 0.5, 0.5], clip=10)
    assert est.value == pytest.approx((10 + 2) / 3)


@pytest.mark.parametrize(
    "args, message",
    [
        (([1, 0], [0.5, 0.5], [0.0, 0.5]), "propensities"),
        (([1, 0], [1.5, 0.5], [0.5, 0.5]), "target_probs"),
        (([1, 0, 1], [0.5, 0.5], [0.5, 0.5]), "equal length"),
    ],
)
def test_ips_errors(args, message):
    with pytest.raises(ValueError, match=message):
        ips_estimate(*args)


def test_policy_value_checks_the_policy():
    with pytest.raises(ValueError, match="shape"):
        policy_value([[1.0]], [[0.1, 0.2]], [1.0])
    with pytest.raises(ValueError, match="summing to 1"):
        policy_value([[0.3, 0.3]], [[0.1, 0.2]], [1.0])
