"""The cross-family default: BIC on the observed histories, weights, and what the default is."""

from __future__ import annotations

import math

import numpy as np
import pytest

from undercount import datasets
from undercount.core.table import CaptureTable, patterns_from_codes
from undercount.models.heterogeneity import LogitNormalEstimator
from undercount.models.latent_class import FiniteClassEstimator
from undercount.models.latent_class.finite import fit_finite_classes
from undercount.models.loglinear import LogLinearEstimator
from undercount.pipeline.estimate import estimate
from undercount.uncertainty.crossfamily import (
    WEIGHT_FLOOR,
    conditional_bic,
    conditional_fit,
    criterion_weights,
    cross_family,
    information_criterion,
)

KOSOVO_MEMORY_BOOK = 10_401


def _table(probs, sizes, seed: int) -> CaptureTable:
    rng = np.random.default_rng(seed)
    p = np.repeat(np.asarray(probs, dtype=float), sizes, axis=0)
    J = p.shape[1]
    codes = (rng.random(p.shape) < p).astype(np.int64) @ (1 << np.arange(J - 1, -1, -1))
    full = np.bincount(codes, minlength=2**J)
    seen = np.flatnonzero(full[1:]) + 1
    return CaptureTable(lists=tuple("ABCDE"[:J]), patterns=patterns_from_codes(seen, J),
                        counts=full[seen], source="simulated")


def test_criterion_weights_are_exp_of_minus_half_the_criterion():
    w = criterion_weights({"a": 100.0, "b": 102.0, "c": 130.0})
    assert sum(w.values()) == pytest.approx(1.0)
    assert w["b"] / w["a"] == pytest.approx(math.exp(-1.0))
    assert w["c"] < 1e-6
    assert criterion_weights({"a": 5.0, "b": 5.0}) == {"a": 0.5, "b": 0.5}


def test_aic_and_bic_share_the_loglikelihood_and_differ_by_the_penalty():
    kosovo = datasets.load("kosovo")
    n = kosovo.n_observed
    for res in (LogLinearEstimator(model="[12,34]").fit(kosovo),
                LogitNormalEstimator(model="Mth-Normal").fit(kosovo),
                FiniteClassEstimator().fit(kosovo, rng=np.random.default_rng(0))):
        loglik, k = conditional_fit(res, kosovo)
        assert information_criterion(res, kosovo, "aic") == pytest.approx(-2 * loglik + 2 * k)
        assert information_criterion(res, kosovo, "bic") == pytest.approx(
            -2 * loglik + k * math.log(n))
        assert conditional_bic(res, kosovo) == information_criterion(res, kosovo, "bic")
    # [12,34]: 4 main effects and 2 interactions besides the intercept
    assert conditional_fit(LogLinearEstimator(model="[12,34]").fit(kosovo), kosovo)[1] == 6


def test_the_families_bic_share_one_likelihood():
    # Independent lists are one model in all three families: the log-linear main-effects
    # model, one latent class, and the logit-normal model at sigma = 0 (one parameter more).
    kosovo = datasets.load("kosovo")
    n = kosovo.n_observed
    mt = LogLinearEstimator(model="[1,2,3,4]").fit(kosovo)
    one_class = fit_finite_classes(kosovo, 1, np.random.default_rng(0))
    assert conditional_bic(mt, kosovo) == pytest.approx(one_class.bic, abs=1e-4)
    ln = LogitNormalEstimator(model="Mth-Normal").fit(kosovo)
    chosen = ln.models[0]
    assert conditional_bic(ln, kosovo) == chosen.bic
    # 4 list logits and sigma: 5 free parameters on the conditional likelihood
    assert chosen.bic == pytest.approx(chosen.aic + 5 * (math.log(n) - 2))


def test_two_classes_take_the_weight_and_are_the_default_exactly():
    table = _table([[0.033, 0.033, 0.099, 0.132, 0.033], [0.66, 0.825, 0.759, 0.99, 0.693]],
                   [1800, 200], seed=4)
    loglinear = LogLinearEstimator(select="bic").fit(table)
    out = cross_family(loglinear, table, np.random.default_rng(9))
    assert max(out.weights, key=out.weights.get).startswith("lcm-ml")
    assert out.weights[max(out.weights, key=out.weights.get)] > 1 - WEIGHT_FLOOR
    # the same fit as `--method lcm-ml` with the generator the default spawns for it
    fit_rng, _ = np.random.default_rng(9).spawn(2)
    # (the logit-normal family, fitted first, draws nothing from the generator; here its
    # MLE does not exist, and the default lists it among the failures)
    assert [m for m, _ in out.failures] == ["logitnormal"]
    alone = FiniteClassEstimator().fit(table, rng=fit_rng)
    assert out.result.method == "lcm-ml"
    assert (out.result.estimate, out.result.interval) == (alone.estimate, alone.interval)


def test_kosovo_default_is_the_loglinear_bootstrap_near_the_memory_book():
    res = estimate("kosovo", seed=1)
    assert res.method == "loglinear" and res.model == "[123,14,34]"
    weights = res.families["weights"]
    assert weights["loglinear: [123,14,34]"] > 1 - WEIGHT_FLOOR
    assert res.families["rule"] == "bic" and set(res.families["bic"]) == set(weights)
    assert set(res.families["aic"]) == set(weights)
    assert abs(res.estimate / KOSOVO_MEMORY_BOOK - 1) < 0.10
    same = estimate("kosovo", seed=1, bootstrap=1000, ntop=10, resample="parametric-aic")
    assert (res.estimate, res.interval) == (same.estimate, same.interval)
    assert same.families is None
    assert res.to_dict()["families"]["weights"] == pytest.approx(weights)


def test_a_pooled_default_averages_estimates_and_mixes_intervals():
    res = estimate("hiv_rome", seed=1)
    assert res.method == "families"
    w = res.weights
    assert sum(w.values()) == pytest.approx(1.0) and len(w) >= 2
    members = {r["method"] + ": " + r["model"]: r for r in res.families["results"][1:]}
    mean = sum(weight * members[name]["estimate"] for name, weight in w.items())
    assert res.estimate == pytest.approx(mean)
    lows = [members[k]["interval"][0] for k in w]
    highs = [members[k]["interval"][1] for k in w]
    assert min(lows) * 0.9 < res.interval.lower and res.interval.upper < max(highs)
    # one disagreement warning (the family check's), not one per pooling step
    assert sum(d.code == "families_disagree" for d in res.diagnostics) <= 1
    again = estimate("hiv_rome", seed=1)
    assert (again.estimate, again.interval) == (res.estimate, res.interval)


def test_the_default_pools_a_family_whose_interval_starts_at_the_people_observed():
    # On the shipped korea table (123 people, 3 lists) two latent classes' profile interval
    # starts at n: the default once refused the table ("does not define a distribution").
    res = estimate("korea", seed=1)
    weights = res.families["weights"]
    assert set(weights) >= {"loglinear: [12,23]", "lcm-ml: 2 classes"}
    assert 0.001 <= weights["lcm-ml: 2 classes"] < 0.05
    assert 123.0 < res.interval.lower < res.estimate < res.interval.upper
    assert res.estimate == pytest.approx(156.9, abs=0.5)
    # The check's heterogeneity row carries the range of the Mth models tied on AIC.
    (het,) = [r for r in res.families["results"] if r["method"] == "heterogeneity"]
    assert het["tied"]["models"] == ["Mth-Poisson2", "Mth-Darroch", "Mth-Gamma3.5"]
    assert het["tied"]["estimates"][0] < het["estimate"] == het["tied"]["estimates"][1]


def test_failures_listed_are_the_families_never_fitted_and_a_failed_penalty():
    from undercount.uncertainty.crossfamily import CrossFamily
    from undercount.uncertainty.families import label

    kosovo = datasets.load("kosovo")
    fitted = LogLinearEstimator(select="bic").fit(kosovo)
    out = CrossFamily(
        fitted, (fitted,), "bic", {}, {}, {}, failures=(
            (label(fitted), "not identified: shown among the results"),
            ("logitnormal", "the MLE does not exist"),
            (f"{label(fitted)} (search penalty)", "fewer than half its resamples could be "
             "fitted; its weight counts the parameters its model kept")))
    assert [f["method"] for f in out.unfitted()] == [
        "logitnormal", f"{label(fitted)} (search penalty)"]


def test_the_pooled_default_states_each_shared_assumption_once():
    # Korea: the log-linear and latent-class families pooled; both assume a closed
    # population and error-free linkage, in the same words, so the result says each once.
    from undercount.core.result import CLOSED_POPULATION, LINKED_WITHOUT_ERROR
    from undercount.pipeline.estimate import estimate

    res = estimate("korea", seed=1)
    assert len(res.families["weights"]) > 1
    closed = [a for a in res.assumptions if "closed" in a.lower()]
    linked = [a for a in res.assumptions if "linked" in a.lower()]
    assert closed == [CLOSED_POPULATION] and linked == [LINKED_WITHOUT_ERROR]
