"""``link_project`` on Spark: every stage at scale runs on the executors.

What runs where (see ``docs/scale.md``):

- **Executors**: reading the lists (CSV, Parquet), the record-id checks, the Arabic/Latin
  standardiser (:func:`undercount.names.standardise`, the same function as on DuckDB, run
  batch by batch in a ``mapInPandas``), the relative-aware comparison's columns
  (:func:`undercount.link.relatives.add_relative_columns`, likewise), blocking, the u
  sample, EM, prediction (Splink's SQL), connected components (min-label propagation), the
  package's constrained clustering (:func:`undercount.link.pipeline.cluster_standardised`,
  with the national-ID, sex, relatives and same-list constraints, on groups of whole
  connected components in an ``applyInPandas``), the suspicious-cluster checks, the capture
  histories (:func:`undercount.tables.build.capture_histories` per group of clusters) and
  the parquet outputs (written by Spark, one folder of part files each).
- **Driver**: the project file, the trained model, a proxy of the records for the settings
  and the prior (:func:`_proxy`), a few aggregates (block sizes, EM's sums), the capture
  table (one row per observed pattern and stratum), and ``suspicious_clusters.csv``.

Equivalence with the DuckDB path. Records get the same ``uid`` (list order, then file
order); Splink runs the same settings on the same tables (one per list, the same columns,
term frequencies over all records); every sample Splink draws (the u sample, its chunks,
EM's sample of blocked pairs) is selected by a hash of the record ids, and here that hash is
DuckDB's (:class:`_DuckDBHashDialect`), so both engines train on the same pairs and the
models, rounded to 8 digits as on DuckDB, are equal; the proxy gives
:meth:`LinkSettings.for_records` and :func:`undercount.link.train.train` the same answers
as the standardised records (presence of values, pair counts of equal values, relative
patterns), so the settings, the prior and the relatives' u are the same; the constrained
clustering is greedy within each connected component and components never interact, so
running it on groups of components gives the same clusters; clusters are numbered by their
smallest uid as there.

The driver holds the proxy: per record one bit per standardised column and a code per
column in :data:`_VALUED` (about 100 bytes a record: 100 MB at a million records, in the
driver's Python process), never the records themselves.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from undercount.core.provenance import file_sha256, package_versions
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, InputError, LinkageError
from undercount.io.project_types import ListSource, ProjectConfig
from undercount.link._standardise import covariate_column, fix_dtypes, standardiser_name
from undercount.link.relatives import RASM_PARTS, REST
from undercount.link.settings import (
    PARTIAL_BLOCKING_FOUR_PART,
    PARTIAL_BLOCKING_TWO_PART,
    POSTCODE_BLOCKING,
    LinkSettings,
)

__all__ = ["SparkLinkResult", "link_project_spark"]

logger = logging.getLogger(__name__)

_ERROR = "_error"
_IDX = "_idx"
#: Records per block when numbering clusters (a prefix sum over blocks of uids).
_BLOCK = 1 << 20


@dataclass(frozen=True, eq=False)
class SparkLinkResult:
    """What a Spark linkage produced. The tables stay in Spark (``pyspark.sql.DataFrame``,
    read back from the written parquet when written); only the capture table, the settings
    and the report are on the driver.

    Attributes
    ----------
    records, capture_histories, edges, standardised : pyspark.sql.DataFrame
        As in :class:`undercount.link.pipeline.LinkResult`.
    suspicious : DataFrame
        The clusters flagged for review (pandas; also ``suspicious_clusters.csv``).
    counts : DataFrame
        The capture table as counts: one 0/1 column per list, the strata, ``count``.
    """

    records: Any
    capture_histories: Any
    edges: Any
    standardised: Any
    suspicious: pd.DataFrame
    counts: pd.DataFrame
    settings: LinkSettings
    lists: tuple[str, ...]
    strata: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    output: Path | None = None
    report: dict[str, Any] = field(default_factory=dict)

    def capture_table(self) -> CaptureTable:
        """The capture table (strata kept as covariates), built from the collected counts."""
        return CaptureTable.from_frame(
            self.counts, lists=list(self.lists), count_column="count",
            covariates=list(self.strata),
        )


# ---------------------------------------------------------------------------- reading
def _read_source(spark, spec: ListSource):
    """One list's needed columns as a Spark DataFrame with its file position ``_idx``."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    path = str(spec.file)
    try:
        if spec.format == "csv":
            # multiLine: quoted fields may hold newlines (as pandas reads them); it reads
            # each file in one task, in file order.
            sdf = spark.read.csv(
                path, header=True, multiLine=True, ignoreLeadingWhiteSpace=True,
                escape='"', encoding=spec.encoding or "UTF-8", mode="FAILFAST", inferSchema=False,
            )
        elif spec.format == "parquet":
            sdf = spark.read.parquet(path)
        else:
            # Excel holds at most 1,048,576 rows: read on the driver, as on DuckDB.
            from undercount.io.lists import read_list

            frame = read_list(spec)
            frame = frame.astype(object).where(frame.notna(), None)
            schema = T.StructType([T.StructField(c, T.StringType()) for c in frame.columns])
            sdf = spark.createDataFrame(frame, schema=schema)
    except Exception as exc:
        raise InputError(f"{spec.file}: could not be read as {spec.format}: {exc}") from exc
    missing = [c for c in spec.source_columns if c not in sdf.columns]
    if missing:
        raise InputError(f"{spec.file}: column(s) {missing} not found (list {spec.name!r})")
    sdf = sdf.select(*[F.col(f"`{c}`") for c in spec.source_columns])
    # File order, without collecting: zipWithIndex numbers partitions in order.
    indexed = sdf.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1]))
    schema = T.StructType([*sdf.schema.fields, T.StructField(_IDX, T.LongType(), False)])
    return spark.createDataFrame(indexed, schema)


def _check_ids(sdf, spec: ListSource) -> int:
    """The record-id checks of :func:`undercount.io.project.read_list`, in Spark; returns
    the number of records."""
    from pyspark.sql import functions as F

    col = F.col(f"`{spec.id_column}`")
    stats = sdf.agg(F.count(F.lit(1)).alias("n")).collect()[0]
    n = int(stats["n"])
    if n == 0:
        raise InputError(f"{spec.file}: the file has no data rows (list {spec.name!r})")
    blank = (
        sdf.filter(col.isNull()).select(_IDX).orderBy(_IDX).limit(50).collect()
    )
    problems = [f"row {r[_IDX] + 2}, column {spec.id_column!r}: blank record id" for r in blank]
    dup = (
        sdf.filter(col.isNotNull())
        .groupBy(col.alias("_id"))
        .agg(F.count(F.lit(1)).alias("_n"), F.sort_array(F.collect_list(_IDX)).alias("_rows"))
        .filter("_n > 1")
        .orderBy(F.col("_rows")[0])
        .limit(50)
        .collect()
    )
    for r in dup:
        rows = ", ".join(str(i + 2) for i in r["_rows"][:5])
        problems.append(f"rows {rows}, column {spec.id_column!r}: record id {r['_id']!r} repeated")
    if problems:
        raise InputError(f"{spec.file}: bad record ids (list {spec.name!r})", problems)
    return n


# ---------------------------------------------------------------------------- standardising
def _standardise_batch(frame: pd.DataFrame, spec: ListSource, offset: int) -> pd.DataFrame:
    """Standardise one batch exactly as :func:`standardise_lists` does one list; ``row``
    and ``uid`` from the file position, so batches need not be whole lists."""
    from undercount.link._standardise import standardise_one

    frame = frame.sort_values(_IDX)
    idx = frame[_IDX].to_numpy(dtype=np.int64)
    source = frame.drop(columns=[_IDX]).reset_index(drop=True)
    try:
        std = standardise_one(source, spec)
    except InputError as exc:
        # Positions in this batch -> spreadsheet rows of the file.
        def fix(text: str) -> str:
            return re.sub(r"\brow (\d+)", lambda m: f"row {idx[int(m.group(1)) - 2] + 2}", text)

        message = str(exc).split("\n", 1)[0]
        return pd.DataFrame({_ERROR: [json.dumps(
            {"message": fix(message), "problems": [fix(p) for p in exc.problems]}
        )]})
    if spec.covariates:
        cov = source[[spec.id_column, *spec.covariates]].copy()
        cov[spec.id_column] = cov[spec.id_column].astype(str)
        cov.columns = ["record_id", *(covariate_column(c) for c in spec.covariates)]
        cov = cov.loc[:, ~cov.columns.duplicated()]
        std = std.drop(columns=[c for c in cov.columns[1:] if c in std.columns])
        std = std.merge(cov, on="record_id", how="left", validate="one_to_one")
    std["row"] = idx + 2
    std.insert(0, "uid", idx + offset)
    return fix_dtypes(std)


def _spark_type(dtype) -> Any:
    from pyspark.sql import types as T

    if pd.api.types.is_bool_dtype(dtype):
        return T.BooleanType()
    if pd.api.types.is_integer_dtype(dtype):
        return T.LongType()
    if pd.api.types.is_float_dtype(dtype):
        return T.DoubleType()
    return T.StringType()


def _standardise(spark, sources, specs, offsets):
    """All lists standardised on the executors, stacked, with their global ``uid``.

    The output schema is learnt by standardising each list's first rows on the driver, so
    whatever columns :func:`undercount.names.standardise` produces are carried.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    samples = []
    for sdf, spec in zip(sources, specs, strict=True):
        head = sdf.orderBy(_IDX).limit(200).toPandas()
        out = _standardise_batch(head, spec, 0)
        if _ERROR not in out:
            samples.append(out)
    if not samples:  # every sample failed: run anyway, the error rows say why
        samples = [pd.DataFrame({"uid": pd.Series(dtype="int64")})]
    proto = pd.concat(samples, ignore_index=True, sort=False)
    proto = fix_dtypes(proto) if "list" in proto else proto
    cols = list(proto.columns)
    schema = T.StructType(
        [T.StructField(c, _spark_type(proto[c].dtype)) for c in cols]
        + [T.StructField(_ERROR, T.StringType())]
    )
    types = {f.name: f.dataType for f in schema.fields}

    parts = []
    for sdf, spec, offset in zip(sources, specs, offsets, strict=True):
        def run(batches, spec=spec, offset=offset):
            for batch in batches:
                out = _standardise_batch(batch, spec, offset)
                for c in cols:
                    if c not in out:
                        out[c] = None
                for c in cols:
                    if isinstance(types[c], T.StringType):
                        s = out[c]
                        out[c] = s.astype(object).where(s.notna(), None)
                    elif isinstance(types[c], T.LongType):
                        out[c] = pd.array(out[c], dtype="Int64")
                    elif isinstance(types[c], T.DoubleType):
                        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
                    elif isinstance(types[c], T.BooleanType):
                        out[c] = pd.array(out[c], dtype="boolean")
                if _ERROR not in out:
                    out[_ERROR] = None
                yield out[[*cols, _ERROR]]

        parts.append(sdf.mapInPandas(run, schema))
    std = parts[0]
    for part in parts[1:]:
        std = std.unionByName(part)
    # NaN is not NULL in Spark: keep missing values as NULL, as on DuckDB.
    for c in cols:
        if isinstance(types[c], T.DoubleType):
            std = std.withColumn(c, F.when(F.isnan(c), None).otherwise(F.col(c)))
    return std, cols


def _raise_batch_errors(std) -> None:
    from pyspark.sql import functions as F

    rows = std.filter(F.col(_ERROR).isNotNull()).select(_ERROR).limit(20).collect()
    if not rows:
        return
    errors = [json.loads(r[_ERROR]) for r in rows]
    problems = [p for e in errors for p in e["problems"]]
    raise InputError(errors[0]["message"].rstrip(":") + " (and other batches)"
                     if len(errors) > 1 else errors[0]["message"], problems)


def _with_relative_columns(std, cols: list[str]):
    """``std`` plus the columns the relative-aware given-name comparison reads
    (:func:`undercount.link.relatives.add_relative_columns`, run batch by batch: it is a
    function of each record alone), or ``std`` unchanged where it adds none."""
    from pyspark.sql import types as T

    from undercount.link.relatives import add_relative_columns

    if "given" not in cols or "given_script" in cols:
        return std, cols
    added = ["given_script", "rest_key",
             *(f"{p}_rasm" for p in RASM_PARTS if p in cols and f"{p}_rasm" not in cols)]
    schema = T.StructType([*std.schema.fields,
                           *(T.StructField(c, T.StringType()) for c in added)])

    def run(batches):
        for batch in batches:
            out = add_relative_columns(batch)
            for c in added:
                out[c] = out[c].astype(object).where(out[c].notna(), None)
            yield out

    return std.mapInPandas(run, schema), [*cols, *added]


#: Columns whose values, not only whether they are present, the settings and the trainer read
#: from the records on the driver: the partial blocking rules' pair counts
#: (:func:`undercount.link.settings.rule_pairs`) and the relative patterns
#: (:func:`undercount.link.relatives.relative_pattern_counts`).
_VALUED = tuple(dict.fromkeys([
    *(c for rule in (*PARTIAL_BLOCKING_FOUR_PART, *PARTIAL_BLOCKING_TWO_PART,
                     *POSTCODE_BLOCKING) for c in rule),
    *REST, "given", "given_key", "given_script", *(f"{p}_rasm" for p in RASM_PARTS),
    # settings.sex_conflicts: near-certain duplicates that record different sexes.
    "name_key", "dob", "dob_heaped", "sex",
    # train.count_unseen_exact_u: the exact-match levels a random sample may not see.
    "national_id", "dod", "place",
]))


def _proxy(rel, cols: list[str], n: int, lists: tuple[str, ...]) -> pd.DataFrame:
    """The records as the driver-side functions see them, without their values.

    ``n`` rows in uid order, one column per standardised column (plus ``given_script``):
    ``list`` as a categorical; each column of :data:`_VALUED` as a code (float, NaN where
    missing) that two records share exactly when their values are equal, so counts of
    equal values are exact; every other column as a one-category categorical (code -1 =
    missing). ``notna()``, ``len``, ``list``, grouping and ``value_counts`` therefore answer
    as on the standardised records. The codes (a record's smallest uid with the same value)
    are computed in Spark.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    valued = [c for c in cols if c in _VALUED]
    flagged = [c for c in cols if c != "list" and c not in valued]
    if len(flagged) > 62:
        raise LinkageError(f"internal: {len(flagged)} standardised columns (at most 62)")
    mask = F.lit(0).cast("long")
    for i, c in enumerate(flagged):
        mask = mask.bitwiseOR(F.when(F.col(f"`{c}`").isNotNull(), F.lit(1 << i).cast("long"))
                              .otherwise(F.lit(0).cast("long")))
    codes = [
        F.when(F.col(f"`{c}`").isNotNull(),
               F.min("uid").over(Window.partitionBy(f"`{c}`"))).alias(f"v{i}")
        for i, c in enumerate(valued)
    ]
    index = F.lit(-1)
    for i, name in enumerate(lists):
        index = F.when(F.col("list") == name, F.lit(i)).otherwise(index)
    frame = (
        rel.select("uid", index.cast("int").alias("_list"), mask.alias("_mask"), *codes)
        .orderBy("uid").toPandas()
    )
    if len(frame) != n or not np.array_equal(frame["uid"].to_numpy(), np.arange(n)):
        raise LinkageError("internal: the proxy does not have one row per record")
    out: dict[str, Any] = {}
    for c in cols:
        if c == "list":
            out[c] = pd.Categorical.from_codes(frame["_list"].to_numpy(dtype=np.int8),
                                               categories=list(lists))
        elif c in valued:
            out[c] = pd.to_numeric(frame[f"v{valued.index(c)}"]).astype("float64")
        else:
            bit = (frame["_mask"].to_numpy(dtype=np.int64) >> flagged.index(c)) & 1
            out[c] = pd.Categorical.from_codes(bit.astype(np.int8) - 1, categories=["x"])
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------- DuckDB's samples
#: Columns of the registered tables holding DuckDB's ``hash()`` of each record's Splink id
#: (``source_dataset || '-__-' || uid``, or ``uid`` alone for one list), and of that id with
#: the seed appended, as ``decimal(20,0)`` (DuckDB's hash is an unsigned 64-bit integer).
_HASH = "undercount_duckdb_hash"
_HASH_SEED = "undercount_duckdb_hash_seed"


def _uid_columns(source: str | None, dialect: str) -> list[Any]:
    from splink.internals.input_column import InputColumn

    names = ["source_dataset", "uid"] if source is not None else ["uid"]
    return [InputColumn(c, sqlglot_dialect_str=dialect) for c in names]


def _seeded(composite: str, seed: int | None) -> str | None:
    # As splink.internals.dialects.SplinkDialect.proportion_sample_sql mixes in the seed.
    return None if seed is None else f"({composite}) || '_{seed}'"


def _with_duckdb_hashes(sdf, source: str | None, seed: int | None):
    """``sdf`` (with ``uid``) plus :data:`_HASH` and :data:`_HASH_SEED`, computed by DuckDB
    on the executors, batch by batch, with the SQL Splink's DuckDB backend hashes."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
    from splink.internals.unique_id_concat import _composite_unique_id_from_nodes_sql

    composite = _composite_unique_id_from_nodes_sql(_uid_columns(source, "duckdb"))
    seeded = _seeded(composite, seed) or "NULL"
    src = "" if source is None else "'" + source.replace("'", "''") + "' AS source_dataset, "
    sql = (f"SELECT CAST(hash({composite}) AS VARCHAR) AS h, "
           f"CAST(hash({seeded}) AS VARCHAR) AS hs FROM (SELECT {src}uid FROM batch)")
    schema = T.StructType([*sdf.schema.fields, T.StructField(_HASH, T.StringType()),
                           T.StructField(_HASH_SEED, T.StringType())])

    def run(batches):
        import duckdb

        con = duckdb.connect()
        con.execute("SET threads = 1")  # one thread keeps the rows in order
        for batch in batches:
            ids = batch[["uid"]].astype("int64")  # BIGINT, as the DuckDB backend has it
            con.register("batch", ids)
            hashes = con.execute(sql).df()
            con.unregister("batch")
            yield batch.assign(**{_HASH: hashes["h"].to_numpy(object),
                                  _HASH_SEED: hashes["hs"].to_numpy(object)})

    return (sdf.mapInPandas(run, schema)
            .withColumn(_HASH, F.col(_HASH).cast("decimal(20,0)"))
            .withColumn(_HASH_SEED, F.col(_HASH_SEED).cast("decimal(20,0)")))


class _DuckDBHashDialect:
    """Splink's Spark dialect, except that the hash of a record's id is DuckDB's.

    Splink draws every sample from a hash of the record ids: the u sample (with the seed
    mixed in), its chunks, and the sample of blocked pairs an EM session takes when there
    are more than ``max_pairs``. Each engine has its own hash function, so the same seed
    drew different samples and trained slightly different models. Here the id's hash is
    read from the columns :func:`_with_duckdb_hashes` filled with DuckDB's, so Spark takes
    exactly DuckDB's samples. Every other method is Splink's Spark dialect's, run with this
    object as ``self`` (so they, too, reach the hash through it). Ids hashed in some other
    form (none in Splink 5) fall back to Spark's hash and are listed in ``unmatched``.
    """

    def __init__(self, base: Any, uid_columns: list[Any], seed: int | None) -> None:
        from splink.internals.unique_id_concat import _composite_unique_id_from_nodes_sql

        self._base = base
        self._columns = {}
        for prefix in (None, "l", "r"):
            column = _HASH if prefix is None else f"{prefix}.{_HASH}"
            self._columns[_squash(_composite_unique_id_from_nodes_sql(uid_columns, prefix))] = (
                column)
        seeded = _seeded(_composite_unique_id_from_nodes_sql(uid_columns), seed)
        if seeded is not None:
            self._columns[_squash(seeded)] = _HASH_SEED
        self.unmatched: list[str] = []

    def __getattr__(self, name: str) -> Any:
        import inspect
        import types

        attr = inspect.getattr_static(type(self._base), name, None)
        if isinstance(attr, types.FunctionType):
            return attr.__get__(self)
        return getattr(self._base, name)

    def hash_function_expression(self, col_expression: str) -> str:
        column = self._columns.get(_squash(col_expression))
        if column is None:
            self.unmatched.append(col_expression)
            return self._base.hash_function_expression(col_expression)
        return column


@contextlib.contextmanager
def duckdb_hashes_in_blocking(dialect: _DuckDBHashDialect) -> Iterator[None]:
    """While active, Splink's blocking rules for ``dialect``'s engine hash record ids
    through ``dialect`` too.

    A blocking rule builds its dialect from its name (``BlockingRule.sql_dialect``), not
    from the linker, so the sample of blocked pairs an EM session draws when there are more
    than ``em_max_pairs``, and the probe that sizes it, hashed the ids with Spark's own
    function: the two engines trained on different samples and their m differed in the
    third or fourth digit (at 1M records, two edges and three capture-history cells). The
    property is restored on exit, so other Splink linkers in the process are untouched.
    """
    from splink.internals.blocking import BlockingRule

    original = BlockingRule.__dict__["sql_dialect"]
    name = dialect._base.sql_dialect_str

    def sql_dialect(rule: Any) -> Any:
        return dialect if rule._sql_dialect_str == name else original.fget(rule)

    BlockingRule.sql_dialect = property(sql_dialect)  # type: ignore[method-assign]
    try:
        yield
    finally:
        BlockingRule.sql_dialect = original  # type: ignore[method-assign]


def _squash(sql: str) -> str:
    return "".join(sql.split())


# ---------------------------------------------------------------------------- DuckDB's similarities
#: Splink's Spark names of its string-similarity functions (JVM functions from its jar) and
#: the DuckDB functions its DuckDB backend calls for the same comparison levels. They are
#: not the same functions: Splink's Jaro counts half a transposition where DuckDB's rounds
#: it down, so on the Airwars/MoH names 0.5% of random pairs score differently (الفلوجي /
#: فالوجي: 0.897 on DuckDB, 0.869 on Spark, either side of the 0.88 level), and the two
#: engines trained different models.
_SIMILARITY = {"jaro_winkler": "jaro_winkler_similarity", "jaro_sim": "jaro_similarity",
               "damerau_levenshtein": "damerau_levenshtein"}
_DUCKDB: list[Any] = []


def _duckdb_similarity(function: str, a: pd.Series, b: pd.Series) -> pd.Series:
    """``function(a, b)`` computed by DuckDB (one connection per Python worker)."""
    if not _DUCKDB:
        import duckdb

        con = duckdb.connect()
        con.execute("SET threads = 1")  # one thread keeps the rows in order
        _DUCKDB.append(con)
    con = _DUCKDB[0]
    pairs = pd.DataFrame({"a": a.astype(object), "b": b.astype(object)})
    con.register("pairs", pairs)
    try:
        out = con.execute(f"SELECT CAST({function}(a, b) AS DOUBLE) AS s FROM pairs").df()["s"]
    finally:
        con.unregister("pairs")
    return pd.Series(pd.array(out.to_numpy(), dtype="Float64"), index=a.index)


def _jaro_winkler(a: pd.Series, b: pd.Series) -> pd.Series:
    return _duckdb_similarity(_SIMILARITY["jaro_winkler"], a, b)


def _jaro(a: pd.Series, b: pd.Series) -> pd.Series:
    return _duckdb_similarity(_SIMILARITY["jaro_sim"], a, b)


def _damerau_levenshtein(a: pd.Series, b: pd.Series) -> pd.Series:
    return _duckdb_similarity(_SIMILARITY["damerau_levenshtein"], a, b)


def _register_duckdb_similarities(spark) -> None:
    """Put DuckDB's similarity functions (pandas UDFs) under the names Splink's Spark SQL
    calls, in place of its JVM functions, in this session (see :data:`_SIMILARITY`)."""
    from pyspark.sql.functions import pandas_udf

    for name, function in (("jaro_winkler", _jaro_winkler), ("jaro_sim", _jaro),
                           ("damerau_levenshtein", _damerau_levenshtein)):
        spark.udf.register(name, pandas_udf(function, "double"))


# ---------------------------------------------------------------------------- clustering
def _cluster_schema():
    from pyspark.sql import types as T

    return T.StructType([
        T.StructField("kind", T.StringType()),
        T.StructField("uid_l", T.LongType()),
        T.StructField("uid_r", T.LongType()),
        T.StructField("match_probability", T.DoubleType()),
        T.StructField("match_weight", T.DoubleType()),
        T.StructField("status", T.StringType()),
        T.StructField("within", T.BooleanType()),
        T.StructField("refused_by", T.StringType()),
        T.StructField("rep_l", T.LongType()),
        T.StructField("rep_r", T.LongType()),
        T.StructField("size", T.LongType()),
        T.StructField("weakest_edge", T.DoubleType()),
        T.StructField("strong_components", T.LongType()),
        T.StructField("reasons", T.StringType()),
    ])


def _cluster_group(
    nodes: pd.DataFrame, edges: pd.DataFrame, settings: LinkSettings, several_lists: bool,
    large_size: int,
) -> pd.DataFrame:
    """The constrained clustering of a group of whole connected components
    (:func:`undercount.link.pipeline.cluster_standardised`, as on DuckDB), its edge
    outcomes and suspicious clusters. ``nodes`` are the components' standardised records.

    Components never interact (no edge joins two), and the greedy processes each
    component's edges in the same order as over all edges, so clustering a group of
    components gives the clusters of the whole run. Clusters are named by their smallest
    uid (``rep``)."""
    from undercount.link.cluster import suspicious_clusters
    from undercount.link.pipeline import cluster_standardised

    nodes = nodes.drop(columns=["_g"]).sort_values("uid", ignore_index=True)
    uids = nodes["uid"].to_numpy(dtype=np.int64)
    local = pd.DataFrame({
        "uid_l": np.searchsorted(uids, edges["uid_l"].to_numpy(dtype=np.int64)),
        "uid_r": np.searchsorted(uids, edges["uid_r"].to_numpy(dtype=np.int64)),
        "match_probability": edges["match_probability"].to_numpy(dtype=np.float64),
    })
    res = cluster_standardised(nodes, local, settings, several_lists=several_lists)
    # Local clusters are numbered by their smallest local index = smallest uid.
    first = np.full(res.cluster.max() + 1, -1, dtype=np.int64)
    for i in range(len(uids) - 1, -1, -1):
        first[res.cluster[i]] = uids[i]
    out_edges = pd.DataFrame({
        "kind": "edge",
        "uid_l": edges["uid_l"].to_numpy(dtype=np.int64),
        "uid_r": edges["uid_r"].to_numpy(dtype=np.int64),
        "match_probability": local["match_probability"],
        "match_weight": edges["match_weight"].to_numpy(dtype=np.float64),
        "status": res.edges["status"].to_numpy(),
        "within": res.edges["within"].to_numpy(),
        "refused_by": (res.edges["refused_by"].to_numpy() if "refused_by" in res.edges
                       else None),
        "rep_l": first[res.cluster[local["uid_l"].to_numpy()]],
        "rep_r": first[res.cluster[local["uid_r"].to_numpy()]],
    })
    sus = suspicious_clusters(res, large_size=large_size)
    out_sus = pd.DataFrame({
        "kind": "suspicious",
        "rep_l": first[sus["cluster_id"].to_numpy(dtype=np.int64)],
        "size": sus["size"].to_numpy(dtype=np.int64),
        "weakest_edge": sus["weakest_edge"].to_numpy(dtype=np.float64),
        "strong_components": sus["strong_components"].to_numpy(dtype=np.int64),
        "reasons": sus["reasons"].to_numpy(),
    })
    out = pd.concat([out_edges, out_sus], ignore_index=True, sort=False)
    for c in ("uid_l", "uid_r", "rep_l", "rep_r", "size", "strong_components"):
        out[c] = pd.array(out[c], dtype="Int64")
    # Plain object strings: pandas' Arrow-backed strings reach Spark as chunked arrays.
    for c in ("kind", "status", "refused_by", "reasons"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    out["within"] = pd.array(out["within"], dtype="boolean")
    return out[_cluster_schema().fieldNames()]


def _connected_components(edges):
    """``uid``, ``comp`` (the smallest uid of its component) of every record with an edge.

    Min-label propagation in Spark, one round per step of the longest shortest path, each
    round checkpointed. (Splink's own connected components, run through ``SparkAPI``,
    keep every round's lineage: on the Airwars/MoH project its plans exhausted a 1 GB
    driver heap by the fifth round.)
    """
    from pyspark.sql import functions as F

    adj = edges.select(F.col("uid_l").alias("src"), F.col("uid_r").alias("dst")).union(
        edges.select(F.col("uid_r").alias("src"), F.col("uid_l").alias("dst"))
    ).localCheckpoint()
    labels = adj.select(F.col("src").alias("uid")).distinct().withColumn(
        "comp", F.col("uid")).localCheckpoint()
    while True:
        offers = (
            adj.join(labels.select(F.col("uid").alias("dst"), F.col("comp").alias("offer")),
                     "dst")
            .groupBy(F.col("src").alias("uid")).agg(F.min("offer").alias("offer"))
        )
        new = (
            labels.join(offers, "uid", "left")
            .select("uid", F.least("comp", F.coalesce("offer", "comp")).alias("comp"),
                    (F.coalesce("offer", "comp") < F.col("comp")).alias("_changed"))
            .localCheckpoint()
        )
        changed = new.filter("_changed").limit(1).count()
        labels = new.drop("_changed")
        if not changed:
            return labels


def _number_clusters(spark, reps):
    """``cluster_id`` = rank of each cluster's smallest uid among all (0-based), as
    :func:`constrained_clusters` numbers them: a prefix sum over uid blocks (block totals
    on the driver, one number per block)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    reps = reps.withColumn("_block", (F.col("uid") / F.lit(_BLOCK)).cast("long"))
    totals = dict(reps.groupBy("_block").count().collect())
    start, acc = {}, 0
    for block in sorted(totals):
        start[int(block)] = acc
        acc += int(totals[block])
    starts = spark.createDataFrame(
        pd.DataFrame({"_block": list(start), "_start": list(start.values())}).astype("int64")
    )
    w = Window.partitionBy("_block").orderBy("uid")
    return (
        reps.join(F.broadcast(starts), "_block")
        .withColumn("cluster_id", F.col("_start") + F.row_number().over(w) - 1)
        .select(F.col("uid").alias("rep"), "cluster_id")
    )


def _lap(timings: dict[str, float], stage: str, t0: float) -> None:
    """Record a stage's wall time, and log it as it ends (a long run shows its progress)."""
    timings[stage] = time.perf_counter() - t0
    logger.info("spark stage %s: %.1f s", stage, timings[stage])


# ---------------------------------------------------------------------------- the linker
#: Tables Splink's Spark backend leaves as lazy views that are read more than once: EM's
#: agreement-pattern counts, read by every iteration of a session.
_ALSO_MATERIALISE = re.compile(r"__splink__agreement_pattern_counts")


def _spark_api(base: type) -> type:
    """Splink's ``SparkAPI``, except that the tables it persists (and those in
    :data:`_ALSO_MATERIALISE`) are materialised by ``localCheckpoint`` instead.

    Splink registers a persisted table as a temporary view and reads it back by name; on
    Spark 4 a query that reads such a view inside a ``WITH`` clause (every EM iteration,
    every u chunk) was not matched to the cache, and re-ran the blocking join and the
    string similarities from the input tables each time: every EM iteration on the
    100,000-record benchmark took as long as the first. A checkpointed table's plan is a
    scan of its stored blocks, so every read uses them. (Its rows are the same; only how
    often they are computed changes.)"""

    class _SparkAPI(base):
        def _break_lineage_and_repartition(self, spark_df, templated_name, physical_name):
            method = self.break_lineage_method
            self.break_lineage_method = "undercount-local-checkpoint"
            try:
                spark_df = super()._break_lineage_and_repartition(spark_df, templated_name,
                                                                  physical_name)
            except ValueError as exc:  # Splink would have persisted it: checkpoint instead
                if "undercount-local-checkpoint" not in str(exc):
                    raise
                spark_df = self._repartition_if_needed(spark_df, templated_name)
                if templated_name == "__splink__blocked_id_pairs":  # as Splink's, after it
                    spark_df = spark_df.repartition(self.num_partitions_on_repartition)
                return spark_df.localCheckpoint()
            finally:
                self.break_lineage_method = method
            if _ALSO_MATERIALISE.fullmatch(templated_name):
                spark_df = spark_df.localCheckpoint()
            return spark_df

    return _SparkAPI


def _predict(linker, threshold: float):
    """``linker.inference.predict(threshold)``: the same edges, through the bounded
    prediction of :mod:`undercount.link.predict` where it applies (the pairs whose match
    weight, bounded by each comparison's cheap levels, cannot reach the threshold are
    dropped before the string similarities, which on Spark run in Python), else Splink's."""
    from undercount.link import predict as bounded

    settings = linker._settings_obj
    if (not settings._retain_matching_columns
            and not settings._retain_intermediate_calculation_columns
            and all(lv._match_weight is not None for c in settings.comparisons
                    for lv in c.comparison_levels)):
        # Its SQL is Splink's and dialect-neutral; only predict_edges' switch is DuckDB's.
        return bounded._predict_prefiltered(linker, threshold)
    return linker.inference.predict(threshold_match_probability=threshold,
                                    warning_mode="never")


def _linker(spark, rel, cols: list[str], settings: LinkSettings, config: ProjectConfig):
    """A Splink ``Linker`` on Spark over the records ``rel``, registered as
    :func:`undercount.link.train.build_linker` registers them on DuckDB (one table per list,
    the columns the settings use), plus DuckDB's hashes of the record ids, which the
    returned :class:`_DuckDBHashDialect` (set as the linker's dialect) reads; the string
    similarities are DuckDB's (:func:`_register_duckdb_similarities`)."""
    from pyspark.sql import functions as F
    from splink import Linker, SparkAPI

    from undercount.link.train import splink_settings, used_columns

    db_api = _spark_api(SparkAPI)(spark_session=spark, break_lineage_method="persist")
    _register_duckdb_similarities(spark)  # after SparkAPI, which registers Splink's
    wanted = used_columns(settings)
    used = ["uid", *[c for c in wanted if c in cols]]
    if "name_token_set" in wanted and "name_tokens" in cols:
        # As build_linker: the tokens as an array (the column holds them space-separated).
        rel = rel.withColumn("name_token_set", F.split("name_tokens", " "))
        used.append("name_token_set")
    seed = settings.seed
    if settings.link_type == "dedupe_only":
        parts = [(None, rel, "records")]
    else:
        parts = [(f"list_{spec.name}", rel.filter(F.col("list") == spec.name),
                  f"list_{spec.name}") for spec in config.lists]
    tables = [
        # Checkpointed: Splink reads the input tables anew in many of its queries.
        db_api.register(_with_duckdb_hashes(part.select(*used), source, seed).localCheckpoint(),
                        dataset_display_name=name)
        for source, part, name in parts
    ]
    linker = Linker(tables if len(tables) > 1 else tables[0], splink_settings(settings),
                    log_level=None)
    uid_columns = linker._settings_obj.column_info_settings.unique_id_input_columns
    dialect = _DuckDBHashDialect(db_api.sql_dialect, uid_columns, seed)
    db_api.sql_dialect = dialect
    return linker, dialect


# ---------------------------------------------------------------------------- pipeline
def link_project_spark(
    config: ProjectConfig, *, write: bool = True, spark_session: Any = None
) -> SparkLinkResult:
    """Link a project on Spark (``[link] backend = "spark"``); see the module docstring.

    Parameters
    ----------
    config : ProjectConfig
    write : bool
        Write the output folder (Spark writes the parquet; the folder is renamed into place
        only when complete). It must be on a file system the driver and every executor see
        (a loopback cluster, or a shared mount).
    spark_session : pyspark.sql.SparkSession, optional
        An existing session (its ``spark.jars`` must include
        ``splink.backends.spark.similarity_jar_location()``). Default: a session on
        ``[link.spark] master`` with ``[link.spark] conf``.
    """
    from pyspark.sql import functions as F

    from undercount.link.backends import spark_session as make_session
    from undercount.link.pipeline import person_covariates, settings_for
    from undercount.link.train import train

    lk = config.link
    spark = spark_session or make_session(lk.spark.master, lk.spark.conf)
    timings: dict[str, float] = {}
    t_all = t0 = time.perf_counter()
    sources = [_read_source(spark, spec) for spec in config.lists]
    sizes = [_check_ids(sdf, spec) for sdf, spec in zip(sources, config.lists, strict=True)]
    offsets = list(np.cumsum([0, *sizes[:-1]]).astype(int))
    n = int(sum(sizes))
    _lap(timings, "read", t0)

    t0 = time.perf_counter()
    std, cols = _standardise(spark, sources, config.lists, offsets)
    std = std.persist()
    _raise_batch_errors(std)
    # Checkpoints cut the lineage: Spark's analyser re-walks every plan a DataFrame was
    # built from, and the joins below reuse these tables many times.
    std = std.drop(_ERROR).localCheckpoint()
    # The relative-aware comparison's columns, as build_linker adds them on DuckDB.
    rel, rel_cols = _with_relative_columns(std, cols)
    rel = rel.localCheckpoint()
    proxy = _proxy(rel, [c for c in rel_cols if c != "rest_key"], n, config.list_names)
    _lap(timings, "standardise", t0)

    settings = settings_for(proxy, lk, n_lists=len(config.lists), seed=config.seed)
    report: dict[str, Any] = {}
    try:
        t0 = time.perf_counter()
        linker, dialect = _linker(spark, rel, rel_cols, settings, config)
        if settings.model is None:
            with duckdb_hashes_in_blocking(dialect):
                settings, report["training"] = train(linker, settings, proxy)
        if dialect.unmatched:
            report.setdefault("warnings", []).append(
                "Splink hashed record ids in a form undercount does not know, so Spark drew "
                f"its own samples there (the model can differ from DuckDB's): {dialect.unmatched}"
            )
        _lap(timings, "train", t0)

        t0 = time.perf_counter()
        with duckdb_hashes_in_blocking(dialect):
            predictions = _predict(linker, settings.threshold)
        pred = predictions.as_spark_dataframe()
        edges = (
            pred.select(
                F.least("uid_l", "uid_r").cast("long").alias("uid_l"),
                F.greatest("uid_l", "uid_r").cast("long").alias("uid_r"),
                F.col("match_probability").cast("double").alias("match_probability"),
                F.col("match_weight").cast("double").alias("match_weight"),
            )
            .dropDuplicates(["uid_l", "uid_r"])
            .localCheckpoint()
        )
        n_edges = edges.count()
        _lap(timings, "predict", t0)

        t0 = time.perf_counter()
        # Connected components at the threshold over the records that have an edge; the
        # constrained clustering then runs on groups of whole components.
        components = _connected_components(edges)
        groups = max(1, int(spark.conf.get("spark.sql.shuffle.partitions", "200")))
        group = F.pmod(F.col("comp"), F.lit(groups)).alias("_g")
        nodes = components.select("uid", group).join(std, "uid")
        # Fresh expressions: both sides of the cogroup derive from `components`.
        comp_edges = edges.join(
            components.select(F.col("uid").alias("uid_l"), group), "uid_l",
        )
        large = max(10, 3 * len(config.lists))
        several = len(config.lists) > 1

        def per_group(node_frame, edge_frame):
            if len(node_frame) == 0:
                return pd.DataFrame(columns=_cluster_schema().fieldNames())
            return _cluster_group(node_frame, edge_frame.drop(columns=["_g"]), settings,
                                  several, large)

        clustered = (
            nodes.groupBy("_g").cogroup(comp_edges.groupBy("_g"))
            .applyInPandas(per_group, _cluster_schema())
            .localCheckpoint()
        )
        out_edges = clustered.filter(F.col("kind") == "edge")
        # Each linked record's cluster representative (smallest uid of its cluster).
        node_rep = (
            out_edges.select(F.col("uid_l").alias("uid"), F.col("rep_l").alias("rep"))
            .union(out_edges.select(F.col("uid_r").alias("uid"), F.col("rep_r").alias("rep")))
            .distinct()
        )
        rec = (
            std.join(node_rep, "uid", "left")
            .withColumn("rep", F.coalesce("rep", "uid"))
        )
        rec = rec.localCheckpoint()
        numbering = _number_clusters(
            spark, rec.filter(F.col("rep") == F.col("uid")).select("uid")
        ).localCheckpoint()
        rec = rec.join(numbering, "rep").localCheckpoint()
        within = out_edges.filter("within")
        ends = within.select(F.col("uid_l").alias("uid"), "match_probability").union(
            within.select(F.col("uid_r").alias("uid"), "match_probability"))
        refused = out_edges.filter(F.col("status") == "refused")
        refused_ends = refused.select(F.col("uid_l").alias("uid")).union(
            refused.select(F.col("uid_r").alias("uid")))
        evidence = ends.groupBy("uid").agg(
            F.max("match_probability").alias("best_match_probability"),
            F.count(F.lit(1)).alias("n_links"),
        )
        refused_n = refused_ends.groupBy("uid").agg(F.count(F.lit(1)).alias("refused_links"))
        csize = rec.groupBy("cluster_id").agg(F.count(F.lit(1)).alias("cluster_size"))
        records = (
            rec.join(csize, "cluster_id")
            .join(evidence, "uid", "left")
            .join(refused_n, "uid", "left")
            .fillna({"n_links": 0, "refused_links": 0})
            .localCheckpoint()
        )
        n_refused = refused.count()
        _lap(timings, "cluster", t0)

        t0 = time.perf_counter()
        covariates = person_covariates(config, proxy)
        histories = _capture_histories(spark, records, config.list_names, covariates)
        histories = histories.localCheckpoint()
        n_clusters = histories.count()
        rep_to_id = numbering
        sus = (
            clustered.filter(F.col("kind") == "suspicious")
            .join(rep_to_id, F.col("rep_l") == F.col("rep"))
            .select("cluster_id", "size", "weakest_edge", "strong_components", "reasons")
            .toPandas()
        )
        conflicted = (
            histories.filter(F.col("conflicts") != "").select("cluster_id", "conflicts")
            .toPandas()
        )
        suspicious = _suspicious(sus, conflicted, records)
        sus_ids = spark.createDataFrame(
            pd.DataFrame({"cluster_id": suspicious["cluster_id"].astype("int64")})
        ).withColumn("suspicious", F.lit(True))
        records_out = (
            records.join(F.broadcast(sus_ids), "cluster_id", "left")
            .fillna({"suspicious": False})
            .select("list", "record_id", "row", "uid", "cluster_id", "cluster_size",
                    "best_match_probability", "n_links", "refused_links", "suspicious")
        )
        counts = (
            histories.groupBy(*config.list_names, *config.strata.sources()).count()
            .toPandas()
        )
        # refused_by as on DuckDB: there only when a relative or same-list rule was checked.
        by = out_edges.filter(F.col("refused_by").isNotNull()).limit(1).count() > 0
        edges_out = out_edges.select("uid_l", "uid_r", "match_probability", "match_weight",
                                     "status", "within", *(["refused_by"] if by else []))
        _lap(timings, "tables", t0)
    except (LinkageError, InputError, ConfigError, ImportError):
        raise
    except Exception as exc:  # Splink/Spark errors surface as one typed error
        raise LinkageError(f"{config.path}: linkage failed on Spark: "
                           f"{type(exc).__name__}: {exc}") from exc

    report.update(
        standardiser=standardiser_name(),
        n_records=n,
        n_clusters=int(n_clusters),
        n_suspicious=len(suspicious),
        n_edges=int(n_edges),
        n_refused=int(n_refused),
        spark={"master": spark.sparkContext.master, "app_id": spark.sparkContext.applicationId},
    )
    tables_out = {
        "records": records_out.orderBy("uid"),
        "capture_histories": histories.orderBy("cluster_id"),
        "edges": edges_out.orderBy("uid_l", "uid_r"),
        "standardised": std.orderBy("uid"),
    }
    output = None
    if write:
        t0 = time.perf_counter()
        tables_out = _write(spark, tables_out, suspicious, settings, config, report, timings,
                            covariates)
        _lap(timings, "write", t0)
        output = config.output
    timings["total"] = time.perf_counter() - t_all
    report["timings"] = timings
    if write:
        prov = json.loads((config.output / "provenance.json").read_text())
        prov["report"] = report
        (config.output / "provenance.json").write_text(
            json.dumps(prov, indent=2, default=str) + "\n")
    return SparkLinkResult(
        records=tables_out["records"],
        capture_histories=tables_out["capture_histories"],
        edges=tables_out["edges"],
        standardised=tables_out["standardised"],
        suspicious=suspicious,
        counts=counts,
        settings=settings,
        lists=config.list_names,
        strata=config.strata.sources(),
        covariates=tuple(covariates),
        output=output,
        report=report,
    )


def _suspicious(sus: pd.DataFrame, conflicted: pd.DataFrame, records) -> pd.DataFrame:
    """``suspicious_clusters.csv`` as on DuckDB (large, weak_link, refused, then the
    clusters whose records disagree on a covariate)."""
    from pyspark.sql import functions as F

    sus = sus.sort_values("cluster_id", ignore_index=True)
    for c in ("cluster_id", "size", "strong_components"):
        sus[c] = sus[c].astype(np.int64)
    if conflicted.empty:
        return sus.assign(conflicts="")
    merged = sus.merge(conflicted, on="cluster_id", how="outer")
    missing = merged.loc[merged["size"].isna(), "cluster_id"].astype("int64").tolist()
    if missing:
        sizes = dict(
            records.filter(F.col("cluster_id").isin(missing))
            .groupBy("cluster_id").count().collect()
        )
        fill = merged["cluster_id"].map(sizes)
        merged["size"] = merged["size"].fillna(fill)
    has = merged["conflicts"].notna()
    merged["reasons"] = merged["reasons"].fillna("")
    merged.loc[has, "reasons"] = (
        merged.loc[has, "reasons"].str.cat(["conflicting_covariates"] * int(has.sum()), sep=",")
        .str.strip(",")
    )
    merged["conflicts"] = merged["conflicts"].fillna("")
    return merged.sort_values("cluster_id", ignore_index=True)


def _capture_histories(spark, records, lists: tuple[str, ...], covariates: list[str]):
    """:func:`undercount.tables.build.capture_histories` on groups of whole clusters, in
    Spark (a cluster's row depends on its own records only)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from undercount.tables.build import capture_histories

    types = dict(records.dtypes)
    fields = [T.StructField("cluster_id", T.LongType())]
    fields += [T.StructField(name, T.LongType()) for name in lists]
    fields.append(T.StructField("n_records", T.LongType()))
    spark_types = {f.name: f.dataType for f in records.schema.fields}
    fields += [T.StructField(c, spark_types[c]) for c in covariates]
    fields.append(T.StructField("conflicts", T.StringType()))
    schema = T.StructType(fields)
    del types
    groups = max(1, int(spark.conf.get("spark.sql.shuffle.partitions", "200")))
    names = list(lists)

    def run(frame: pd.DataFrame) -> pd.DataFrame:
        out = capture_histories(frame.drop(columns=["_g"]), lists=names, covariates=covariates)
        for f in schema.fields:
            if isinstance(f.dataType, T.LongType):
                out[f.name] = pd.array(
                    pd.to_numeric(out[f.name], errors="coerce"), dtype="Int64")
            elif isinstance(f.dataType, T.DoubleType):
                out[f.name] = pd.to_numeric(out[f.name], errors="coerce").astype("float64")
            elif isinstance(f.dataType, T.BooleanType):
                out[f.name] = pd.array(out[f.name], dtype="boolean")
            else:
                s = out[f.name]
                out[f.name] = s.astype(object).where(s.notna(), None)
        return out[schema.fieldNames()]

    sub = records.select("cluster_id", "list", "row", *covariates).withColumn(
        "_g", F.pmod(F.col("cluster_id"), F.lit(groups)))
    return sub.groupBy("_g").applyInPandas(run, schema)


def _write(spark, tables, suspicious, settings, config, report, timings, covariates):
    from undercount.link.pipeline import _link_versions
    from undercount.tables.build import sidecar

    out = config.output
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        for name, sdf in tables.items():
            sdf.write.mode("overwrite").parquet(str(tmp / f"{name}.parquet"))
        suspicious.to_csv(tmp / "suspicious_clusters.csv", index=False)
        side = sidecar(lists=config.list_names, strata=config.strata.sources(),
                       covariates=tuple(covariates), source=str(config.path))
        (tmp / "capture_table.json").write_text(json.dumps(side, indent=2) + "\n")
        settings.to_json(tmp / "link_settings.json")
        prov = {
            "project": config.to_dict(),
            "inputs": {str(s.file): file_sha256(s.file) for s in config.lists},
            "versions": {**package_versions(), **_link_versions()},
            "seed": config.seed,
            "report": {**report, "timings": timings},
        }
        (tmp / "provenance.json").write_text(json.dumps(prov, indent=2, default=str) + "\n")
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {name: spark.read.parquet(str(out / f"{name}.parquet")) for name in tables}
