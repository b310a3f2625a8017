"""Score the blocked record pairs with the trained model."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["predict_edges"]


def predict_edges(linker, threshold: float) -> pd.DataFrame:
    """Pairs with match probability at or above ``threshold``.

    Returns
    -------
    DataFrame
        ``uid_l``, ``uid_r`` (int64, ``uid_l < uid_r``), ``match_probability``,
        ``match_weight`` (float64), sorted by ``(uid_l, uid_r)`` so runs compare equal.
    """
    sdf = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
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
    # Several blocking rules never emit the same pair twice in Splink, but be safe.
    out = out.drop_duplicates(["uid_l", "uid_r"])
    return out.sort_values(["uid_l", "uid_r"], ignore_index=True)
