import numpy as np
import pandas as pd
import pytest

from undercount import CaptureTable, InputError
from undercount.errors import ConfigError
from undercount.models.loglinear import LogLinearEstimator
from undercount.strata import StratifiedEstimator, bin_ages, bin_dates
from undercount.uncertainty.bootstrap import quantile_type8

from ..uncertainty._toy import Independence, NormalPosterior


def people(strata_sizes, rng, p=(0.5, 0.4, 0.3)):
    rows = []
    for label, size in strata_sizes.items():
        caught = rng.random((size, 3)) < np.array(p)
        caught = caught[caught.any(axis=1)]
        for r in caught.astype(int):
            rows.append([*r, label])
    return pd.DataFrame(rows, columns=["A", "B", "C", "group"])


def test_summed_bounds_are_visibly_wrong_and_we_do_not_sum_them():
    # Ten independent strata, each N ~ Normal(1000, 50): the total is Normal(10000, 158).
    rng = np.random.default_rng(0)
    frame = people({f"g{i}": 400 for i in range(10)}, rng)
    table = CaptureTable.from_individuals(frame, lists=["A", "B", "C"])
    res = StratifiedEstimator(estimator=NormalPosterior(), strata=("group",)).fit(
        table, rng=np.random.default_rng(1))
    summed = res.sum_of_stratum_bounds
    # Summed stratum bounds: about 10000 +- 980, an interval of no stated level.
    assert summed[1] - summed[0] == pytest.approx(2 * 1.96 * 50 * 10, rel=0.05)
    # The right interval: about 10000 +- 1.96 * 50 * sqrt(10) = +- 310.
    assert res.interval.lower == pytest.approx(10000 - 310, abs=25)
    assert res.interval.upper == pytest.approx(10000 + 310, abs=25)
    assert res.estimate == pytest.approx(10000, abs=15)
    assert (res.interval.upper - res.interval.lower) < 0.4 * (summed[1] - summed[0])
    assert res.interval.method == "summed posterior draws"


def test_frequentist_total_uses_a_joint_bootstrap():
    rng = np.random.default_rng(2)
    frame = people({"a": 3000, "b": 2000}, rng)
    table = CaptureTable.from_individuals(frame, lists=["A", "B", "C"])
    res = StratifiedEstimator(estimator=Independence(), strata=("group",), replicates=300,
                              n_jobs=1).fit(table, rng=np.random.default_rng(5))
    parts = res.strata
    assert set(parts) == {"group=a", "group=b"}
    assert res.estimate == pytest.approx(sum(r.estimate for r in parts.values()))
    assert res.interval.lower < res.estimate < res.interval.upper
    assert res.interval.method.startswith("joint bootstrap")
    width = res.interval.upper - res.interval.lower
    summed = res.sum_of_stratum_bounds
    assert width < summed[1] - summed[0]
    assert abs(res.estimate - 5000) < 3 * width


def test_augmented_joint_bootstrap_lets_each_strata_number_observed_vary():
    # Two strata of independent lists that observe four people in five: holding each
    # stratum's number observed fixed (nonparametric) leaves out the variance it brings,
    # and the total's interval is about a quarter narrower than the profile interval of the
    # independence model on the pooled table (215; the strata share their capture rates,
    # so that is the right width). The augmented resample matches it. Across seeds the
    # widths move by about 4%.
    table = CaptureTable.from_individuals(people({"a": 3000, "b": 2000},
                                                 np.random.default_rng(2)), lists=["A", "B", "C"])
    profile = LogLinearEstimator(model="[1,2,3]").fit(table.aggregate()).interval
    width = profile.upper - profile.lower

    def joint(kind):
        res = StratifiedEstimator(estimator=Independence(), strata=("group",), replicates=1000,
                                  n_jobs=1, kind=kind).fit(table, rng=np.random.default_rng(5))
        assert res.settings["kind"] == kind
        return res.interval.upper - res.interval.lower

    assert joint("augmented") == pytest.approx(width, rel=0.06)
    assert joint("nonparametric") < 0.85 * width


def test_ntop_restricts_each_strata_reselection_to_its_best_models():
    rng = np.random.default_rng(2)
    frame = people({"a": 3000, "b": 2000}, rng)
    table = CaptureTable.from_individuals(frame, lists=["A", "B", "C"])
    bic = LogLinearEstimator(select="bic")

    def fit(**kw):
        return StratifiedEstimator(estimator=bic, strata=("group",), replicates=200, n_jobs=1,
                                   **kw).fit(table, rng=np.random.default_rng(5))

    full = fit()
    # Three lists have 8 hierarchical models: the top 8 are all of them, the same answer.
    assert fit(ntop=8).interval == full.interval
    # Only the best model: each replicate refits the stratum's BIC-best model.
    one = fit(ntop=1)
    assert one.estimate == full.estimate
    boot = np.random.default_rng(5).spawn(3)[-1]
    total = np.zeros(200)
    for label, part in (("group=a", "a"), ("group=b", "b")):
        t = table.by_stratum(["group"])[(part,)].aggregate()
        model = LogLinearEstimator(model=full.strata[label].model)
        for i, counts in enumerate(boot.multinomial(t.n_observed, t.counts / t.n_observed,
                                                    size=200)):
            total[i] += model.fit(CaptureTable(lists=t.lists, patterns=t.patterns,
                                               counts=counts)).estimate
    assert (one.interval.lower, one.interval.upper) == pytest.approx(
        tuple(quantile_type8(total, [0.025, 0.975])), rel=1e-9)
    with pytest.raises(ConfigError, match="ntop needs an estimator with model selection"):
        StratifiedEstimator(estimator=Independence(), strata=("group",), replicates=50,
                            ntop=2).fit(table, rng=np.random.default_rng(5))


def test_a_skipped_stratum_is_left_out_of_the_joint_bootstrap():
    rng = np.random.default_rng(2)
    frame = people({"a": 3000, "b": 2000}, rng)
    # Group c: everyone on list A only, so no estimate exists there.
    frame = pd.concat([frame, pd.DataFrame({"A": [1] * 40, "B": 0, "C": 0, "group": "c"})])
    table = CaptureTable.from_individuals(frame, lists=["A", "B", "C"])
    res = StratifiedEstimator(estimator=Independence(), strata=("group",), replicates=200,
                              n_jobs=1, on_failure="skip").fit(table,
                                                               rng=np.random.default_rng(5))
    assert set(res.strata) == {"group=a", "group=b"}
    assert "stratum_failed" in [d.code for d in res.diagnostics]
    # The 40 people of group c are counted as observed, and the interval stays finite.
    assert res.estimate == pytest.approx(sum(r.estimate for r in res.strata.values()) + 40)
    assert np.isfinite(res.interval.upper) and res.interval.lower > 40


def test_sparse_stratum_gets_a_merge_suggestion():
    rng = np.random.default_rng(3)
    frame = pd.concat([people({"big": 2000}, rng), people({"tiny": 30}, rng)])
    table = CaptureTable.from_individuals(frame, lists=["A", "B", "C"])
    res = StratifiedEstimator(estimator=NormalPosterior(), strata=("group",)).fit(
        table, rng=np.random.default_rng(0))
    msgs = " ".join(res.warnings)
    assert "group=tiny" in msgs and "consider merging it with group=big" in msgs


def test_missing_stratum_values_must_be_imputed_first():
    frame = pd.DataFrame({"A": [1, 0, 1, 1], "B": [0, 1, 1, 0], "C": [1, 1, 0, 0],
                          "group": ["a", None, "a", "a"]})
    table = CaptureTable.from_individuals(frame, lists=["A", "B", "C"])
    with pytest.raises(InputError, match="impute them first"):
        StratifiedEstimator(estimator=Independence(), strata=("group",)).fit(
            table, rng=np.random.default_rng(0))


def test_binning_helpers():
    ages = pd.Series([0, 14, 15, 44.9, 60, 101, None])
    assert bin_ages(ages).tolist()[:6] == ["0-14", "0-14", "15-29", "30-44", "60+", "60+"]
    assert pd.isna(bin_ages(ages).iloc[6])
    with pytest.raises(InputError):
        bin_ages(pd.Series([-1]))
    months = bin_dates(pd.Series(["2023-10-07", "2023-10", None, "2024-06-30"]))
    assert months.tolist()[:2] == ["2023-10", "2023-10"] and months.iloc[3] == "2024-06"
