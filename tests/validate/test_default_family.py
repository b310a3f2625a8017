"""The battery's ``default`` and ``strata`` families and its covariate designs."""

from __future__ import annotations

import numpy as np
import pytest

from undercount.pipeline.estimate import estimate
from undercount.validate import DESIGNS, CovariateDesign, run_battery
from undercount.validate.families import FAMILIES, BatteryOptions, ReplicateContext


@pytest.mark.parametrize("name", ["cov4", "cov3age"])
def test_covariate_designs_carry_the_covariate(name):
    design = DESIGNS[name]
    assert isinstance(design, CovariateDesign)
    table = design.sample(np.random.default_rng(5))
    assert list(table.covariates.columns) == [design.covariate]
    by_group = table.by_stratum([design.covariate])
    assert {k[0] for k in by_group} == set(design.levels)
    for level, size, probs in zip(design.levels, design.sizes, design.probs, strict=True):
        seen = by_group[(level,)].n_observed
        expected = size * (1 - np.prod(1 - np.asarray(probs)))
        assert abs(seen - expected) < 5 * np.sqrt(expected)  # binomial spread
    assert table.n_observed == sum(t.n_observed for t in by_group.values())
    assert design.truth == sum(design.sizes)


def test_default_family_is_the_estimate_command():
    table = DESIGNS["kosovo_bic"].sample(np.random.default_rng(2))
    rng = np.random.default_rng(11)
    seed = int(np.random.default_rng(11).integers(2**31 - 1))
    got = FAMILIES["default"][1](ReplicateContext(table, BatteryOptions()), rng)
    want = estimate(table, seed=seed)
    assert got.estimate == want.estimate
    assert (got.interval.lower, got.interval.upper) == (want.interval.lower,
                                                        want.interval.upper)
    assert got.interval.method == want.interval.method


def test_a_table_the_default_refuses_is_a_failure_not_n_a(monkeypatch):
    import undercount.pipeline.estimate as pipeline_estimate
    from undercount.errors import ConfigError, EstimationError

    def refuse(table, seed):
        raise ConfigError("no default for this table")

    monkeypatch.setattr(pipeline_estimate, "estimate", refuse)
    table = DESIGNS["sparse6"].sample(np.random.default_rng(1))
    with pytest.raises(EstimationError, match="the default refuses this table: no default"):
        FAMILIES["default"][1](ReplicateContext(table, BatteryOptions()),
                               np.random.default_rng(1))


def test_more_than_five_lists_get_the_stepwise_default():
    res = run_battery(["sparse6"], ["default", "strata"], replicates=1, seed=1)
    row = res.set_index("family")
    assert row.loc["default", "status"] == "ok"
    assert row.loc["strata", "status"] == "n/a"  # no covariate to stratify by


def test_strata_family_uses_the_covariate():
    res = run_battery(["cov3age"], ["strata", "default"], replicates=1, seed=4)
    assert (res["status"] == "ok").all(), res[["family", "message"]]
    table = DESIGNS["cov3age"].sample(np.random.default_rng(0))
    assert table.has_covariates


def test_default_stratifies_by_the_covariate_and_the_battery_counts_warnings():
    from undercount.validate.io import disagreement

    res = run_battery(["cov4"], ["default", "bootstrap", "rcapture", "dga"], replicates=1,
                      seed=2024)
    rows = res.set_index("family")
    default, pooled = rows.loc["default"], rows.loc["bootstrap"]
    assert default["status"] == "ok"
    # The default estimates within the groups and covers; pooled (the bootstrap family,
    # the default before it used covariates) it misses.
    assert default["lower"] <= default["truth"] <= default["upper"]
    assert not pooled["lower"] <= pooled["truth"] <= pooled["upper"]
    assert "default_stratified" in default["warnings"].split(";")
    assert disagreement(res).set_index("design").loc["cov4", "misses"] == 0
    # A pooled default that misses with the covariate warning counts as warned ...
    as_pooled = res.copy()
    keep = ["estimate", "lower", "upper"]
    as_pooled.loc[as_pooled["family"] == "default", keep] = pooled[keep].to_numpy()
    as_pooled.loc[as_pooled["family"] == "default", "warnings"] = "covariate_changes_answer"
    table = disagreement(as_pooled).set_index("design")
    assert table.loc["cov4", "default"] == "default"
    assert table.loc["cov4", "warned_when_missed"] == 1.0
    # ... and without that code only if the families disagree.
    quiet = as_pooled.assign(warnings="")
    assert disagreement(quiet).set_index("design").loc["cov4", "misses"] == 1


def test_stacking_families_pool_one_fit_per_replicate():
    table = DESIGNS["negdep4"].sample(np.random.default_rng(3))
    ctx = ReplicateContext(table, BatteryOptions(bootstrap_replicates=100))
    stacked = FAMILIES["stacked"][1](ctx, np.random.default_rng(1))
    equal = FAMILIES["stacked-equal"][1](ctx, np.random.default_rng(2))
    bma = FAMILIES["stacked-pbma"][1](ctx, np.random.default_rng(2))
    assert equal.fits is stacked.fits and bma.fits is stacked.fits
    assert set(equal.weights.values()) == {0.25}
    assert sum(bma.weights.values()) == pytest.approx(1.0)
    assert stacked.interval.method == "stacking mixture"


def test_an_interval_the_stratified_default_cannot_use_is_named():
    # The default stratifies cov4's tables; the joint bootstrap's total is a percentile
    # interval, so an --interval given for the pooled analysis is said not to apply, and is
    # not listed among the defaults filled in.
    from undercount.pipeline.estimate import estimate

    table = DESIGNS["cov4"].sample(np.random.default_rng(2))
    res = estimate(table, seed=1, interval="smoothed")
    assert res.method == "stratified loglinear"
    note = next(d.message for d in res.diagnostics if d.code == "default_stratified")
    assert "--interval smoothed does not apply to the total over groups" in note
    assert "interval" not in res.defaults
