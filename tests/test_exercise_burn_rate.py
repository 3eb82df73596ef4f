"""The burn-rate exercise check (step 7) against a zoo of wrong and correct answers."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.exercises.step07 import check_burn_rate


def _validate(x, objective):
    x = np.asarray(x, dtype=float)
    if x.size == 0 or not 0 < objective < 1:
        raise ValueError("bad input")
    return x


def wrong_ge(latency_ms, threshold_ms=200.0, objective=0.99):  # counts 200 ms as a breach
    x = _validate(latency_ms, objective)
    return float((x >= threshold_ms).mean() / (1 - objective))


def wrong_budget_is_objective(latency_ms, threshold_ms=200.0, objective=0.99):
    x = _validate(latency_ms, objective)
    return float((x > threshold_ms).mean() / objective)


def wrong_percent(latency_ms, threshold_ms=200.0, objective=0.99):  # share in percent
    x = _validate(latency_ms, objective)
    return float(100 * (x > threshold_ms).mean() / (1 - objective))


def wrong_no_validation(latency_ms, threshold_ms=200.0, objective=0.99):
    x = np.asarray(latency_ms, dtype=float)
    with np.errstate(all="ignore"):
        return float((x > threshold_ms).mean() / (1 - objective)) if x.size else 0.0


def wrong_share_only(latency_ms, threshold_ms=200.0, objective=0.99):  # forgets the budget
    x = _validate(latency_ms, objective)
    return float((x > threshold_ms).mean())


def right_loop(latency_ms, threshold_ms=200.0, objective=0.99):
    values = list(latency_ms)
    if not values or not 0 < objective < 1:
        raise ValueError("empty window or objective outside (0, 1)")
    slow = sum(1 for v in values if v > threshold_ms)
    return slow / len(values) / (1 - objective)


def right_float32(latency_ms, threshold_ms=200.0, objective=0.99):
    x = np.asarray(latency_ms, dtype=np.float32)
    if x.size == 0:
        raise ValueError("empty")
    if objective <= 0 or objective >= 1:
        raise ValueError("objective")
    budget = np.float64(1.0) - objective
    return float(np.count_nonzero(x > np.float32(threshold_ms)) / x.size / budget)


@pytest.mark.parametrize(
    "fn",
    [wrong_ge, wrong_budget_is_objective, wrong_percent, wrong_no_validation, wrong_share_only],
)
def test_wrong_answers_fail(fn, capsys):
    with pytest.raises(AssertionError):
        check_burn_rate(fn)
    assert "❌" in capsys.readouterr().out


@pytest.mark.parametrize("fn", [right_loop, right_float32])
def test_correct_answers_pass(fn, capsys):
    assert check_burn_rate(fn).passed
    assert "✅" in capsys.readouterr().out


def test_unattempted_is_not_a_failure(capsys):
    def burn_rate(latency_ms, threshold_ms=200.0, objective=0.99):
        raise NotImplementedError()

    assert not check_burn_rate(burn_rate).passed
