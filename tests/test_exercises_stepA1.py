"""Appendix A1 exercise checks: correct Spark answers pass, common mistakes fail.

Skipped without pyspark (the main and Colab CI legs); the spark leg runs them.
"""

from __future__ import annotations

import importlib.util

import pytest

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None,
        reason="pyspark not installed: the Spark appendix needs `pip install -r requirements-spark.txt`",
    ),
    # pyspark 4.3 on pandas 3 (see course_utils.scale.spark): known, harmless here
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


@pytest.fixture(scope="module", autouse=True)
def spark():
    from course_utils.scale.spark import spark_session, stop_spark

    session = spark_session(cores=2)
    yield session
    stop_spark()


def _split_sql(order: str = "timestamp, item_id", bound: str = "CEIL({f} * n - 1e-9)"):
    def spark_split(interactions, train_frac):
        if not 0 < train_frac < 1:
            raise ValueError(f"train_frac must be in (0, 1); got {train_frac}")
        interactions.createOrReplaceTempView("ratings")
        ranked = interactions.sparkSession.sql(
            f"""SELECT *, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY {order}) AS pos,
                       COUNT(*) OVER (PARTITION BY user_id) AS n FROM ratings"""
        )
        keep = f"pos <= {bound.format(f=float(train_frac))}"
        cols = interactions.columns
        return ranked.where(keep).select(*cols), ranked.where(f"NOT ({keep})").select(*cols)

    return spark_split


def _split_dataframe_api(interactions, train_frac):
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not 0 < train_frac < 1:
        raise ValueError("train_frac must be in (0, 1)")
    by_user = Window.partitionBy("user_id")
    ranked = interactions.withColumn(
        "pos", F.row_number().over(by_user.orderBy("timestamp", "item_id"))
    ).withColumn("n", F.count("*").over(by_user))
    in_train = F.col("pos") <= F.ceil(F.lit(train_frac) * F.col("n") - F.lit(1e-9))
    return ranked.where(in_train).drop("pos", "n"), ranked.where(~in_train).drop("pos", "n")


def _split_whole_table(interactions, train_frac):  # numbers rows globally, not per user
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not 0 < train_frac < 1:
        raise ValueError("train_frac must be in (0, 1)")
    w = Window.orderBy("timestamp", "item_id")
    ranked = interactions.withColumn("pos", F.row_number().over(w)).withColumn(
        "n", F.count("*").over(Window.partitionBy())
    )
    keep = F.col("pos") <= F.ceil(F.lit(train_frac) * F.col("n"))
    return ranked.where(keep).drop("pos", "n"), ranked.where(~keep).drop("pos", "n")


@pytest.mark.parametrize("fn", [_split_sql(), _split_dataframe_api], ids=["sql", "dataframe"])
def test_spark_split_accepts_correct_answers(fn, capsys):
    from course_utils.exercises.stepA1 import check_spark_split

    assert check_spark_split(fn)
    assert "✅ spark_split" in capsys.readouterr().out


@pytest.mark.parametrize(
    "fn",
    [
        _split_sql(order="timestamp"),  # ties not broken by item_id
        _split_sql(bound="FLOOR({f} * n)"),  # floor drops a one-row user's only row
        _split_sql(order="timestamp DESC, item_id"),  # newest first: trains on the future
        _split_whole_table,
    ],
    ids=["no-tie-break", "floor", "newest-first", "whole-table"],
)
def test_spark_split_rejects_mistakes(fn, capsys):
    from course_utils.exercises.stepA1 import check_spark_split

    with pytest.raises(AssertionError, match="spark_split"):
        check_spark_split(fn)
    assert "❌" in capsys.readouterr().out


def test_spark_split_untouched_is_not_attempted(capsys):
    from course_utils.exercises.stepA1 import check_spark_split

    def spark_split(interactions, train_frac):
        raise NotImplementedError()

    assert not check_spark_split(spark_split)
    assert "not attempted" in capsys.readouterr().out


def _activity_sql(op: str = "<", agg: str = "AVG(rating)", last: str = "MAX"):
    def user_activity_sql(interactions, cutoff):
        import pandas as pd

        micros = int(pd.Timestamp(cutoff).value // 1000)
        interactions.createOrReplaceTempView("events")
        return interactions.sparkSession.sql(
            f"""SELECT user_id, COUNT(*) AS n_interactions, {agg} AS mean_rating,
                       ({micros} - unix_micros({last}(timestamp))) / 86400e6 AS days_since_last
                FROM events WHERE timestamp {op} timestamp_micros({micros})
                GROUP BY user_id"""
        )

    return user_activity_sql


def _activity_dataframe_api(interactions, cutoff):
    import pandas as pd
    from pyspark.sql import functions as F

    cut = pd.Timestamp(cutoff)
    micros = int(cut.value // 1000)
    past = interactions.where(F.col("timestamp") < F.timestamp_micros(F.lit(micros)))
    return past.groupBy("user_id").agg(
        F.count("*").alias("n_interactions"),
        F.avg("rating").alias("mean_rating"),
        ((F.lit(micros) - F.unix_micros(F.max("timestamp"))) / 86400e6).alias("days_since_last"),
    )


@pytest.mark.parametrize("fn", [_activity_sql(), _activity_dataframe_api], ids=["sql", "dataframe"])
def test_user_activity_sql_accepts_correct_answers(fn, capsys):
    from course_utils.exercises.stepA1 import check_user_activity_sql

    assert check_user_activity_sql(fn)
    assert "✅ user_activity_sql" in capsys.readouterr().out


@pytest.mark.parametrize(
    "fn",
    [
        _activity_sql(op="<="),  # an event at the cutoff leaks in
        _activity_sql(agg="SUM(rating) / COUNT(*)"),  # missing ratings count as zero
        _activity_sql(last="MIN"),  # days since the first event, not the last
    ],
    ids=["at-cutoff", "nan-as-zero", "first-not-last"],
)
def test_user_activity_sql_rejects_mistakes(fn, capsys):
    from course_utils.exercises.stepA1 import check_user_activity_sql

    with pytest.raises(AssertionError, match="user_activity_sql"):
        check_user_activity_sql(fn)
    assert "❌" in capsys.readouterr().out
