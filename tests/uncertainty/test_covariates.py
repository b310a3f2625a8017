"""Pooled against stratified N-hat when the table carries covariates (issue 15, item 5)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.core.table import CaptureTable
from undercount.models.loglinear import LogLinearEstimator
from undercount.pipeline.estimate import estimate
from undercount.uncertainty.covariates import (
    COVARIATE_CHANGES_ANSWER,
    DEFAULT_STRATIFIED,
    covariate_check,
    default_strata,
)
from undercount.validate import DESIGNS


@pytest.fixture(scope="module")
def cov4():
    return DESIGNS["cov4"].sample(np.random.default_rng(1))


def test_capture_that_depends_on_a_covariate_is_flagged(cov4):
    res = estimate(cov4, seed=1, bootstrap=0)
    block = res.covariates
    (entry,) = block["covariates"]
    assert entry["column"] == "group" and entry["levels"] == 2
    assert entry["p_value"] < 1e-10 and entry["df"] > 0
    # Within each group the lists are independent: the stratified total is near the truth
    # (2,000), the pooled one far below it and its interval.
    assert res.interval.upper < 1700 < 1900 < entry["stratified_estimate"] < 2600
    assert entry["stratified_estimate"] == pytest.approx(sum(entry["by_level"].values()))
    assert entry["changes_answer"]
    codes = [d.code for d in res.diagnostics]
    assert COVARIATE_CHANGES_ANSWER in codes
    assert any("--strata group" in w for w in res.warnings)
    again = type(res).from_dict(res.to_dict())
    assert again.covariates == json.loads(json.dumps(block))
    assert again.to_dict() == res.to_dict()


def test_stratified_total_is_the_sum_of_the_groups_fits(cov4):
    res = LogLinearEstimator(select="bic").fit(cov4.aggregate())
    block, _ = covariate_check(res, cov4)
    by_level = block["covariates"][0]["by_level"]
    for (level,), part in cov4.by_stratum(["group"]).items():
        fit = LogLinearEstimator(select="bic").fit(part.aggregate())
        assert by_level[str(level)] == pytest.approx(fit.estimate, rel=1e-12)


def test_no_covariates_no_check_and_no_warning():
    table = DESIGNS["negdep4"].sample(np.random.default_rng(3))
    res = estimate(table, seed=1, bootstrap=0)
    assert res.covariates is None
    assert "covariates" not in res.to_dict()


def test_independent_covariate_does_not_warn():
    rng = np.random.default_rng(8)
    captured = rng.random((3000, 4)) < np.array([0.3, 0.25, 0.2, 0.35])
    seen = captured.any(axis=1)
    frame = pd.DataFrame(captured[seen].astype(int), columns=["A", "B", "C", "D"])
    frame["sex"] = rng.choice(["f", "m"], size=len(frame))
    table = CaptureTable.from_frame(frame, lists=["A", "B", "C", "D"], covariates=["sex"],
                                    count_column=None)
    res = estimate(table, seed=1, bootstrap=0)
    (entry,) = res.covariates["covariates"]
    assert not entry["changes_answer"]
    assert COVARIATE_CHANGES_ANSWER not in [d.code for d in res.diagnostics]


def test_covariates_not_checked_say_why(cov4):
    frame = cov4.to_frame()
    frame["id"] = np.arange(len(frame)) % 40  # too many values to be groups
    smallest = int(np.argmin(frame["count"].to_numpy()))
    frame["tiny"] = np.where(np.arange(len(frame)) == smallest, "x", "y")  # a handful
    table = CaptureTable.from_frame(frame, lists=list(cov4.lists),
                                    covariates=["group", "id", "tiny"])
    res = LogLinearEstimator(select="bic").fit(table.aggregate())
    block, _ = covariate_check(res, table)
    skipped = {c["column"]: c.get("skipped", "") for c in block["covariates"]}
    assert "values (checked for 2 to 10)" in skipped["id"]
    assert "fewer than 30" in skipped["tiny"]
    assert skipped["group"] == ""


def test_strata_given_no_check(cov4):
    res = estimate(cov4, seed=1, strata="group", bootstrap=50)
    assert res.covariates is None


def test_cli_prints_the_covariate_line(tmp_path, cov4):
    path = tmp_path / "cov4.csv"
    cov4.to_frame().to_csv(path, index=False)
    out = CliRunner().invoke(app, ["estimate", str(path), "--lists", "L1,L2,L3,L4",
                                   "--bootstrap", "0", "--seed", "1"])
    assert out.exit_code == 0, out.output
    assert "covariate: group: N-hat" in out.output
    assert "--strata group" in out.output


def test_cli_prints_the_families_of_each_group_of_the_stratified_default(tmp_path, cov4):
    path = tmp_path / "cov4.csv"
    cov4.to_frame().to_csv(path, index=False)
    out = CliRunner().invoke(app, ["estimate", str(path), "--lists", "L1,L2,L3,L4",
                                   "--seed", "1"])
    assert out.exit_code == 0, out.output
    lines = [ln for ln in out.output.splitlines() if ln.startswith("other families")]
    assert [ln.split(":")[0] for ln in lines] == [
        "other families in group=a", "other families in group=b"]
    assert all("logitnormal" in ln and "lcm-ml" in ln for ln in lines)


def test_the_default_stratifies_by_a_covariate_that_changes_its_answer(cov4):
    res = estimate(cov4, seed=1)
    assert res.method == "stratified loglinear"
    assert res.defaults["strata"] == ["group"] and res.defaults["ntop"] == 10
    # Exactly the stratified analysis the warning names, with the same seed.
    same = estimate(cov4, seed=1, strata="group", ntop=10)
    assert (res.estimate, res.interval) == (same.estimate, same.interval)
    assert res.defaults["resample"] == "augmented" and res.settings["kind"] == "augmented"
    # --resample reaches the joint bootstrap over the groups too.
    other = estimate(cov4, seed=1, resample="nonparametric")
    named = estimate(cov4, seed=1, strata="group", ntop=10, resample="nonparametric")
    assert other.method == res.method and other.settings["kind"] == "nonparametric"
    assert other.interval == named.interval != res.interval
    # Within each group the lists are independent: the total covers the truth (2,000);
    # the pooled default (kept in the covariate block) is far below it.
    assert res.interval.lower < 2000 < res.interval.upper
    pooled = estimate(cov4, seed=1, bootstrap=1000, ntop=10, resample="parametric-aic")
    assert res.covariates["pooled"] == pytest.approx(pooled.estimate)
    assert pooled.interval.upper < res.interval.lower
    codes = [d.code for d in res.diagnostics]
    assert DEFAULT_STRATIFIED in codes and COVARIATE_CHANGES_ANSWER not in codes
    (note,) = [d for d in res.diagnostics if d.code == DEFAULT_STRATIFIED]
    assert "--strata group --ntop 10" in note.message and "1,4" in note.message
    assert "pooled analysis: --bootstrap 1000 --ntop 10 --resample parametric-aic" in note.message
    assert res.provenance["settings"]["defaults"]["strata"] == ["group"]
    # The families it weighs no longer are compared within each group (the analysis the
    # user names with --strata is not checked: it is theirs).
    assert res.families["check"] == "within each stratum"
    assert set(res.families["strata"]) == {"group=a", "group=b"}
    assert [r["method"] for r in res.families["strata"]["group=b"]["results"]] == [
        "loglinear", "logitnormal", "lcm-ml"]
    assert same.families is None
    # Options that set the analysis keep it pooled: the warning names --strata instead.
    assert pooled.method == "loglinear"
    assert COVARIATE_CHANGES_ANSWER in [d.code for d in pooled.diagnostics]


def test_default_strata_cross_only_while_every_cell_keeps_enough_people(cov4):
    frame = cov4.to_frame()
    rng = np.random.default_rng(2)
    frame["sex"] = rng.choice(["f", "m"], size=len(frame))
    table = CaptureTable.from_frame(frame, lists=list(cov4.lists), covariates=["group", "sex"])
    block = {"covariates": [
        {"column": "sex", "changes_answer": True, "p_value": 1e-3, "g2": 20.0},
        {"column": "group", "changes_answer": True, "p_value": 1e-40, "g2": 240.0},
    ]}
    assert default_strata(block, table) == ("group", "sex")
    # A cross with a cell below min_records is not made; the strongest covariate stays.
    smallest = min(t.n_observed for t in table.by_stratum(["group", "sex"]).values())
    assert default_strata(block, table, min_records=smallest + 1) == ("group",)
    block["covariates"][1]["changes_answer"] = False
    assert default_strata(block, table) == ("sex",)
    assert default_strata(None, table) == ()
    # A covariate with missing values is left to --strata (which imputes them).
    frame.loc[0, "sex"] = None
    table = CaptureTable.from_frame(frame, lists=list(cov4.lists), covariates=["group", "sex"])
    block["covariates"][1]["changes_answer"] = True
    assert default_strata(block, table) == ("group",)
