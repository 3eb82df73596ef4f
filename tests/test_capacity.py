"""Tests for course_utils.design.capacity against hand calculations."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_utils.design.capacity import (
    LatencyBudget,
    ann_scoring_cost,
    brute_force_scoring_cost,
    cores_needed,
    embedding_memory_bytes,
    events_per_day,
    format_bytes,
    log_volume,
    machines_needed,
    remaining_budget_ms,
)
from course_utils.exercises import step01 as _step01_module  # noqa: F401

STAGES = {"network": 40, "feature fetch": 20, "retrieval": 30, "ranking": 70, "re-ranking": 15}


# --------------------------------------------------------------------------- compute
@pytest.mark.parametrize(
    ("qps", "cpu_ms", "util", "cores"),
    [
        (100_000, 20, 0.5, 4_000.0),  # 100K x 0.020 s = 2,000 busy cores, at 50 % -> 4,000
        (300_000, 20, 0.5, 12_000.0),
        (100_000, 20, 1.0, 2_000.0),
        (1_000, 1, 0.25, 4.0),
        (50, 3, 0.6, 0.25),
    ],
)
def test_cores_needed_hand_calculations(qps, cpu_ms, util, cores):
    assert cores_needed(qps, cpu_ms, target_utilisation=util) == pytest.approx(cores)


def test_cores_needed_default_utilisation_is_half():
    assert cores_needed(1_000, 10) == pytest.approx(20.0)
    assert isinstance(cores_needed(1_000, 10), float)


def test_cores_needed_is_vectorised():
    qps = np.array([10_000, 100_000, 300_000])
    got = cores_needed(qps, 20)
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, [cores_needed(int(q), 20) for q in qps])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"qps": 0, "cpu_ms_per_request": 20}, ValueError, "qps must be > 0; got 0"),
        ({"qps": 10, "cpu_ms_per_request": -1}, ValueError, "cpu_ms_per_request must be > 0"),
        (
            {"qps": 10, "cpu_ms_per_request": 5, "target_utilisation": 1.5},
            ValueError,
            r"target_utilisation must be in \(0, 1\]; got 1.5",
        ),
        ({"qps": 10, "cpu_ms_per_request": 5, "target_utilisation": 0}, ValueError, "> 0"),
        ({"qps": True, "cpu_ms_per_request": 5}, TypeError, "qps must be a number"),
        ({"qps": "10", "cpu_ms_per_request": 5}, TypeError, "qps must be a number"),
        ({"qps": float("nan"), "cpu_ms_per_request": 5}, ValueError, "qps must be finite"),
    ],
)
def test_cores_needed_rejects_bad_input(kwargs, error, message):
    with pytest.raises(error, match=message):
        cores_needed(**kwargs)


@given(
    qps=st.floats(1, 1e7),
    cpu_ms=st.floats(0.01, 1e3),
    util=st.floats(0.05, 1.0),
)
def test_cores_needed_identity(qps, cpu_ms, util):
    # busy core-seconds per second = qps x cpu seconds; planned cores run at `util`
    cores = cores_needed(qps, cpu_ms, target_utilisation=util)
    assert cores * util == pytest.approx(qps * cpu_ms / 1000)
    assert cores_needed(2 * qps, cpu_ms, target_utilisation=util) == pytest.approx(2 * cores)


@pytest.mark.parametrize(
    ("cores", "per_machine", "machines"),
    [(4_000, 32, 125), (4_001, 32, 126), (0.5, 64, 1), (12_000, 48, 250), (64, 64, 1)],
)
def test_machines_needed(cores, per_machine, machines):
    assert machines_needed(cores, per_machine) == machines


def test_machines_needed_ignores_float_noise():
    cores = 0.1 * 3 * 10  # 3.0000000000000004
    assert cores > 3
    assert machines_needed(cores, 3) == 1


def test_machines_needed_rejects_bad_input():
    with pytest.raises(ValueError, match="cores_per_machine must be >= 1; got 0"):
        machines_needed(10, 0)
    with pytest.raises(ValueError, match="cores must be > 0; got -2"):
        machines_needed(-2, 8)
    with pytest.raises(TypeError, match="cores must be a single number"):
        machines_needed(np.array([1.0, 2.0]), 8)


@given(cores=st.floats(0.01, 1e6), per_machine=st.integers(1, 256))
def test_machines_cover_the_cores_without_a_spare(cores, per_machine):
    machines = machines_needed(cores, per_machine)
    assert machines * per_machine >= cores * (1 - 1e-9)
    assert (machines - 1) * per_machine < cores


# --------------------------------------------------------------------------- memory
def test_embedding_memory_hand_calculations():
    assert embedding_memory_bytes(100_000_000, 64, "float32") == 25_600_000_000  # 25.6 GB
    assert embedding_memory_bytes(50_000, 64, "float32") == 12_800_000  # 12.8 MB
    assert embedding_memory_bytes(100_000_000, 64, "float16") == 12_800_000_000
    assert embedding_memory_bytes(100_000_000, 64, np.int8) == 6_400_000_000
    assert embedding_memory_bytes(10, 3, np.float64) == 240
    assert embedding_memory_bytes(20e6, 64) == 5_120_000_000


def test_embedding_memory_matches_a_real_array():
    table = np.zeros((1_000, 48), dtype=np.float16)
    assert embedding_memory_bytes(1_000, 48, np.float16) == table.nbytes


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n": 0, "dim": 64}, ValueError, "n must be >= 1; got 0"),
        ({"n": 10, "dim": 1.5}, ValueError, "dim must be a whole number; got 1.5"),
        ({"n": "10", "dim": 64}, TypeError, "n must be an integer"),
        ({"n": 10, "dim": 64, "dtype": "banana"}, TypeError, "dtype must be a numpy dtype"),
    ],
)
def test_embedding_memory_rejects_bad_input(kwargs, error, message):
    with pytest.raises(error, match=message):
        embedding_memory_bytes(**kwargs)


@pytest.mark.parametrize(
    ("n_bytes", "text"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (12_800_000, "12.8 MB"),
        (25_600_000_000, "25.6 GB"),
        (999_960, "1 MB"),
        (131_400_000_000_000, "131 TB"),
        (2.5e15, "2.5 PB"),
    ],
)
def test_format_bytes(n_bytes, text):
    assert format_bytes(n_bytes) == text


# --------------------------------------------------------------------------- scoring
def test_brute_force_cost_hand_calculation():
    cost = brute_force_scoring_cost(50_000, 64, qps=100_000)
    assert cost.items_scored == 50_000
    assert cost.flops_per_request == 2 * 50_000 * 64 == 6_400_000
    assert cost.flops_per_second == pytest.approx(6.4e11)
    assert cost.bytes_per_request == 12_800_000  # the whole float32 item table


def test_brute_force_flops_match_counting_a_matmul():
    rng = np.random.default_rng(0)
    items, user = rng.normal(size=(300, 8)), rng.normal(size=8)
    scores = items @ user  # 300 dot products of length 8: 8 multiplies + 8 adds each
    assert scores.shape == (300,)
    assert brute_force_scoring_cost(300, 8, qps=1).flops_per_request == 300 * 8 * 2


def test_ann_cost_follows_the_upper_layers_plus_the_beam():
    cost = ann_scoring_cost(1_024, 64, qps=10, m=16, ef=10)
    # log2(1024) = 10 hops x 16 neighbours + a beam of 10 x 32 bottom-layer neighbours
    assert cost.items_scored == 16 * 10 + 2 * 16 * 10
    assert cost.flops_per_request == 2 * 480 * 64
    assert cost.flops_per_second == pytest.approx(10 * 2 * 480 * 64)
    assert cost.bytes_per_request == 480 * 64 * 4


def test_ann_cost_never_exceeds_brute_force():
    assert ann_scoring_cost(4, 8, qps=1, m=16).items_scored == 4
    assert ann_scoring_cost(1, 8, qps=1).items_scored == 1
    n = 50_000
    ratio = (
        brute_force_scoring_cost(n, 64, qps=1).flops_per_request
        / ann_scoring_cost(n, 64, qps=1, ef=500).flops_per_request
    )
    assert ratio == pytest.approx(n / (16 * math.log2(n) + 2 * 16 * 500))
    assert ratio < 5  # with a beam of 500, 50K titles is too small for ANN to pay much


def test_ann_cost_grows_with_the_beam():
    narrow = ann_scoring_cost(10**8, 64, qps=1, ef=100).items_scored
    assert ann_scoring_cost(10**8, 64, qps=1, ef=500).items_scored > narrow
    with pytest.raises(ValueError, match="ef must be >= 1"):
        ann_scoring_cost(1000, 64, qps=1, ef=0)


@given(n=st.integers(1, 10**9), m=st.integers(2, 64), ef=st.integers(1, 2000))
def test_ann_cost_is_capped_and_grows_with_n(n, m, ef):
    small = ann_scoring_cost(n, 16, qps=1, m=m, ef=ef).items_scored
    assert small <= n
    assert ann_scoring_cost(2 * n, 16, qps=1, m=m, ef=ef).items_scored >= small


# --------------------------------------------------------------------------- latency
def test_remaining_budget():
    assert remaining_budget_ms(200, {"network": 40, "retrieval": 30}) == 130.0
    assert remaining_budget_ms(200, {"a": 120, "b": 80}) == 0.0
    assert remaining_budget_ms(150, {"network": 40, "feature fetch": 15, "retrieval": 20}) == 75.0


def test_remaining_budget_rejects_overrun_with_the_numbers():
    with pytest.raises(
        ValueError,
        match=r"latency budget exceeds p99: stages sum to 230 ms but p99_ms is 200 ms "
        r"\(over by 30 ms\)",
    ):
        remaining_budget_ms(200, {"network": 150, "ranking": 80})


@pytest.mark.parametrize(
    ("stages", "error", "message"),
    [
        ({}, ValueError, "at least one stage"),
        ([("a", 1)], TypeError, "stages must be a mapping"),
        ({"a": -5}, ValueError, "stage 'a' must be > 0; got -5"),
        ({"a": "5"}, TypeError, "stage 'a' must be a number"),
        ({3: 5}, TypeError, "stage names must be non-empty strings"),
    ],
)
def test_remaining_budget_rejects_bad_stages(stages, error, message):
    with pytest.raises(error, match=message):
        remaining_budget_ms(200, stages)


def test_latency_budget_totals_and_order():
    budget = LatencyBudget(STAGES, p99_ms=200)
    assert budget.total_ms == 175.0
    assert budget.slack_ms == 25.0
    assert list(budget.as_dict()) == list(STAGES)
    assert budget.p99_ms == 200.0


def test_latency_budget_over_p99_is_rejected():
    with pytest.raises(ValueError, match="stages sum to 235 ms but p99_ms is 200 ms"):
        LatencyBudget({**STAGES, "ranking": 130}, p99_ms=200)


def test_latency_budget_is_frozen_and_independent_of_the_input():
    stages = dict(STAGES)
    budget = LatencyBudget(stages, p99_ms=200)
    stages["ranking"] = 1_000  # later edits of the dict do not leak in
    assert budget.total_ms == 175.0
    with pytest.raises(AttributeError):
        budget.p99_ms = 300


def test_latency_budget_str():
    text = str(LatencyBudget(STAGES, p99_ms=200))
    lines = text.splitlines()
    assert lines[0] == "Latency budget (p99 200 ms)"
    assert len(lines) == 1 + len(STAGES) + 1
    assert "ranking" in lines[4] and "70.0 ms" in lines[4] and "35.0%" in lines[4]
    assert lines[-1].split() == ["slack", "25.0", "ms", "12.5%"]


@given(st.lists(st.floats(0.1, 100), min_size=1, max_size=8))
def test_latency_budget_slack_plus_total_is_p99(values):
    stages = {f"stage {i}": v for i, v in enumerate(values)}
    p99 = math.fsum(values) + 5.0
    budget = LatencyBudget(stages, p99_ms=p99)
    assert budget.total_ms + budget.slack_ms == pytest.approx(p99)


# --------------------------------------------------------------------------- logs
def test_events_per_day():
    assert events_per_day(100_000_000, 0.3, 20) == 600_000_000.0
    with pytest.raises(ValueError, match=r"daily_active_fraction must be in \(0, 1\]; got 1.2"):
        events_per_day(100, 1.2, 5)


def test_log_volume_hand_calculation():
    vol = log_volume(600_000_000, bytes_per_event=200, retention_days=365, replication=3)
    assert vol.bytes_per_day == 120_000_000_000  # 120 GB/day
    assert vol.bytes_stored == pytest.approx(120e9 * 365 * 3)  # 131.4 TB
    single = log_volume(600_000_000, bytes_per_event=200, retention_days=365, replication=1)
    assert single.bytes_stored == pytest.approx(vol.bytes_stored / 3)


def test_log_volume_rejects_bad_input():
    with pytest.raises(ValueError, match="retention_days must be > 0; got 0"):
        log_volume(1e6, 100, 0)
    with pytest.raises(ValueError, match="replication must be >= 1; got 0"):
        log_volume(1e6, 100, 30, replication=0)


# --------------------------------------------------------------------------- exercise checks
def test_step01_checks_accept_the_reference(capsys):
    from course_utils.exercises import step01

    assert step01.check_cores_needed(cores_needed)
    assert step01.check_remaining_budget_ms(remaining_budget_ms)
    assert step01.check_embedding_memory_bytes(embedding_memory_bytes)
    assert step01.check_variant_machines(
        lambda peak_qps=300_000, cpu_ms_per_request=step01.CPU_MS_PER_REQUEST, cores_per_machine=32: (
            machines_needed(cores_needed(peak_qps, cpu_ms_per_request), cores_per_machine)
        )
    )
    assert capsys.readouterr().out.count("✅") == 4


def _untouched(*args, **kwargs):
    raise NotImplementedError()


def test_step01_checks_untouched_exercise_is_not_attempted(capsys):
    from course_utils.exercises import step01

    assert not step01.check_cores_needed(_untouched)
    assert not step01.check_remaining_budget_ms(_untouched)
    assert not step01.check_embedding_memory_bytes(_untouched)
    assert not step01.check_variant_machines(_untouched)
    assert capsys.readouterr().out.count("⏳") == 4


@pytest.mark.parametrize(
    ("check", "wrong"),
    [
        # forgets the utilisation headroom
        ("check_cores_needed", lambda qps, cpu_ms_per_request, target_utilisation=0.5: qps * cpu_ms_per_request / 1000),
        # milliseconds treated as seconds
        ("check_cores_needed", lambda qps, cpu_ms_per_request, target_utilisation=0.5: qps * cpu_ms_per_request / target_utilisation),
        # never rejects an overrun (returns a negative budget)
        ("check_remaining_budget_ms", lambda p99_ms, stages: p99_ms - sum(stages.values())),
        # bits instead of bytes
        ("check_embedding_memory_bytes", lambda n, dim, dtype="float32": n * dim * np.dtype(dtype).itemsize * 8),
        # always float32
        ("check_embedding_memory_bytes", lambda n, dim, dtype="float32": n * dim * 4),
        # cores instead of machines
        ("check_variant_machines", lambda peak_qps=300_000, cpu_ms_per_request=54.0, cores_per_machine=32: cores_needed(peak_qps, cpu_ms_per_request)),
    ],
)  # fmt: skip
def test_step01_checks_catch_common_mistakes(check, wrong, capsys):
    from course_utils.exercises import step01

    with pytest.raises(AssertionError):
        getattr(step01, check)(wrong)
    out = capsys.readouterr().out
    assert "❌" in out and "hint:" in out
