"""Stacking the model families: weights, leave-one-out scores and the pooled mixture."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from undercount import datasets
from undercount.core.draws import n_draws
from undercount.core.estimator import Estimator
from undercount.core.result import NOT_IDENTIFIED, Diagnostic, Interval, MSEResult
from undercount.core.table import CaptureTable
from undercount.models.graphical._marginal import SubsetTerms
from undercount.models.graphical.graphs import coefficient_matrix, decomposable_graphs
from undercount.models.heterogeneity import HeterogeneityEstimator
from undercount.models.latent_class import LatentClassEstimator
from undercount.models.loglinear import LogLinearEstimator
from undercount.uncertainty.bootstrap import Bootstrap
from undercount.uncertainty.families import FAMILIES_DISAGREE_CODE
from undercount.uncertainty.stacking import (
    FamilyFits,
    StackedEstimator,
    StackedResult,
    _loo_graphs,
    _n_draws,
    _two_piece_lognormal,
    pool,
    stacking_members,
    stacking_weights,
)

from ._toy import SometimesNoEstimate


def test_weights_go_to_the_family_that_predicts_every_pattern_better():
    ld = np.log([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    w = stacking_weights(ld, np.array([50.0, 30.0, 20.0]))
    assert w[0] == pytest.approx(1.0, abs=1e-6)


def test_weights_maximise_the_stacking_objective():
    ld = np.log([[0.7, 0.3], [0.4, 0.6]])
    counts = np.array([55.0, 45.0])

    def neg(w: float) -> float:
        return -float(counts @ np.log(w * np.exp(ld[0]) + (1 - w) * np.exp(ld[1])))

    best = minimize_scalar(neg, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-10})
    w = stacking_weights(ld, counts)
    assert w.sum() == pytest.approx(1.0)
    assert w[0] == pytest.approx(best.x, abs=1e-6)
    assert 0.0 < w[0] < 1.0


def test_graph_scores_are_the_hyper_dirichlet_predictive_without_the_person():
    """One graph at a fixed N: the LOO density is the ratio of the complete table's marginal
    likelihoods with and without the person (Madigan & York's Dirichlet-multinomial), divided
    by one minus the same for the empty pattern."""
    t = CaptureTable(lists=("A", "B", "C"),
                     patterns=np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0],
                                        [1, 0, 1], [0, 1, 1], [1, 1, 1]]),
                     counts=np.array([60, 45, 50, 12, 9, 11, 4]))
    delta, m = 0.125, 80
    name = "[12][3]"
    graphs = decomposable_graphs(3)
    g = next(i for i, gr in enumerate(graphs) if gr.name == name)
    row = coefficient_matrix(3)[g]
    res = SimpleNamespace(graph_names=(name,), graph_probabilities=np.array([1.0]),
                          graph_means=np.array([t.n_observed + m]), delta=delta)
    codes = t.codes()
    got = _loo_graphs(res, t, codes)

    full = t.full_counts()

    def log_ml(y: np.ndarray, missing: int) -> float:
        return float(row @ SubsetTerms.from_counts(y, delta).terms(np.array([missing]))[:, 0])

    for code, value in zip(codes, got, strict=True):
        y = full.copy()
        y[code] -= 1
        log_px = log_ml(full, m) - log_ml(y, m)
        log_p0 = log_ml(y, m + 1) - log_ml(y, m)
        assert value == pytest.approx(log_px - math.log1p(-math.exp(log_p0)), abs=1e-9)


def test_latent_class_pattern_probabilities_leave_the_draws_of_n_unchanged():
    t = datasets.load("kosovo")
    est = LatentClassEstimator(chains=1, iterations=2_000, burn_in=500)
    plain = est.fit(t, rng=np.random.default_rng(3))
    kept = LatentClassEstimator(chains=1, iterations=2_000, burn_in=500,
                                pattern_probs=True).fit(t, rng=np.random.default_rng(3))
    assert kept.estimate == plain.estimate
    assert plain.pattern_log_probs is None
    assert kept.pattern_log_probs.shape == (200, 15)
    # Kosovo has all 15 observed patterns: their conditional probabilities sum to one.
    np.testing.assert_allclose(np.exp(kept.pattern_log_probs).sum(axis=1), 1.0, rtol=1e-10)
    np.testing.assert_array_equal(np.sort(kept.pattern_codes), np.arange(1, 16))


@pytest.fixture(scope="module")
def kosovo_stacked() -> StackedResult:
    members = stacking_members(4, replicates=200, n_jobs=1)
    return StackedEstimator(members=members).fit(datasets.load("kosovo"),
                                                 rng=np.random.default_rng(7))


def test_kosovo_stacks_four_families(kosovo_stacked):
    r = kosovo_stacked
    families = r.families["results"]
    assert [f["method"] for f in families] == ["loglinear", "heterogeneity", "lcm", "dga"]
    assert sum(r.weights.values()) == pytest.approx(1.0)
    assert r.interval.lower < r.estimate < r.interval.upper
    assert r.n_observed == 4400
    # The four families disagree on Kosovo (Mth-Chao's interval lies below dga's).
    assert FAMILIES_DISAGREE_CODE in {d.code for d in r.diagnostics}
    # The pooled interval spans the families that carry weight.
    for f in families:
        if f["weight"] > 0.2:
            assert r.interval.lower <= f["estimate"] <= r.interval.upper


def test_stacked_result_is_reproducible_and_round_trips(kosovo_stacked):
    again = StackedEstimator(members=stacking_members(4, replicates=200, n_jobs=1)).fit(
        datasets.load("kosovo"), rng=np.random.default_rng(7))
    assert again.estimate == kosovo_stacked.estimate
    assert again.weights == kosovo_stacked.weights
    d = kosovo_stacked.to_dict()
    json.dumps(d)
    assert set(d["weights"]) == {f"{f['method']}: {f['model']}"
                                 for f in d["families"]["results"]}
    assert StackedResult.from_dict(d).to_dict() == d
    lo, hi = kosovo_stacked.conf_int(0.5).lower, kosovo_stacked.conf_int(0.5).upper
    assert kosovo_stacked.interval.lower < lo < hi < kosovo_stacked.interval.upper


@dataclass(frozen=True, kw_only=True)
class _NotIdentified(Estimator):
    method: ClassVar[str] = "stub"

    def _fit(self, table, *, rng=None):
        return MSEResult(method="stub", model="saturated", estimate=1e6,
                         interval=Interval(1e3, 1e9), n_observed=table.n_observed,
                         lists=table.lists,
                         diagnostics=(Diagnostic(NOT_IDENTIFIED, "the saturated model"),))


def test_a_family_whose_n_is_not_identified_is_left_out():
    t = datasets.load("kosovo")
    members = (Bootstrap(estimator=LogLinearEstimator(), replicates=100, ntop=10, n_jobs=1),
               HeterogeneityEstimator(), _NotIdentified())
    r = StackedEstimator(members=members).fit(t, rng=np.random.default_rng(1))
    assert "stub: saturated" in r.excluded
    assert "not identified" in r.excluded["stub: saturated"]
    assert set(r.weights) == {"loglinear: [123,14,34]", "heterogeneity: Mth-Chao"}
    assert r.interval.upper < 1e5


def test_stacking_needs_two_families():
    with pytest.raises(Exception, match="at least two"):
        StackedEstimator(members=(HeterogeneityEstimator(),))


def test_the_same_fits_pooled_by_other_rules(kosovo_stacked):
    fits = kosovo_stacked.fits
    equal = pool(fits, "equal", np.random.default_rng(1))
    assert set(equal.weights.values()) == {0.25}
    assert equal.interval.method == "equal mixture"
    bma = pool(fits, "pseudo-bma", np.random.default_rng(1))
    elpd = bma.elpd_loo
    best = max(elpd, key=lambda k: elpd[k])
    assert max(bma.weights, key=lambda k: bma.weights[k]) == best
    assert sum(bma.weights.values()) == pytest.approx(1.0)
    # An equal mixture of four families that disagree is wider than the stacked one here.
    width = lambda r: r.interval.upper - r.interval.lower  # noqa: E731
    assert width(equal) > width(kosovo_stacked)


def test_stacked_strata_total_sums_each_strata_mixture():
    from undercount.pipeline.estimate import estimate
    from undercount.validate import DESIGNS

    table = DESIGNS["cov4"].sample(np.random.default_rng(2))
    column = list(table.covariates.columns)
    res = estimate(table, method="stacked", strata=column, bootstrap=100, seed=3)
    assert res.interval.method.startswith("summed draws of each stratum's pooled mixture")
    parts = list(res.strata.values())
    assert all(p.method == "stacked" for p in parts) and len(parts) >= 2
    assert res.interval.lower < res.estimate < res.interval.upper
    assert sum(p.interval.lower for p in parts) < res.interval.lower
    # Mixture draws, not posterior draws: the report must not call them posterior.
    assert n_draws(res, posterior_only=True) is None and n_draws(res) is not None


def _profiled(estimate: float, lower: float, upper: float) -> MSEResult:
    return MSEResult(method="profiled", model=f"upper {upper}", estimate=estimate,
                     interval=Interval(lower, upper, 0.95, "profile"), n_observed=1000,
                     lists=("A", "B", "C"))


def _criterion_mixture(weights: list[float]) -> MSEResult:
    members = (_profiled(2000.0, 1800.0, 2300.0), _profiled(2600.0, 2000.0, math.inf))
    fits = FamilyFits(
        n_observed=1000, lists=("A", "B", "C"), counts=np.ones(1), results=members,
        pooled=members, scores=np.empty((2, 0)), excluded={}, pareto_k=None,
        settings={"rule": "bic"}, weights=np.array(weights))
    return pool(fits, "criterion", np.random.default_rng(3))


def test_a_family_unbounded_above_leaves_the_mixture_bounded_below_the_tail():
    # Half the unbounded family's mass is above any bound: with weight 0.02 that is 1% of
    # the mixture, inside the 2.5% upper tail; with 0.2 it is 10%, and no bound holds.
    light = _criterion_mixture([0.98, 0.02])
    assert math.isfinite(light.interval.upper)
    assert 2300.0 <= light.interval.upper < 2700.0
    assert light.estimate == pytest.approx(0.98 * 2000.0 + 0.02 * 2600.0)
    heavy = _criterion_mixture([0.8, 0.2])
    assert heavy.interval.upper == math.inf
    assert 1800.0 < heavy.interval.lower < 2000.0


def test_an_interval_closed_at_the_people_observed_is_a_distribution_down_to_them():
    # A profile likelihood above its cut-off at N = n gives the lower end n: N - n rounds
    # to 0 there, so that family's lower tail ends within half a person of n, and the
    # mixture (its 2.5% quantile the first family's 5%) is drawn.
    members = (_profiled(1004.0, 1000.0, 1030.0), _profiled(1010.0, 1002.0, 1025.0))
    fits = FamilyFits(
        n_observed=1000, lists=("A", "B", "C"), counts=np.ones(1), results=members,
        pooled=members, scores=np.empty((2, 0)), excluded={}, pareto_k=None,
        settings={"rule": "bic"}, weights=np.array([0.5, 0.5]))
    res = pool(fits, "criterion", np.random.default_rng(3))
    assert 1000.0 <= res.interval.lower < 1002.0
    assert res.estimate == pytest.approx(1007.0)
    assert 1025.0 < res.interval.upper < 1030.0
    # An estimate at n itself: the family's draws all round to n below its upper end.
    at_n = _profiled(1000.0, 1000.0, 1012.0)
    draws = _two_piece_lognormal(at_n, 4000, np.random.default_rng(4))
    assert draws.min() >= 1000.0 and np.mean(draws <= 1000.5) == pytest.approx(0.5, abs=0.03)
    assert np.quantile(draws, 0.975) == pytest.approx(1012.0, rel=2e-3)


def test_a_smoothed_bootstrap_enters_a_mixture_as_its_log_normal():
    # A pool draws a smoothed bootstrap's N from exp(centre + sd z): the equal-tailed
    # quantiles of the draws are its interval, not the replicates' percentiles.
    boot = Bootstrap(estimator=LogLinearEstimator(select="bic"), replicates=200,
                     interval="smoothed", kind="augmented", ntop=10, n_jobs=1)
    res = boot.fit(datasets.load("kosovo"), rng=np.random.default_rng(2))
    draws = _n_draws(res, 40_000, np.random.default_rng(3))
    lo, hi = np.quantile(draws, [0.025, 0.975])
    assert lo == pytest.approx(res.interval.lower, rel=0.01)
    assert hi == pytest.approx(res.interval.upper, rel=0.02)


def test_a_bootstrap_with_replicates_without_an_estimate_draws_no_nan():
    # artificial_3's default once gave the interval (nan, nan): interpolating the
    # percentile draws towards a replicate at +inf gives inf - inf.
    table = CaptureTable.from_mapping(
        {"100": 300, "010": 250, "001": 200, "110": 60, "101": 50, "011": 40, "111": 10},
        lists=["A", "B", "C"])
    res = Bootstrap(estimator=SometimesNoEstimate(), replicates=200,
                    interval="percentile").fit(table, rng=np.random.default_rng(3))
    share = res.failed / 200
    assert 0 < share < 0.5
    draws = _n_draws(res, 20_000, np.random.default_rng(4))
    assert not np.isnan(draws).any()
    assert np.mean(np.isinf(draws)) == pytest.approx(share, abs=0.02)
