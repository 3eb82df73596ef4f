"""Spark's own measurements of a piece of work: stages, tasks and shuffle bytes.

:class:`StageMeter` tags every job started inside its ``with`` block with a job group,
then reads, for each stage of those jobs, the numbers Spark's status store keeps (the
same ones its web UI shows; no UI or REST server is needed): tasks, input bytes and
shuffle read / write bytes. A stage that writes shuffle bytes ends where data is
redistributed by key across partitions: on a cluster, across the network.

Examples
--------
>>> with StageMeter(spark, "split") as meter:            # doctest: +SKIP
...     train.count()
>>> meter.stages[["name", "tasks", "shuffle_write_bytes"]]  # doctest: +SKIP
"""

from __future__ import annotations

import time
import uuid

import pandas as pd

__all__ = ["StageMeter", "STAGE_COLUMNS"]

STAGE_COLUMNS = (
    "job_id",
    "stage_id",
    "name",
    "tasks",
    "input_bytes",
    "shuffle_read_bytes",
    "shuffle_write_bytes",
    "shuffle_write_records",
)


class StageMeter:
    """Collect per-stage metrics of the Spark jobs run inside a ``with`` block.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    label : str
        Description of the work (becomes the job group's description).
    timeout : float
        Seconds to wait, after the block, for Spark's listener to record finished stages.

    Attributes
    ----------
    stages : DataFrame
        One row per executed stage, columns :data:`STAGE_COLUMNS` (skipped stages, whose
        shuffle output was reused, are left out).
    """

    def __init__(self, spark, label: str, *, timeout: float = 30.0) -> None:
        if not isinstance(label, str) or not label:
            raise ValueError(f"label must be a non-empty str; got {label!r}")
        self.spark = spark
        self.label = label
        self.timeout = timeout
        self.group = f"course-{uuid.uuid4().hex[:12]}"
        self.stages = pd.DataFrame(columns=list(STAGE_COLUMNS))

    def __enter__(self) -> StageMeter:
        self.spark.sparkContext.setJobGroup(self.group, self.label)
        return self

    def __exit__(self, *exc) -> None:
        sc = self.spark.sparkContext
        sc.setLocalProperty("spark.jobGroup.id", None)
        sc.setLocalProperty("spark.job.description", None)
        if exc[0] is None:
            self.stages = self._collect()

    def _collect(self) -> pd.DataFrame:
        sc = self.spark.sparkContext
        tracker = sc.statusTracker()
        store = sc._jsc.sc().statusStore()
        deadline = time.monotonic() + self.timeout
        while True:
            jobs = sorted(tracker.getJobIdsForGroup(self.group))
            infos = [tracker.getJobInfo(j) for j in jobs]
            if all(i is not None and i.status in ("SUCCEEDED", "FAILED") for i in infos):
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        rows = []
        for job, info in zip(jobs, infos):
            for stage_id in sorted(info.stageIds if info is not None else []):
                stage = tracker.getStageInfo(stage_id)
                if stage is None or stage.numCompletedTasks == 0:
                    continue  # skipped: its shuffle output already existed
                data = store.lastStageAttempt(stage_id)
                rows.append(
                    (
                        job,
                        stage_id,
                        str(data.name()).split(" at ")[0],
                        int(data.numTasks()),
                        int(data.inputBytes()),
                        int(data.shuffleReadBytes()),
                        int(data.shuffleWriteBytes()),
                        int(data.shuffleWriteRecords()),
                    )
                )
        return pd.DataFrame(rows, columns=list(STAGE_COLUMNS))

    def totals(self) -> dict:
        """Stages, tasks and bytes summed over the block.

        Examples
        --------
        >>> meter.totals()  # doctest: +SKIP
        {'stages': 3, 'tasks': 18, 'shuffle_read_bytes': ..., 'shuffle_write_bytes': ...}
        """
        s = self.stages
        return {
            "stages": int(len(s)),
            "tasks": int(s["tasks"].sum()) if len(s) else 0,
            "shuffle_read_bytes": int(s["shuffle_read_bytes"].sum()) if len(s) else 0,
            "shuffle_write_bytes": int(s["shuffle_write_bytes"].sum()) if len(s) else 0,
        }
