r"""Plausible partitions: sample linkages from scored pairs, and their capture tables.

Given candidate pairs with calibrated match probabilities :math:`p_e`, a plausible
partition is drawn in two steps:

1. sample every scored edge independently as a match, :math:`Z_e \sim \mathrm{Bernoulli}(p_e)`;
2. cluster the sampled edges with the same greedy constrained single linkage as the fixed
   linkage (:func:`undercount.link.cluster.constrained_clusters`: strongest edges first, a
   merge refused when it would put two different valid national IDs or two recorded sexes
   in one cluster).

This is **not** a draw from a joint posterior over partitions. The edges are sampled as if
independent, and the transitive closure then merges clusters through chains of sampled
edges, so a partition can contain merges that no single probability supports (chaining),
while the cannot-link constraints cut some of them. Sadinle's Bayesian model instead samples
a coherent (bipartite) linkage structure jointly with the model parameters. The
approximation is faithful when the clusters are small and the probabilities are well
calibrated; it is rough when many mid-probability edges chain records together. Pairs
never scored (outside blocking) and pairs below the score floor are treated as certain
non-matches. :class:`undercount.uncertainty.linkage.LinkageAveraging` fits an estimator on
the capture table of each partition (:func:`table_from_clusters`).

References
----------
Sadinle, M. (2018). Bayesian propagation of record linkage uncertainty into population size
estimation of human rights violations. Annals of Applied Statistics 12:1013-1038.
doi:10.1214/17-AOAS1104
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from undercount.core.table import CaptureTable, patterns_from_codes
from undercount.errors import InputError
from undercount.link.cluster import constrained_clusters

__all__ = ["sample_partitions", "table_from_clusters"]


def table_from_clusters(
    cluster: np.ndarray,
    list_index: np.ndarray,
    lists: Sequence[str],
    *,
    source: str = "<linkage>",
) -> CaptureTable:
    """The capture table of a partition: one person per cluster, on every list it has a
    record from.

    Parameters
    ----------
    cluster : array of int, shape (n_records,)
        Cluster label of each record (any non-negative integers).
    list_index : array of int, shape (n_records,)
        Position in ``lists`` of each record's list.
    lists : sequence of str
    """
    cluster = np.asarray(cluster, dtype=np.int64)
    list_index = np.asarray(list_index, dtype=np.int64)
    J = len(lists)
    if len(cluster) != len(list_index):
        raise InputError("<linkage>: cluster and list_index differ in length")
    if len(cluster) == 0:
        raise InputError("<linkage>: no records")
    _, dense = np.unique(cluster, return_inverse=True)
    codes = np.zeros(dense.max() + 1 if len(dense) else 0, dtype=np.int64)
    np.bitwise_or.at(codes, dense, np.left_shift(1, J - 1 - list_index))
    full = np.bincount(codes, minlength=2**J)
    observed = np.flatnonzero(full[1:]) + 1
    return CaptureTable(
        lists=tuple(lists),
        patterns=patterns_from_codes(observed, J),
        counts=full[observed].astype(np.int64),
        source=source,
    )


def sample_partitions(
    pairs: pd.DataFrame,
    n_records: int,
    *,
    n_draws: int,
    rng: np.random.Generator,
    national_id: Any = None,
    sex: Any = None,
    probability: str = "match_probability",
) -> list[np.ndarray]:
    """Draw ``n_draws`` plausible partitions (cluster labels per record); see the module
    docstring for the approximation."""
    p = pairs[probability].to_numpy(dtype=float)
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise InputError(f"<pairs>: {probability} must lie in [0, 1]")
    base = pd.DataFrame(
        {
            "uid_l": pairs["uid_l"].to_numpy(dtype=np.int64),
            "uid_r": pairs["uid_r"].to_numpy(dtype=np.int64),
            "match_probability": p,
        }
    )
    out = []
    for _ in range(n_draws):
        keep = rng.random(len(p)) < p
        res = constrained_clusters(n_records, base[keep], national_id=national_id, sex=sex)
        out.append(res.cluster)
    return out


