"""Linkage metrics on hand-made partitions with exact expected values."""

import numpy as np
import pandas as pd
import pytest

from undercount.link.evaluate import (
    adjusted_rand,
    bcubed,
    blocking_recall,
    load_truth,
    pairwise_metrics,
)
from undercount.uncertainty.linkage_effect import estimate_effect, evaluate_linkage

TRUTH = ["A", "A", "A", "B", "B", "C"]
PRED = [1, 1, 2, 2, 2, 3]


def test_pairwise_hand_computed():
    # true pairs: A 3 + B 1 = 4; predicted: cluster 1 -> 1, cluster 2 -> 3 = 4;
    # true positives: (1,A) 1 + (2,B) 1 = 2.
    m = pairwise_metrics(PRED, TRUTH)
    assert m["true_pairs"] == 4
    assert m["predicted_pairs"] == 4
    assert m["true_positive_pairs"] == 2
    assert m["precision"] == 0.5
    assert m["recall"] == 0.5
    assert m["f1"] == 0.5


def test_bcubed_hand_computed():
    # per-record precision 1, 1, 1/3, 2/3, 2/3, 1 and recall 2/3, 2/3, 1/3, 1, 1, 1
    b = bcubed(PRED, TRUTH)
    assert b["precision"] == pytest.approx(7 / 9, rel=1e-12)
    assert b["recall"] == pytest.approx(7 / 9, rel=1e-12)
    assert b["f1"] == pytest.approx(7 / 9, rel=1e-12)


def test_adjusted_rand_hand_computed():
    # sum C(n_ij,2) = 2, row/col sums 4 and 4, C(6,2) = 15:
    # (2 - 16/15) / (4 - 16/15) = 7/22
    assert adjusted_rand(PRED, TRUTH) == pytest.approx(7 / 22, rel=1e-12)


def test_perfect_and_all_singletons():
    assert pairwise_metrics(TRUTH, TRUTH)["f1"] == 1.0
    assert bcubed(TRUTH, TRUTH)["f1"] == 1.0
    single = list(range(6))
    m = pairwise_metrics(single, TRUTH)
    assert m["precision"] == 1.0  # no predicted pairs: vacuous precision
    assert m["recall"] == 0.0
    b = bcubed(single, TRUTH)
    assert b["precision"] == 1.0
    assert b["recall"] == pytest.approx((1 / 3 * 3 + 1 / 2 * 2 + 1) / 6)


def test_blocking_recall_hand_computed():
    std = pd.DataFrame(
        {
            "given_key": ["mhmd", "mhmd", "mhmd", "ahmd", "ahmd", "x"],
            "dob": ["2000-01-01", None, "2000-01-01", "1990-05-05", "1990-05-05", None],
        }
    )
    # true pairs: (0,1) (0,2) (1,2) (3,4)
    out = blocking_recall(std, TRUTH, [("given_key", "dob")])
    assert out["true_pairs"] == 4
    assert out["recall"] == 0.5  # (0,2) and (3,4); a missing dob never blocks
    out = blocking_recall(std, TRUTH, [("given_key", "dob"), ("given_key",)])
    assert out["recall"] == 1.0
    assert out["per_rule"] == {"given_key+dob": 0.5, "given_key": 1.0}


def test_estimate_effect_two_lists_chapman():
    # truth: persons 0..5; list a has 0,1,2,3; list b has 2,3,4,5 -> n1 = 4, n2 = 4, m = 2.
    lists = pd.Series(["a", "a", "a", "a", "b", "b", "b", "b"])
    truth = np.array([0, 1, 2, 3, 2, 3, 4, 5])
    # linkage misses the person-3 match: m = 1.
    pred = np.array([0, 1, 2, 3, 2, 13, 4, 5])
    out = estimate_effect(lists, pred, truth, ["a", "b"])
    assert out["method"] == "chapman"
    assert out["estimate_true"] == pytest.approx(5 * 5 / 3 - 1, rel=1e-12)
    assert out["estimate_linked"] == pytest.approx(5 * 5 / 2 - 1, rel=1e-12)
    assert out["n_observed_true"] == 6
    assert out["n_observed_linked"] == 7


def test_evaluate_linkage_checks_alignment():
    records = pd.DataFrame({"cluster_id": PRED, "list": ["a"] * 6})
    with pytest.raises(Exception, match="5 truth labels for 6 records"):
        evaluate_linkage(records, TRUTH[:5])
    ev = evaluate_linkage(records, TRUTH)
    assert ev.pairwise["f1"] == 0.5
    assert ev.estimate == {"skipped": "one list: no capture-recapture estimate"}
    assert "pairwise" in ev.summary()


def test_load_truth_formats(tmp_path):
    records = pd.DataFrame(
        {"list": ["a", "b", "b"], "record_id": ["rec-1-org", "rec-1-dup-0", "rec-22-dup-0"]}
    )
    assert list(load_truth("febrl", records)) == ["1", "1", "22"]
    truth = pd.DataFrame(
        {"list": ["b", "a", "b"], "record_id": ["rec-1-dup-0", "rec-1-org", "rec-22-dup-0"],
         "person_id": ["p1", "p1", "p2"]}
    )
    truth.to_csv(tmp_path / "truth.csv", index=False)
    assert list(load_truth(tmp_path / "truth.csv", records)) == ["p1", "p1", "p2"]
    truth.iloc[:2].to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(Exception, match="1 linked record"):
        load_truth(tmp_path / "short.csv", records)
