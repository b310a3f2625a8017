"""Model families that disagree are said to, and non-identified summaries are not points."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

import undercount as uc
from undercount import datasets
from undercount.core.result import NOT_IDENTIFIED, Diagnostic, Interval, MSEResult
from undercount.core.table import CaptureTable, patterns_from_codes
from undercount.models.graphical import GraphicalEstimator
from undercount.pipeline.estimate import estimate
from undercount.uncertainty.families import FAMILIES_DISAGREE, family_spread


def _res(method: str, est: float, lo: float, hi: float, **kw) -> MSEResult:
    return MSEResult(method=method, model="m", estimate=est, interval=Interval(lo, hi),
                     n_observed=100, lists=("a", "b", "c"), **kw)


def test_overlapping_close_families_agree():
    s = family_spread([_res("a", 1000, 900, 1150), _res("b", 1050, 950, 1200)])
    assert not s.disagree and s.warning() is None
    assert s.ratio == pytest.approx(1.05)


def test_disjoint_intervals_disagree():
    s = family_spread([_res("a", 1000, 900, 1100), _res("b", 1500, 1300, 1800)])
    assert s.disjoint == (("a: m", "b: m"),)
    w = s.warning()
    assert w is not None and w.startswith(FAMILIES_DISAGREE)
    assert "1,000 to 1,500" in w and "the intervals of a: m and b: m do not overlap" in w


def test_the_warning_names_every_pair_of_disjoint_intervals():
    # one family below four that overlap each other: four pairs, all named
    low = _res("low", 500, 450, 550)
    others = [_res(m, 1000 + 10 * i, 900, 1200) for i, m in enumerate("abcd")]
    s = family_spread([low, *others])
    assert len(s.disjoint) == 4
    assert ("these pairs of intervals do not overlap: low: m and a: m; low: m and b: m; "
            "low: m and c: m; low: m and d: m") in s.warning()


def test_spread_wider_than_narrowest_interval_disagrees():
    # Overlapping, but the estimates are 300 apart and one interval is 200 wide.
    s = family_spread([_res("a", 1000, 900, 1100), _res("b", 1300, 1000, 2500)])
    assert not s.disjoint and s.disagree


def test_a_family_of_tied_models_counts_by_its_range_and_intervals_together():
    # Gaza: the four Mth models tie (68,575 to 123,344, together 66,839-150,018). Mth-Chao's
    # own interval misses the logit-normal model's; the tied models' intervals together
    # overlap it, and the spread runs to the largest of them.
    from undercount.models.heterogeneity import HeterogeneityEstimator

    het = HeterogeneityEstimator().fit(datasets.load("gaza_lancet_2025"))
    lo, hi = het.tied_models["interval"]
    other = _res("logitnormal", 101_751, 88_641, 118_636)
    assert het.interval.upper < other.interval.lower and lo < other.interval.lower < hi
    s = family_spread([het, other])
    assert s.disjoint == ()
    assert s.labels[0] == "heterogeneity: Mth-Chao / Mth-Poisson2 / Mth-Darroch / Mth-Gamma3.5"
    assert (s.low, s.high) == pytest.approx((68574.8, 123343.9), abs=0.1)
    assert s.narrowest_width == pytest.approx(other.interval.upper - other.interval.lower)
    alone = family_spread([dataclasses.replace(het, tied=None), other])
    assert alone.disjoint == (("heterogeneity: Mth-Chao", "logitnormal: m"),)


def test_not_identified_results_are_left_out():
    flagged = _res("dga", 30000, 29000, 150000, diagnostics=(
        Diagnostic(NOT_IDENTIFIED, "N is not identified: because", "warning"),))
    assert not flagged.identified
    s = family_spread([_res("a", 1000, 900, 1100), flagged])
    assert s.labels == ("a: m",) and not s.disagree
    assert s.not_identified == (("dga: m", "N is not identified: because"),)
    # The flag survives the JSON round trip.
    assert not type(flagged).from_dict(flagged.to_dict()).identified


def test_three_list_dga_dominated_by_the_saturated_graph_is_not_identified():
    gaza = GraphicalEstimator().fit(uc.datasets.load("gaza_lancet_2025"))
    assert not gaza.identified
    assert "saturated graph [123]" in " ".join(gaza.warnings)
    kosovo = GraphicalEstimator().fit(uc.datasets.load("kosovo"))
    assert kosovo.identified


def test_method_all_reports_the_spread_and_marks_dga():
    cmp = uc.estimate("gaza_lancet_2025", method="all", seed=1, bootstrap=0)
    d = cmp.to_dict()
    flags = {r["method"]: r["identified"] for r in d["results"]}
    assert flags["dga"] is False and flags["loglinear"] is True
    assert d["spread"]["not_identified"][0]["family"].startswith("dga")
    assert d["spread"]["disagree"] is True
    assert d["warnings"][0].startswith(FAMILIES_DISAGREE)


def test_the_default_carries_its_family_check():
    from undercount.models.heterogeneity import HeterogeneityEstimator
    from undercount.models.latent_class import LatentClassEstimator
    from undercount.uncertainty.families import FAMILIES_DISAGREE_CODE, QUICK_LCM

    res = estimate("kosovo", seed=1)
    block = res.families
    methods = [r["method"] for r in block["results"]]
    # the default (the log-linear family carries the BIC weight on Kosovo), its two other
    # cross-family members, then the check's own families
    assert methods == ["loglinear", "logitnormal", "lcm-ml", "heterogeneity", "lcm", "dga"]
    assert block["failures"] == []
    # The check's families as `--method heterogeneity`, `--method lcm` (with the check's
    # short run and a generator spawned from the seed) and `--method dga` fit them.
    kosovo = datasets.load("kosovo")
    het, dga = HeterogeneityEstimator().fit(kosovo), GraphicalEstimator().fit(kosovo)
    lcm = LatentClassEstimator(**QUICK_LCM).fit(
        kosovo, rng=np.random.default_rng(np.random.SeedSequence(1).spawn(2)[0]))
    assert block["results"][3]["estimate"] == het.estimate
    assert block["results"][4]["estimate"] == lcm.estimate
    assert block["results"][5]["interval"] == [dga.interval.lower, dga.interval.upper]
    # On Kosovo, Mth-Chao's interval (about 8,200-9,000) lies below dga's (9,800-16,500).
    assert block["spread"]["disagree"]
    (warning,) = [d for d in res.diagnostics if d.code == FAMILIES_DISAGREE_CODE]
    assert warning.message.startswith("model families disagree: estimates from 8,591")
    again = type(res).from_dict(res.to_dict())
    assert again.families == json.loads(json.dumps(res.to_dict()["families"]))
    # Explicit options get exactly what they asked for: no check.
    assert estimate("kosovo", seed=1, bootstrap=0).families is None
    assert "families" not in estimate("kosovo", seed=1, bootstrap=0).to_dict()


def test_families_that_agree_give_no_warning():
    # independent lists, everyone alike: every family's assumption holds
    rng = np.random.default_rng(11)
    caught = rng.random((2_000, 4)) < np.array([0.3, 0.25, 0.35, 0.2])
    codes = caught.astype(np.int64) @ (1 << np.arange(3, -1, -1))
    full = np.bincount(codes, minlength=16)
    seen = np.flatnonzero(full[1:]) + 1
    table = CaptureTable(lists=("A", "B", "C", "D"), patterns=patterns_from_codes(seen, 4),
                         counts=full[seen], source="independent")
    res = estimate(table, seed=1)
    assert res.families is not None and not res.families["spread"]["disagree"]
    assert not any(w.startswith("model families disagree") for w in res.warnings)


def test_beyond_five_lists_the_check_leaves_dga_out():
    res = estimate(datasets.load("uk_2013"), seed=1)
    assert [r["method"] for r in res.families["results"]] == [
        "loglinear", "logitnormal", "lcm-ml", "heterogeneity", "lcm"]


def test_a_supported_family_reaching_beyond_the_default_is_named():
    from undercount.uncertainty.families import REACH, SUPPORT_DELTA
    from undercount.uncertainty.families import supported_reach as searched

    def supported_reach(*args):
        reach, search = searched(*args)  # no table: AIC as given
        assert search is None
        return reach

    default = _res("loglinear", 1000, 900, 1100)
    wide = _res("logitnormal", 1050, 950, 1250)  # with it: 900-1250, 1.75 times as wide
    near = _res("lcm-ml", 1000, 880, 1150)  # with it: 880-1150, 1.35 times
    aic = {"loglinear: m": 500.0, "logitnormal: m": 501.5, "lcm-ml: m": 500.2}
    (reach,) = supported_reach(default, [wide, near], aic)
    assert (reach.label, reach.lower, reach.upper) == ("logitnormal: m", 950, 1250)
    assert reach.delta_aic == pytest.approx(1.5)
    # beyond substantial support, the same interval is not named
    aic_far = {**aic, "logitnormal: m": 500.0 + SUPPORT_DELTA + 0.1}
    assert supported_reach(default, [wide, near], aic_far) == ()
    # exactly REACH times as wide is not more than REACH times
    edge = _res("logitnormal", 1000, 900, 900 + REACH * 200)
    assert supported_reach(default, [edge], aic) == ()
    # at the boundary of the model it extends (sigma = 0) a family is exactly 2 above it,
    # to the optimiser's rounding: within substantial support, whichever way it rounds
    for rounding in (-1e-11, 1e-11):
        aic_edge = {**aic, "logitnormal: m": 500.0 + SUPPORT_DELTA + rounding}
        assert [r.label for r in supported_reach(default, [wide], aic_edge)] == [
            "logitnormal: m"]
    # a family without an AIC, or not identified, is never named
    assert supported_reach(default, [wide], {"loglinear: m": 500.0}) == ()
    # a family unbounded above reaches beyond any bounded default
    open_ = _res("lcm-ml", 1200, 950, math.inf)
    assert [r.label for r in supported_reach(default, [open_], aic)] == ["lcm-ml: m"]


def test_the_reach_makes_the_spread_disagree_and_says_why():
    from undercount.uncertainty.families import Reach

    s = family_spread([_res("a", 1000, 900, 1100), _res("b", 1050, 950, 1250)])
    assert not s.disagree
    s = dataclasses.replace(s, reach=(Reach("b: m", 950, 1250, 1.5),))
    assert s.disagree
    w = s.warning()
    assert w is not None and w.startswith(FAMILIES_DISAGREE)
    assert ("b: m, which describes the people observed about as well (its AIC 1.5 above "
            "the smallest), has the interval 950 to 1,250; with this default's, the two span "
            "more than 1.5 times this default's width") in w
    assert s.to_dict()["reach"] == [
        {"family": "b: m", "interval": [950, 1250], "delta_aic": 1.5}]


def test_kosovo_default_names_three_latent_classes_without_an_upper_bound():
    # Three latent classes have the smallest AIC on Kosovo (BIC keeps the log-linear model)
    # and a profile interval with no upper end: the default's 7,896-22,273 depends on it.
    res = estimate("kosovo", seed=1)
    (reach,) = res.families["spread"]["reach"]
    assert reach["family"] == "lcm-ml: 3 classes" and reach["delta_aic"] == 0.0
    assert reach["interval"][1] is None or not math.isfinite(reach["interval"][1])
    (warning,) = [w for w in res.warnings if w.startswith(FAMILIES_DISAGREE)]
    assert ("lcm-ml: 3 classes, which describes the people observed about as well (the "
            "smallest AIC), has an interval from 9,371 with no upper bound") in warning


def _two_groups(seed: int) -> CaptureTable:
    """Group a: independent lists; group b: two latent classes (a tenth easy to capture)."""
    rng = np.random.default_rng(seed)
    easy = rng.random(1500) < 0.1
    p_b = np.where(easy, 0.7, 0.06)[:, None] * np.ones(4)
    p_a = np.array([0.3, 0.4, 0.5, 0.35])
    caught = np.vstack([rng.random((1000, 4)) < p_a, rng.random((1500, 4)) < p_b])
    group = np.array(["a"] * 1000 + ["b"] * 1500)
    seen = caught.any(axis=1)
    return CaptureTable(lists=("L1", "L2", "L3", "L4"), patterns=caught[seen].astype(np.uint8),
                        counts=np.ones(int(seen.sum()), dtype=np.int64),
                        covariates=pd.DataFrame({"group": group[seen]}))


def test_the_stratified_default_compares_the_families_within_each_stratum():
    from undercount.models.loglinear import LogLinearEstimator
    from undercount.strata import StratifiedEstimator
    from undercount.uncertainty.families import stratified_family_check

    table = _two_groups(3)
    strat = StratifiedEstimator(estimator=LogLinearEstimator(select="bic"), strata=("group",),
                                replicates=50).fit(table, rng=np.random.default_rng(1))
    block, (warning,) = stratified_family_check(
        strat, table, ["group"], np.random.default_rng(2))
    a, b = block["strata"]["group=a"], block["strata"]["group=b"]
    assert [r["method"] for r in b["results"]] == ["loglinear", "logitnormal", "lcm-ml"]
    # independent lists in group a: the families agree; two classes in group b: they do
    # not, and BIC, which the stratified default does not apply, leaves the log-linear
    # model no weight there (the JSON says so)
    assert not a["spread"]["disagree"] and b["spread"]["disagree"]
    assert b["weights"]["loglinear: [12,13,14,23,24,34]"] < 1e-3
    assert warning.code == "families_disagree" and warning.severity == "warning"
    assert warning.message.startswith(f"{FAMILIES_DISAGREE} within 1 of 2 strata (this "
                                      "default fits the log-linear model in each): in group=b, ")
    assert "group=a" not in warning.message
    assert "the intervals of loglinear: [12,13,14,23,24,34] and logitnormal" in warning.message
    json.dumps(block)
    # the same stream gives the same block
    again, _ = stratified_family_check(strat, table, ["group"], np.random.default_rng(2))
    assert json.dumps(again) == json.dumps(block)


def test_the_stratified_check_reads_the_search_penalty_each_stratum_counted(monkeypatch):
    # beyond 5 lists each stratum's stepwise search is counted in its weights once: the
    # check must not add a second penalty of its own
    from undercount.models.loglinear import LogLinearEstimator
    from undercount.strata import StratifiedEstimator
    from undercount.uncertainty.families import stratified_family_check

    rng = np.random.default_rng(5)
    rates = np.array([[0.2, 0.25, 0.15, 0.3, 0.2, 0.1], [0.1, 0.15, 0.1, 0.2, 0.12, 0.08]])
    caught = np.vstack([rng.random((1500, 6)) < rates[0], rng.random((1500, 6)) < rates[1]])
    group = np.array(["a"] * 1500 + ["b"] * 1500)
    seen = caught.any(axis=1)
    table = CaptureTable(lists=tuple(f"L{i}" for i in range(1, 7)),
                         patterns=caught[seen].astype(np.uint8),
                         counts=np.ones(int(seen.sum()), dtype=np.int64),
                         covariates=pd.DataFrame({"group": group[seen]}))
    strat = StratifiedEstimator(estimator=LogLinearEstimator(select="stepwise"),
                                strata=("group",), replicates=20).fit(
        table, rng=np.random.default_rng(1))

    def no_second_draw(*args, **kwargs):
        raise AssertionError("the check drew a second penalty")

    monkeypatch.setattr("undercount.uncertainty.families.search_penalty", no_second_draw)
    block, _ = stratified_family_check(strat, table, ["group"], np.random.default_rng(2))
    for part in block["strata"].values():
        counted = part["search_penalty"]
        assert counted is not None and counted["replicates"] == 400
        assert part["spread"]["search_penalty"] == counted


def test_a_family_not_identified_has_no_number_in_the_json():
    # Gaza's three lists: dga's average is the prior's (the saturated graph carries it), so
    # the default's families block lists dga as not identified, with no estimate to plot.
    res = estimate("gaza_lancet_2025", seed=1)
    (dga,) = [r for r in res.families["results"] if r["method"] == "dga"]
    assert dga["identified"] is False and dga["estimate"] is None and dga["interval"] is None
    assert any(x["family"].startswith("dga") for x in res.families["spread"]["not_identified"])
    json.dumps(res.to_dict(), allow_nan=False)
