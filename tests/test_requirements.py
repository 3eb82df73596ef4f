"""Tests for course_utils.design.requirements: validation, derived numbers and rendering."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_utils.design.requirements import SystemRequirements, format_duration


def test_defaults_are_the_agreed_platform():
    req = SystemRequirements()
    assert (req.n_users, req.n_items, req.slate_size) == (100_000_000, 50_000, 20)
    assert (req.peak_qps, req.p50_ms, req.p99_ms) == (100_000.0, 50.0, 200.0)
    assert req.new_item_freshness_hours == 24.0
    assert req.user_history_freshness_minutes == 5.0
    assert req.availability == 0.999


def test_is_frozen_and_hashable():
    req = SystemRequirements()
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.p99_ms = 100.0
    assert hash(req) == hash(SystemRequirements())
    assert req == SystemRequirements()


def test_p99_below_p50_is_rejected_with_both_values():
    with pytest.raises(
        ValueError, match=r"p99_ms must be >= p50_ms; got p99_ms=100.0, p50_ms=150.0"
    ):
        SystemRequirements(p50_ms=150, p99_ms=100)


def test_equal_percentiles_are_allowed():
    assert SystemRequirements(p50_ms=80, p99_ms=80).p99_ms == 80.0


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(SystemRequirements)])
@pytest.mark.parametrize("bad", [0, -1])
def test_non_positive_values_are_rejected(field, bad):
    with pytest.raises(ValueError, match=rf"^{field} must be > 0; got {bad}"):
        SystemRequirements(**{field: bad})


@pytest.mark.parametrize("bad", ["100", True, None, [1]])
def test_non_numbers_are_type_errors(bad):
    with pytest.raises(TypeError, match="peak_qps must be a number"):
        SystemRequirements(peak_qps=bad)


def test_non_finite_is_rejected():
    with pytest.raises(ValueError, match="p99_ms must be finite"):
        SystemRequirements(p99_ms=float("inf"))


def test_counts_must_be_whole_and_are_stored_as_int():
    with pytest.raises(ValueError, match="n_users must be a whole number; got 1.5"):
        SystemRequirements(n_users=1.5)
    req = SystemRequirements(n_users=20e6)
    assert req.n_users == 20_000_000 and isinstance(req.n_users, int)


def test_availability_must_be_below_one():
    with pytest.raises(ValueError, match="availability must be < 1"):
        SystemRequirements(availability=1.0)


def test_slate_cannot_exceed_catalogue():
    with pytest.raises(ValueError, match="slate_size must be <= n_items; got slate_size=30"):
        SystemRequirements(n_items=25, slate_size=30)


def test_replace_revalidates():
    req = SystemRequirements()
    variant = dataclasses.replace(req, n_users=20_000_000, peak_qps=300_000)
    assert (variant.n_users, variant.peak_qps, variant.p99_ms) == (20_000_000, 300_000.0, 200.0)
    with pytest.raises(ValueError, match="p99_ms must be >= p50_ms"):
        dataclasses.replace(req, p99_ms=10)


@pytest.mark.parametrize(
    ("availability", "days", "minutes"),
    [(0.999, 30, 43.2), (0.9999, 30, 4.32), (0.999, 365, 525.6), (0.99, 1, 14.4)],
)
def test_error_budget_matches_hand_calculation(availability, days, minutes):
    # (1 - availability) x days x 24 h x 60 min
    req = SystemRequirements(availability=availability)
    assert req.error_budget_minutes(period_days=days) == pytest.approx(minutes)


def test_error_budget_rejects_bad_period():
    with pytest.raises(ValueError, match="period_days must be a number > 0; got 0"):
        SystemRequirements().error_budget_minutes(period_days=0)


def test_str_is_a_readable_deterministic_summary():
    text = str(SystemRequirements())
    assert text == str(SystemRequirements())
    lines = text.splitlines()
    assert lines[0] == "System requirements"
    for expected in [
        "100,000,000",
        "50,000",
        "100,000 requests/s",
        "50 ms",
        "200 ms",
        "1 day",
        "5 min",
        "99.9 % (<= 43.2 min down per 30 days)",
    ]:
        assert expected in text
    assert len(lines) == 1 + len(SystemRequirements().summary_rows())


def test_html_table_has_one_row_per_requirement_and_escapes():
    req = SystemRequirements()
    page = req._repr_html_()
    assert page.startswith("<table>") and page.endswith("</table>")
    assert page.count("<tr>") == 1 + len(req.summary_rows())  # header + rows
    assert "&lt;= 43.2 min" in page and "<= 43.2" not in page
    assert page == SystemRequirements()._repr_html_()


def test_summary_follows_the_values():
    req = SystemRequirements(n_users=20_000_000, peak_qps=300_000, new_item_freshness_hours=2)
    rows = dict(req.summary_rows())
    assert rows["users"] == "20,000,000"
    assert rows["peak load"] == "300,000 requests/s"
    assert rows["new title recommendable within"] == "2 h"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (30, "30 s"),
        (90, "1.5 min"),
        (300, "5 min"),
        (3_600, "1 h"),
        (86_400, "1 day"),
        (172_800, "2 days"),
        (129_600, "1.5 days"),
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_format_duration_rejects_negative():
    with pytest.raises(ValueError, match="seconds must be a finite number >= 0; got -1"):
        format_duration(-1)


@given(
    p50=st.floats(min_value=0.1, max_value=1e4),
    extra=st.floats(min_value=0.0, max_value=1e4),
)
def test_any_ordered_percentiles_are_valid(p50, extra):
    req = SystemRequirements(p50_ms=p50, p99_ms=p50 + extra)
    assert req.p99_ms >= req.p50_ms
    assert str(req).count("\n") == len(req.summary_rows())
