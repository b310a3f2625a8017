"""Score the blocked record pairs with the trained model."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["predict_edges", "score_candidates"]


def predict_edges(
    linker, threshold: float | None, *, comparison_levels: bool = False
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
