"""Linked records → one capture history per person (cluster), with covariates.

Each cluster becomes one row: ``cluster_id``, one 0/1 column per list (1 when any of the
cluster's records is on that list), ``n_records``, the covariates, and ``conflicts``.

**Covariate rule.** A cluster's value of a covariate is the most frequent non-missing value
among its records. Ties go to the value of the record from the earliest list in the project
file (then the earliest row). When the records hold two or more different non-missing values
the covariate's name is added to ``conflicts`` (comma-separated; empty when none), so the
choice can be reviewed. A cluster with no non-missing value gets a missing value.

The frame is ready for :meth:`undercount.core.table.CaptureTable.from_individuals`::

    CaptureTable.from_individuals(frame, lists=lists, covariates=strata)

and :func:`sidecar` describes it for ``capture_table.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
import pandas as pd

from undercount.errors import InputError

__all__ = ["capture_histories", "sidecar"]


def _dense(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)``: cluster ids that are already ``0 .. k-1``
    as they are, others by hashing (only the distinct values are sorted)."""
    if values.dtype.kind in "iu" and len(values) and 0 <= values.min() <= values.max() < len(
            values):
        counts = np.bincount(values)
        if counts.all():
            return np.arange(len(counts), dtype=values.dtype), values
    codes, uniques = pd.factorize(values, sort=True)
    return np.asarray(uniques), codes


def _value_key(values: pd.Series) -> np.ndarray:
    """Codes of ``values``, -1 where missing, such that two values share a code exactly
    when their ``str`` is the same (the rule compares values as strings, so 1 and 1.0 and
    "1" in different lists agree). Hashing the values, not their strings, where that is the
    same: turning a million ages into strings took most of this stage's time."""
    dtype = values.dtype
    if dtype.kind == "f":
        # Distinct floats print differently (0.0 and -0.0 too, which compare equal): the
        # bit pattern is the string's identity.
        v = values.to_numpy(dtype=np.float64, na_value=np.nan)
        key = pd.factorize(v.view(np.int64))[0]
        key[np.isnan(v)] = -1
        return key
    if (pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
            or isinstance(dtype, pd.StringDtype)
            or (dtype.kind == "O" and pd.api.types.infer_dtype(values, skipna=True) == "string")):
        return pd.factorize(values, use_na_sentinel=True)[0]
    present = values.notna().to_numpy()
    key = np.full(len(values), -1, dtype=np.int64)
    key[present] = pd.factorize(values[present].astype(str).to_numpy())[0]
    return key


def _row_order(rows: pd.Series) -> np.ndarray:
    """Row numbers as floats, NaN where missing (:func:`_choose` compares them)."""
    if pd.api.types.is_numeric_dtype(rows.dtype) and not pd.api.types.is_bool_dtype(rows.dtype):
        return rows.to_numpy(dtype=np.float64, na_value=np.nan)
    codes, _ = pd.factorize(rows, sort=True)  # anything sortable: its rank
    out = codes.astype(np.float64)
    out[codes < 0] = np.nan
    return out


@numba.njit(cache=True, nogil=True)
def _before(a, b):
    """``a < b`` with NaN after every number (as pandas sorts)."""
    return not np.isnan(a) and (np.isnan(b) or a < b)


@numba.njit(cache=True, nogil=True)
def _choose(ptr, key, n_keys, rank, row):
    """Per cluster (its records ``ptr[c]:ptr[c + 1]`` of the arrays, in record order): the
    record (that index) whose value the rule picks (-1: no value) and whether two values
    were found.

    A cluster's values are told apart through ``slot`` (key -> the cluster's value number),
    reset after each cluster: one pass over the records, whatever the cluster sizes."""
    n_clusters = ptr.shape[0] - 1
    best = np.full(n_clusters, -1, dtype=np.int64)
    conflict = np.zeros(n_clusters, dtype=np.bool_)
    slot = np.full(n_keys, -1, dtype=np.int64)
    biggest = 0
    for c in range(n_clusters):
        biggest = max(biggest, ptr[c + 1] - ptr[c])
    g_key = np.empty(biggest, dtype=np.int64)
    g_n = np.empty(biggest, dtype=np.int64)
    g_first = np.empty(biggest, dtype=np.int64)  # earliest (list, row) record of the value
    g_row = np.empty(biggest, dtype=np.float64)  # earliest row of the value, any list
    for c in range(n_clusters):
        n_values = 0
        for r in range(ptr[c], ptr[c + 1]):
            k = key[r]
            if k < 0:
                continue
            g = slot[k]
            if g < 0:
                g = n_values
                n_values += 1
                slot[k] = g
                g_key[g], g_n[g], g_first[g], g_row[g] = k, 1, r, row[r]
                continue
            g_n[g] += 1
            f = g_first[g]
            if rank[r] < rank[f] or (rank[r] == rank[f] and _before(row[r], row[f])):
                g_first[g] = r
            if _before(row[r], g_row[g]):
                g_row[g] = row[r]
        if n_values == 0:
            continue
        # Most records, then earliest list, then earliest row, then first seen.
        b = 0
        for g in range(1, n_values):
            if g_n[g] != g_n[b]:
                if g_n[g] > g_n[b]:
                    b = g
                continue
            rg, rb = rank[g_first[g]], rank[g_first[b]]
            if rg != rb:
                if rg < rb:
                    b = g
                continue
            if _before(g_row[g], g_row[b]):
                b = g
        best[c] = g_first[b]
        conflict[c] = n_values > 1
        for g in range(n_values):
            slot[g_key[g]] = -1
    return best, conflict


def _resolve(
    values: pd.Series, ptr: np.ndarray, members: np.ndarray, list_rank: np.ndarray,
    row: np.ndarray,
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Per-cluster value of one covariate by the rule above: the chosen values, the
    clusters (their numbers ``0 .. k-1``) that have one, and whether each cluster's records
    conflict. Cluster ``c``'s records are ``members[ptr[c]:ptr[c + 1]]``, in record order;
    ``list_rank`` and ``row`` are already in that order.

    Compiled (numba), one pass over the records: the pandas groupby, sort and merge this
    replaced (same choices, ties included) took 1.1 s per covariate for a million
    records."""
    key = _value_key(values)
    if not (key >= 0).any():
        return (pd.Series(dtype=object), np.array([], dtype=np.int64),
                np.zeros(len(ptr) - 1, dtype=bool))
    best, conflict = _choose(ptr, key[members], int(key.max()) + 1, list_rank, row)
    where = np.flatnonzero(best >= 0)
    return values.iloc[members[best[where]]], where, conflict


def capture_histories(
    records: pd.DataFrame,
    *,
    lists: Sequence[str],
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Individual-level capture histories from linked records.

    Parameters
    ----------
    records : DataFrame
        One row per record with ``cluster_id``, ``list``, ``row`` and the covariate columns.
    lists : sequence of str
        List names in project order (column order, and tie-break order).
    covariates : sequence of str
        Record columns to carry to the person level.

    Returns
    -------
    DataFrame
        ``cluster_id``, one int64 0/1 column per list, ``n_records``, the covariates,
        ``conflicts``; one row per cluster, sorted by ``cluster_id``.
    """
    lists = list(lists)
    list_codes, list_names = pd.factorize(records["list"].to_numpy(), use_na_sentinel=False)
    unknown = sorted(set(list_names) - set(lists))
    if unknown:
        raise InputError(f"<records>: record(s) from unknown list(s) {unknown}; lists are {lists}")
    missing = [c for c in covariates if c not in records.columns]
    if missing:
        raise InputError(f"<records>: covariate column(s) {missing} not found")
    clash = [c for c in covariates if c in lists or c in ("cluster_id", "n_records", "conflicts")]
    if clash:
        raise InputError(f"<records>: covariate name(s) {clash} clash with list or output columns")
    rank = {name: i for i, name in enumerate(lists)}
    list_rank = np.array([rank[name] for name in list_names], dtype=np.int64)[list_codes]
    # 0/1 per cluster and list (pd.crosstab's counts > 0; crosstab aggregated in Python,
    # one call per cluster: 3.7 of the 5.3 s of this stage at 200,000 records).
    index, inverse = _dense(records["cluster_id"].to_numpy())
    n = len(index)
    seen = np.zeros((n, len(lists)), dtype=np.int64)
    seen[inverse, list_rank] = 1
    out = pd.DataFrame(seen, index=pd.Index(index, name="cluster_id"), columns=lists)
    out.insert(0, "n_records", np.bincount(inverse, minlength=n).astype(np.int64))
    row = _row_order(records["row"])
    members = np.argsort(inverse, kind="stable")  # each cluster's records in record order
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(inverse, minlength=n), out=ptr[1:])
    conflicts = np.full(n, "", dtype=object)
    rank_m, row_m = list_rank[members], row[members]  # contiguous per cluster
    for col in covariates:
        best, where, conflict = _resolve(records[col], ptr, members, rank_m, row_m)
        # Reindexed as before (the same dtype, and missing values, for clusters without).
        out[col] = best.set_axis(index[where]).reindex(out.index)
        hit = np.flatnonzero(conflict)
        conflicts[hit] = [f"{c},{col}" if c else col for c in conflicts[hit]]
    out["conflicts"] = conflicts
    out = out.reset_index()
    cols = ["cluster_id", *lists, "n_records", *covariates, "conflicts"]
    # Rows already in cluster order (the clusters' codes are sorted).
    return out[cols]


def sidecar(
    *, lists: Sequence[str], strata: Sequence[str], covariates: Sequence[str], source: str
) -> dict[str, Any]:
    """Contents of ``capture_table.json``: how to read ``capture_histories.parquet``."""
    return {
        "format": "undercount.capture_histories/1",
        "file": "capture_histories.parquet",
        "individual": True,
        "lists": list(lists),
        "strata": list(strata),
        "covariates": list(covariates),
        "id_column": "cluster_id",
        "count_column": None,
        "source": source,
        "covariate_rule": (
            "most frequent non-missing value among the cluster's records; ties go to the "
            "record from the earliest list in the project file, then the earliest row; "
            "disagreements are named in the 'conflicts' column"
        ),
    }
