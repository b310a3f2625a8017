"""Score the blocked record pairs with the trained model.

With a threshold, most blocked pairs fall far below it (at a million simulated records 3% of
the 3e6 pairs blocked per 200,000 records reach 0.9), yet Splink evaluates every level of
every comparison on each of them, Jaro--Winkler and edit distances included.
:func:`predict_edges` first bounds each pair's match weight from above with the *cheap*
levels only (:func:`_bound_sql`): a comparison's CASE is evaluated up to its first level
whose condition calls a string-similarity or parsing function, and a pair that reaches
none of the levels before it is given the largest weight of the levels from there on. Pairs
whose bound is below the threshold cannot reach it and are dropped; the rest are scored by
Splink's own SQL (the same statements as ``linker.inference.predict``), so every edge, its
weight and its probability are exactly what Splink gives. Which levels count as cheap only
decides how many pairs are scored in full, never the result. On DuckDB the bound is taken
inside the blocking join (:func:`_blocked_with_columns_sql`), so the blocked pairs are never
stored, and on integers: the records are ranked in Splink's order of their unique ids, and
the key columns that the blocking rules and the cheap levels only test for equality or NULL
are replaced by integer codes (:class:`_Recoder`), which give the same answer for every pair.
Before Splink's SQL, a second filter drops the kept pairs whose bound fails with any one
comparison evaluated exactly (:func:`_refined_sql`).

At a million simulated records (3 lists, 1,022,358 records, 7 blocking rules, 34,902,853
blocked pairs, 444,201 edges at 0.9) on 2 DuckDB threads: 2,508,282 pairs pass the bound and
464,500 the second filter. On a 2-core machine that other jobs kept busy (load 3 to 5), the
stage took 41-50 CPU seconds (coding the records 6, the bounded join 28-34, Splink's SQL on
the kept pairs 6-8) where the string-keyed join before took 62-72 in the same conditions.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["predict_edges", "score_candidates"]


def predict_edges(
    linker, threshold: float | None, *, comparison_levels: bool = False, prefilter: bool = True
) -> pd.DataFrame:
    """Pairs with match probability at or above ``threshold``.

    Parameters
    ----------
    linker : splink.Linker
        With a trained model.
    threshold : float or None
        Score floor; None keeps every blocked pair (what a Fellegi–Sunter refit, e.g.
        :class:`undercount.uncertainty.linkage.LinkageAveraging` with
        ``parameter_uncertainty="em_bootstrap"``, needs).
    comparison_levels : bool
        Also return each pair's comparison-vector levels, one ``gamma_<comparison>``
        column (int64) per comparison: ``-1`` for the null level, else ``0 .. L - 1`` with
        ``L - 1`` the first (strongest) level of the comparison, as Splink numbers them.
        Splink drops these columns from its predictions unless matching columns are
        retained, so they are retained for this call only (the linker is left as it was).
    prefilter : bool
        Score in full only the pairs whose cheap bound reaches the threshold (module
        docstring; DuckDB, with a threshold and without ``comparison_levels``). The
        result is the same either way.

    Returns
    -------
    DataFrame
        ``uid_l``, ``uid_r`` (int64, ``uid_l < uid_r``), ``match_probability``,
        ``match_weight`` (float64), then the ``gamma_*`` columns if asked for, sorted by
        ``(uid_l, uid_r)`` so runs compare equal.
    """
    settings = linker._settings_obj
    retain = settings._retain_matching_columns
    if comparison_levels:
        settings._retain_matching_columns = True
    try:
        if (prefilter and threshold is not None and not comparison_levels
                and _can_prefilter(linker)):
            sdf = _predict_prefiltered(linker, threshold)
        else:
            sdf = linker.inference.predict(
                threshold_match_probability=threshold, warning_mode="never"
            )
    finally:
        settings._retain_matching_columns = retain
    try:
        frame = sdf.as_pandas_dataframe()
    finally:
        sdf.drop_table_from_database_and_remove_from_cache()
    left = frame["uid_l"].to_numpy(dtype=np.int64)
    right = frame["uid_r"].to_numpy(dtype=np.int64)
    out = pd.DataFrame(
        {
            "uid_l": np.minimum(left, right),
            "uid_r": np.maximum(left, right),
            "match_probability": frame["match_probability"].to_numpy(dtype=np.float64),
            "match_weight": frame["match_weight"].to_numpy(dtype=np.float64),
        }
    )
    if comparison_levels:
        for comparison in settings.comparisons:
            col = comparison._gamma_column_name
            out[col] = frame[col].to_numpy(dtype=np.int64)
    # Several blocking rules never emit the same pair twice in Splink, but be safe.
    out = out.drop_duplicates(["uid_l", "uid_r"])
    return out.sort_values(["uid_l", "uid_r"], ignore_index=True)


def score_candidates(linker) -> pd.DataFrame:
    r"""Every blocked pair with its comparison levels and each comparison's contribution.

    Columns: ``uid_l``, ``uid_r``, ``match_probability``, ``match_weight`` (log2 Bayes
    factor plus the prior, as Splink reports it), then for each comparison ``gamma_<name>``
    (its level, as in :func:`predict_edges`) and ``mw_<name>`` (its contribution to the
    match weight, :math:`\log_2(m/u)` of its level; term-frequency adjustments, which
    Splink adds for some levels, are not included),
    sorted by ``(uid_l, uid_r)``. What clerical review shows and samples from.
    """
    settings = linker._settings_obj
    keep = settings._retain_matching_columns
    settings._retain_matching_columns = True
    try:
        sdf = linker.inference.predict(threshold_match_probability=None, warning_mode="never")
    finally:
        settings._retain_matching_columns = keep
    try:
        frame = sdf.as_pandas_dataframe()
    finally:
        sdf.drop_table_from_database_and_remove_from_cache()
    left = frame["uid_l"].to_numpy(dtype=np.int64)
    right = frame["uid_r"].to_numpy(dtype=np.int64)
    out = {
        "uid_l": np.minimum(left, right),
        "uid_r": np.maximum(left, right),
        "match_probability": frame["match_probability"].to_numpy(dtype=np.float64),
        "match_weight": frame["match_weight"].to_numpy(dtype=np.float64),
    }
    for comparison in settings.comparisons:
        name = comparison.output_column_name
        gamma = frame[comparison._gamma_column_name].to_numpy(dtype=np.int64)
        out[f"gamma_{name}"] = gamma
        contribution = np.zeros(len(frame))  # the null level contributes nothing
        for level in comparison._comparison_levels_excluding_null:
            m, u = level.m_probability, level.u_probability
            if m and u:
                contribution[gamma == level._comparison_vector_value] = np.log2(m / u)
        out[f"mw_{name}"] = contribution
    result = pd.DataFrame(out).drop_duplicates(["uid_l", "uid_r"])
    return result.sort_values(["uid_l", "uid_r"], ignore_index=True)


#: SQL functions whose levels are not evaluated for the bound (string similarities, edit
#: distances, date parsing, list searches): a level using one ends a comparison's cheap
#: prefix. Matched case-insensitively as a word prefix.
_COSTLY = re.compile(
    r"\b(jaro|levenshtein|damerau|hamming|jaccard|cosine|strptime|try_strptime|list_|"
    r"array_|regexp|soundex|metaphone|strpos|substr|epoch)", re.IGNORECASE)
#: Allowance for rounding between the bound and Splink's sum of the same weights.
_MARGIN = 1e-6
_UNRESOLVED = -99


def _can_prefilter(linker) -> bool:
    settings = linker._settings_obj
    cache = linker._intermediate_table_cache
    registered = any(getattr(df, "metadata", {}).get("registered_for_predict")
                     for df in cache.values())
    return (linker._sql_dialect_str == "duckdb" and not registered
            and not settings._retain_matching_columns
            and not settings._retain_intermediate_calculation_columns
            and all(lv._match_weight is not None for c in settings.comparisons
                    for lv in c.comparison_levels))


def _bound_sql(comparison) -> tuple[str, str]:
    """The comparison's partial CASE (``-99`` where only costly levels are left) and an SQL
    expression bounding its match weight (plus term-frequency adjustment) from above."""
    levels = list(comparison.comparison_levels)
    gamma = comparison._gamma_column_name
    cut = next((i for i, lv in enumerate(levels)
                if not lv._is_else_level and _COSTLY.search(lv.sql_condition)), len(levels))
    rest = levels[cut:]
    # A term-frequency adjustment left among the costly levels would need its own bound:
    # such a comparison is evaluated in full.
    if any(lv._has_tf_adjustments and not lv._is_else_level for lv in rest):
        cut, rest = len(levels), []
    whens = [lv._when_then_comparison_vector_value_sql for lv in levels[:cut]]
    if rest:
        whens.append(f"ELSE {_UNRESOLVED}")
    case = "CASE\n" + "\n".join(whens) + f"\nEND as {gamma}"
    mw = [lv._match_weight_sql(gamma) for lv in levels[:cut]]
    if rest:
        top = max(float(lv._match_weight) for lv in rest)
        mw.insert(0, f"WHEN {gamma} = {_UNRESOLVED} THEN cast({top!r} as float8)")
    terms = ["CASE\n" + "\n".join(mw) + "\nEND"]
    if comparison._has_tf_adjustments:
        tf = [lv._tf_adjustment_sql(gamma, levels) for lv in levels[:cut]]
        if rest:
            tf.insert(0, f"WHEN {gamma} = {_UNRESOLVED} THEN cast(0 as float8)")
        terms.append("CASE\n" + "\n".join(tf) + "\nEND")
    return case, " + ".join(f"({t})" for t in terms)


_THEN = re.compile(r"\s*WHEN\s+\S+\s*=\s*-?\d+\s+THEN\s+(.*)", re.DOTALL)


def _weight_bound_sql(comparison, *, exact: bool = False) -> str:
    """One CASE giving the bound of :func:`_bound_sql` (the level's match weight plus its
    term-frequency adjustment) straight from the levels' conditions.

    :func:`_bound_sql` computes the comparison level first, then looks its weight up in a
    second CASE; at a million simulated records that lookup, over 3.5e7 pairs, was as
    costly as the levels themselves. The sums differ from :func:`_bound_sql`'s only in
    rounding, which ``_MARGIN`` allows for. With ``exact``, every level is evaluated: the
    comparison's match weight itself (up to that rounding)."""
    levels = list(comparison.comparison_levels)
    gamma = comparison._gamma_column_name
    cut = next((i for i, lv in enumerate(levels) if not exact and not lv._is_else_level
                and _COSTLY.search(lv.sql_condition)), len(levels))
    rest = levels[cut:]
    if any(lv._has_tf_adjustments and not lv._is_else_level for lv in rest):
        cut, rest = len(levels), []

    def then(sql: str) -> str:
        match = _THEN.fullmatch(sql)
        if match is None:  # Splink writes "WHEN <gamma> = <level> THEN <weight>"
            raise ValueError(f"unexpected weight SQL from Splink: {sql!r}")
        return match.group(1).strip()

    whens = []
    for lv in levels[:cut]:
        weight = f"({then(lv._match_weight_sql(gamma))})"
        if comparison._has_tf_adjustments:
            weight += f" + ({then(lv._tf_adjustment_sql(gamma, levels))})"
        whens.append(f"ELSE {weight}" if lv._is_else_level
                     else f"WHEN {lv.sql_condition} THEN {weight}")
    if rest:
        whens.append(f"ELSE cast({max(float(lv._match_weight) for lv in rest)!r} as float8)")
    return "CASE " + "\n".join(whens) + " END"


def _refined_sql(settings, terms: list[str], needed: float) -> str:
    """The joined-back pairs whose bound stays above ``needed`` with any one comparison's
    bound replaced by its exact weight (:func:`_weight_bound_sql` with ``exact``).

    Each condition is an upper bound on the pair's match weight, so no pair that reaches
    the threshold is dropped, and DuckDB evaluates a conjunction on the rows the conditions
    before it kept (reordering them by what they cost and drop). At a million simulated
    records the cheap bound keeps 2.5e6 pairs of which 444,201 reach 0.9; the exact date
    of death alone leaves 8.1e5, date of birth 6.1e5, place 1.0e6, and these conditions
    cost a fraction of Splink's comparison vectors on the pairs they drop."""
    total = " + ".join(terms)
    conditions = []
    for comparison, term in zip(settings.comparisons, terms, strict=True):
        exact = _weight_bound_sql(comparison, exact=True)
        if exact != _weight_bound_sql(comparison):  # costly levels, so a looser bound
            conditions.append(f"({total}) - {term} + ({exact}) >= {needed!r}")
    where = " AND ".join(f"({c})" for c in conditions) or "TRUE"
    return f"select * from blocked_with_cols where {where}"


def _predict_prefiltered(linker, threshold: float) -> Any:
    """``linker.inference.predict(threshold)`` on the blocked pairs whose bound (module
    docstring) reaches the threshold: the same SQL as Splink's, on fewer pairs."""
    from splink.internals.comparison_vector_values import (
        compute_comparison_vector_values_from_id_pairs_sqls,
    )
    from splink.internals.misc import prob_to_match_weight, threshold_args_to_match_weight
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings
    from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

    settings = linker._settings_obj
    db_api = linker._db_api
    uid = settings.column_info_settings
    fused = _can_fuse(linker)
    if fused:
        blocked, cached = None, True
    else:
        blocked, cached = linker.inference._get_or_compute_blocked_pairs_for_predict_chunk(
            left_chunk=(1, 1), right_chunk=(1, 1))
    bounded = coded = None
    try:
        cases, bounds = zip(*(_bound_sql(c) for c in settings.comparisons), strict=True)
        tf_cols: list[str] = []
        for c in settings.comparisons:
            for lv in c.comparison_levels:
                if lv._has_tf_adjustments:
                    tf_cols.extend(lv._tf_adjustment_input_column.tf_name_l_r)
        needed = threshold_args_to_match_weight(threshold, None) - prob_to_match_weight(
            settings._probability_two_random_records_match)
        def vectors(pairs, selected: list[str], computed: list[str]) -> Any:
            # The comparison vectors of ``pairs``, as Splink's predict builds them.
            pipeline = CTEPipeline([pairs])
            enqueue_df_concat_with_tf(linker, pipeline)
            pipeline.enqueue_list_of_sqls(compute_comparison_vector_values_from_id_pairs_sqls(
                selected, computed,
                input_tablename_l="__splink__df_concat_with_tf",
                input_tablename_r="__splink__df_concat_with_tf",
                source_dataset_input_column=uid.source_dataset_input_column,
                unique_id_input_column=uid.unique_id_input_column,
                link_type=settings._link_type,
                sql_dialect_str=linker._sql_dialect_str,
            ))
            return pipeline

        if fused:
            # The records once, with their ranks and the integer codes the blocking join
            # and the bound compare (_Recoder); a pair carries its records' ranks.
            recoder = _Recoder(_record_types(linker))
            weights = [recoder(_weight_bound_sql(c), qualified=False)
                       for c in settings.comparisons]
            rules = [recoder(br.blocking_rule_sql, qualified=True)
                     for br in settings._blocking_rules_to_generate_predictions]
            pipeline = CTEPipeline()
            enqueue_df_concat_with_tf(linker, pipeline)
            _enqueue_coded_records(linker, pipeline, recoder, rules)
            coded = db_api.sql_pipeline_to_splink_dataframe(pipeline)
            pipeline = CTEPipeline([coded])
            pipeline.enqueue_sql(
                _blocked_with_columns_sql(linker, rules, _read_columns(settings, weights, tf_cols)),
                "blocked_with_cols")
            # A kept pair keeps its comparisons' bounds for the second filter below. (They
            # are evaluated again on the kept pairs: computed once as columns of all pairs,
            # then summed, they took three times as long.)
            terms = [f"{_BOUND}{i}" for i in range(len(weights))]
            pipeline.enqueue_sql(
                "select match_key, rk_l, rk_r, "
                + ", ".join(f"({w}) as {t}" for w, t in zip(weights, terms, strict=True))
                + f" from blocked_with_cols where {' + '.join(f'({w})' for w in weights)} "
                f">= {needed - _MARGIN!r}", "__splink__blocked_id_pairs_bounded")
        else:
            computed = [*cases, *dict.fromkeys(tf_cols), "join_key_l", "join_key_r",
                        "match_key"]
            pipeline = vectors(
                blocked,
                [*settings._columns_to_select_for_blocking, "b.join_key_l", "b.join_key_r"],
                computed)
            pipeline.enqueue_sql(
                "select match_key, join_key_l, join_key_r from __splink__df_comparison_vectors "
                f"where {' + '.join(bounds)} >= {needed - _MARGIN!r}",
                "__splink__blocked_id_pairs_bounded",
            )
        bounded = db_api.sql_pipeline_to_splink_dataframe(pipeline)
        if fused:
            # Splink's predict on the kept pairs, joined back to the records by their
            # integer key rather than by Splink's string one (the same rows).
            pipeline = CTEPipeline([bounded, coded])
            columns = ", ".join([*settings._columns_to_select_for_blocking, "b.match_key",
                                 *(f"b.{t}" for t in terms)])
            pipeline.enqueue_sql(
                f"select {columns} from __splink__blocked_id_pairs_bounded as b "
                f"inner join __undercount_coded as l on l.{_RK} = b.rk_l "
                f"inner join __undercount_coded as r on r.{_RK} = b.rk_r",
                "blocked_with_cols")
            pipeline.enqueue_sql(_refined_sql(settings, terms, needed - _MARGIN),
                                 "__undercount_refined")
            pipeline.enqueue_sql(
                "select "
                + ", ".join(settings._columns_to_select_for_comparison_vector_values)
                + " from __undercount_refined", "__splink__df_comparison_vectors")
        else:
            pruned = db_api.table_to_splink_dataframe("__splink__blocked_id_pairs",
                                                      bounded.physical_name)
            # Splink's predict on the kept pairs (inference._predict_chunk, unchunked path).
            pipeline = vectors(pruned, settings._columns_to_select_for_blocking,
                               settings._columns_to_select_for_comparison_vector_values)
        pipeline.enqueue_list_of_sqls(
            predict_from_comparison_vectors_sqls_using_settings(settings, threshold, None))
        return db_api.sql_pipeline_to_splink_dataframe(pipeline)
    finally:
        for table in (bounded, coded):
            if table is not None:
                table.drop_table_from_database_and_remove_from_cache()
        if not cached:
            blocked.drop_table_from_database_and_remove_from_cache()


def _can_fuse(linker) -> bool:
    """Whether the bound can be taken inside the blocking join
    (:func:`_blocked_with_columns_sql`): DuckDB, a link type whose blocking Splink writes
    as a self-join of the concatenated records, plain blocking rules, and no blocked pairs
    cached already."""
    from splink.internals.blocking import BlockingRule
    from splink.internals.chunking import _blocked_pairs_cache_key

    settings = linker._settings_obj
    rules = settings._blocking_rules_to_generate_predictions
    return (linker._sql_dialect_str == "duckdb"
            and settings._link_type in ("link_and_dedupe", "dedupe_only")
            and bool(rules) and all(type(br) is BlockingRule for br in rules)
            and _blocked_pairs_cache_key() not in linker._intermediate_table_cache)


#: The integer that orders the records as Splink's composite unique id does, and the
#: prefix of the integer code of a key column (:func:`_enqueue_coded_records`).
_RK = "__undercount_rk"
_CODE = "__undercount_c"
_BOUND = "__undercount_bound"
#: Column types whose equality (``=``) is exactly what DISTINCT and ORDER BY take as
#: ties, so that equal codes mean equal values. Floating point is left out (NaN, -0.0).
_EXACT_TYPES = re.compile(r"(VARCHAR|BOOLEAN|U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|DATE)")


def _record_types(linker) -> dict[str, str]:
    """The columns of ``__splink__df_concat_with_tf`` and their DuckDB types."""
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

    pipeline = CTEPipeline()
    enqueue_df_concat_with_tf(linker, pipeline)
    pipeline.enqueue_sql("select * from __splink__df_concat_with_tf", "__undercount_types")
    # Bound, not run: a relation's columns and types are known before any row is read.
    rel = linker._db_api.duckdb_con.sql(pipeline.generate_cte_pipeline_sql())
    return {c: str(t) for c, t in zip(rel.columns, rel.types, strict=True)}


class _Recoder:
    """Rewrites SQL conditions so that they read integer codes where they only compare a
    column with itself across the pair (``x_l = x_r``, ``x_l <> x_r``, ``l.x = r.x``) or
    test it for NULL (``x_l IS NULL``, ``coalesce(x_l, y_l) IS NULL``).

    A column's code (:func:`_enqueue_coded_records`) is the rank of its value among the
    distinct values, NULL for NULL: each of these tests gives the same TRUE, FALSE or
    NULL on the codes as on the values, so a rewritten condition holds for exactly the
    same pairs. Comparing integers is cheaper than comparing strings, and a pair carries
    through the join only the columns that are still read as values."""

    def __init__(self, types: dict[str, str]):
        self.codable = {c for c, t in types.items() if _EXACT_TYPES.fullmatch(t)}
        self.index = {c: i for i, c in enumerate(types)}
        self.used: set[str] = set()

    def _side(self, node, qualified: bool) -> tuple[str, str] | None:
        from sqlglot import exp

        if not isinstance(node, exp.Column):
            return None
        if qualified:
            base, side = node.name, node.table
        else:
            base, side = node.name[:-2], node.name[-2:].lstrip("_")
            if not node.name.endswith(("_l", "_r")):
                return None
        return (base, side) if side in ("l", "r") and base in self.codable else None

    def _code(self, base: str, side: str, qualified: bool):
        from sqlglot import exp

        self.used.add(base)
        name = f"{_CODE}{self.index[base]}"
        return exp.column(name, table=side) if qualified else exp.column(f"{name}_{side}")

    def __call__(self, sql: str, *, qualified: bool) -> str:
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(sql, dialect="duckdb")
        for node in list(tree.find_all(exp.EQ, exp.NEQ)):
            a, b = node.this.unnest(), node.expression.unnest()
            sa, sb = self._side(a, qualified), self._side(b, qualified)
            if sa and sb and sa[0] == sb[0] and {sa[1], sb[1]} == {"l", "r"}:
                a.replace(self._code(*sa, qualified))
                b.replace(self._code(*sb, qualified))
        for node in list(tree.find_all(exp.Is)):
            if not isinstance(node.expression, exp.Null):
                continue
            a = node.this.unnest()
            args = ([a.this, *a.expressions] if isinstance(a, exp.Coalesce) else [a])
            sides = [self._side(x.unnest(), qualified) for x in args]
            if all(sides) and len({side for _, side in sides}) == 1:
                for x, side in zip(args, sides, strict=True):
                    x.unnest().replace(self._code(*side, qualified))
        return tree.sql(dialect="duckdb")


def _enqueue_coded_records(linker, pipeline, recoder: _Recoder, rules: list[str]) -> None:
    """``__undercount_coded``: the records with ``__undercount_rk`` (the rank of Splink's
    composite unique id, ``source_dataset || '-__-' || uid``, so that ``l`` precedes
    ``r`` in Splink's order exactly when its rank is lower) and the code of each column
    the recoder used (its dense rank among the column's distinct values).

    Measured at a million simulated records: ranks and codes computed on the narrow
    columns and joined back cost 3.6 CPU seconds; ranked as window functions over the
    whole records (each window sorting every column) they cost 20. Only the columns that
    Splink's comparisons and the rewritten blocking ``rules`` read are kept, and ranks and
    codes are 32-bit (a cast that fails loudly past 2**31 records): the table is a copy of
    the records, held through both scoring passes."""
    from splink.internals.blocking import combine_unique_id_input_columns
    from splink.internals.unique_id_concat import _composite_unique_id_from_nodes_sql

    info = linker._settings_obj.column_info_settings
    uid_cols = combine_unique_id_input_columns(
        info.source_dataset_input_column, info.unique_id_input_column)
    names = [c.name for c in uid_cols]
    pipeline.enqueue_sql(
        f"select {', '.join(names)}, dense_rank() over "
        f"(order by {_composite_unique_id_from_nodes_sql(uid_cols)}) as {_RK} "
        "from __splink__df_concat_with_tf", "__undercount_ranks")
    joins = ["inner join __undercount_ranks as k on "
             + " and ".join(f"w.{c} = k.{c}" for c in names)]
    codes = [f"cast(k.{_RK} as integer) as {_RK}"]
    for base in sorted(recoder.used, key=recoder.index.get):
        i = recoder.index[base]
        col = f'"{base}"'
        pipeline.enqueue_sql(
            f"select {col}, dense_rank() over (order by {col}) as {_CODE}{i} from "
            f"(select distinct {col} from __splink__df_concat_with_tf "
            f"where {col} is not null)", f"__undercount_dict{i}")
        joins.append(f"left join __undercount_dict{i} as d{i} on w.{col} = d{i}.{col}")
        codes.append(f"cast(d{i}.{_CODE}{i} as integer) as {_CODE}{i}")
    kept = _record_columns(linker._settings_obj._columns_to_select_for_blocking, rules)
    pipeline.enqueue_sql(
        f"select {', '.join(kept or ['w.*'])}, {', '.join(codes)} "
        "from __splink__df_concat_with_tf as w " + " ".join(joins), "__undercount_coded")


def _record_columns(*sqls: list[str]) -> list[str]:
    """``w."x"`` for each column of ``l`` that the SQL fragments read (codes excepted), or
    an empty list where a fragment cannot be parsed."""
    import sqlglot
    from sqlglot import exp

    names: dict[str, None] = {}
    for fragment in (f for group in sqls for f in group):
        try:
            tree = sqlglot.parse_one(fragment, dialect="duckdb")
        except sqlglot.errors.ParseError:
            return []
        names.update((c.name, None) for c in tree.find_all(exp.Column)
                     if c.table in ("l", "r") and not c.name.startswith((_CODE, _RK)))
    return [f'w."{name}"' for name in names]


def _read_columns(settings, cases, tf_cols: list[str]) -> list[str]:
    """The select list (``l."x" AS "x_l"``, ``l.<code> AS <code>_l`` ...) of the columns
    that the bound's CASE expressions and term-frequency terms read."""
    import sqlglot
    from sqlglot import exp

    names = dict.fromkeys(c.strip('"') for c in tf_cols)
    for case in cases:
        for col in sqlglot.parse_one(case, dialect="duckdb").find_all(exp.Column):
            names[col.name] = None
    codes = [f"{n[-1]}.{n[:-2]} AS {n}" for n in names if n.startswith(_CODE)]
    if any(n[-2:] not in ("_l", "_r") for n in names):
        # Not a column of one record as Splink names them: all of Splink's columns.
        return [*settings._columns_to_select_for_blocking, *codes]
    return [*codes, *(f'{n[-1]}."{n[:-2]}" AS "{n}"' for n in names
                      if not n.startswith(_CODE))]


def _blocked_with_columns_sql(linker, rules: list[str], columns: list[str]) -> str:
    """Splink's blocked pairs (each rule's self-join less the pairs of the rules before it,
    as ``BlockingRule.create_blocked_pairs_sql`` writes it) with the columns the bound
    reads, in one statement that the bound filters as it goes.

    Splink materialises the blocked pairs as ids first and joins them back to the records
    for the comparison vectors: at a million simulated records 3.7e7 pairs, three strings
    each, which spilled beyond DuckDB's 3 GB. Here they are never stored: the same bounded
    pairs (the edges identical) in 57 instead of 65 CPU seconds, with a peak of 2.96
    instead of 3.48 GB (at 200,000 records, where nothing spills, about the same time).
    ``rules`` are the blocking rules' conditions as :class:`_Recoder` wrote them (integer
    codes for keys compared by equality), and Splink's ``l < r`` on the composite unique
    id, built as two strings per pair, is the same comparison of the records' ranks."""
    settings = linker._settings_obj
    select = ", ".join(columns)
    parts = []
    for i, br in enumerate(settings._blocking_rules_to_generate_predictions):
        earlier = " OR ".join(f"coalesce(({rule}),false)" for rule in rules[:i])
        parts.append(
            f"select {select}, '{br.match_key}' as match_key, l.{_RK} as rk_l, "
            f"r.{_RK} as rk_r from __undercount_coded as l "
            f"inner join __undercount_coded as r on ({rules[i]}) where l.{_RK} < r.{_RK}"
            + (f" AND NOT ({earlier})" if earlier else ""))
    return " UNION ALL ".join(parts)
