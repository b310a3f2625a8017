"""Clustering scored pairs into people, with cannot-link constraints.

Algorithm (greedy constrained single linkage): sort the edges with match probability at or
above the threshold by decreasing probability (ties by ``(uid_l, uid_r)``), and process them
with a union–find. Each cluster keeps its one *valid* national ID and its one recorded sex (if
any). An edge whose two clusters hold different valid IDs, or different sexes, is **refused**;
otherwise the clusters are merged. So no cluster ever contains two different valid national
IDs or two different sexes (except, with the record constraints of
:mod:`undercount.link.relatives`, where an edge's two records have one full name and
compatible ages: a sex slip), and the strongest evidence decides which merge wins when two
are incompatible. Without constraints this is exactly connected components at the threshold.

Clerical-review labels enter as two more kinds of constraint: a pair labelled a match is a
**must-link** (an edge of probability 1, processed before every scored edge, so it merges its
two clusters unless a national ID or sex constraint refuses it), and a pair labelled a
non-match is a **cannot-link between two records**: no merge may put the two records in one
cluster (checked at every merge, against every labelled non-match; O(merges × non-matches),
small for a review of a few hundred pairs).

Suspicious clusters are reported, not changed:

- ``large``: more records than ``large_size`` (default ``max(10, 3 × number of lists)``);
- ``weak_link``: the cluster falls apart when its edges below ``weak_probability`` are
  removed, i.e. it is held together by weak edges only;
- ``refused``: a cannot-link refusal touched the cluster (evidence of a conflict);
- ``conflicting_covariates``: its records disagree on a covariate (added by
  :mod:`undercount.tables.build`);
- ``relative_split`` / ``same_list_split``: a merge into (or out of) the cluster was refused
  because it would have joined two relatives (different given names, father, grandfather
  and family agreeing) or two records of one list without duplicate evidence
  (:mod:`undercount.link.relatives`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

# _root: union-find with path compression, shared with the relative-aware clustering.
from undercount.link.relatives import _factor, _root, relative_clusters

__all__ = ["ClusterResult", "constrained_clusters", "suspicious_clusters"]


@numba.njit(cache=True)
def _forbidden(parent, a, b, cl_a, cl_b):
    for k in range(cl_a.shape[0]):
        ra = _root(parent, cl_a[k])
        rb = _root(parent, cl_b[k])
        if (ra == a and rb == b) or (ra == b and rb == a):
            return True
    return False


@numba.njit(cache=True)
def _greedy(n, left, right, id_code, sex_code, cl_a, cl_b):
    parent = np.arange(n)
    size = np.ones(n, dtype=np.int64)
    cid = id_code.copy()
    csex = sex_code.copy()
    status = np.zeros(left.shape[0], dtype=np.int8)  # 0 redundant, 1 merged, 2 refused
    for e in range(left.shape[0]):
        a = _root(parent, left[e])
        b = _root(parent, right[e])
        if a == b:
            continue
        if cid[a] >= 0 and cid[b] >= 0 and cid[a] != cid[b]:
            status[e] = 2
            continue
        if csex[a] >= 0 and csex[b] >= 0 and csex[a] != csex[b]:
            status[e] = 2
            continue
        if cl_a.shape[0] and _forbidden(parent, a, b, cl_a, cl_b):
            status[e] = 2
            continue
        if size[a] < size[b]:
            a, b = b, a
        parent[b] = a
        size[a] += size[b]
        if cid[a] < 0:
            cid[a] = cid[b]
        if csex[a] < 0:
            csex[a] = csex[b]
        status[e] = 1
    roots = np.empty(n, dtype=np.int64)
    for i in range(n):
        roots[i] = _root(parent, i)
    return roots, status


@numba.njit(cache=True)
def _components(n, left, right):
    parent = np.arange(n)
    for e in range(left.shape[0]):
        a = _root(parent, left[e])
        b = _root(parent, right[e])
        if a != b:
            if a < b:
                parent[b] = a
            else:
                parent[a] = b
    roots = np.empty(n, dtype=np.int64)
    for i in range(n):
        roots[i] = _root(parent, i)
    return roots


def _codes(values, touched: np.ndarray, n: int, *, many: bool = False) -> np.ndarray:
    """Integer codes of the non-missing values, -1 for missing, of the records ``touched``
    (those on an edge; the others are never compared, and -1 stands in for theirs): of the
    simulated million, 360,000 records are on no edge, and hashing all the national IDs
    took 0.25 s."""
    codes = np.full(n, -1, dtype=np.int64)
    codes[touched] = _factor(np.asarray(values, dtype=object)[touched], many=many)
    return codes


@dataclass(frozen=True)
class ClusterResult:
    """Cluster labels and per-edge outcomes.

    Attributes
    ----------
    cluster : ndarray of int64, shape (n,)
        Cluster id of each uid: clusters are numbered 0, 1, ... in order of their smallest
        uid (list order, then row order).
    edges : DataFrame
        The input edges with ``status`` (``"merged"``, ``"redundant"`` within a cluster,
        ``"refused"`` by a cannot-link, ``"between"``: an edge between clusters that was not
        refused itself) and ``within`` (both ends in the same final cluster).
    n_refused : int
    """

    cluster: np.ndarray
    edges: pd.DataFrame
    n_refused: int


def constrained_clusters(
    n: int,
    edges: pd.DataFrame,
    *,
    national_id: np.ndarray | pd.Series | None = None,
    sex: np.ndarray | pd.Series | None = None,
    records: pd.DataFrame | None = None,
    relatives: bool = False,
    same_list: bool = False,
    must_link: np.ndarray | pd.DataFrame | None = None,
    cannot_link: np.ndarray | pd.DataFrame | None = None,
) -> ClusterResult:
    """Greedy constrained clustering of ``n`` records.

    Parameters
    ----------
    n : int
        Number of records; uids are ``0 .. n-1``.
    edges : DataFrame
        ``uid_l``, ``uid_r``, ``match_probability`` (already thresholded).
    national_id : array of length n, optional
        The *valid* national ID of each record, None where missing or failing its check.
    sex : array of length n, optional
        Recorded sex, None where missing.
    records : DataFrame, optional
        The standardised records (row ``i`` is uid ``i``), for the pairwise constraints
        ``relatives`` and ``same_list`` of :mod:`undercount.link.relatives` (issue 19);
        refused edges then say which constraint refused them in ``refused_by``.
    must_link, cannot_link : (k, 2) array of uids or DataFrame with uid_l, uid_r, optional
        Pairs labelled a match / a non-match by a clerical reviewer (see the module
        docstring). A must-link pair is added to the edges with probability 1 (or has its
        probability raised to 1) and reported with its status like any edge; a scored edge
        between two records of a cannot-link pair is dropped from the edges (it is not
        in ``result.edges``), and no merge may join the two records' clusters.
    """
    must = _uid_pairs(must_link)
    cannot = _uid_pairs(cannot_link)
    if len(must) or len(cannot):
        edges = _with_labels(edges, must, cannot)
    left = edges["uid_l"].to_numpy(dtype=np.int64)
    right = edges["uid_r"].to_numpy(dtype=np.int64)
    prob = edges["match_probability"].to_numpy(dtype=np.float64)
    if len(left) and (left.min() < 0 or max(left.max(), right.max()) >= n):
        raise ValueError("edge uid out of range")
    order = np.lexsort((right, left, -prob))
    on_edge = np.zeros(n, dtype=bool)
    on_edge[left] = True
    on_edge[right] = True
    touched = np.flatnonzero(on_edge)
    id_code = (_codes(national_id, touched, n, many=True) if national_id is not None
               else np.full(n, -1, np.int64))
    sex_code = _codes(sex, touched, n) if sex is not None else np.full(n, -1, np.int64)
    if len(cannot) and (cannot.min() < 0 or cannot.max() >= n):
        raise ValueError("cannot-link uid out of range")
    refused_by = None
    if records is not None and (relatives or same_list):  # issue 19
        roots, status_sorted, by_sorted = relative_clusters(
            n, left[order], right[order], id_code, sex_code, records, national_id,
            relatives=relatives, same_list=same_list, cannot=cannot,
        )
        refused_by = np.empty_like(by_sorted)
        refused_by[order] = by_sorted
    else:
        roots, status_sorted = _greedy(n, left[order], right[order], id_code, sex_code,
                                       np.ascontiguousarray(cannot[:, 0]),
                                       np.ascontiguousarray(cannot[:, 1]))
    status = np.empty_like(status_sorted)
    status[order] = status_sorted
    # Number clusters by their smallest uid.
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, roots, np.arange(n))
    rank = np.empty(n, dtype=np.int64)
    reps = np.flatnonzero(first[np.arange(n)] < n)
    # reps are roots; order them by their smallest member.
    reps = reps[np.argsort(first[reps], kind="stable")]
    rank[reps] = np.arange(len(reps))
    cluster = rank[roots]
    within = cluster[left] == cluster[right]
    labels = np.array(["redundant", "merged", "refused"], dtype=object)[status]
    labels = np.where((labels == "redundant") & ~within, "between", labels)
    out = edges.copy()
    out["status"] = labels
    out["within"] = within
    if refused_by is not None:
        out["refused_by"] = refused_by
    return ClusterResult(cluster=cluster, edges=out, n_refused=int((status == 2).sum()))


def _uid_pairs(pairs: np.ndarray | pd.DataFrame | None) -> np.ndarray:
    if pairs is None:
        return np.zeros((0, 2), dtype=np.int64)
    if isinstance(pairs, pd.DataFrame):
        pairs = pairs[["uid_l", "uid_r"]].to_numpy()
    arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return np.sort(arr, axis=1)


def _with_labels(edges: pd.DataFrame, must: np.ndarray, cannot: np.ndarray) -> pd.DataFrame:
    """The edges with must-link pairs at probability 1 and cannot-link pairs removed."""
    out = edges.copy()
    key = out["uid_l"].astype(np.int64).to_numpy() * (1 << 32) + out["uid_r"].astype(
        np.int64).to_numpy()
    if len(cannot):
        out = out[~np.isin(key, cannot[:, 0] * (1 << 32) + cannot[:, 1])]
        key = out["uid_l"].astype(np.int64).to_numpy() * (1 << 32) + out["uid_r"].astype(
            np.int64).to_numpy()
    if len(must):
        mkey = must[:, 0] * (1 << 32) + must[:, 1]
        present = np.isin(key, mkey)
        out.loc[present, "match_probability"] = 1.0
        extra = must[~np.isin(mkey, key)]
        if len(extra):
            add = pd.DataFrame({"uid_l": extra[:, 0], "uid_r": extra[:, 1],
                                "match_probability": 1.0})
            out = pd.concat([out, add], ignore_index=True)
    return out.reset_index(drop=True)


def suspicious_clusters(
    result: ClusterResult,
    *,
    large_size: int,
    weak_probability: float = 0.99,
) -> pd.DataFrame:
    """Clusters to review: ``cluster_id``, ``size``, ``reasons`` (comma-separated), evidence.

    See the module docstring for the reasons.
    """
    n = len(result.cluster)
    cluster = np.asarray(result.cluster)
    sizes = np.bincount(cluster)
    e = result.edges
    within = e["within"].to_numpy()
    left = e["uid_l"].to_numpy(dtype=np.int64)[within]
    right = e["uid_r"].to_numpy(dtype=np.int64)[within]
    prob = e["match_probability"].to_numpy()[within]
    strong = prob >= weak_probability
    comp = _components(n, left[strong], right[strong])
    # A cluster held together by weak edges has more than one strong component. Every
    # component lies in one cluster (its edges are within clusters) and has one root.
    if (sizes > 0).all():
        n_comp = np.bincount(cluster[comp == np.arange(n)], minlength=len(sizes))
    else:  # cluster ids with gaps: one entry per cluster present, as pandas gives
        n_comp = pd.Series(comp).groupby(cluster).nunique().to_numpy()
    # The weakest edge within each cluster (NaN without one), as a pandas groupby min
    # gave. With the counts above, 1.8 -> 0.1 CPU s for a million records.
    min_edge = np.full(len(sizes), np.nan)
    np.fmin.at(min_edge, cluster[left], prob)
    is_refused = e["status"].to_numpy() == "refused"
    touched = np.zeros(len(sizes), dtype=bool)
    touched[cluster[e["uid_l"].to_numpy(dtype=np.int64)[is_refused]]] = True
    touched[cluster[e["uid_r"].to_numpy(dtype=np.int64)[is_refused]]] = True
    flags = [(sizes > large_size, "large"), (_padded(n_comp > 1, len(sizes)), "weak_link"),
             (touched, "refused")]
    if "refused_by" in e:  # issue 19: splits by the relative / same-list constraints
        by = e["refused_by"].to_numpy()
        for why, label in (("relatives", "relative_split"), ("same_list", "same_list_split")):
            hit = is_refused & (by == why)
            split = np.zeros(len(sizes), dtype=bool)
            for side in ("uid_l", "uid_r"):
                split[cluster[e[side].to_numpy(dtype=np.int64)[hit]]] = True
            flags.append((split, label))
    flagged = np.flatnonzero(np.logical_or.reduce([mask for mask, _ in flags]))
    marks = [mask[flagged] for mask, _ in flags]
    reasons = [",".join(label for (_, label), m in zip(flags, ms, strict=True) if m)
               for ms in zip(*marks, strict=True)] if len(flagged) else []
    return pd.DataFrame(
        {
            "cluster_id": flagged.astype(np.int64),
            "size": sizes[flagged].astype(np.int64),
            "weakest_edge": min_edge[flagged],
            "strong_components": n_comp[flagged].astype(np.int64),
            "reasons": reasons,
        }
    )


def _padded(mask: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[: len(mask)] = mask[:n]
    return out
