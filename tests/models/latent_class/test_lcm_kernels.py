"""The random-variate kernels of the LCMCR sampler draw from the right distributions.

Each test uses a fixed seed, so it is deterministic; the thresholds are what a correct
sampler fails with probability about 1e-4 (chi-square / KS p-values, or 4 standard errors),
and a wrong one (a biased branch, a missing term in an acceptance test) fails at these
sample sizes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import stats

from undercount.models.latent_class._kernels import moves, variates

P_MIN = 1e-4


@njit
def _binomials(rng, n, p, size):
    out = np.empty(size, dtype=np.int64)
    for i in range(size):
        out[i] = variates.binomial(rng, n, p)
    return out


@njit
def _multinomials(rng, n, w, size):
    kk = w.shape[0]
    out = np.empty((size, kk), dtype=np.int64)
    idx = np.arange(kk)
    suffix = np.empty(kk)
    row = np.empty(kk, dtype=np.int64)
    for i in range(size):
        variates.multinomial(rng, n, w, row, idx, suffix)
        out[i] = row
    return out


@njit
def _log_gammas(rng, a, size):
    out = np.empty(size)
    for i in range(size):
        out[i] = variates.log_gamma_variate(rng, a)
    return out


@njit
def _negbins(rng, n, p, size):
    out = np.empty(size)
    for i in range(size):
        out[i] = variates.negative_binomial(rng, n, p)
    return out


@njit
def _truncated(rng, n, p, cap, size):
    out = np.empty(size, dtype=np.int64)
    for i in range(size):
        out[i] = variates.truncated_negbin(rng, n, p, cap)
    return out


def _chi2_pvalue(draws: np.ndarray, pmf: np.ndarray) -> float:
    """Pearson chi-square of integer draws against a pmf on 0..len(pmf)-1, tails lumped."""
    size = draws.size
    observed = np.bincount(draws, minlength=pmf.size)[: pmf.size]
    keep = pmf * size >= 20
    expected = pmf[keep] * size
    obs = observed[keep]
    expected = np.append(expected, size - expected.sum())
    obs = np.append(obs, size - obs.sum())
    if expected[-1] < 1e-9:
        expected, obs = expected[:-1], obs[:-1]
    chi2 = float(((obs - expected) ** 2 / expected).sum())
    return float(stats.chi2.sf(chi2, expected.size - 1))


@pytest.mark.parametrize(
    ("n", "p"),
    [
        (20, 0.5),  # inversion (n p = 10 boundary side), p = 1/2
        (100, 0.05),  # inversion
        (100, 0.11),  # BTRD, n p just above 10
        (40, 0.3),  # BTRD, small n
        (306, 0.4),  # BTRD, a Kosovo-sized cell
        (1000, 0.7),  # BTRD via the p > 1/2 flip
        (10**6, 0.3),  # BTRD far from the recursion range (squeeze and Stirling branch)
        (5000, 0.999),  # flip to inversion
    ],
)
def test_binomial_matches_pmf(n: int, p: float) -> None:
    draws = _binomials(np.random.default_rng(20240 + n), n, p, 1_000_000)
    pmf = stats.binom.pmf(np.arange(n + 1), n, p)
    assert _chi2_pvalue(draws, pmf) > P_MIN


def test_binomial_edges() -> None:
    rng = np.random.default_rng(1)
    assert variates.binomial(rng, 0, 0.3) == 0
    assert variates.binomial(rng, 10, 0.0) == 0
    assert variates.binomial(rng, 10, 1.0) == 10


@pytest.mark.parametrize("n", [5, 12, 13, 500, 6000])
def test_multinomial_moments(n: int) -> None:
    # Weights with zeros and a wide spread, in no particular order: exercises the sort,
    # the binomial phase and the one-at-a-time phase.
    w = np.array([0.0, 3.0, 0.2, 1e-4, 5.0, 0.0, 1.0, 0.05])
    p = w / w.sum()
    size = 100_000
    draws = _multinomials(np.random.default_rng(7 + n), n, w, size)
    assert (draws.sum(axis=1) == n).all()
    assert (draws[:, w == 0] == 0).all()
    # Mean of each class count within 4 standard errors of n p_k.
    se = np.sqrt(n * p * (1 - p) / size)
    mean = draws.mean(axis=0)
    nz = p > 0
    assert np.all(np.abs(mean[nz] - n * p[nz]) <= 4 * se[nz] + 1e-12)
    # Marginal of the largest class is Binomial(n, p_k).
    k = int(np.argmax(p))
    pmf = stats.binom.pmf(np.arange(n + 1), n, p[k])
    assert _chi2_pvalue(draws[:, k], pmf) > P_MIN
    # Covariance between two classes is -n p_i p_j (4 standard errors; the sampling sd of
    # a sample covariance is about sqrt(var_i var_j / size) here).
    i, j = 1, 6
    cov = np.cov(draws[:, i], draws[:, j])[0, 1]
    var_i, var_j = n * p[i] * (1 - p[i]), n * p[j] * (1 - p[j])
    assert abs(cov + n * p[i] * p[j]) <= 4 * math.sqrt(var_i * var_j / size) + 1e-9


@pytest.mark.parametrize("a", [1e-3, 0.25, 1.0, 2.5, 400.0])
def test_log_gamma_variate(a: float) -> None:
    draws = _log_gammas(np.random.default_rng(3), a, 200_000)
    assert np.isfinite(draws).all()
    # log of a Gamma(a) variable: P(log G <= t) = P(G <= e^t). Far in the left tail
    # (where e^t underflows for tiny a) use the series' leading term e^{a t} / Gamma(a + 1),
    # whose relative error is about e^t.

    def cdf(t: np.ndarray) -> np.ndarray:
        t = np.asarray(t)
        far = t < -30.0
        out = np.empty_like(t)
        out[far] = np.exp(a * t[far] - math.lgamma(a + 1.0))
        out[~far] = stats.gamma.cdf(np.exp(t[~far]), a)
        return out

    pvalue = stats.kstest(draws, cdf).pvalue
    assert pvalue > P_MIN


def test_negative_binomial_moments() -> None:
    n, p = 4400, 0.42
    draws = _negbins(np.random.default_rng(11), n, p, 200_000)
    mean, var = n * (1 - p) / p, n * (1 - p) / p**2
    assert abs(draws.mean() - mean) <= 4 * math.sqrt(var / draws.size)
    assert abs(draws.var() / var - 1) <= 4 * math.sqrt(2 / draws.size) * 1.5


def test_negative_binomial_guard() -> None:
    # A conditional mean beyond 1e15 is reported as inf, not drawn.
    assert _negbins(np.random.default_rng(0), 100, 1e-16, 1)[0] == math.inf


@pytest.mark.parametrize(("n", "p", "cap"), [(50, 0.2, 150), (50, 0.2, 400), (3, 0.01, 40)])
def test_truncated_negative_binomial(n: int, p: float, cap: int) -> None:
    draws = _truncated(np.random.default_rng(5), n, p, cap, 200_000)
    assert draws.max() <= cap
    pmf = stats.nbinom.pmf(np.arange(cap + 1), n, p)
    pmf /= pmf.sum()
    assert _chi2_pvalue(draws, pmf) > P_MIN


@njit
def _collapsed_chain(rng, n, cnt0, tot, c1, prior_a, prior_b, alpha, cap, log_step, sweeps,
                     every):
    kk = cnt0.shape[0]
    out = np.empty((sweeps // every, kk), dtype=np.int64)
    accepted = np.zeros(2, dtype=np.int64)
    n0 = 0
    for k in range(kk):
        n0 += cnt0[k]
    for s in range(sweeps):
        n0 = moves.collapsed_moves(rng, n, n0, alpha, cnt0, tot, c1, prior_a, prior_b,
                                    cap, 1, log_step, accepted, False, s + 1, True)
        if (s + 1) % every == 0:
            out[(s + 1) // every - 1] = cnt0
    return out, accepted


def _stick_integral(sizes: tuple[int, ...], alpha: float) -> float:
    """log E[prod_k pi_k^{n_k}] under truncated stick-breaking, by quadrature."""
    from scipy import integrate

    total = 0.0
    for k in range(len(sizes) - 1):
        rest = sum(sizes[k + 1:])

        def f(v: float, nk: int = sizes[k], r: int = rest) -> float:
            return v ** nk * (1.0 - v) ** r * alpha * (1.0 - v) ** (alpha - 1.0)

        val, _ = integrate.quad(f, 0.0, 1.0, epsabs=0.0, epsrel=1e-12, limit=200)
        total += math.log(val)
    return total


def test_collapsed_moves_target_the_collapsed_posterior() -> None:
    """The Metropolis moves on the unobserved per class (lambda and pi integrated out) have
    as stationary distribution the exact collapsed conditional, computed here
    independently: Beta integrals by scipy's betaln, stick-breaking integrals by
    quadrature, the prior 1/N and the multinomial coefficient, over every (m_1, m_2, m_3)
    with m_1 + m_2 + m_3 <= 25 (the bound max_n0)."""
    from itertools import product

    from scipy.special import betaln, gammaln

    obs = np.array([6, 4, 3], dtype=np.int64)  # observed people allocated to each class
    c1 = np.array([[5, 1, 0], [4, 2, 1], [2, 0, 3]], dtype=np.int64)  # of them on list j
    prior_a = np.array([1.0, 1.5, 1.0])
    prior_b = np.array([1.0, 2.0, 0.5])
    alpha, cap, n = 0.7, 25, int(obs.sum())

    states, logp = [], []
    for m in product(range(cap + 1), repeat=3):
        if sum(m) > cap:
            continue
        sizes = tuple(int(o + mk) for o, mk in zip(obs, m, strict=True))
        lp = gammaln(n + sum(m)) - sum(gammaln(mk + 1.0) for mk in m)
        for j in range(3):
            for k in range(3):
                lp += betaln(prior_a[j] + c1[j, k], prior_b[j] + sizes[k] - c1[j, k])
        lp += _stick_integral(sizes, alpha)
        states.append(m)
        logp.append(lp)
    logp = np.array(logp)
    pmf = np.exp(logp - logp.max())
    pmf /= pmf.sum()

    cnt0 = np.array([2, 1, 0], dtype=np.int64)
    tot = obs + cnt0
    # Thinned so that the kept states are close to independent (chi-square needs it).
    draws, accepted = _collapsed_chain(np.random.default_rng(11), n, cnt0, tot, c1, prior_a,
                                       prior_b, alpha, cap, np.full(3, math.log(3.0)),
                                       400_000, 20)
    assert 0.2 < accepted[0] / accepted[1] < 0.95
    index = {s: i for i, s in enumerate(states)}
    codes = np.array([index[tuple(int(v) for v in row)] for row in draws])
    assert _chi2_pvalue(codes, pmf) > P_MIN
    # And the total n0 against its exact marginal.
    n0_pmf = np.bincount([sum(s) for s in states], weights=pmf, minlength=cap + 1)
    assert _chi2_pvalue(draws.sum(axis=1), n0_pmf) > P_MIN


@njit
def _swapped_sticks(rng, alpha, kk, size):
    out = np.empty((size, kk))
    before = np.empty((size, kk))
    cnt0 = np.zeros(kk, dtype=np.int64)
    lm = np.zeros((1, 2, kk))
    for i in range(size):
        rest = 1.0
        for k in range(kk - 1):
            v = rng.beta(1.0, alpha)
            before[i, k] = rest * v
            rest *= 1.0 - v
        before[i, kk - 1] = rest
        nu = before[i].copy()
        moves.swap_labels(rng, nu, cnt0, lm)
        out[i] = nu
    return before, out


def test_label_swaps_keep_the_stick_breaking_prior() -> None:
    """Label swaps applied to exact draws from the truncated stick-breaking prior leave
    them distributed as that prior (the likelihood being symmetric in the labels, this is
    the move's whole acceptance rule). Checked on the first weight, whose law is
    Beta(1, alpha), and on the second and the last against fresh prior draws."""
    alpha, kk, size = 0.8, 6, 40_000
    before, after = _swapped_sticks(np.random.default_rng(3), alpha, kk, size)
    assert np.abs(after.sum(axis=1) - 1.0).max() < 1e-12
    assert (after[:, -1] == before[:, -1]).all()  # the last class is never swapped
    assert (after != before).any()
    assert stats.kstest(after[:, 0], stats.beta(1.0, alpha).cdf).pvalue > P_MIN
    fresh, _ = _swapped_sticks(np.random.default_rng(4), alpha, kk, size)
    for k in (1, 2):
        assert stats.ks_2samp(after[:, k], fresh[:, k]).pvalue > P_MIN
