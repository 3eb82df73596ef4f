"""Step 1 checks against wrong and correct-but-different answers (see exercise_zoo.py)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from course_utils.design import capacity
from course_utils.exercises import step01
from tests.exercise_zoo import assert_zoo_sizes, expect_fail, expect_pass, zoo_params
from tests.test_exercises_steps13 import (
    peak_divides,
    peak_formula,
    peak_mean_only,
    peak_no_validation,
    peak_per_hour,
    peak_stepwise,
)


# --------------------------------------------------------------------------- cores_needed
def cores_ms_not_seconds(qps, cpu_ms_per_request, target_utilisation=0.5):
    if not 0 < target_utilisation <= 1:
        raise ValueError("bad utilisation")
    return qps * cpu_ms_per_request / target_utilisation


def cores_times_utilisation(qps, cpu_ms_per_request, target_utilisation=0.5):
    if not 0 < target_utilisation <= 1:
        raise ValueError("bad utilisation")
    return qps * cpu_ms_per_request / 1000 * target_utilisation


def cores_no_validation(qps, cpu_ms_per_request, target_utilisation=0.5):
    return qps * cpu_ms_per_request / 1000 / target_utilisation


def cores_rounded_up(qps, cpu_ms_per_request, target_utilisation=0.5):
    if not 0 < target_utilisation <= 1:
        raise ValueError("bad utilisation")
    return math.ceil(qps * cpu_ms_per_request / 1000 / target_utilisation)


def cores_fraction(qps, cpu_ms_per_request, target_utilisation=0.5):
    if target_utilisation <= 0 or target_utilisation > 1:
        raise ValueError(f"target_utilisation must be in (0, 1]; got {target_utilisation}")
    busy = Fraction(qps) * Fraction(cpu_ms_per_request) / 1000
    return float(busy / Fraction(target_utilisation))


def cores_seconds_first(qps, cpu_ms_per_request, target_utilisation=0.5):
    if not (0.0 < target_utilisation and target_utilisation <= 1.0):
        raise ValueError("target_utilisation must be in (0, 1]")
    cpu_seconds = cpu_ms_per_request * 1e-3
    return np.float32(qps * cpu_seconds) / np.float32(target_utilisation)


# --------------------------------------------------------------------------- variant machines
def machines_constant(
    peak_qps=300_000, cpu_ms_per_request=step01.CPU_MS_PER_REQUEST, cores_per_machine=32
):
    return 375


def machines_floor(
    peak_qps=300_000, cpu_ms_per_request=step01.CPU_MS_PER_REQUEST, cores_per_machine=32
):
    return math.floor(capacity.cores_needed(peak_qps, cpu_ms_per_request) / cores_per_machine)


def machines_round(
    peak_qps=300_000, cpu_ms_per_request=step01.CPU_MS_PER_REQUEST, cores_per_machine=32
):
    return round(capacity.cores_needed(peak_qps, cpu_ms_per_request) / cores_per_machine)


def machines_plus_one(
    peak_qps=300_000, cpu_ms_per_request=step01.CPU_MS_PER_REQUEST, cores_per_machine=32
):
    return int(capacity.cores_needed(peak_qps, cpu_ms_per_request) / cores_per_machine) + 1


def machines_fractional(
    peak_qps=300_000, cpu_ms_per_request=step01.CPU_MS_PER_REQUEST, cores_per_machine=32
):
    return capacity.cores_needed(peak_qps, cpu_ms_per_request) / cores_per_machine


def machines_ceil(
    peak_qps=300_000, cpu_ms_per_request=step01.CPU_MS_PER_REQUEST, cores_per_machine=32
):
    return math.ceil(cores_fraction(peak_qps, cpu_ms_per_request) / cores_per_machine)


def machines_integer_division(
    peak_qps=300_000, cpu_ms_per_request=step01.CPU_MS_PER_REQUEST, cores_per_machine=32
):
    cores = cores_fraction(peak_qps, cpu_ms_per_request)
    return int(-(-cores // cores_per_machine))


def test_variant_machines_blames_a_wrong_cores_needed():
    text = expect_fail(
        step01.check_variant_machines, machines_ceil, {"cores_needed": cores_ms_not_seconds}
    )
    assert "depends on your cores_needed" in text


def test_variant_machines_does_not_reveal_the_count():
    text = expect_fail(step01.check_variant_machines, machines_floor, {})
    assert "306.25" not in text.split("hint")[0].replace("306.25 machines", "")
    assert "expected:" not in text


# --------------------------------------------------------------------------- latency budget
def budget_allows_negative(p99_ms, stages):
    return p99_ms - sum(stages.values())


def budget_rejects_exact_fit(p99_ms, stages):
    left = p99_ms - sum(stages.values())
    if left <= 0:
        raise ValueError("no budget left")
    return left


def budget_largest_stage(p99_ms, stages):
    left = p99_ms - max(stages.values())
    if left < 0:
        raise ValueError("over budget")
    return left


def budget_absolute(p99_ms, stages):
    return abs(p99_ms - sum(stages.values()))


def budget_loop(p99_ms, stages):
    total = 0.0
    for name in stages:
        total += stages[name]
    if total > p99_ms:
        raise ValueError(f"stages take {total} ms of {p99_ms} ms")
    return p99_ms - total


def budget_fsum(p99_ms, stages):
    left = p99_ms - math.fsum(stages.values())
    if left < 0:
        raise ValueError("the stages exceed the p99 target")
    return left


# --------------------------------------------------------------------------- memory
def memory_always_float32(n, dim, dtype="float32"):
    return n * dim * 4


def memory_bits(n, dim, dtype="float32"):
    return n * dim * np.dtype(dtype).itemsize * 8


def memory_values_only(n, dim, dtype="float32"):
    return n * dim


def memory_string_lookup(n, dim, dtype="float32"):
    return n * dim * {"float32": 4, "float16": 2, "float64": 8}.get(str(dtype), 4)


def memory_nbytes(n, dim, dtype="float32"):
    return int(np.zeros(1, dtype=dtype).nbytes) * n * dim


def memory_bits_over_8(n, dim, dtype="float32"):
    bits = np.finfo(dtype).bits if np.dtype(dtype).kind == "f" else np.iinfo(dtype).bits
    return n * dim * bits // 8


ZOO = {
    step01.check_peak_qps: (
        [peak_mean_only, peak_per_hour, peak_divides, peak_no_validation],
        [peak_formula, peak_stepwise],
    ),
    step01.check_cores_needed: (
        [cores_ms_not_seconds, cores_times_utilisation, cores_no_validation, cores_rounded_up],
        [cores_fraction, cores_seconds_first],
    ),
    step01.check_variant_machines: (
        [machines_constant, machines_floor, machines_round, machines_plus_one, machines_fractional],
        [machines_ceil, (machines_integer_division, {"cores_needed": cores_fraction})],
    ),
    step01.check_remaining_budget_ms: (
        [budget_allows_negative, budget_rejects_exact_fit, budget_largest_stage, budget_absolute],
        [budget_loop, budget_fsum],
    ),
    step01.check_embedding_memory_bytes: (
        [memory_always_float32, memory_bits, memory_values_only, memory_string_lookup],
        [memory_nbytes, memory_bits_over_8],
    ),
}


def test_every_step01_check_has_a_zoo():
    assert_zoo_sizes(ZOO)


@pytest.mark.parametrize(("check", "fn", "extra"), zoo_params(ZOO, 0))
def test_wrong_answers_fail(check, fn, extra):
    expect_fail(check, fn, extra)


@pytest.mark.parametrize(("check", "fn", "extra"), zoo_params(ZOO, 1))
def test_correct_answers_pass(check, fn, extra):
    expect_pass(check, fn, extra)


def test_variant_machines_waits_for_an_unattempted_cores_needed(capsys):
    def todo(qps, cpu_ms_per_request, target_utilisation=0.5):
        raise NotImplementedError()

    assert not step01.check_variant_machines(machines_ceil, todo)
    assert "waiting for cores_needed" in capsys.readouterr().out
