"""The SQL engine Splink runs on: DuckDB (default) or Spark (``pip install undercount[spark]``).

Both are imported lazily: splink is heavy to import, and PySpark is optional (a missing one
only matters when it is chosen, and the error says what to install). Nothing outside
:mod:`undercount.link` imports splink, duckdb or pyspark.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pandas as pd
import pyarrow as pa

from undercount.errors import ConfigError, LinkageError

__all__ = ["get_db_api", "register_frame", "spark_available"]

_SPARK_HINT = (
    "backend = \"spark\" needs PySpark and a Java runtime (17 or newer): "
    "pip install 'undercount[spark]' and install a JDK"
)


def spark_available() -> bool:
    """True when pyspark imports and a ``java`` executable is on the PATH (or JAVA_HOME)."""
    try:
        import pyspark  # noqa: F401  (optional: undercount[spark])
    except ImportError:
        return False
    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


def get_db_api(
    backend: str = "duckdb",
    *,
    threads: int = 2,
    memory_limit: str = "6GB",
    temp_directory: str | None = None,
    spark_session: Any = None,
):
    """A Splink ``DatabaseAPI`` for ``backend``.

    Parameters
    ----------
    backend : {"duckdb", "spark"}
    threads : int
        DuckDB threads, or the cores of a new local Spark session.
    memory_limit : str
        DuckDB memory limit (DuckDB spills to ``temp_directory`` beyond it).
    spark_session : pyspark.sql.SparkSession, optional
        Use this session instead of creating a local one.
    """
    if backend == "duckdb":
        # Imported here: splink is heavy to import, and only linking needs it.
        import duckdb
        from splink import DuckDBAPI

        con = duckdb.connect(":memory:")
        con.execute(f"SET threads = {int(threads)}")
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET preserve_insertion_order = false")
        if temp_directory is not None:
            con.execute(f"SET temp_directory = '{temp_directory}'")
        return DuckDBAPI(connection=con)
    if backend == "spark":
        try:
            from pyspark.sql import SparkSession
            from splink import SparkAPI
        except ImportError as exc:
            raise LinkageError(_SPARK_HINT) from exc
        if not spark_available():
            raise LinkageError(_SPARK_HINT)
        if spark_session is None:
            spark_session = local_spark_session(threads=threads)
        del SparkSession
        return SparkAPI(spark_session=spark_session, break_lineage_method="persist")
    raise ConfigError(f"backend = {backend!r}: must be 'duckdb' or 'spark'")


def local_spark_session(*, threads: int = 2):
    """A small local Spark session with Splink's similarity UDF jar on the classpath."""
    from pyspark.sql import SparkSession  # optional (undercount[spark]): only for Spark
    from splink.backends.spark import similarity_jar_location  # heavy: only for Spark

    return (
        SparkSession.builder.master(f"local[{int(threads)}]")
        .appName("undercount-link")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", str(max(2, 2 * int(threads))))
        .config("spark.default.parallelism", str(max(2, 2 * int(threads))))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )


def register_frame(db_api, frame: pd.DataFrame, name: str):
    """Register a pandas frame under ``name`` with the backend, keeping nulls as nulls.

    Through Arrow, NaN becomes SQL NULL on both engines (Spark would otherwise keep a float
    NaN, which compares unequal and breaks null levels).
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if type(db_api).__name__ == "SparkAPI":
        sdf = db_api.spark.createDataFrame(table)
        return db_api.register(sdf, dataset_display_name=name)
    return db_api.register(table, dataset_display_name=name)
