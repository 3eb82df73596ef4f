"""Shared fixtures. Unit tests never touch the network."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

from course_utils.data import schema as S

# CI is deterministic: the same examples on every run and no example database, so a
# failure reproduces and a passing commit stays green. Local runs keep exploring with new
# random examples (the default profile) and remember failures in .hypothesis/.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def _movielens_available() -> bool:
    from course_utils.data.movielens import DataNotFoundError, locate_movielens

    try:
        locate_movielens(download=False)
    except DataNotFoundError:
        return False
    return True


requires_movielens = pytest.mark.skipif(
    not os.environ.get("COURSE_DATA_DIR") or not _movielens_available(),
    reason="MovieLens not available locally (set COURSE_DATA_DIR); unit tests never download",
)


@pytest.fixture(scope="session")
def benchmark():
    """The course benchmark split (MovieLens), skipped when the data is not local."""
    if not os.environ.get("COURSE_DATA_DIR") or not _movielens_available():
        pytest.skip("MovieLens not available locally (set COURSE_DATA_DIR)")
    from course_utils.data.splits import benchmark_split

    return benchmark_split()


@pytest.fixture
def tiny_interactions() -> pd.DataFrame:
    """12 users x 30 items with block structure: users 0-5 like items 0-14, the rest 15-29."""
    rng = np.random.default_rng(0)
    rows = []
    for u in range(12):
        pool = np.arange(0, 15) if u < 6 else np.arange(15, 30)
        items = rng.choice(pool, size=8, replace=False)
        for t, i in enumerate(items):
            rows.append((u + 1, int(i) + 100, float(rng.integers(1, 6)), t + u * 100))
    df = pd.DataFrame(rows, columns=[S.USER_ID, S.ITEM_ID, S.RATING, "t"])
    df[S.TIMESTAMP] = pd.to_datetime(df.pop("t"), unit="h", utc=True)
    return df


@pytest.fixture
def tiny_items() -> pd.DataFrame:
    """Catalogue for ``tiny_interactions`` (ids 100-129) plus 5 items nobody interacted with."""
    ids = np.arange(100, 135)
    genres = [["Comedy", "Romance"] if i < 115 else ["Action", "Sci-Fi"] for i in ids]
    genres[-1] = ["Comedy"]
    tags = [["funny"] if i % 3 == 0 else ["dark"] if i % 3 == 1 else [] for i in ids]
    years = pd.array([1980 + (i % 40) for i in ids], dtype="Int64")
    return pd.DataFrame(
        {
            S.ITEM_ID: ids,
            S.TITLE: [f"Movie {i}" for i in ids],
            S.YEAR: years,
            S.GENRES: genres,
            S.TAGS: tags,
        }
    )


def write_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
