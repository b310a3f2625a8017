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
stored.
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
    bounded = None
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

        computed = [*cases, *dict.fromkeys(tf_cols), "join_key_l", "join_key_r", "match_key"]
        if fused:
            pipeline = CTEPipeline()
            enqueue_df_concat_with_tf(linker, pipeline)
            pipeline.enqueue_sql(_blocked_with_columns_sql(linker), "blocked_with_cols")
            pipeline.enqueue_sql(f"select {', '.join(computed)} from blocked_with_cols",
                                 "__splink__df_comparison_vectors")
        else:
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
        pruned = db_api.table_to_splink_dataframe("__splink__blocked_id_pairs",
                                                  bounded.physical_name)
        # Splink's predict on the kept pairs (inference._predict_chunk, unchunked path).
        pipeline = vectors(pruned, settings._columns_to_select_for_blocking,
                           settings._columns_to_select_for_comparison_vector_values)
        pipeline.enqueue_list_of_sqls(
            predict_from_comparison_vectors_sqls_using_settings(settings, threshold, None))
        return db_api.sql_pipeline_to_splink_dataframe(pipeline)
    finally:
        if bounded is not None:
            bounded.drop_table_from_database_and_remove_from_cache()
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


def _blocked_with_columns_sql(linker) -> str:
    """Splink's blocked pairs (each rule's self-join less the pairs of the rules before it,
    as ``BlockingRule.create_blocked_pairs_sql`` writes it) with the columns the
    comparisons read, in one statement that the bound filters as it goes.

    Splink materialises the blocked pairs as ids first and joins them back to the records
    for the comparison vectors: at a million simulated records 3.7e7 pairs, three strings
    each, which spilled beyond DuckDB's 3 GB. Here they are never stored: the same bounded
    pairs (the edges identical) in 57 instead of 65 CPU seconds, with a peak of 2.96
    instead of 3.48 GB (at 200,000 records, where nothing spills, about the same time)."""
    from splink.internals.blocking import (
        _sql_gen_where_condition,
        combine_unique_id_input_columns,
    )
    from splink.internals.unique_id_concat import _composite_unique_id_from_nodes_sql

    settings = linker._settings_obj
    info = settings.column_info_settings
    uid_cols = combine_unique_id_input_columns(
        info.source_dataset_input_column, info.unique_id_input_column)
    where = _sql_gen_where_condition(settings._link_type, uid_cols)
    uid_l = _composite_unique_id_from_nodes_sql(uid_cols, "l")
    uid_r = _composite_unique_id_from_nodes_sql(uid_cols, "r")
    columns = ", ".join(settings._columns_to_select_for_blocking)
    parts = []
    for br in settings._blocking_rules_to_generate_predictions:
        exclude = br.exclude_pairs_generated_by_all_preceding_rules_sql(
            info.source_dataset_input_column, info.unique_id_input_column)
        parts.append(
            f"select {columns}, '{br.match_key}' as match_key, {uid_l} as join_key_l, "
            f"{uid_r} as join_key_r from __splink__df_concat_with_tf as l "
            f"inner join __splink__df_concat_with_tf as r on ({br.blocking_rule_sql}) "
            f"{where} {exclude}")
    return " UNION ALL ".join(parts)
