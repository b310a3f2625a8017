"""The HMC move of the latent-class sampler targets LCMCR's marginal posterior.

The move updates (lambda, pi) from their posterior given the observed table with the class
allocations and N summed out (``_kernels.hmc.log_target``). These tests check that target
against independent formulas (scipy's Beta densities and a direct sum over N), its gradient
against finite differences, including the log-scale fallbacks, and the whole sampler with
the move against LCMCR's plain Gibbs sweep on a small table.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from undercount import CaptureTable, datasets
from undercount.core.draws import import_arviz
from undercount.models.latent_class import LatentClassEstimator
from undercount.models.latent_class._kernels import hmc

az = import_arviz()

X = np.array(
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]],
    dtype=np.uint8,
)
COUNTS = np.array([40, 31, 25, 9, 6, 7, 3], dtype=np.int64)


def _target(q, x, counts, prior_a, prior_b, alpha, kk):
    grad = np.empty_like(q)
    work = np.empty(hmc.hmc_work_size(x.shape[1], kk))
    value = hmc.log_target(q, grad, x, counts, int(counts.sum()), prior_a, prior_b,
                           alpha, kk, work)
    return value, grad


def _unpack(q, jj, kk):
    """lambda (J, K), pi (K) and V (K - 1) from q, on the log scale where it matters."""
    eta = q[: jj * kk].reshape(jj, kk)
    u = q[jj * kk:]
    log_lam, log_1m = -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)
    log_v, log_1mv = -np.logaddexp(0.0, -u), -np.logaddexp(0.0, u)
    log_pi = np.append(log_v, 0.0) + np.concatenate([[0.0], np.cumsum(log_1mv)])
    return log_lam, log_1m, log_v, log_1mv, log_pi


def _beta_logpdf(log_x, log_1mx, a, b):
    # Beta(a, b) log density from log x and log(1 - x), exact where x rounds to 0 or 1.
    return (a - 1.0) * log_x + (b - 1.0) * log_1mx - special.betaln(a, b)


def _reference(q, x, counts, prior_a, prior_b, alpha, kk):
    """The target from its definition: Beta log densities plus log Jacobians, and the
    observed-data likelihood in log-sum-exp form."""
    jj = x.shape[1]
    n = counts.sum()
    log_lam, log_1m, log_v, log_1mv, log_pi = _unpack(q, jj, kk)
    prior = 0.0
    for j in range(jj):
        # Beta(a, b) density of lambda times d lambda / d eta = lambda (1 - lambda).
        prior += np.sum(_beta_logpdf(log_lam[j], log_1m[j], prior_a[j], prior_b[j])
                        + log_lam[j] + log_1m[j])
    prior += np.sum(_beta_logpdf(log_v, log_1mv, 1.0, alpha) + log_v + log_1mv)
    log_px = special.logsumexp(log_pi[None, :] + x @ log_lam + (1 - x) @ log_1m, axis=1)
    log_obs = special.logsumexp(log_pi + np.log(-np.expm1(log_1m.sum(axis=0))))
    return prior + np.sum(counts * log_px) - n * log_obs


@pytest.mark.parametrize("case", ["typical", "priors", "cells_underflow", "stick_underflow"])
def test_log_target_and_gradient(case: str) -> None:
    # The scipy reference for the Beta densities is checked once against scipy.stats.
    assert _beta_logpdf(math.log(0.3), math.log(0.7), 2.5, 0.4) == pytest.approx(
        stats.beta.logpdf(0.3, 2.5, 0.4), rel=1e-12)
    rng = np.random.default_rng(11)
    jj, kk = 3, 4
    q = rng.normal(scale=1.5, size=jj * kk + kk - 1)
    prior_a = np.ones(jj)
    prior_b = np.ones(jj)
    alpha = 0.7
    if case == "priors":
        prior_a = np.array([0.5, 2.0, 1.3])
        prior_b = np.array([3.0, 0.8, 1.0])
    elif case == "cells_underflow":
        # Every class gives the three-list cell a probability below 1e-280: the log-scale
        # path for cells.
        q[: jj * kk] = -240.0 + rng.normal(size=jj * kk)
    elif case == "stick_underflow":
        # Sticks of V ~ 1 leave less than 1e-250 for the last classes: the log-scale path
        # for the weights.
        q[jj * kk:] = 300.0 + rng.normal(size=kk - 1)
    value, grad = _target(q, X, COUNTS, prior_a, prior_b, alpha, kk)
    ref = _reference(q, X, COUNTS, prior_a, prior_b, alpha, kk)
    # The target drops constants: compare differences between two points.
    q2 = q + rng.normal(scale=0.05, size=q.shape)
    value2, _ = _target(q2, X, COUNTS, prior_a, prior_b, alpha, kk)
    ref2 = _reference(q2, X, COUNTS, prior_a, prior_b, alpha, kk)
    assert value - value2 == pytest.approx(ref - ref2, rel=1e-8, abs=1e-8)
    h = 1e-6
    fd = np.array([
        (_target(q + h * e, X, COUNTS, prior_a, prior_b, alpha, kk)[0]
         - _target(q - h * e, X, COUNTS, prior_a, prior_b, alpha, kk)[0]) / (2 * h)
        for e in np.eye(q.size)
    ])
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-4 * max(1.0, np.abs(fd).max()))


def test_log_target_is_the_marginal_over_n() -> None:
    # sum over N >= n of (1/N) * multinomial(N; n_x, N - n) * p0^(N - n) * prod p_x^n_x,
    # summed directly, against the closed form prod (p_x / (1 - p0))^n_x used by the move.
    rng = np.random.default_rng(5)
    jj, kk = 3, 3
    ones = np.ones(jj)
    n = int(COUNTS.sum())
    diffs = []
    for _ in range(3):
        q = rng.normal(scale=1.0, size=jj * kk + kk - 1)
        value, _ = _target(q, X, COUNTS, ones, ones, 1.0, kk)
        log_lam, log_1m, log_v, log_1mv, log_pi = _unpack(q, jj, kk)
        log_px = special.logsumexp(log_pi[None, :] + X @ log_lam + (1 - X) @ log_1m, axis=1)
        log_p0 = special.logsumexp(log_pi + log_1m.sum(axis=0))
        big_n = np.arange(n, n + 200_000, dtype=float)
        terms = (-np.log(big_n) + special.gammaln(big_n + 1) - special.gammaln(big_n - n + 1)
                 + (big_n - n) * log_p0)
        assert terms[-1] < terms.max() - 50  # the sum has converged
        marginal = special.logsumexp(terms) + np.sum(COUNTS * log_px)
        prior = np.sum(log_lam + log_1m) + np.sum(log_v + log_1mv)  # Beta(1, 1) priors
        diffs.append(value - (marginal + prior))
    # Equal up to one constant (the multinomial coefficient of the observed counts).
    assert np.ptp(diffs) < 1e-7


def test_unpack_inverts_the_sampler_coordinates() -> None:
    rng = np.random.default_rng(3)
    jj, kk = 4, 6
    q = rng.normal(scale=2.0, size=jj * kk + kk - 1)
    lm = np.empty((jj, 2, kk))
    nu = np.empty(kk)
    log_last = hmc.hmc_unpack(q, lm, nu, kk)
    np.testing.assert_allclose(lm[:, 1] + lm[:, 0], 1.0, rtol=1e-15)
    np.testing.assert_allclose(np.log(lm[:, 1]) - np.log(lm[:, 0]), q[: jj * kk].reshape(jj, kk),
                               rtol=1e-12, atol=1e-12)
    assert nu.sum() == pytest.approx(1.0, rel=1e-14)
    assert log_last == pytest.approx(math.log(nu[-1]), rel=1e-13)
    rest = np.cumsum(nu[::-1])[::-1]  # R_k = sum_{l >= k} pi_l
    v = nu[:-1] / rest[:-1]
    np.testing.assert_allclose(np.log(v) - np.log1p(-v), q[jj * kk:], rtol=1e-9, atol=1e-9)


def _two_class_table() -> CaptureTable:
    rng = np.random.default_rng(2018)
    probs = np.array([[0.15, 0.2, 0.1, 0.25]] * 700 + [[0.6, 0.7, 0.5, 0.8]] * 300)
    x = (rng.random(probs.shape) < probs).astype(np.uint8)
    x = x[x.any(axis=1)]
    patterns, counts = np.unique(x, axis=0, return_counts=True)
    return CaptureTable(lists=tuple("ABCD"), patterns=patterns, counts=counts)


def test_sampler_with_hmc_matches_lcmcr_plain_sweep() -> None:
    # The default sampler (collapsed moves, label swaps, HMC) and LCMCR's plain Gibbs sweep
    # must give the same posterior of N. Tolerance: 4 combined Monte Carlo standard errors
    # of the mean (ArviZ, from the bulk ESS). A target missing the 1 / (1 - p0)^n factor
    # moves the mean by hundreds.
    table = _two_class_table()
    plain = LatentClassEstimator(iterations=150_000, burn_in=10_000, thin=10, collapsed_moves=0,
                                 label_swaps=False, hmc_steps=0)
    res_plain = plain.fit(table, rng=np.random.default_rng(1))
    res_hmc = LatentClassEstimator().fit(table, rng=np.random.default_rng(2))
    assert res_hmc.hmc["proposed"] > 0
    assert 0.5 < res_hmc.hmc["acceptance"] < 0.97
    for res in (res_plain, res_hmc):
        assert res.rhat < 1.01
    se = [float(az.mcse(r.draws, var_names=["N"], method="mean")["N"].item())
          for r in (res_plain, res_hmc)]
    tol = 4.0 * math.hypot(*se)
    assert abs(res_hmc.mean - res_plain.mean) <= tol, (
        res_hmc.mean, res_plain.mean, tol)
    # The median with the quantile MCSE: close enough in the body of the distribution.
    se_med = [float(az.mcse(r.draws, var_names=["N"], method="quantile", prob=0.5)["N"].item())
              for r in (res_plain, res_hmc)]
    assert abs(res_hmc.estimate - res_plain.estimate) <= 4.0 * math.hypot(*se_med)
    # And the check can fail: the spread of the posterior is far wider than the tolerance.
    assert tol < 0.2 * res_hmc.draws.posterior["N"].values.std()
    # alpha and k_star too: a wrong stick-breaking prior in the HMC target (e.g. the
    # Jacobian of logit V dropped) hardly moves N on this table but moves them by 5-12
    # standard errors.
    for var in ("alpha", "k_star"):
        means = [float(r.draws.posterior[var].mean()) for r in (res_plain, res_hmc)]
        se_var = [float(az.mcse(r.draws, var_names=[var], method="mean")[var].item())
                  for r in (res_plain, res_hmc)]
        assert abs(means[1] - means[0]) <= 4.0 * math.hypot(*se_var), (var, means, se_var)


def test_short_burn_in_is_reported() -> None:
    res = LatentClassEstimator(chains=2, iterations=2_000, burn_in=600, thin=2).fit(
        _two_class_table(), rng=np.random.default_rng(0))
    assert res.hmc["proposed"] > 0
    assert any(d.code == "hmc_unadapted" for d in res.diagnostics)


def test_hmc_is_off_with_a_bound_on_n() -> None:
    table = _two_class_table()
    res = LatentClassEstimator(chains=2, iterations=2_000, burn_in=1_000, thin=2,
                               max_n=10_000).fit(table, rng=np.random.default_rng(0))
    assert res.hmc is None
    assert any(d.code == "hmc_off" for d in res.diagnostics)
    assert res.draws.attrs["hmc_steps"] == 0


def test_integrated_autocorrelation_of_known_chains() -> None:
    from undercount.models.latent_class._kernels.sweep import integrated_autocorrelation

    rng = np.random.default_rng(5)
    iid = rng.normal(size=20_000)
    assert 0.9 < integrated_autocorrelation(iid) < 1.1
    # AR(1) with coefficient phi: tau = (1 + phi) / (1 - phi) = 19 for phi = 0.9.
    ar = np.empty(50_000)
    ar[0] = 0.0
    eps = rng.normal(size=ar.size)
    for t in range(1, ar.size):
        ar[t] = 0.9 * ar[t - 1] + eps[t]
    assert 17.0 < integrated_autocorrelation(ar) < 21.0
    assert integrated_autocorrelation(np.full(300, 7.0)) == 300.0


def test_trial_keeps_hmc_only_where_it_pays() -> None:
    # Kosovo: without HMC the autocorrelation time of N is ~30 times longer (every chain
    # keeps it). UK 2013, six sparse lists: the collapsed moves mix N as well without HMC
    # at a quarter of the cost (most chains drop it). The seeds fix each chain's choice.
    kosovo = LatentClassEstimator(iterations=2_000, thin=2).fit(
        datasets.load("kosovo"), rng=np.random.default_rng(0))
    assert kosovo.hmc["chains_using"] == 4
    taus = kosovo.hmc["trial_tau"]
    assert len(taus) == 4 and all(t["without"] > 2 * t["with"] for t in taus)
    uk = LatentClassEstimator(iterations=2_000, thin=2).fit(
        datasets.load("uk_2013"), rng=np.random.default_rng(0))
    assert uk.hmc["chains_using"] == 0
    assert uk.hmc["proposed"] == 0 and uk.hmc["acceptance"] is None


def test_trial_off_keeps_hmc_in_every_chain() -> None:
    uk = LatentClassEstimator(iterations=2_000, thin=2, adaptive_hmc=False).fit(
        datasets.load("uk_2013"), rng=np.random.default_rng(0))
    assert uk.hmc["chains_using"] == 4 and uk.hmc["proposed"] == 4 * 2_000
    assert "trial_tau" not in uk.hmc
    # Too short a burn-in for a trial: HMC stays on, as before the trial existed.
    short = LatentClassEstimator(chains=2, iterations=2_000, burn_in=2_000, thin=2).fit(
        datasets.load("uk_2013"), rng=np.random.default_rng(0))
    assert short.hmc["chains_using"] == 2 and "trial_tau" not in short.hmc
