# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/recsys-course/recsys-design-course/blob/main/solutions/A1_scaling_out.ipynb)
#
# # Appendix A1 exercises · Scaling out on Spark
#
# You will practise: writing the course's per-user temporal split as a Spark window query
# and a point-in-time user feature in Spark SQL. Each exercise ends with a check cell that
# runs your Spark code on small tables and compares the result with the course's pandas
# code. Set-up: `pip install -r requirements.txt -r requirements-spark.txt`.

# %%
# Colab setup: installs course_utils with its Spark extra when run on Google Colab; does nothing elsewhere.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "course_utils[spark] @ git+https://github.com/recsys-course/recsys-design-course",
        ],
        check=True,
    )

# %%
import pandas as pd
from pyspark.sql import Window
from pyspark.sql import functions as F

from course_utils.data import schema as S
from course_utils.data import load_movielens
from course_utils.exercises.stepA1 import check_spark_split, check_user_activity_sql
from course_utils.features import user_activity
from course_utils.scale.spark import spark_session, stop_spark, to_spark_interactions
from course_utils.data import benchmark_split

spark = spark_session(cores=2)
ratings = load_movielens().interactions
ratings_sdf = to_spark_interactions(spark, ratings)
ratings_sdf.printSchema()

# %% [markdown]
# ## Exercise 1 · The per-user temporal split as a Spark window query
#
# **Practise:** expressing a per-group ordering in Spark with window functions.
#
# Write `spark_split(interactions, train_frac)` that takes a Spark DataFrame with
# `user_id`, `item_id`, `rating` and `timestamp` and returns `(train, test)`, two Spark
# DataFrames with the same columns: each user's first `ceil(train_frac * n)` interactions
# by `(timestamp, item_id)` go to train, the rest to test. Raise `ValueError` unless
# `0 < train_frac < 1`. You may use Spark SQL (`interactions.createOrReplaceTempView(...)`
# then `interactions.sparkSession.sql(...)`) or the DataFrame API.
#
# <details><summary>Hint</summary>
#
# `Window.partitionBy("user_id").orderBy("timestamp", "item_id")` with `F.row_number()`
# numbers each user's rows from 1; `F.count("*").over(Window.partitionBy("user_id"))` is the
# user's `n`. Keep `row_number <= ceil(train_frac * n - 1e-9)` for train (the `- 1e-9`
# protects against `0.7 * 10 = 7.000000000000001`).
# </details>

# %%
def spark_split(interactions, train_frac: float = 0.8):
    ### BEGIN SOLUTION
    if not 0 < train_frac < 1:
        raise ValueError(f"train_frac must be in (0, 1); got {train_frac}")
    by_user = Window.partitionBy(S.USER_ID)
    ranked = interactions.withColumn(
        "position", F.row_number().over(by_user.orderBy(S.TIMESTAMP, S.ITEM_ID))
    ).withColumn("n", F.count("*").over(by_user))
    in_train = F.col("position") <= F.ceil(F.lit(float(train_frac)) * F.col("n") - F.lit(1e-9))
    columns = interactions.columns
    return ranked.where(in_train).select(*columns), ranked.where(~in_train).select(*columns)
    ### END SOLUTION


# %%
check_spark_split(spark_split)

# %% [markdown]
# Once it passes, your query reproduces the course benchmark on MovieLens:

# %%
try:
    train, test = spark_split(ratings_sdf, 0.8)
    bench = benchmark_split()
    print(
        f"your split: {train.count():,} train / {test.count():,} test rows; "
        f"benchmark: {len(bench.train):,} / {len(bench.test):,}"
    )
except NotImplementedError:
    print("⏳ spark_split is not attempted yet")

# %% [markdown]
# ## Exercise 2 · A point-in-time user feature in Spark SQL
#
# **Practise:** an aggregate that only looks at the past, as a feature pipeline computes it.
#
# Write `user_activity_sql(interactions, cutoff)` returning a Spark DataFrame with the
# columns `user_id`, `n_interactions`, `mean_rating` and `days_since_last`, using **only
# interactions strictly before** `cutoff` (a UTC `pd.Timestamp`). `mean_rating` ignores
# missing ratings (they are `NULL` in Spark); `days_since_last` is the time from the user's
# last interaction before the cutoff to the cutoff, in fractional days.
#
# <details><summary>Hint</summary>
#
# Turn the cutoff into a Spark timestamp: `micros = int(pd.Timestamp(cutoff).value // 1000)`
# and `timestamp_micros(micros)` in SQL (or `F.timestamp_micros(F.lit(micros))`). Then
# `WHERE timestamp < ...`, `GROUP BY user_id`, `COUNT(*)`, `AVG(rating)`, and
# `(micros - unix_micros(MAX(timestamp))) / 86400e6`.
# </details>

# %%
def user_activity_sql(interactions, cutoff):
    ### BEGIN SOLUTION
    micros = int(pd.Timestamp(cutoff).value // 1000)
    interactions.createOrReplaceTempView("events")
    return interactions.sparkSession.sql(
        f"""
        SELECT user_id,
               COUNT(*)    AS n_interactions,
               AVG(rating) AS mean_rating,
               ({micros} - unix_micros(MAX(timestamp))) / 86400e6 AS days_since_last
        FROM events
        WHERE timestamp < timestamp_micros({micros})
        GROUP BY user_id
        """
    )
    ### END SOLUTION


# %%
check_user_activity_sql(user_activity_sql)

# %% [markdown]
# On MovieLens, as of 2015-01-01, your feature against the course's pandas one:

# %%
try:
    cutoff = pd.Timestamp("2015-01-01", tz="UTC")
    mine = user_activity_sql(ratings_sdf, cutoff).toPandas().set_index(S.USER_ID).sort_index()
    course = user_activity(ratings, cutoff)[mine.columns]
    print(f"{len(mine)} users (pandas: {len(course)}); largest difference:")
    print((mine - course).abs().max().to_string())
except NotImplementedError:
    print("⏳ user_activity_sql is not attempted yet")

# %%
stop_spark()
