"""Score the blocked record pairs with the trained model."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["predict_edges"]


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
