"""The course's data steps in Spark SQL: the per-user temporal split and point-in-time features.

Each function takes Spark DataFrames (see :func:`course_utils.scale.spark.to_spark_interactions`)
and returns a Spark DataFrame computing exactly what the pandas version in the course
computes, so the tests can compare them row for row:

- :func:`per_user_split_sql` = :func:`course_utils.data.splits.per_user_temporal_split`
  (window functions over each user's rows ordered by ``(timestamp, item_id)``);
- :func:`user_features_sql` = :func:`course_utils.features.point_in_time.user_features`;
- :func:`item_features_sql` = :func:`course_utils.features.point_in_time.item_features`.

On a cluster each ``PARTITION BY user_id`` window and each ``GROUP BY`` is one shuffle:
rows are hashed by key to ``spark.sql.shuffle.partitions`` partitions, then each partition
is sorted or aggregated locally.
"""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from course_utils.data import schema as S
from course_utils.features._common import _as_cutoff

__all__ = [
    "SPLIT_SQL",
    "per_user_split_sql",
    "user_features_sql",
    "item_features_sql",
    "features_to_pandas",
]

SPLIT_SQL = """
SELECT *,
       ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY timestamp, item_id) AS position,
       COUNT(*)     OVER (PARTITION BY user_id)                            AS n_user
FROM {table}
"""
"""Each row's position in its user's history (1 = oldest) and the user's row count."""

_MICROS_PER_DAY = 86_400 * 1_000_000


def _check_frac(train_frac) -> float:
    if isinstance(train_frac, bool) or not isinstance(train_frac, (int, float, np.floating)):
        raise TypeError(f"train_frac must be a float; got {type(train_frac).__name__}")
    if not 0 < train_frac < 1:
        raise ValueError(f"train_frac must be in (0, 1); got {train_frac}")
    return float(train_frac)


def _check_columns(sdf, need, what: str) -> None:
    missing = sorted(set(need) - set(sdf.columns))
    if missing:
        raise ValueError(f"{what} lacks columns {missing}; has {sdf.columns}")


def per_user_split_sql(interactions, train_frac: float = 0.8):
    """Per-user temporal split in Spark SQL: ``(train, test)`` Spark DataFrames.

    Each user's first ``ceil(train_frac * n)`` rows by ``(timestamp, item_id)`` go to
    train, as in :func:`course_utils.data.splits.per_user_temporal_split` (the same
    ``- 1e-9`` guard against float round-up, in double precision).

    Parameters
    ----------
    interactions : pyspark.sql.DataFrame
        ``user_id``, ``item_id``, ``timestamp`` and any other columns (kept).
    train_frac : float
        Share of each user's history that trains, in (0, 1).

    Returns
    -------
    train, test : pyspark.sql.DataFrame
        The input columns, unchanged.

    Examples
    --------
    >>> train, test = per_user_split_sql(to_spark_interactions(spark, ratings))  # doctest: +SKIP
    """
    train_frac = _check_frac(train_frac)
    _check_columns(interactions, [S.USER_ID, S.ITEM_ID, S.TIMESTAMP], "interactions")
    from pyspark.sql import functions as F

    spark = interactions.sparkSession
    view = f"course_split_input_{uuid.uuid4().hex}"
    interactions.createOrReplaceTempView(view)
    ranked = spark.sql(SPLIT_SQL.format(table=view))
    n_train = F.ceil(F.lit(train_frac).cast("double") * F.col("n_user") - F.lit(1e-9))
    in_train = F.col("position") <= n_train
    cols = interactions.columns
    return ranked.where(in_train).select(*cols), ranked.where(~in_train).select(*cols)


def _past(interactions, cutoff):
    """Rows strictly before ``cutoff`` (the point-in-time rule) and the cutoff as a literal."""
    from pyspark.sql import functions as F

    _check_columns(interactions, [S.USER_ID, S.ITEM_ID, S.TIMESTAMP], "interactions")
    cutoff = _as_cutoff(cutoff)
    micros = int(cutoff.value // 1000)
    cut = F.timestamp_micros(F.lit(micros))
    return interactions.where(F.col(S.TIMESTAMP) < cut), cutoff, micros


def _days_before(micros: int, column):
    from pyspark.sql import functions as F

    return (F.lit(micros) - F.unix_micros(column)).cast("double") / F.lit(float(_MICROS_PER_DAY))


def _genre_names(items) -> list[str]:
    from pyspark.sql import functions as F

    rows = items.select(F.explode(S.GENRES).alias("g")).distinct().collect()
    return sorted(str(r.g) for r in rows if r.g is not None)


def user_features_sql(interactions, items, cutoff):
    """Point-in-time user features in Spark SQL (:func:`course_utils.features.point_in_time.user_features`).

    Columns: ``user_id``, ``n_interactions``, ``mean_rating``, ``rating_std`` (population),
    ``days_since_last``, ``days_since_first``, one ``genre_aff_<Genre>`` per catalogue
    genre (sorted; an interaction with a title of g genres adds 1/g to each, shares of
    the user's total) and ``median_year`` (exact median, ``percentile(year, 0.5)``).

    Examples
    --------
    >>> users = user_features_sql(sdf, sitems, "2015-01-01")  # doctest: +SKIP
    """
    from pyspark.sql import functions as F

    past, _, micros = _past(interactions, cutoff)
    _check_columns(items, [S.ITEM_ID, S.GENRES, S.YEAR], "items")
    has_rating = S.RATING in past.columns
    rating = F.col(S.RATING) if has_rating else F.lit(None).cast("double")
    activity = past.groupBy(S.USER_ID).agg(
        F.count(F.lit(1)).alias("n_interactions"),
        F.avg(rating).alias("mean_rating"),
        F.stddev_pop(rating).alias("rating_std"),
        _days_before(micros, F.max(S.TIMESTAMP)).alias("days_since_last"),
        _days_before(micros, F.min(S.TIMESTAMP)).alias("days_since_first"),
    )
    names = _genre_names(items)
    # 1/g rounded to float32 then summed in float64: exactly what the pandas version does
    # (its genre matrix is float32), so the two agree to ~1e-15 rather than ~1e-9
    share = (F.lit(1.0) / F.size(S.GENRES)).cast("float").cast("double")
    shares = items.select(S.ITEM_ID, F.explode(S.GENRES).alias("genre"), share.alias("share"))
    per_genre = (
        past.select(S.USER_ID, S.ITEM_ID)
        .join(shares, S.ITEM_ID)
        .groupBy(S.USER_ID)
        .pivot("genre", names)
        .agg(F.sum("share"))
    )
    total = sum((F.coalesce(F.col(f"`{g}`"), F.lit(0.0)) for g in names), F.lit(0.0))
    affinity = per_genre.select(
        S.USER_ID,
        *[(F.coalesce(F.col(f"`{g}`"), F.lit(0.0)) / total).alias(f"genre_aff_{g}") for g in names],
    )
    years = (
        past.select(S.USER_ID, S.ITEM_ID)
        .join(items.select(S.ITEM_ID, S.YEAR), S.ITEM_ID)
        .groupBy(S.USER_ID)
        .agg(F.percentile(F.col(S.YEAR).cast("double"), F.lit(0.5)).alias("median_year"))
    )
    out = activity.join(affinity, S.USER_ID, "left").join(years, S.USER_ID, "left")
    aff_cols = [
        F.coalesce(F.col(f"genre_aff_{g}"), F.lit(0.0)).alias(f"genre_aff_{g}") for g in names
    ]
    return out.select(
        S.USER_ID,
        "n_interactions",
        "mean_rating",
        "rating_std",
        "days_since_last",
        "days_since_first",
        *aff_cols,
        "median_year",
    )


def item_features_sql(
    interactions, items, cutoff, *, recent_days: float = 30, shrinkage: float = 10.0
):
    """Point-in-time item features in Spark SQL (:func:`course_utils.features.point_in_time.item_features`).

    One row per catalogue item: ``n_interactions``, ``n_recent`` (in
    ``[cutoff - recent_days, cutoff)``), ``n_ratings``, ``mean_rating``,
    ``mean_rating_shrunk`` = ``(n mean + m global_mean) / (n + m)``, ``days_since_first``,
    ``year``, ``title_age_years`` and ``genre_<Genre>`` 0/1 columns. The global mean is
    one aggregate broadcast to every row (a cross join with a one-row table).

    Examples
    --------
    >>> items_f = item_features_sql(sdf, sitems, "2015-01-01")  # doctest: +SKIP
    """
    if not recent_days > 0:
        raise ValueError(f"recent_days must be > 0; got {recent_days}")
    if not shrinkage >= 0:
        raise ValueError(f"shrinkage must be >= 0; got {shrinkage}")
    from pyspark.sql import functions as F

    past, cutoff_ts, micros = _past(interactions, cutoff)
    _check_columns(items, [S.ITEM_ID, S.GENRES, S.YEAR], "items")
    past = past.join(items.select(S.ITEM_ID), S.ITEM_ID, "left_semi")  # catalogue items only
    rating = F.col(S.RATING) if S.RATING in past.columns else F.lit(None).cast("double")
    recent_from = micros - int(round(recent_days * _MICROS_PER_DAY))
    stats = past.groupBy(S.ITEM_ID).agg(
        F.count(F.lit(1)).alias("n_interactions"),
        F.sum((F.unix_micros(S.TIMESTAMP) >= F.lit(recent_from)).cast("long")).alias("n_recent"),
        F.count(rating).alias("n_ratings"),
        F.avg(rating).alias("mean_rating"),
        _days_before(micros, F.min(S.TIMESTAMP)).alias("days_since_first"),
    )
    global_mean = past.agg(F.avg(rating).alias("global_mean"))
    names = _genre_names(items)
    genre_cols = [F.array_contains(S.GENRES, g).cast("double").alias(f"genre_{g}") for g in names]
    n = F.coalesce(F.col("n_ratings"), F.lit(0)).cast("double")
    if shrinkage == 0:
        shrunk = F.col("mean_rating")
    else:
        shrunk = (
            F.coalesce(F.col("mean_rating"), F.lit(0.0)) * n
            + F.lit(float(shrinkage)) * F.col("global_mean")
        ) / (n + F.lit(float(shrinkage)))
    year = F.col(S.YEAR).cast("double")
    out = items.join(stats, S.ITEM_ID, "left").crossJoin(F.broadcast(global_mean))
    return out.select(
        S.ITEM_ID,
        F.coalesce("n_interactions", F.lit(0)).cast("long").alias("n_interactions"),
        F.coalesce("n_recent", F.lit(0)).cast("long").alias("n_recent"),
        F.coalesce("n_ratings", F.lit(0)).cast("long").alias("n_ratings"),
        "mean_rating",
        shrunk.alias("mean_rating_shrunk"),
        "days_since_first",
        year.alias(S.YEAR),
        (F.lit(float(cutoff_ts.year)) - year).alias("title_age_years"),
        *genre_cols,
    )


def features_to_pandas(sdf, key: str) -> pd.DataFrame:
    """Collect a feature table, indexed and sorted by ``key``, NULL as NaN (pandas style).

    Examples
    --------
    >>> features_to_pandas(user_features_sql(sdf, sitems, "2015-01-01"), "user_id")  # doctest: +SKIP
    """
    frame = sdf.toPandas().set_index(key).sort_index()
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = pd.to_numeric(frame[col])
    return frame
