"""The logit-normal models (Coull & Agresti 1999): likelihood, MLE, profile interval, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from undercount import datasets
from undercount.core.table import CaptureTable, patterns_from_codes
from undercount.errors import ConfigError, InputError
from undercount.models.heterogeneity import HeterogeneityEstimator, LogitNormalEstimator
from undercount.models.heterogeneity.logit_normal import _Likelihood, fit_logit_normal


def _simulate(N: int, alpha, sigma: float, seed: int) -> CaptureTable:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(N)
    p = special.expit(np.asarray(alpha)[None, :] + sigma * z[:, None])
    caught = rng.random(p.shape) < p
    J = len(alpha)
    codes = caught.astype(np.int64) @ (1 << np.arange(J - 1, -1, -1))
    full = np.bincount(codes, minlength=2**J)
    seen = np.flatnonzero(full[1:]) + 1
    return CaptureTable(lists=tuple(f"L{j + 1}" for j in range(J)),
                        patterns=patterns_from_codes(seen, J), counts=full[seen], source="sim")


def _pi_by_quad(omega: np.ndarray, alpha: np.ndarray, sigma: float) -> float:
    def f(z: float) -> float:
        p = special.expit(alpha + sigma * z)
        return float(np.prod(np.where(omega == 1, p, 1 - p)) * stats.norm.pdf(z))

    return integrate.quad(f, -12, 12, epsabs=1e-13, limit=200)[0]


@pytest.mark.parametrize("sigma", [0.0, 1.7, 5.0, 8.0])
def test_pattern_probabilities_match_adaptive_quadrature(sigma):
    table = datasets.load("hare")
    lik = _Likelihood(table, "Mth-Normal", 181)
    theta = np.array([-0.3, 0.1, -0.8, 0.4, -0.2, 0.0, sigma])
    ll_obs, _, log_pi0 = lik.terms(theta, 0.0)
    assert math.exp(log_pi0) == pytest.approx(
        _pi_by_quad(np.zeros(6), theta[:6], sigma), rel=1e-8)
    ll_quad = sum(c * math.log(_pi_by_quad(w, theta[:6], sigma))
                  for w, c in zip(lik.omega, lik.counts, strict=True))
    assert ll_obs == pytest.approx(ll_quad, rel=1e-8)


@pytest.mark.parametrize("model", ["Mth-Normal", "Mh-Normal"])
def test_gradients_match_finite_differences(model):
    lik = _Likelihood(datasets.load("kosovo"), model, 181)
    theta = lik.start()
    theta[-1] = 1.3
    def full(th):
        return lik.terms(th, 700.0)[:2]

    for fun in (full, lik.conditional):
        approx = optimize.approx_fprime(theta, lambda th, f=fun: f(th)[0], 1e-6)
        np.testing.assert_allclose(fun(theta)[1], approx, rtol=2e-4, atol=2e-3)


def test_mle_is_a_stationary_point_of_the_full_likelihood():
    table = datasets.load("hare")
    fit, iv, _ = fit_logit_normal(table, "Mth-Normal")
    lik = _Likelihood(table, "Mth-Normal", 181)
    n = lik.n

    def full(x: np.ndarray) -> float:
        f0 = math.exp(x[-1])
        return float(special.gammaln(n + f0 + 1) - special.gammaln(f0 + 1)
                     + lik.terms(x[:-1], f0)[0])

    x_hat = np.append(np.append(fit.alpha, fit.sigma), math.log(fit.estimate - n))
    assert full(x_hat) == pytest.approx(fit.loglik, abs=1e-6)
    # no direction raises the likelihood: a Nelder-Mead search from the optimum stays there
    res = optimize.minimize(lambda x: -full(x), x_hat, method="Nelder-Mead",
                            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000})
    assert -res.fun <= fit.loglik + 1e-5
    # the interval's ends lie on the profile's chi-square cut-off
    cut = fit.loglik - stats.chi2.ppf(0.95, 1) / 2
    for end in (iv.lower, iv.upper):
        s = math.log(end - n)
        prof = optimize.minimize(lambda th, s=s: -full(np.append(th, s)), x_hat[:-1],
                                 method="L-BFGS-B", bounds=lik.bounds())
        assert -prof.fun == pytest.approx(cut, abs=1e-4)
    assert iv.lower < fit.estimate < iv.upper


def test_recovers_a_large_simulated_population():
    alpha = np.array([-1.5, -1.0, -2.0, -1.2])
    table = _simulate(100_000, alpha, 1.0, seed=3)
    res = LogitNormalEstimator(model="Mth-Normal").fit(table)
    assert res.estimate == pytest.approx(100_000, rel=0.03)
    assert res.sigma == pytest.approx(1.0, abs=0.1)
    np.testing.assert_allclose(res.capture_logits, alpha, atol=0.1)
    assert res.interval.lower < 100_000 < res.interval.upper


def test_no_heterogeneity_reduces_to_mt():
    table = _simulate(20_000, [-1.0, -0.5, -1.5, -0.8], 0.0, seed=5)
    res = LogitNormalEstimator(model="Mth-Normal").fit(table)
    mt = HeterogeneityEstimator(model="Mt").fit(table)
    assert res.sigma < 0.15
    assert res.estimate == pytest.approx(mt.estimate, rel=0.01)


def test_selection_by_aic_records_both_models():
    res = LogitNormalEstimator().fit(datasets.load("kosovo"))
    assert {m.model for m in res.models} == {"Mth-Normal", "Mh-Normal"}
    chosen = min(res.models, key=lambda m: m.aic)
    assert res.model == chosen.model
    assert res.to_dict()["sigma"] == pytest.approx(res.sigma)
    assert any("normal distribution on the log-odds" in a for a in res.assumptions)


def test_two_lists_and_bad_settings_are_refused():
    two = CaptureTable(lists=("A", "B"), patterns=np.array([[1, 0], [0, 1], [1, 1]]),
                       counts=np.array([10, 12, 5]), source="two.csv")
    with pytest.raises(InputError, match=r"two\.csv.*at least 3 lists"):
        LogitNormalEstimator().fit(two)
    with pytest.raises(ConfigError, match="nodes"):
        LogitNormalEstimator(nodes=2)
