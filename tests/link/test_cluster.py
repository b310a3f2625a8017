"""Constrained clustering: union-find in descending probability with cannot-link rules."""

import numpy as np
import pandas as pd

from undercount.link.cluster import constrained_clusters, suspicious_clusters


def edges(rows):
    return pd.DataFrame(rows, columns=["uid_l", "uid_r", "match_probability"])


def test_plain_connected_components_and_numbering():
    e = edges([(3, 4, 0.95), (0, 2, 0.99), (2, 5, 0.91)])
    r = constrained_clusters(6, e)
    # clusters numbered by smallest member: {0,2,5} -> 0, {1} -> 1, {3,4} -> 2
    assert r.cluster.tolist() == [0, 1, 0, 2, 2, 0]
    assert r.n_refused == 0
    assert sorted(r.edges["status"]) == ["merged", "merged", "merged"]


def test_different_valid_ids_never_merge_strongest_wins():
    # 0-1 strong, 1-2 weaker; 0 and 2 carry different valid IDs -> 1-2 refused.
    ids = np.array(["111", None, "222"], dtype=object)
    e = edges([(1, 2, 0.95), (0, 1, 0.99)])
    r = constrained_clusters(3, e, national_id=ids)
    assert r.cluster.tolist() == [0, 0, 1]
    assert r.n_refused == 1
    assert r.edges.set_index(["uid_l", "uid_r"]).loc[(1, 2), "status"] == "refused"
    # The same with the probabilities swapped: now 1-2 wins and 0-1 is refused.
    e = edges([(1, 2, 0.99), (0, 1, 0.95)])
    r = constrained_clusters(3, e, national_id=ids)
    assert r.cluster.tolist() == [0, 1, 1]


def test_same_id_and_sex_conflict():
    ids = np.array(["111", "111", None, None], dtype=object)
    sex = np.array(["m", None, "f", "m"], dtype=object)
    e = edges([(0, 1, 0.99), (1, 2, 0.98), (1, 3, 0.97), (2, 3, 0.96)])
    r = constrained_clusters(4, e, national_id=ids, sex=sex)
    # 0-1 merge (same ID); 1-2 refused (m vs f); 1-3 merge; 2-3 refused.
    assert r.cluster.tolist() == [0, 0, 1, 0]
    assert r.n_refused == 2


def test_order_of_rows_does_not_matter():
    rng = np.random.default_rng(3)
    n = 200
    rows = [(int(a), int(b), float(p)) for a, b, p in zip(
        rng.integers(0, n, 400), rng.integers(0, n, 400), rng.uniform(0.9, 1, 400), strict=True)]
    rows = [(min(a, b), max(a, b), p) for a, b, p in rows if a != b]
    sex = rng.choice(np.array(["m", "f", None], dtype=object), n)
    e = edges(rows)
    a = constrained_clusters(n, e, sex=sex).cluster
    b = constrained_clusters(n, e.sample(frac=1, random_state=1), sex=sex).cluster
    assert np.array_equal(a, b)
    # No cluster holds both sexes.
    frame = pd.DataFrame({"c": a, "s": sex}).dropna()
    assert frame.groupby("c")["s"].nunique().max() == 1


def test_suspicious_weak_link_and_large():
    # {0,1} strong, {2,3} strong, joined by one weak edge 1-2; {4..15} a large chain.
    rows = [(0, 1, 0.999), (2, 3, 0.999), (1, 2, 0.91)]
    rows += [(i, i + 1, 0.999) for i in range(4, 15)]
    r = constrained_clusters(16, edges(rows))
    s = suspicious_clusters(r, large_size=10, weak_probability=0.99)
    assert s["cluster_id"].tolist() == [0, 1]
    assert s["reasons"].tolist() == ["weak_link", "large"]
    assert s["size"].tolist() == [4, 12]
    assert s["weakest_edge"].iloc[0] == 0.91
