"""MLlib ALS behind the course recommender contract, and the nightly candidate batch.

:class:`SparkALS` trains Spark MLlib's implicit-feedback ALS (the same Hu-Koren-Volinsky
model as :class:`course_utils.models.ALS`: preference 1 with confidence ``1 + alpha r``
on every stored cell, 0 with confidence 1 elsewhere) and then behaves like every course
model: ``recommend``, ``score`` and ``evaluate(model, split)`` work unchanged, because the
learned factors are collected into numpy after training.

One difference matters when copying a configuration: MLlib multiplies ``regParam`` by
the number of interactions of the user (item) being solved (the "ALS-WR" weighting of
Zhou et al. 2008), while the course's ``regularization`` is one constant for all rows.
:func:`mllib_reg_param` converts one into the other at the average row:
``regParam = regularization / (nnz / n_users)``.

:func:`nightly_batch` is the batch-precompute path of notebook 06: top-N candidates for
every user from ``recommendForAllUsers``, seen items removed, written as Parquet
partitioned by ``bucket = user_id mod n_buckets`` so that an online ranker reads one small
directory per request (:func:`read_candidates`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from course_utils.data import schema as S
from course_utils.models.base import Recommender

__all__ = [
    "SparkALS",
    "fit_mllib_als",
    "mllib_reg_param",
    "nightly_batch",
    "read_candidates",
    "CANDIDATE_COLUMNS",
]

CANDIDATE_COLUMNS = (S.USER_ID, S.ITEM_ID, S.RANK, S.SCORE, "bucket")
_INT_MAX = 2**31 - 1  # MLlib ALS stores ids as Spark IntegerType


def mllib_reg_param(regularization: float, n_interactions: int, n_users: int) -> float:
    """MLlib ``regParam`` giving the course's constant ``regularization`` at the average user.

    MLlib solves user u with penalty ``regParam * n_u``; at ``n_u = nnz / n_users`` that
    equals the course's ``regularization``.

    Examples
    --------
    >>> mllib_reg_param(30.0, n_interactions=1000, n_users=10)
    0.3
    """
    if not regularization > 0:
        raise ValueError(f"regularization must be > 0; got {regularization}")
    if n_users < 1 or n_interactions < n_users:
        raise ValueError(f"need n_interactions >= n_users >= 1; got {n_interactions} and {n_users}")
    return float(regularization) * n_users / n_interactions


class SparkALS(Recommender):
    """Spark MLlib implicit ALS with the course's hyperparameter names.

    Parameters
    ----------
    n_factors : int
        MLlib ``rank``.
    regularization : float
        The course's constant L2 penalty; converted to MLlib's per-row ``regParam`` with
        :func:`mllib_reg_param` on the training data (see the module docstring).
    alpha : float
        Confidence slope, ``c = 1 + alpha r`` (MLlib ``alpha``).
    iterations : int
        MLlib ``maxIter`` (one user sweep and one item sweep each).
    use_ratings : bool
        Use the ``rating`` column as r when every row has one (as the course ALS does);
        otherwise r = 1 (or the ``weight`` column).
    n_blocks : int
        MLlib ``numUserBlocks`` and ``numItemBlocks``: how many partitions the factors
        and ratings are split into (on a cluster, about the number of executor cores).
    checkpoint_interval : int
        Checkpoint the factor RDDs every this many iterations (cuts the lineage; needs a
        checkpoint directory, which :func:`~course_utils.scale.spark.spark_session` sets).
    random_state : int
        MLlib ``seed`` of the initial factors.

    Attributes
    ----------
    user_factors_, item_factors_ : ndarray of float32
        Rows aligned with ``users_`` and ``items_``.
    reg_param_ : float
        The MLlib ``regParam`` used.
    spark_model_ : pyspark.ml.recommendation.ALSModel

    Examples
    --------
    >>> model = SparkALS(n_factors=8, iterations=3).fit(train)  # doctest: +SKIP
    >>> items, scores = model.recommend([1, 2], k=10)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        n_factors: int = 64,
        regularization: float = 30.0,
        alpha: float = 1.0,
        iterations: int = 15,
        use_ratings: bool = True,
        n_blocks: int = 2,
        checkpoint_interval: int = 10,
        random_state: int = 0,
    ) -> None:
        self.n_factors = n_factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.use_ratings = use_ratings
        self.n_blocks = n_blocks
        self.checkpoint_interval = checkpoint_interval
        self.random_state = random_state

    def _check_params(self) -> None:
        for name in ("n_factors", "iterations", "n_blocks", "checkpoint_interval"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an int >= 1; got {value!r}")
        if not self.regularization > 0:
            raise ValueError(f"regularization must be > 0; got {self.regularization!r}")
        if not self.alpha >= 0:
            raise ValueError(f"alpha must be >= 0; got {self.alpha!r}")

    def _fit(self, X: sp.csr_matrix, interactions: pd.DataFrame) -> None:
        self._check_params()
        from course_utils.scale.spark import spark_session

        values = X.tocoo()
        if self.use_ratings and S.RATING in interactions and interactions[S.RATING].notna().all():
            ratings = interactions.groupby([S.USER_ID, S.ITEM_ID])[S.RATING].sum()
            frame = ratings.reset_index()
        else:
            frame = pd.DataFrame(
                {
                    S.USER_ID: self.users_.ids(values.row),
                    S.ITEM_ID: self.items_.ids(values.col),
                    S.RATING: values.data,
                }
            )
        if frame[S.RATING].min() < 0:
            raise ValueError(
                f"interaction values must be >= 0; got minimum {frame[S.RATING].min()}"
            )
        for col in (S.USER_ID, S.ITEM_ID):
            if frame[col].max() > _INT_MAX or frame[col].min() < 0:
                raise ValueError(f"MLlib ALS needs {col} in [0, {_INT_MAX}]; got out-of-range ids")
        frame = frame.astype({S.USER_ID: np.int32, S.ITEM_ID: np.int32, S.RATING: np.float32})
        sdf = spark_session().createDataFrame(frame)
        self.reg_param_ = mllib_reg_param(self.regularization, len(frame), len(self.users_))
        self.spark_model_ = fit_mllib_als(
            sdf,
            n_factors=self.n_factors,
            reg_param=self.reg_param_,
            alpha=self.alpha,
            iterations=self.iterations,
            n_blocks=self.n_blocks,
            checkpoint_interval=self.checkpoint_interval,
            random_state=self.random_state,
        )
        self.user_factors_ = _aligned(self.spark_model_.userFactors, self.users_, self.n_factors)
        self.item_factors_ = _aligned(self.spark_model_.itemFactors, self.items_, self.n_factors)

    def _score(self, user_index: np.ndarray) -> np.ndarray:
        return self.user_factors_[user_index] @ self.item_factors_.T


def fit_mllib_als(
    sdf,
    *,
    n_factors: int,
    reg_param: float,
    alpha: float,
    iterations: int,
    n_blocks: int = 2,
    checkpoint_interval: int = 10,
    random_state: int = 0,
):
    """Train MLlib's implicit ALS on a Spark DataFrame (``user_id``, ``item_id``, ``rating``).

    Returns the ``pyspark.ml.recommendation.ALSModel``. :class:`SparkALS` calls this;
    the scaling benchmark calls it directly on data read from Parquet.

    Examples
    --------
    >>> model = fit_mllib_als(sdf, n_factors=8, reg_param=0.1, alpha=1.0, iterations=3)  # doctest: +SKIP
    """
    from pyspark.ml.recommendation import ALS as MLlibALS

    estimator = MLlibALS(
        rank=int(n_factors),
        maxIter=int(iterations),
        regParam=float(reg_param),
        alpha=float(alpha),
        implicitPrefs=True,
        numUserBlocks=int(n_blocks),
        numItemBlocks=int(n_blocks),
        checkpointInterval=int(checkpoint_interval),
        seed=int(random_state),
        userCol=S.USER_ID,
        itemCol=S.ITEM_ID,
        ratingCol=S.RATING,
        coldStartStrategy="drop",
    )
    return estimator.fit(sdf)


def _aligned(factors, vocab, rank: int) -> np.ndarray:
    """MLlib's (id, features) rows as a float32 matrix in vocabulary order (missing: zeros)."""
    frame = factors.toPandas()
    out = np.zeros((len(vocab), rank), dtype=np.float32)
    if len(frame):
        ids = frame["id"].to_numpy(dtype=np.int64)
        known = vocab.contains(ids)
        out[vocab.index(ids[known])] = np.stack(frame["features"].to_numpy()[known])
    return out


def nightly_batch(
    als_model,
    seen,
    path,
    *,
    n: int = 100,
    oversample: int | None = None,
    n_buckets: int = 16,
) -> dict:
    """Top-``n`` unseen candidates for every user, written as bucketed Parquet.

    ``recommendForAllUsers(n + oversample)`` scores every (user, item) pair block by
    block (a cross join of factor blocks with a bounded top-k per user, so no
    ``n_users x n_items`` matrix is materialised), seen items are removed with an anti
    join, and each user keeps the ``n`` best that remain. A user who has seen more than
    ``oversample`` of their top ``n + oversample`` gets fewer than ``n``; the returned
    ``short_users`` counts them.

    Parameters
    ----------
    als_model : pyspark.ml.recommendation.ALSModel
        E.g. ``SparkALS(...).fit(train).spark_model_``.
    seen : pyspark.sql.DataFrame
        ``user_id``, ``item_id`` pairs to exclude (the training interactions).
    path : path-like
        Output directory (overwritten).
    n : int
        Candidates per user.
    oversample : int, optional
        Extra items requested before removing seen ones; default ``n``.
    n_buckets : int
        Parquet partitions ``bucket=0 .. n_buckets-1`` with ``bucket = user_id mod n_buckets``.

    Returns
    -------
    dict
        ``users``, ``rows``, ``short_users`` and ``path``.

    Examples
    --------
    >>> info = nightly_batch(model.spark_model_, seen_sdf, "/tmp/cands", n=50)  # doctest: +SKIP
    """
    for name, value in (("n", n), ("n_buckets", n_buckets)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an int >= 1; got {value!r}")
    oversample = n if oversample is None else oversample
    if (
        isinstance(oversample, bool)
        or not isinstance(oversample, (int, np.integer))
        or oversample < 0
    ):
        raise ValueError(f"oversample must be an int >= 0; got {oversample!r}")
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    raw = als_model.recommendForAllUsers(int(n + oversample))
    exploded = raw.select(
        F.col(S.USER_ID).cast("long").alias(S.USER_ID),
        F.posexplode("recommendations").alias("pos", "rec"),
    ).select(
        S.USER_ID,
        F.col("rec").getField(S.ITEM_ID).cast("long").alias(S.ITEM_ID),
        F.col("rec").getField(S.RATING).alias(S.SCORE),
        "pos",
    )
    pairs = seen.select(
        F.col(S.USER_ID).cast("long").alias(S.USER_ID),
        F.col(S.ITEM_ID).cast("long").alias(S.ITEM_ID),
    )
    unseen = exploded.join(pairs, [S.USER_ID, S.ITEM_ID], "left_anti")
    order = Window.partitionBy(S.USER_ID).orderBy(F.col(S.SCORE).desc(), S.ITEM_ID)
    top = (
        unseen.withColumn(S.RANK, F.row_number().over(order))
        .where(F.col(S.RANK) <= n)
        .withColumn("bucket", F.pmod(F.col(S.USER_ID), F.lit(int(n_buckets))).cast("int"))
        .select(*CANDIDATE_COLUMNS)
    )
    path = Path(path)
    top.repartition("bucket").write.mode("overwrite").partitionBy("bucket").parquet(str(path))
    written = als_model.sparkSession if hasattr(als_model, "sparkSession") else None
    from course_utils.scale.spark import spark_session

    back = (written or spark_session()).read.parquet(str(path))
    per_user = back.groupBy(S.USER_ID).count()
    stats = per_user.agg(
        F.count(F.lit(1)).alias("users"),
        F.sum("count").alias("rows"),
        F.sum((F.col("count") < n).cast("long")).alias("short_users"),
    ).first()
    return {
        "users": int(stats["users"] or 0),
        "rows": int(stats["rows"] or 0),
        "short_users": int(stats["short_users"] or 0),
        "path": str(path),
    }


def read_candidates(path, user_ids, *, n_buckets: int = 16) -> pd.DataFrame:
    """What the online ranker does: read the candidates of ``user_ids`` without Spark.

    Only the ``bucket=`` directories of the requested users are opened (pyarrow filters).

    Examples
    --------
    >>> read_candidates("/tmp/cands", [1, 2]).columns.tolist()  # doctest: +SKIP
    ['user_id', 'item_id', 'rank', 'score', 'bucket']
    """
    users = np.atleast_1d(np.asarray(user_ids, dtype=np.int64))
    buckets = sorted({int(b) for b in np.mod(users, n_buckets)})
    frame = pd.read_parquet(
        Path(path), filters=[("bucket", "in", buckets), (S.USER_ID, "in", users.tolist())]
    )
    frame["bucket"] = frame["bucket"].astype(np.int64)
    return frame.sort_values([S.USER_ID, S.RANK]).reset_index(drop=True)[list(CANDIDATE_COLUMNS)]
