"""Tests of course_utils.data.validation: every check fires on the defect it targets, and only then."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_utils.data import schema as S
from course_utils.data.dataset import Dataset
from course_utils.data.synthetic import make_synthetic
from course_utils.data.validation import (
    DataValidationError,
    ValidationReport,
    corrupt_copy,
    validate_dataset,
)

NOW = pd.Timestamp("2025-06-01", tz="UTC")


@pytest.fixture(scope="module")
def synthetic() -> Dataset:
    return make_synthetic(n_users=150, n_items=60, n_interactions=1500, random_state=3)


def _movielens_like() -> Dataset:
    """A clean four-row MovieLens-shaped dataset."""
    inter = pd.DataFrame(
        {
            S.USER_ID: np.array([1, 1, 2, 2], dtype=np.int64),
            S.ITEM_ID: np.array([10, 20, 10, 30], dtype=np.int64),
            S.RATING: [4.0, 3.5, 0.5, 5.0],
            S.TIMESTAMP: pd.to_datetime(
                ["2000-01-01", "2001-01-01", "2002-01-01", "2003-01-01"], utc=True
            ),
        }
    )
    items = pd.DataFrame(
        {
            S.ITEM_ID: np.array([10, 20, 30], dtype=np.int64),
            S.TITLE: pd.array(["A", "B", "C"], dtype="str"),
            S.YEAR: pd.array([1990, 1995, 1999], dtype="Int64"),
            S.GENRES: [["Drama"], ["Comedy"], ["Drama", "War"]],
            S.TAGS: [[], ["fun"], []],
        }
    )
    return Dataset("movielens", inter, items)


def _status(report: ValidationReport) -> dict[str, tuple[str, int]]:
    return {c.name: (c.status, c.count) for c in report.checks}


def test_clean_data_passes_every_check(synthetic):
    report = validate_dataset(synthetic, now=NOW)
    assert report.ok
    assert {c.status for c in report.checks} == {"OK"}
    assert validate_dataset(_movielens_like(), now=NOW).checks[0].status == "OK"
    assert validate_dataset(_movielens_like(), now=NOW).ok


def test_corrupted_copy_is_caught_with_exact_counts(synthetic):
    before = synthetic.interactions.copy()
    report = validate_dataset(corrupt_copy(synthetic, random_state=1), now=NOW)
    pd.testing.assert_frame_equal(synthetic.interactions, before)  # original untouched
    got = _status(report)
    assert got["duplicates: (user, item, timestamp) events"] == ("FAIL", 50)
    assert got["ratings: within 1-5 in steps of 0.5"] == ("FAIL", 3)
    assert got["watch_pct: present and within 0-100"] == ("FAIL", 2)
    assert got["timestamps: present (no NaT)"] == ("FAIL", 2)
    assert got["timestamps: not in the future"] == ("FAIL", 2)
    assert got["timestamps: not before 2024-01-01"] == ("FAIL", 1)
    assert got["orphans: interactions with unknown item_id"] == ("FAIL", 5)
    assert got["catalogue: titles with a year"] == ("WARN", 1)
    assert got["schema: required columns present"] == ("OK", 0)
    assert not report.ok
    with pytest.raises(DataValidationError, match="checks failed"):
        report.raise_if_failed()
    validate_dataset(synthetic, now=NOW).raise_if_failed()  # clean: no exception


def test_each_movielens_defect_is_reported():
    ds = _movielens_like()
    inter = ds.interactions
    inter.loc[0, S.RATING] = 5.5  # off the scale
    inter.loc[1, S.RATING] = 3.25  # off the 0.5 grid
    inter.loc[2, S.RATING] = np.nan  # MovieLens rates every row
    inter.loc[3, S.TIMESTAMP] = pd.Timestamp("1994-06-01", tz="UTC")  # before 1995 and 1999
    ds.items.loc[1, S.YEAR] = pd.NA
    ds.items.at[0, S.GENRES] = []
    got = _status(validate_dataset(ds, now=NOW))
    assert got["ratings: within 0.5-5 in steps of 0.5"] == ("FAIL", 2)
    assert got["ratings: present (MovieLens rates every row)"] == ("FAIL", 1)
    assert got["timestamps: not before 1995-01-01"] == ("FAIL", 1)
    assert got["timestamps: not before the title's release year"] == (
        "WARN",
        1,
    )  # item 30 is from 1999
    assert got["catalogue: titles with a year"] == ("WARN", 1)
    assert got["catalogue: titles with genres"] == ("WARN", 1)
    assert got["timestamps: not in the future"] == ("OK", 0)
    # the "future" is relative to `now`
    early_now = validate_dataset(_movielens_like(), now="2002-06-01")
    assert _status(early_now)["timestamps: not in the future"] == ("FAIL", 1)


def test_schema_and_dtype_problems_skip_dependent_checks_instead_of_crashing():
    ds = _movielens_like()
    broken = Dataset(
        "movielens",
        ds.interactions.drop(columns=S.RATING).assign(
            timestamp=np.arange(4), user_id=["1", "1", "2", "2"]
        ),
        ds.items,
    )
    report = validate_dataset(broken, now=NOW)
    got = _status(report)
    assert got["schema: required columns present"] == ("FAIL", 1)
    dtype_check = next(c for c in report.checks if c.name.startswith("dtypes"))
    assert dtype_check.status == "FAIL" and dtype_check.count == 2
    assert "interactions.user_id" in dtype_check.example
    assert "interactions.timestamp" in dtype_check.example
    assert got["ratings: within the scale"][0] == "SKIP"
    assert got["timestamps: present (no NaT)"][0] == "SKIP"


def test_report_renders_as_text_and_html_tables(synthetic):
    ds = corrupt_copy(synthetic)
    ds.items.loc[0, S.TITLE] = "<script>"  # example text must be escaped in HTML
    ds.items.loc[0, S.YEAR] = pd.NA
    report = validate_dataset(ds, now=NOW)
    text = str(report)
    lines = text.splitlines()
    assert lines[0].startswith("Validation of 'synthetic': FAILED")
    assert lines[1].split() == ["check", "status", "count", "example"]
    assert len(lines) == 3 + len(report.checks)
    assert all(c.name in text for c in report.checks)
    page = report._repr_html_()
    assert page.count("<tr>") == 1 + len(report.checks)
    assert "&lt;script&gt;" in page and "<script>" not in page
    frame = report.to_frame()
    assert frame.columns.tolist() == ["check", "status", "count", "example"]
    assert len(frame) == len(report.checks)


def test_argument_errors(synthetic):
    with pytest.raises(TypeError, match="Dataset"):
        validate_dataset(synthetic.interactions)
    with pytest.raises(ValueError, match="rating_scale"):
        validate_dataset(synthetic, rating_scale=(5, 1))
    tiny = Dataset("synthetic", synthetic.interactions.head(10), synthetic.items)
    with pytest.raises(ValueError, match=">= 65"):
        corrupt_copy(tiny)
