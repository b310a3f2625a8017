"""The vectorised suspicious-cluster report (issue 17's speed work) equals the one it
replaced, on random clusterings with weak links, refusals of every kind and clusters
without edges."""

import numpy as np
import pandas as pd
import pytest

from undercount.link.cluster import (
    ClusterResult,
    _components,
    constrained_clusters,
    suspicious_clusters,
)


def reference_suspicious_clusters(
    result: ClusterResult,
    *,
    large_size: int,
    weak_probability: float = 0.99,
) -> pd.DataFrame:
    n = len(result.cluster)
    cluster = result.cluster
    sizes = np.bincount(cluster)
    e = result.edges
    within = e[e["within"].to_numpy()]
    left = within["uid_l"].to_numpy(dtype=np.int64)
    right = within["uid_r"].to_numpy(dtype=np.int64)
    prob = within["match_probability"].to_numpy()
    strong = prob >= weak_probability
    comp = _components(n, left[strong], right[strong])
    # A cluster held together by weak edges has more than one strong component.
    n_comp = pd.Series(comp).groupby(cluster).nunique().to_numpy()
    min_edge = np.full(len(sizes), np.nan)
    if len(prob):
        mins = pd.Series(prob).groupby(cluster[left]).min()
        min_edge[mins.index.to_numpy()] = mins.to_numpy()
    refused = e[e["status"].to_numpy() == "refused"]
    touched = np.zeros(len(sizes), dtype=bool)
    touched[cluster[refused["uid_l"].to_numpy(dtype=np.int64)]] = True
    touched[cluster[refused["uid_r"].to_numpy(dtype=np.int64)]] = True
    reasons: list[list[str]] = [[] for _ in range(len(sizes))]
    for c in np.flatnonzero(sizes > large_size):
        reasons[c].append("large")
    for c in np.flatnonzero(n_comp > 1):
        reasons[c].append("weak_link")
    for c in np.flatnonzero(touched):
        reasons[c].append("refused")
    if "refused_by" in e:  # issue 19: splits by the relative / same-list constraints
        for why, label in (("relatives", "relative_split"), ("same_list", "same_list_split")):
            hit = refused[refused["refused_by"].to_numpy() == why]
            for side in ("uid_l", "uid_r"):
                for c in np.unique(cluster[hit[side].to_numpy(dtype=np.int64)]):
                    if label not in reasons[c]:
                        reasons[c].append(label)
    flagged = [c for c in range(len(sizes)) if reasons[c]]
    return pd.DataFrame(
        {
            "cluster_id": np.array(flagged, dtype=np.int64),
            "size": sizes[flagged].astype(np.int64),
            "weakest_edge": min_edge[flagged],
            "strong_components": n_comp[flagged].astype(np.int64),
            "reasons": [",".join(reasons[c]) for c in flagged],
        }
    )


@pytest.mark.parametrize("seed", range(30))
def test_report_equals_the_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    k = int(rng.integers(0, 2 * n))
    left, right = rng.integers(0, n, k), rng.integers(0, n, k)
    keep = left != right
    edges = pd.DataFrame({"uid_l": np.minimum(left, right)[keep],
                          "uid_r": np.maximum(left, right)[keep],
                          "match_probability": rng.choice([0.5, 0.95, 0.99, 0.999], keep.sum())})
    edges = edges.drop_duplicates(["uid_l", "uid_r"], ignore_index=True)
    result = constrained_clusters(n, edges, national_id=rng.choice(["1", "2", None], n),
                                  sex=rng.choice(["M", "F", None], n))
    if seed % 2:  # as with the relative constraints: refused edges say by what
        by = rng.choice(["relatives", "same_list", "sex"], len(result.edges))
        result.edges["refused_by"] = np.where(result.edges["status"] == "refused", by, "")
    for large in (1, 3, 10):
        got = suspicious_clusters(result, large_size=large)
        want = reference_suspicious_clusters(result, large_size=large)
        pd.testing.assert_frame_equal(got, want)
