"""u probabilities by random sampling, every comparison in one pass over the sampled pairs.

Splink's ``estimate_u_using_random_sampling`` (``splink.internals.estimate_u``) draws a
seeded sample of records whose pairs number about ``max_pairs``, then, **one comparison at
a time**, re-creates those pairs chunk by chunk (the chunk of a pair is a hash of its right
record's id) and counts the pairs in each level: first a probe of 1% of the pairs (chunk 1
of 100), kept if every non-null level has at least ``min_count_per_level`` pairs; else
chunks 1, 2, ... of 10 until every level has that many or the chunks run out. A comparison
with a level that random pairs almost never reach (an exact national-ID match, the
relatives' levels) always goes through all ten chunks, so with nine comparisons the sampled
pairs were built and scanned some ninety times: 60 of the 74 s of training on a million
records.

:func:`estimate_u_values` computes the same counts with one query per chunk for all the
comparisons still counting: the probe first (every comparison), then chunks 1, 2, ... of 10
for the comparisons whose levels have not all reached the minimum, each query grouping the
pairs by the levels of all of them at once; Splink's stopping rule is replayed per
comparison on those counts in chunk order. Chunks run on as many DuckDB cursors at a time
as DuckDB has threads (a query over a few thousand sampled records runs on one thread: one
row group), the next starting as soon as one finishes; each sampled record's place in
Splink's pair order and its chunk are computed once, so the pairs of a chunk are found by
integer comparisons. The counts handed to Splink's ``compute_proportions_for_new_parameters`` are
the very numbers Splink would have accumulated (sums of ones over the same pairs, the same
level SQL), so the u probabilities are identical (``tests/link/test_performance_paths.py``).
The DuckDB and Spark backends use it (:func:`supported`); others keep Splink's function. On
Spark the chunks run one at a time (each query already uses every executor core) over the
sample spread across twice as many partitions as there are cores and checkpointed; the
similarity work is the same as Splink's (each comparison is counted on the same chunks), but
the pairs are built once per chunk instead of once per comparison and chunk: on the
million-record benchmark 11 queries instead of 60 (9 probes and 51 comparison chunks),
each a Spark job over a nested-loop join (``tests/link/test_spark_u_sampling.py`` checks
the u against Splink's on Spark).
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from copy import deepcopy
from typing import Any

__all__ = ["estimate_u", "estimate_u_values", "guard_transpositions", "supported"]

logger = logging.getLogger(__name__)

#: Splink's defaults for ``estimate_u_using_random_sampling`` (splink 5.0).
MIN_COUNT_PER_LEVEL = 100
NUM_CHUNKS = 10
PROBE_MULTIPLIER = 10


def supported(linker) -> bool:
    """Whether :func:`estimate_u_values` may replace Splink's u sampling for ``linker``."""
    return (getattr(linker, "_sql_dialect_str", None) in ("duckdb", "spark")
            and linker._settings_obj._link_type in ("dedupe_only", "link_and_dedupe"))


def estimate_u(linker, max_pairs: float, seed: int | None = None) -> None:
    """``linker.training.estimate_u_using_random_sampling(max_pairs, seed)``, by
    :func:`estimate_u_values` where it is :func:`supported`."""
    if not supported(linker):
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
        return
    estimate_u_values(linker, max_pairs, seed)
    linker._populate_m_u_from_trained_values()
    linker._settings_obj._columns_without_estimated_parameters_message()


def estimate_u_values(linker, max_pairs: float, seed: int | None = None) -> None:
    """Set the u probabilities of ``linker``'s comparisons as Splink's
    ``linker.training.estimate_u_using_random_sampling(max_pairs, seed)`` does (module
    docstring), counting all comparisons in one pass."""
    from splink.internals.blocking import _sql_gen_where_condition
    from splink.internals.chunking import _chunk_assignment_sql
    from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT
    from splink.internals.estimate_u import _MUCountsAccumulator, _rows_needed_for_n_pairs
    from splink.internals.expectation_maximisation import (
        compute_proportions_for_new_parameters,
    )
    from splink.internals.m_u_records_to_parameters import (
        append_u_probability_to_comparison_level_trained_probabilities,
        m_u_records_to_lookup_dict,
    )
    from splink.internals.misc import ascii_uid
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.settings import Settings
    from splink.internals.unique_id_concat import _composite_unique_id_from_nodes_sql
    from splink.internals.vertically_concatenate import enqueue_df_concat

    original_settings = linker._settings_obj
    training_linker = deepcopy(linker)
    settings = training_linker._settings_obj
    settings._retain_matching_columns = False
    settings._retain_intermediate_calculation_columns = False
    db_api = training_linker._db_api
    dialect = db_api.sql_dialect
    for comparison in settings.comparisons:
        for level in comparison.comparison_levels:
            level._tf_adjustment_column = None

    # The sample: the same rows as Splink's (a hash of the composite id and the seed).
    pipeline = enqueue_df_concat(linker, CTEPipeline())
    pipeline.enqueue_sql("select count(*) as count from __splink__df_concat",
                         "__splink__df_concat_count")
    count = db_api.sql_pipeline_to_splink_dataframe(pipeline)
    total_nodes = count.as_record_list()[0]["count"]
    count.drop_table_from_database_and_remove_from_cache()
    proportion = min(_rows_needed_for_n_pairs(max_pairs) / total_nodes, 1.0)
    uid_cols = settings.column_info_settings.unique_id_input_columns
    pipeline = enqueue_df_concat(training_linker, CTEPipeline())
    pipeline.enqueue_sql(
        "select * from __splink__df_concat where 1=1 "
        + training_linker._proportion_sample_sql(proportion, uid_cols, seed=seed),
        "__splink__df_concat_sample",
    )
    sample = db_api.sql_pipeline_to_splink_dataframe(pipeline)
    id_l = _composite_unique_id_from_nodes_sql(uid_cols, "l")
    id_r = _composite_unique_id_from_nodes_sql(uid_cols, "r")
    spark = dialect.sql_dialect_str == "spark"
    keyed = None
    if not spark:
        # Splink's pair condition (composite id of l < that of r) and its chunk of a right
        # record (a hash of the composite id), each computed once per sampled record instead
        # of once per pair of the nested-loop join: the same pairs in the same chunks, from
        # integer comparisons (1.31 instead of 1.45 CPU-s a chunk at a million records).
        keyed = f"{sample.physical_name}_keyed"
        chunks = " ".join(
            f"when 1=1 {_chunk_assignment_sql(uid_cols, k, NUM_CHUNKS, 'l', dialect)} then {k}"
            for k in range(1, NUM_CHUNKS + 1))
        probe_of = NUM_CHUNKS * PROBE_MULTIPLIER
        probe = _chunk_assignment_sql(uid_cols, 1, probe_of, "l", dialect)
        keyed_sql = (
            f"create table {keyed} as select *, "
            f"dense_rank() over (order by {id_l}) as __uc_rank, "
            f"case {chunks} end as __uc_chunk, (1=1 {probe}) as __uc_probe "
            f"from {sample.physical_name} as l")

    def counts_sqls(comparisons: list, chunk: tuple[int, int]) -> list[tuple[str, str]]:
        """Pairs of the sample in Splink's chunk ``chunk`` (of the right records), counted
        by the levels of ``comparisons`` (the SQL of Splink's estimate_u, all at once): the
        statements and their table names, in order."""
        if keyed is None:
            where = _sql_gen_where_condition(settings._link_type, uid_cols, right_chunk=chunk,
                                             sql_dialect=dialect)
        elif chunk == (1, NUM_CHUNKS * PROBE_MULTIPLIER):
            where = "where l.__uc_rank < r.__uc_rank and r.__uc_probe"
        else:
            if chunk[1] != NUM_CHUNKS:
                raise ValueError(f"internal: no precomputed chunks of {chunk[1]}")
            where = f"where l.__uc_rank < r.__uc_rank and r.__uc_chunk = {chunk[0]}"
        blocking_cols: list[str] = []
        for uid in uid_cols:
            blocking_cols.extend(uid.l_r_names_as_l_r)
        for comparison in comparisons:
            blocking_cols.extend(comparison._columns_to_select_for_blocking())
        cv_cols = Settings.columns_to_select_for_comparison_vector_values(
            unique_id_input_columns=uid_cols, comparisons=comparisons,
            retain_matching_columns=False, additional_columns_to_retain=[],
        )
        if keyed is not None:
            cv_cols = [guard_transpositions(c) for c in cv_cols]
        select = ", ".join([f"{id_l} as join_key_l", f"{id_r} as join_key_r",
                            *dict.fromkeys(blocking_cols), "'0' as match_key"])
        keys = ", ".join(c._gamma_column_name for c in comparisons)
        return [
            (f"select {select} from {sample_name} as l inner join {sample_name} as r "
             f"on (1=1) {where}", "__splink__blocked_id_pairs"),
            (f"select {', '.join(cv_cols)} from __splink__blocked_id_pairs",
             "__splink__df_comparison_vectors"),
            (f"select {keys}, count(*) as n from __splink__df_comparison_vectors "
             f"group by {keys}", "__splink__u_level_counts"),
        ]

    def counts_sql(comparisons: list, chunk: tuple[int, int]) -> str:
        (blocked, _), (vectors, _), (grouped, _) = counts_sqls(comparisons, chunk)
        return (f"with __splink__blocked_id_pairs as ({blocked}), "
                f"__splink__df_comparison_vectors as ({vectors}) {grouped}")

    sample_name = keyed or sample.physical_name
    if spark:
        # The sample is a few thousand records, in as many partitions as the input tables
        # had: spread it evenly over the executors' cores, so each chunk's pairs (a nested
        # loop join) are built and compared in parallel; checkpointed for the eleven
        # queries (a persisted view read in a WITH clause was not matched to its cache).
        frame = db_api.spark.table(sample.physical_name)
        cores = max(1, db_api.spark.sparkContext.defaultParallelism)
        sample_frame = frame.repartition(2 * cores).localCheckpoint()
        sample_name = f"{sample.physical_name}_spread"
        sample_frame.createOrReplaceTempView(sample_name)

        def run(queries: list[tuple[list, tuple[int, int]]]) -> list[list[dict[str, Any]]]:
            return [_run_pipeline(db_api, counts_sqls(cs, ch)) for cs, ch in queries]
    else:
        con = db_api.duckdb_con

        def run(queries: list[tuple[list, tuple[int, int]]]) -> list[list[dict[str, Any]]]:
            return _run(con, [counts_sql(cs, ch) for cs, ch in queries])

    comparisons = list(settings.comparisons)
    accumulators = {id(c): _MUCountsAccumulator(c) for c in comparisons}
    try:
        if keyed is not None:  # a table, not a temporary one: the chunks run on cursors
            db_api.duckdb_con.execute(keyed_sql)
        # Splink's probe: chunk 1 of 100 for every comparison; a comparison whose levels all
        # reach the minimum count there keeps these counts.
        probe = run([(comparisons, (1, NUM_CHUNKS * PROBE_MULTIPLIER))])[0]
        active = []
        for c in comparisons:
            _add(accumulators[id(c)], c, probe)
            if not accumulators[id(c)].all_levels_meet_min_u_count(MIN_COUNT_PER_LEVEL):
                accumulators[id(c)] = _MUCountsAccumulator(c)
                active.append(c)
        # Then chunks 1, 2, ... of 10, as many at a time as DuckDB has threads, each
        # comparison until its levels all reach the minimum count (counted in chunk order).
        # A chunk starts as soon as one finishes (not in waves, which left a core idle
        # while the slower chunk of a wave ran), with the comparisons still counting after
        # the chunks finished so far: at least those still counting when its turn comes.
        # On Spark one chunk at a time: each query already runs on every core.
        threads = 1 if spark else max(
            1, int(con.execute("select current_setting('threads')").fetchall()[0][0]))
        pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 else None

        def submit(comps: list, k: int):
            logger.info("u sampling: chunk %d of %d for %s", k, NUM_CHUNKS,
                        [c.output_column_name for c in comps])
            query = [(comps, (k, NUM_CHUNKS))]
            if pool is None:
                return _Done(run(query)[0])
            return pool.submit(lambda: run(query)[0])

        try:
            pending: dict[int, Any] = {}
            submitted = done = 0
            while active and (pending or submitted < NUM_CHUNKS):
                while submitted < NUM_CHUNKS and len(pending) < threads:
                    submitted += 1
                    pending[submitted] = submit(list(active), submitted)
                done += 1
                rows = pending.pop(done).result()
                still = []
                for c in active:
                    _add(accumulators[id(c)], c, rows)
                    if not accumulators[id(c)].all_levels_meet_min_u_count(MIN_COUNT_PER_LEVEL):
                        still.append(c)
                active = still
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        if spark:
            db_api.spark.catalog.dropTempView(sample_name)
        if keyed is not None:
            db_api.duckdb_con.execute(f"drop table if exists {keyed}")
        sample.drop_table_from_database_and_remove_from_cache()

    for i, comparison in enumerate(settings.comparisons):
        counts = accumulators[id(comparison)].to_record_list()
        registered = db_api.register(
            counts, table_name=f"__splink__aggregated_m_u_counts_{ascii_uid(8)}")
        params = compute_proportions_for_new_parameters(registered)
        registered.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        observed = {int(r["comparison_vector_value"]): float(r["u_count"]) for r in counts}
        for r in params:
            if observed.get(int(r["comparison_vector_value"]), 0.0) == 0.0:
                r["u_probability"] = LEVEL_NOT_OBSERVED_TEXT
        lookup = m_u_records_to_lookup_dict(params)
        target = original_settings.comparisons[i]
        for level in target._comparison_levels_excluding_null:
            append_u_probability_to_comparison_level_trained_probabilities(
                level, lookup, target.output_column_name, "estimate u by random sampling")


_DAMERAU = re.compile(
    r'WHEN damerau_levenshtein\(("\w+_l"), ("\w+_r")\) <= 1 THEN')


def guard_transpositions(case: str) -> str:
    """``case`` (one comparison's CASE, DuckDB SQL) with each ``damerau_levenshtein(a, b)
    <= 1`` level that follows a ``levenshtein(a, b) <= 1`` level of the same columns
    evaluated only where the strings have one length and differ in exactly two places.

    The pairs that reach such a level differ and are more than one insertion, deletion or
    substitution apart, so within one edit they are only through one transposition of two
    adjacent characters: the same length and a Hamming distance of 2 (DuckDB's three
    functions count characters, not bytes), which cost a fraction of the Damerau--Levenshtein
    distance. The level's pairs are the same; on a million simulated records the national
    ID's transposition level cost 0.27 of the 1.45 CPU-s of each chunk of sampled pairs,
    its guard 0.01.
    """
    def guarded(match: re.Match) -> str:
        a, b = match.group(1), match.group(2)
        if f"WHEN levenshtein({a}, {b}) <= 1 THEN" not in case[:match.start()]:
            return match.group(0)
        return (f"WHEN CASE WHEN length({a}) <> length({b}) THEN false "
                f"WHEN hamming({a}, {b}) <> 2 THEN false "
                f"ELSE damerau_levenshtein({a}, {b}) <= 1 END THEN")

    return _DAMERAU.sub(guarded, case)


class _Done:
    """A finished result, answering ``result()`` as a future does."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


def _add(accumulator, comparison, rows: list[dict[str, Any]]) -> None:
    """Add one chunk's counts (rows of gamma columns and ``n``) to ``comparison``'s
    accumulator, as Splink adds a chunk's ``u_count`` per level."""
    gamma = comparison._gamma_column_name
    counts: dict[int, float] = {}
    for row in rows:
        if gamma in row:
            cvv = int(row[gamma])
            counts[cvv] = counts.get(cvv, 0.0) + float(row["n"])
    accumulator.update_from_chunk_counts(
        [{"comparison_vector_value": cvv, "u_count": n} for cvv, n in counts.items()])


def _run(con, sqls: list[str]) -> list[list[dict[str, Any]]]:
    """Run the queries, each on its own cursor and all at once (DuckDB runs a query over a
    few thousand sampled records on one thread: a single row group)."""

    def run(sql: str) -> list[dict[str, Any]]:
        cursor = con.cursor()
        try:
            result = cursor.execute(sql)
            names = [d[0] for d in result.description]
            return [dict(zip(names, r, strict=True)) for r in result.fetchall()]
        finally:
            cursor.close()

    if len(sqls) == 1:
        return [run(sqls[0])]
    with ThreadPoolExecutor(max_workers=len(sqls)) as pool:
        return list(pool.map(run, sqls))


def _run_pipeline(db_api, sqls: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Run the statements as one pipeline through Splink's ``db_api`` (its dialect's
    transpiling and execution: Spark) and return the last one's rows."""
    from splink.internals.pipeline import CTEPipeline

    pipeline = CTEPipeline()
    for sql, name in sqls:
        pipeline.enqueue_sql(sql, name)
    result = db_api.sql_pipeline_to_splink_dataframe(pipeline)
    try:
        return result.as_record_list()
    finally:
        result.drop_table_from_database_and_remove_from_cache()
