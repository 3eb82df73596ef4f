"""Checks for the step 1 exercises (requirements and capacity planning).

The learner re-derives three capacity formulas for a variant of the course platform
(:data:`VARIANT`: 20M users, 300K requests/s at peak) and the checks compare them with
:mod:`course_utils.design.capacity`:

* ``cores_needed(qps, cpu_ms_per_request, target_utilisation=0.5)`` and the machines the
  variant needs;
* ``remaining_budget_ms(p99_ms, stages)``: the part of a p99 target left for ranking;
* ``embedding_memory_bytes(n, dim, dtype)``: float16 against float32 tables;
* ``peak_qps(daily_active_users, sessions_per_day, requests_per_session, peak_to_mean)``:
  the peak load derived from the user base.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_utils.design import capacity, demand
from course_utils.design.demand import request_cpu_ms
from course_utils.design.requirements import SystemRequirements
from course_utils.exercises.checking import (
    Case,
    CheckResult,
    check_function,
    require_upstream,
    with_reference,
)

__all__ = [
    "CORES_PER_MACHINE",
    "CPU_MS_PER_REQUEST",
    "MOBILE_FIXED_STAGES",
    "MOBILE_P99_MS",
    "VARIANT",
    "check_cores_needed",
    "check_embedding_memory_bytes",
    "check_peak_qps",
    "check_remaining_budget_ms",
    "check_variant_machines",
]

VARIANT = SystemRequirements(n_users=20_000_000, peak_qps=300_000)
"""The exercise scenario: a smaller catalogue of users, three times the peak load."""
CPU_MS_PER_REQUEST = request_cpu_ms(
    {"retrieval": 1.0, "feature decoding": 2.0, "re-ranking": 1.0},
    n_candidates=500,
    rank_us_per_candidate=100,
)
"""CPU time of one recommendation request (ms), from its stages as in the step 1 notebook:
1 + 2 + 1 ms of fixed stages plus 500 candidates x 100 µs of ranking = 54 ms."""
CORES_PER_MACHINE = 32
"""Usable cores of one serving machine."""
MOBILE_P99_MS = 150.0
"""The mobile team's tighter p99 target (ms)."""
MOBILE_FIXED_STAGES = {
    "network": 40.0,
    "feature fetch": 15.0,
    "retrieval": 20.0,
    "re-ranking": 10.0,
}
"""Stage budgets (ms) already agreed for the mobile app; ranking gets what is left."""

CORES_HINT = (
    "How many cores are busy at every instant when each of qps requests per second needs "
    "cpu_ms_per_request milliseconds of CPU? Mind the units. Running at a target "
    "utilisation means provisioning more than the busy cores. Raise ValueError when "
    "target_utilisation is not in (0, 1]."
)
MACHINES_HINT = (
    "Reuse your cores_needed at the default utilisation. A machine is bought whole: how "
    "should a fractional number of machines be turned into a whole one? "
    "course_utils.design.capacity has a helper for exactly that."
)
BUDGET_HINT = (
    "remaining = p99_ms - sum(stages.values()); raise ValueError when the stages already "
    "exceed p99_ms (a remaining budget of exactly 0 is allowed)."
)
MEMORY_HINT = (
    "bytes = n x dim x bytes per value; np.dtype(dtype).itemsize gives the bytes per value "
    "(4 for float32, 2 for float16, 1 for int8)."
)


def check_cores_needed(fn: Callable) -> CheckResult:
    """Check a learner's ``cores_needed(qps, cpu_ms_per_request, target_utilisation=0.5)``.

    Examples
    --------
    >>> ok = check_cores_needed(capacity.cores_needed)  # doctest: +ELLIPSIS
    ✅ cores_needed: passed 6 checks
    ...
    """
    cases = [
        Case(100_000, 20.0, label="course platform: 100K QPS x 20 ms at the default 50 %"),
        Case(300_000, 20.0, target_utilisation=0.5, label="variant: 300K QPS x 20 ms"),
        Case(300_000, 20.0, target_utilisation=0.75, label="higher utilisation -> fewer cores"),
        Case(1_000, 2.5, target_utilisation=1.0, label="no headroom: cores = busy cores"),
        Case(40, 5.0, label="a small service needs a fraction of a core"),
        Case(1_000, 2.5, target_utilisation=1.5, label="utilisation above 1 -> ValueError"),
    ]
    return check_function(
        fn, reference=capacity.cores_needed, cases=cases, name="cores_needed", hint=CORES_HINT
    )


def _machines_reference(
    peak_qps, cpu_ms_per_request=CPU_MS_PER_REQUEST, cores_per_machine=CORES_PER_MACHINE
) -> int:
    cores = capacity.cores_needed(peak_qps, cpu_ms_per_request)
    return capacity.machines_needed(cores, cores_per_machine)


def check_variant_machines(fn: Callable, cores_needed: Callable | None = None) -> CheckResult:
    """Check ``variant_machines(peak_qps=..., cpu_ms_per_request=..., cores_per_machine=...)``.

    It is tried on several loads (whole and fractional machine counts), so a typed-in
    number cannot pass, and a wrong answer does not print the expected count. Pass the
    learner's ``cores_needed`` too: when it is wrong, the verdict says so instead of
    blaming ``variant_machines``.

    Examples
    --------
    >>> ok = check_variant_machines(_machines_reference, capacity.cores_needed)  # doctest: +ELLIPSIS
    ✅ variant_machines: passed 5 checks
    ...
    """
    waiting = require_upstream("variant_machines", "cores_needed", _quiet_cores_check, cores_needed)
    if waiting is not None:
        return waiting
    cases = [
        Case(VARIANT.peak_qps, label="the variant's peak load"),
        Case(245_000, label="a load that needs 306.25 machines: round up, not to nearest"),
        Case(100_000, 20.0, 32, label="the course platform"),
        Case(1_000, 2.5, 8, label="a small service: less than one machine is still one"),
        Case(50_000, 12.0, 48, label="other CPU time and machine size: 25 machines exactly"),
    ]
    return check_function(
        fn,
        reference=_machines_reference,
        cases=cases,
        name="variant_machines",
        hint=MACHINES_HINT,
        compare=_same_machine_count,
        reveal=False,
    )


def _same_machine_count(expected, got):
    if isinstance(got, (bool, np.bool_)) or not isinstance(
        got, (int, float, np.integer, np.floating)
    ):
        return f"expected a whole number of machines, received {type(got).__name__}"
    if got != int(got):
        return "a fraction of a machine cannot be bought: round to a whole number"
    if got < expected:
        return "too few machines: round UP (a partial machine is a whole machine)"
    if got > expected:
        return "too many machines: check the units and the utilisation"
    return None


def _quiet_cores_check(fn: Callable) -> CheckResult:
    return check_cores_needed(fn)


def check_remaining_budget_ms(fn: Callable) -> CheckResult:
    """Check a learner's ``remaining_budget_ms(p99_ms, stages)``.

    Examples
    --------
    >>> ok = check_remaining_budget_ms(capacity.remaining_budget_ms)  # doctest: +ELLIPSIS
    ✅ remaining_budget_ms: passed 5 checks
    ...
    """
    web = {"network": 30.0, "feature fetch": 20.0, "retrieval": 30.0, "re-ranking": 15.0}
    cases = [
        Case(MOBILE_P99_MS, dict(MOBILE_FIXED_STAGES), label="mobile app: p99 150 ms"),
        Case(200.0, web, label="web: p99 200 ms"),
        Case(100.0, {"network": 60.0, "retrieval": 40.0}, label="exact fit -> 0 ms left"),
        Case(80.0, {"retrieval": 12.5}, label="a single stage"),
        Case(
            100.0,
            {"network": 60.0, "retrieval": 50.0},
            label="stages exceed p99 -> ValueError",
        ),
    ]
    return check_function(
        fn,
        reference=capacity.remaining_budget_ms,
        cases=cases,
        name="remaining_budget_ms",
        hint=BUDGET_HINT,
    )


def check_embedding_memory_bytes(fn: Callable) -> CheckResult:
    """Check a learner's ``embedding_memory_bytes(n, dim, dtype="float32")``.

    Examples
    --------
    >>> ok = check_embedding_memory_bytes(capacity.embedding_memory_bytes)  # doctest: +ELLIPSIS
    ✅ embedding_memory_bytes: passed 6 checks
    ...
    """
    cases = [
        Case(100_000_000, 64, "float32", label="course users, float32: 25.6 GB"),
        Case(100_000_000, 64, "float16", label="course users, float16"),
        Case(VARIANT.n_users, 64, "float16", label="variant users, float16"),
        Case(50_000, 64, label="items with the default dtype (float32)"),
        Case(50_000, 128, np.float16, label="a numpy dtype object"),
        Case(1_000, 32, "int8", label="int8 (quantised): one byte per value"),
    ]
    return check_function(
        fn,
        reference=capacity.embedding_memory_bytes,
        cases=cases,
        name="embedding_memory_bytes",
        hint=MEMORY_HINT,
    )


PEAK_HINT = (
    "requests per day = daily_active_users x sessions_per_day x requests_per_session; divide "
    "by the 86,400 seconds of a day for the mean QPS, multiply by peak_to_mean for the peak. "
    "Raise ValueError when peak_to_mean < 1 (a peak below the mean)."
)


def check_peak_qps(fn: Callable) -> CheckResult:
    """Check ``peak_qps(daily_active_users, sessions_per_day, requests_per_session, peak_to_mean)``.

    Examples
    --------
    >>> ok = check_peak_qps(demand.peak_qps)  # doctest: +ELLIPSIS
    ✅ peak_qps: passed 5 checks
    ...
    """
    cases = [
        Case(30_000_000, 2, 50, 3.0, label="course platform: 30M active x 2 sessions x 50 rows"),
        Case(6_000_000, 1.5, 20, 4.5, label="variant: 6M active, a sharp evening peak"),
        Case(86_400, 1, 1, 1.0, label="one request per second on average, flat traffic"),
        Case(1_000_000, 3, 10, 1.0, label="peak_to_mean = 1: the peak is the mean"),
        Case(1_000_000, 3, 10, 0.5, label="peak below the mean -> ValueError"),
    ]
    return check_function(
        fn, reference=demand.peak_qps, cases=cases, name="peak_qps", hint=PEAK_HINT
    )


# references the demo cells fall back to (working_or_reference), not exported by name
with_reference(capacity.remaining_budget_ms)(check_remaining_budget_ms)
with_reference(capacity.embedding_memory_bytes)(check_embedding_memory_bytes)
with_reference(capacity.cores_needed)(check_cores_needed)
with_reference(_machines_reference)(check_variant_machines)
with_reference(demand.peak_qps)(check_peak_qps)
