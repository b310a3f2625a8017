"""Poisson log-linear fitting and the two intervals for N that every log-linear family shares.

Model
-----
The observable cells ``w`` (every non-zero capture pattern, including those with count 0)
have independent Poisson counts with ``log mu_w = x_w' beta``. The design's first column is
the intercept, and the unobservable all-zero cell has design row ``(1, 0, ..., 0)``, so its
expected count is ``mu_0 = exp(beta_0)`` and

.. math:: \\hat N = n + \\exp(\\hat\\beta_0).

Intervals
---------
*Wald on log(N - n)*: ``n + exp(beta_0 +- z se(beta_0))``. It is never negative and is
skewed the way the sampling distribution of N-hat is.

*Multinomial profile likelihood* (Cormack 1992; Rcapture's ``closedpCI.t``, Baillargeon &
Rivest 2007). For a candidate N, the unobserved cell is set to ``N - n`` and the same model
is fitted to the complete ``2^J`` table; the multinomial log-likelihood is

.. math:: \\ell(N) = \\log\\frac{N!}{(N-n)!} - \\sum_w \\log n_w! + \\sum_{w \\in \\{0,1\\}^J}
          n_w \\log(\\hat\\mu_w(N)/N),

using ``sum_w mu_w(N) = N``. The interval is ``{N : 2(max ell - ell(N)) <= chi2_1(level)}``.
When ``ell`` never falls below the cut-off as N grows, the upper bound is reported as
unbounded (``inf``), never clipped.

References
----------
.. [1] Cormack, R. M. (1992). Interval estimation for mark-recapture studies of closed
   populations. Biometrics 48:567-576. doi:10.2307/2532310
.. [2] Baillargeon, S. and Rivest, L.-P. (2007). Rcapture: loglinear models for
   capture-recapture in R. Journal of Statistical Software 19(5). doi:10.18637/jss.v019.i05
.. [3] McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed., sec. 2.5
   (iteratively reweighted least squares).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# scipy.special's ndtri/ndtr/gammaincinv are what scipy.stats' norm and chi2 call; importing
# scipy.stats itself would add ~0.3 s to every command (scipy.optimize, ~0.13 s, is imported
# where the profile interval needs it).
from scipy import special

__all__ = [
    "PoissonFit",
    "fit_poisson",
    "poisson_loglik",
    "profile_interval",
    "wald_interval",
]


@dataclass(frozen=True)
class PoissonFit:
    """A fitted Poisson log-linear model on the observable cells."""

    beta: np.ndarray
    mu: np.ndarray
    cov: np.ndarray
    deviance: float
    loglik: float
    n_params: int
    converged: bool
    iterations: int

    @property
    def n0(self) -> float:
        """Expected count of the unobservable cell, ``exp(beta_0)``."""
        return float(np.exp(self.beta[0]))

    @property
    def se_log_n0(self) -> float:
        return float(np.sqrt(max(self.cov[0, 0], 0.0)))


def poisson_loglik(y: np.ndarray, mu: np.ndarray) -> float:
    """Full Poisson log-likelihood, ``sum(y log mu - mu - log y!)`` (statsmodels/R convention)."""
    y = np.asarray(y, dtype=float)
    mu = np.asarray(mu, dtype=float)
    pos = y > 0
    return float(
        np.sum(y[pos] * np.log(mu[pos])) - mu.sum() - special.gammaln(y + 1).sum()
    )


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    pos = y > 0
    return float(2.0 * (np.sum(y[pos] * np.log(y[pos] / mu[pos])) - np.sum(y - mu)))


def fit_poisson(
    X: np.ndarray,
    y: np.ndarray,
    *,
    beta0: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> PoissonFit:
    """Maximum-likelihood Poisson regression with log link by IRLS with step halving.

    Parameters
    ----------
    X : ndarray (m, p)
        Design; column 0 is the intercept.
    y : ndarray (m,)
        Counts (non-integer values are allowed, for the profile likelihood).
    beta0 : ndarray, optional
        Starting values (warm start).

    Notes
    -----
    Each step solves the weighted least-squares problem
    ``min || W^{1/2} (z - X beta) ||`` with ``W = diag(mu)`` and working response
    ``z = eta + (y - mu)/mu`` via a QR-based least-squares solve, and halves the step while
    the deviance increases. Existence of the MLE is checked separately
    (:mod:`undercount.models.loglinear.existence`); on a table where it does not exist,
    some coefficients drift towards infinity and ``converged`` may be False.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    p = X.shape[1]
    if beta0 is None:
        eta = np.log(y + 0.5)
        mu = np.exp(eta)
        beta = None
    else:
        beta = np.asarray(beta0, dtype=float).copy()
        eta = X @ beta
        mu = np.exp(eta)
    dev_old = _deviance(y, mu) if beta is not None else math.inf
    converged = False
    it = 0
    while it < max_iter:
        it += 1
        w = mu
        z = eta + (y - mu) / mu
        sw = np.sqrt(w)
        new_beta, *_ = np.linalg.lstsq(X * sw[:, None], z * sw, rcond=None)
        step = 1.0
        while True:
            cand = new_beta if beta is None else beta + step * (new_beta - beta)
            eta_c = np.clip(X @ cand, -700.0, 700.0)
            mu_c = np.exp(eta_c)
            dev = _deviance(y, mu_c)
            if beta is None or dev <= dev_old + 1e-12 * (1 + abs(dev_old)) or step < 1e-6:
                break
            step /= 2
        change = abs(dev_old - dev) / (abs(dev) + 0.1) if math.isfinite(dev_old) else math.inf
        beta, eta, mu, dev_old = cand, eta_c, mu_c, dev
        if change < tol:
            converged = True
            break
    info = (X * mu[:, None]).T @ X
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = np.linalg.pinv(info)
    return PoissonFit(
        beta=beta,
        mu=mu,
        cov=cov,
        deviance=dev_old,
        loglik=poisson_loglik(y, mu),
        n_params=p,
        converged=converged,
        iterations=it,
    )


def wald_interval(fit: PoissonFit, n_observed: int, level: float = 0.95) -> tuple[float, float]:
    """Wald interval on ``log(N - n)``: ``n + exp(beta_0 +- z se)``."""
    z = special.ndtri(0.5 + level / 2)
    b, se = float(fit.beta[0]), fit.se_log_n0
    return n_observed + math.exp(b - z * se), n_observed + math.exp(min(b + z * se, 700.0))


def _profile_loglik(
    N: float, X_full: np.ndarray, y_obs: np.ndarray, n: float, lgam_y: float, state: dict
) -> float:
    y = np.concatenate([[N - n], y_obs])
    fit = fit_poisson(X_full, y, beta0=state.get("beta"))
    state["beta"] = fit.beta
    mu = fit.mu
    total = mu.sum()
    pos = y > 0
    return float(
        special.gammaln(N + 1)
        - special.gammaln(N - n + 1)
        - lgam_y
        + np.sum(y[pos] * np.log(mu[pos] / total))
    )


def profile_interval(
    X: np.ndarray,
    y: np.ndarray,
    fit: PoissonFit,
    level: float = 0.95,
    *,
    max_factor: float = 1e4,
) -> tuple[float, float, float]:
    """Multinomial profile-likelihood interval for N (Rcapture's definition).

    Parameters
    ----------
    X, y : design and counts of the observable cells (as for :func:`fit_poisson`).
    fit : the fit of ``X, y``; its N-hat starts the search.

    Returns
    -------
    (profile_mle, lower, upper)
        ``upper`` is ``inf`` when the likelihood does not fall below the cut-off before
        ``max_factor * N-hat`` (the upper side is unbounded for practical purposes).
    """
    from scipy import optimize

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n = float(y.sum())
    row0 = np.zeros((1, X.shape[1]))
    row0[0, 0] = 1.0
    X_full = np.vstack([row0, X])
    lgam_y = float(special.gammaln(y + 1).sum())
    state: dict = {"beta": fit.beta}

    def ll(N: float) -> float:
        return _profile_loglik(N, X_full, y, n, lgam_y, state)

    n_hat = n + fit.n0
    # Maximise over N - n on a log scale: the profile is smooth and unimodal in practice.
    lo_t, hi_t = math.log(max(fit.n0, 1e-8) / 50), math.log(max(fit.n0, 1e-8) * 50)
    res = optimize.minimize_scalar(
        lambda t: -ll(n + math.exp(t)), bounds=(lo_t, hi_t), method="bounded",
        options={"xatol": 1e-10},
    )
    n_prof = n + math.exp(res.x)
    l_max = -res.fun
    cut = l_max - 2.0 * special.gammaincinv(0.5, level) / 2

    def g(t: float) -> float:
        return ll(n + math.exp(t)) - cut

    # Lower bound: between N = n (+ tiny) and the profile MLE.
    t_hat = res.x
    t_lo = t_hat
    lower = n
    for _ in range(200):
        t_lo -= 0.5
        if g(t_lo) < 0:
            lower = n + math.exp(optimize.brentq(g, t_lo, t_lo + 0.5, xtol=1e-12))
            break
        if n + math.exp(t_lo) - n < 1e-6:
            break
    t_hi = t_hat
    upper = math.inf
    limit = math.log(max(n_hat, 1.0) * max_factor)
    while t_hi < limit:
        t_hi += 0.5
        if g(t_hi) < 0:
            upper = n + math.exp(optimize.brentq(g, t_hi - 0.5, t_hi, xtol=1e-12))
            break
    return n_prof, lower, upper
