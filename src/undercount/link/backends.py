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

__all__ = ["get_db_api", "register_frame", "spark_available", "spark_session"]

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


def _master_addresses(master: str) -> list[tuple[str, int]]:
    """``(host, port)`` of each master in a ``spark://h1:p1,h2:p2`` URL (default port 7077)."""
    out = []
    for part in master.removeprefix("spark://").split(","):
        host, _, port = part.strip().rpartition(":")
        if not host:
            host, port = port, "7077"
        try:
            out.append((host.strip("[]"), int(port)))
        except ValueError as exc:
            raise ConfigError(f"[link.spark] master = {master!r}: bad port {port!r}") from exc
    return out


#: Spark's network protocol (``org.apache.spark.network.protocol``): a frame is its length
#: (8 bytes, big-endian, itself included), a message type byte and the message.
_STREAM_REQUEST = 6
_MESSAGE_TYPES = range(13)


def _spark_answer(sock: Any, timeout: float) -> str | None:
    """None when the peer answers as Spark's RPC server does, else what it did instead.

    Sends a request for a stream that does not exist (the master answers with a
    ``StreamFailure`` frame and logs one error naming ``undercount-master-check``). A peer
    that closes without answering passes (a master that requires authentication may), so
    only a peer that answers something else, or nothing, is refused.
    """
    import struct

    stream = b"undercount-master-check"
    body = bytes([_STREAM_REQUEST]) + struct.pack(">i", len(stream)) + stream
    data = b""
    try:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">q", 8 + len(body)) + body)
        while len(data) < 9:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        if not data:
            return f"it accepts connections but sent no answer in {timeout:g} s"
    except OSError:
        return None
    if len(data) < 9:
        return None if not data else f"it answered {data!r}"
    length = int.from_bytes(data[:8], "big")
    if 9 <= length < 1 << 31 and data[8] in _MESSAGE_TYPES:
        return None
    return f"it answered {data[:40]!r}..., not in Spark's protocol"


def _check_reachable(master: str, timeout: float) -> None:
    """Fail fast, naming the URL, unless a master of a standalone URL answers.

    Spark itself retries an unreachable standalone master for about a minute and then
    leaves a half-started context behind; a TCP connect, and one request in Spark's own
    protocol (:func:`_spark_answer`: something else listening on the port, such as a proxy
    that accepts every connection, is refused too), answer in ``timeout`` s each.
    """
    import socket

    errors = []
    for host, port in _master_addresses(master):
        try:
            with socket.create_connection((host, port), timeout=timeout) as sock:
                problem = _spark_answer(sock, timeout)
        except OSError as exc:
            errors.append(f"{host}:{port}: {exc}")
            continue
        if problem is None:
            return
        errors.append(f"{host}:{port}: not a Spark master: {problem}")
    raise LinkageError(
        f"[link.spark] master = {master!r}: the Spark master cannot be reached "
        f"({'; '.join(errors)}); start it, or correct the URL in the project file"
    )


def spark_session(
    master: str = "local[*]",
    conf: Any = (),
    *,
    app_name: str = "undercount-link",
    connect_timeout: float = 10.0,
):
    """A Spark session on ``master`` with ``conf``, and Splink's similarity UDF jar.

    Parameters
    ----------
    master : str
        ``local[*]``, ``spark://host:7077`` (standalone; reachability is checked first),
        ``yarn``, ``k8s://...``. A Spark Connect URL (``sc://``) is refused: Splink's Spark
        backend registers its similarity functions as JVM UDFs, which Spark Connect cannot.
    conf : mapping or sequence of (key, value)
        Passed through to the session builder (``spark.executor.memory`` ...). The jar
        is appended to any ``spark.jars`` given; the driver's Python is the executors'
        default Python on a ``local`` master only.

    Raises
    ------
    LinkageError
        PySpark or Java missing, the master unreachable (within ``connect_timeout`` s),
        or a Spark Connect URL.
    """
    import os
    import sys

    if not spark_available():
        raise LinkageError(_SPARK_HINT)
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    if master.startswith("sc://"):
        raise LinkageError(
            f"[link.spark] master = {master!r}: Spark Connect is not supported (Splink's "
            "Spark backend registers JVM similarity functions, which need a classic "
            "session); use the cluster's spark:// (or yarn / k8s://) master URL"
        )
    if master.startswith("spark://"):
        _check_reachable(master, connect_timeout)
    settings = dict(conf.items() if hasattr(conf, "items") else conf)
    jar = similarity_jar_location()
    jars = [j for j in settings.get("spark.jars", "").split(",") if j]
    settings["spark.jars"] = ",".join([*jars, jar] if jar not in jars else jars)
    settings.setdefault("spark.sql.execution.arrow.pyspark.enabled", "true")
    settings.setdefault("spark.ui.enabled", "false")
    # PySpark starts its Python workers with $PYSPARK_PYTHON (the conf key is read only
    # by spark-submit); on a local master that is this interpreter, elsewhere whatever
    # spark.pyspark.python names (the executors' Python must have undercount installed).
    python = settings.get("spark.pyspark.python") or (
        sys.executable if master.startswith("local") else None
    )
    if python and "PYSPARK_PYTHON" not in os.environ:
        os.environ["PYSPARK_PYTHON"] = python
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, str(value))
    try:
        return builder.getOrCreate()
    except Exception as exc:  # Py4J/JVM start-up errors: one typed error naming the URL
        raise LinkageError(
            f"[link.spark] master = {master!r}: could not start a Spark session: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def register_frame(db_api, frame: pd.DataFrame | pa.Table, name: str):
    """Register a pandas frame (or an Arrow table) under ``name`` with the backend, keeping
    nulls as nulls.

    Through Arrow, NaN becomes SQL NULL on both engines (Spark would otherwise keep a float
    NaN, which compares unequal and breaks null levels).
    """
    if isinstance(frame, pa.Table):
        table = frame
    else:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    if type(db_api).__name__ == "SparkAPI":
        sdf = db_api.spark.createDataFrame(table)
        return db_api.register(sdf, dataset_display_name=name)
    return db_api.register(table, dataset_display_name=name)
