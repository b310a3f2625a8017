"""Linkage averaging: partitions from scored pairs, calibration, pooling, threshold sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from undercount.core.draws import n_draws
from undercount.errors import ConfigError, InputError
from undercount.link.calibrate import Calibrator
from undercount.link.partitions import sample_partitions, table_from_clusters
from undercount.models.heterogeneity import HeterogeneityEstimator
from undercount.models.loglinear import LogLinearEstimator
from undercount.report.plots import plot_threshold_sensitivity
from undercount.uncertainty.linkage import LinkageAveraging, threshold_sensitivity
from undercount.validate import DESIGNS


def test_table_from_clusters_by_hand():
    # Records: A0 B1 A2 C3 B4; clusters {0,1}, {2}, {3,4}
    cluster = np.array([7, 7, 3, 9, 9])
    list_index = np.array([0, 1, 0, 2, 1])
    t = table_from_clusters(cluster, list_index, ("A", "B", "C"))
    assert t.cells() == {"110": 1, "100": 1, "011": 1}
    assert t.n_observed == 3


def test_certain_edges_give_connected_components_and_cannot_links_hold():
    pairs = pd.DataFrame({"uid_l": [0, 1, 3], "uid_r": [1, 2, 4],
                          "match_probability": [1.0, 1.0, 0.0]})
    parts = sample_partitions(pairs, 5, n_draws=3, rng=np.random.default_rng(0))
    for c in parts:
        assert c[0] == c[1] == c[2] and c[3] != c[4]
    # Records 0 and 2 carry different sexes: the weaker edge 1-2 is refused.
    pairs["match_probability"] = [1.0, 0.999, 0.0]
    parts = sample_partitions(pairs, 5, n_draws=5, rng=np.random.default_rng(0),
                              sex=["F", None, "M", None, None])
    for c in parts:
        assert c[0] == c[1] and c[2] != c[0]


def test_edge_sampling_frequency_matches_probability():
    pairs = pd.DataFrame({"uid_l": [0], "uid_r": [1], "match_probability": [0.3]})
    parts = sample_partitions(pairs, 2, n_draws=2000, rng=np.random.default_rng(1))
    share = np.mean([c[0] == c[1] for c in parts])
    # Binomial(2000, 0.3): sd 0.0102; 4 sd.
    assert abs(share - 0.3) < 0.041


def _certain_linkage():
    d = DESIGNS["link4"]
    _, records, pairs = d.sample_linkage(np.random.default_rng(11))
    pairs = pairs.assign(match_probability=pairs["is_match"].astype(float))
    return records, pairs


def test_certain_linkage_reproduces_the_estimators_own_interval():
    records, pairs = _certain_linkage()
    est = LogLinearEstimator(select="stepwise")
    avg = LinkageAveraging(estimator=est, n_draws=4, draws_per_fit=20000).fit(
        pairs, records, lists=("L1", "L2", "L3", "L4"), rng=np.random.default_rng(2))
    table = table_from_clusters(records["person"].to_numpy(),
                                records["list"].str[1:].astype(int).to_numpy() - 1,
                                ("L1", "L2", "L3", "L4"))
    own = est.fit(table)
    assert avg.n_observed_range == (table.n_observed,) * 2
    # One draws container: each linkage's values, read by the one accessor.
    assert avg.draws.linkage["N"].shape == (4, 20000)
    assert n_draws(avg).size == 4 * 20000
    assert (avg.conf_int(avg.interval.level).lower, avg.conf_int(avg.interval.level).upper) == (
        avg.interval.lower, avg.interval.upper)
    d = avg.to_dict()
    assert type(avg).from_dict(d).to_dict() == d
    # The split log-normal has the fit's median and 2.5%/97.5% quantiles; with 80,000
    # pooled values the Monte Carlo error of those quantiles is below 0.5%.
    assert avg.estimate == pytest.approx(own.estimate, rel=5e-3)
    assert avg.interval.lower == pytest.approx(own.interval.lower, rel=5e-3)
    assert avg.interval.upper == pytest.approx(own.interval.upper, rel=5e-3)


def test_uncertain_linkage_widens_the_interval_and_reports_draws():
    d = DESIGNS["link4"]
    fixed_table, records, pairs = d.sample_linkage(np.random.default_rng(3))
    est = HeterogeneityEstimator(model="Mt")
    fixed = est.fit(fixed_table)
    avg = LinkageAveraging(estimator=est, n_draws=30).fit(
        pairs, records, lists=("L1", "L2", "L3", "L4"), rng=np.random.default_rng(4))
    lo_n, hi_n = avg.n_observed_range
    assert lo_n < hi_n  # the draws disagree about how many people were seen
    assert len(avg.per_draw) == 30
    assert avg.fixed["n_observed"] == fixed_table.n_observed
    width = avg.interval.upper - avg.interval.lower
    assert width > fixed.interval.upper - fixed.interval.lower
    # Same seed, same answer.
    again = LinkageAveraging(estimator=est, n_draws=30).fit(
        pairs, records, lists=("L1", "L2", "L3", "L4"), rng=np.random.default_rng(4))
    assert again.estimate == avg.estimate and again.interval == avg.interval


def test_calibration_recovers_true_probabilities():
    rng = np.random.default_rng(5)
    true_p = rng.uniform(0, 1, 20000)
    labels = rng.random(20000) < true_p
    raw = true_p**0.3  # over-confident towards match
    for method in ("isotonic", "platt"):
        cal = Calibrator(method).fit(raw, labels)
        got = cal.transform(raw)
        # Mean absolute error of the calibrated probability; raw is off by ~0.2.
        assert np.mean(np.abs(got - true_p)) < (0.05 if method == "isotonic" else 0.08)
    assert np.mean(np.abs(raw - true_p)) > 0.15
    with pytest.raises(ConfigError):
        Calibrator("nope")
    with pytest.raises(InputError):
        Calibrator().fit(np.array([0.2, 0.4]), np.array([1, 1]))


def test_labels_calibrate_before_drawing():
    d = DESIGNS["link4"]
    _, records, pairs = d.sample_linkage(np.random.default_rng(6))
    labels = np.where(np.arange(len(pairs)) % 3 == 0, pairs["is_match"].astype(float), np.nan)
    avg = LinkageAveraging(estimator=HeterogeneityEstimator(model="Mt"), n_draws=5,
                           calibration="isotonic").fit(
        pairs, records, lists=("L1", "L2", "L3", "L4"), labels=labels,
        rng=np.random.default_rng(1))
    assert any(dg.code == "linkage_calibrated" for dg in avg.diagnostics)


def test_threshold_sensitivity_table_and_plot(tmp_path):
    d = DESIGNS["link4"]
    _, records, pairs = d.sample_linkage(np.random.default_rng(7))
    frame = threshold_sensitivity(pairs, records, HeterogeneityEstimator(model="Mt"),
                                  (0.1, 0.5, 0.9, 0.99), lists=("L1", "L2", "L3", "L4"))
    assert list(frame.columns) == ["threshold", "n_observed", "estimate", "lower", "upper",
                                   "status"]
    # Fewer merges at higher thresholds: more distinct people.
    assert frame["n_observed"].is_monotonic_increasing
    assert (frame["status"] == "ok").all()
    plot_threshold_sensitivity(frame, tmp_path / "t.png", truth=d.truth)
    assert (tmp_path / "t.png").stat().st_size > 0


def test_bad_inputs():
    with pytest.raises(ConfigError):
        LinkageAveraging(estimator=HeterogeneityEstimator(), n_draws=1)
    records = pd.DataFrame({"uid": [0, 1], "list": ["A", "Z"]})
    pairs = pd.DataFrame({"uid_l": [0], "uid_r": [1], "match_probability": [0.5]})
    with pytest.raises(InputError):
        LinkageAveraging(estimator=HeterogeneityEstimator()).fit(
            pairs, records, lists=("A", "B"), rng=np.random.default_rng(0))
