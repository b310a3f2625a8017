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


def test_a_table_the_default_refuses_is_a_failure_not_n_a():
    res = run_battery(["sparse6"], ["default", "strata"], replicates=1, seed=1)
    row = res.set_index("family")
    assert row.loc["default", "status"] == "failed"
    assert "the default refuses this table" in row.loc["default", "message"]
    assert row.loc["strata", "status"] == "n/a"  # no covariate to stratify by


def test_strata_family_uses_the_covariate():
    res = run_battery(["cov3age"], ["strata", "default"], replicates=1, seed=4)
    assert (res["status"] == "ok").all(), res[["family", "message"]]
    table = DESIGNS["cov3age"].sample(np.random.default_rng(0))
    assert table.has_covariates


def test_default_warns_of_the_covariate_and_the_battery_counts_it():
    from undercount.validate.io import disagreement

    res = run_battery(["cov4"], ["default", "bootstrap", "rcapture", "dga"], replicates=1,
                      seed=2024)
    row = res.set_index("family").loc["default"]
    assert row["status"] == "ok"
    assert not row["lower"] <= row["truth"] <= row["upper"]  # pooled, it misses
    assert "covariate_changes_answer" in row["warnings"].split(";")
    table = disagreement(res).set_index("design")
    assert table.loc["cov4", "default"] == "default"
    assert table.loc["cov4", "warned_when_missed"] == 1.0
    # Without the default's own warning code the same replicate counts as warned only if
    # the families disagree.
    quiet = res.assign(warnings="")
    assert disagreement(quiet).set_index("design").loc["cov4", "misses"] == 1
