"""Informative Beta priors on list-inclusion probabilities from expansion-factor beliefs.

An *expansion factor* is ``N / n``: how many people there are for every one on at least one
list. Analysts often have a belief about it ("between 1.01 and 3 with 95% probability")
where they have none about per-list capture probabilities. HRDAG's StanLCMCR turns such a
belief into a Beta prior on the inclusion probabilities ``lambda_j`` of the latent-class
model; :func:`beta_prior_from_expansion_factor` does the same, from the mathematics below.

Notes
-----
For one class with independent lists, ``p_0 = \\prod_{j=1}^J (1 - \\lambda_j)`` is the
probability of being on no list and the expansion factor is ``E = 1 / (1 - p_0)``, so

.. math::

    X = -\\log p_0 = \\log E - \\log(E - 1) = \\sum_{j=1}^J -\\log(1 - \\lambda_j),

a decreasing function of ``E``. The steps are:

1. The quantiles ``E_{lo}, E_{hi}`` at probabilities ``p_{lo}, p_{hi}`` become quantiles of
   ``X`` at ``p_{lo}`` (from ``E_{hi}``) and ``p_{hi}`` (from ``E_{lo}``), and a
   ``Gamma(s, r)`` distribution is fitted to ``X`` through both quantiles exactly.
2. With ``Y_j = 1 - \\lambda_j \\sim \\mathrm{Beta}(a_Y, b_Y)`` i.i.d.,
   ``E[-\\log Y] = \\psi(a_Y + b_Y) - \\psi(a_Y)`` and
   ``\\mathrm{Var}[-\\log Y] = \\psi_1(a_Y) - \\psi_1(a_Y + b_Y)``. The pair ``(a_Y, b_Y)`` is
   chosen so that ``\\sum_j -\\log Y_j`` has the mean ``s / r`` and variance ``s / r^2`` of the
   fitted gamma (moment matching; ``\\psi`` and ``\\psi_1`` are the digamma and trigamma
   functions).
3. Then ``\\lambda_j \\sim \\mathrm{Beta}(b_Y, a_Y)``, the prior returned.

The prior is the same for every list and for every latent class. It is a statement about
each class's capture probabilities; with several classes the implied prior on the overall
expansion factor is only approximately the stated one (StanLCMCR makes the same
approximation).

References
----------
HRDAG, StanLCMCR, ``fit/src/beta_priors.R`` (expansion-factor quantiles to Beta priors),
https://github.com/HRDAG/StanLCMCR
Manrique-Vallier, D. (2016). Bayesian population size estimation using Dirichlet process
mixtures. *Biometrics* 72:1246-1254. doi:10.1111/biom.12502
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

from undercount.errors import ConfigError

__all__ = ["beta_prior_from_expansion_factor"]


def _gamma_through_quantiles(
    x_lo: float, x_hi: float, p_lo: float, p_hi: float
) -> tuple[float, float]:
    """Gamma(shape, rate) with ``P(X <= x_lo) = p_lo`` and ``P(X <= x_hi) = p_hi``."""
    target = math.log(x_hi / x_lo)

    def gap(log_shape: float) -> float:
        s = math.exp(log_shape)
        q_lo = float(special.gammaincinv(s, p_lo))
        if q_lo <= 0.0:  # the lower quantile underflows: the ratio is effectively infinite
            return math.inf
        return math.log(float(special.gammaincinv(s, p_hi)) / q_lo) - target

    # The quantile ratio falls from infinity (shape -> 0) to 1 (shape -> infinity).
    lo, hi = -10.0, 10.0
    while gap(lo) < 0.0:
        lo -= 5.0
    while gap(hi) > 0.0:
        hi += 5.0
    log_shape = optimize.brentq(gap, lo, hi, xtol=1e-14, rtol=1e-14, maxiter=500)
    shape = math.exp(log_shape)
    rate = special.gammaincinv(shape, p_lo) / x_lo
    return shape, rate


def _inv_digamma(y: float) -> float:
    # Newton's method from Minka's starting point; digamma is increasing and concave.
    x = math.exp(y) + 0.5 if y >= -2.22 else -1.0 / (y - special.digamma(1.0))
    for _ in range(100):
        step = (special.digamma(x) - y) / special.polygamma(1, x)
        x -= step
        if abs(step) < 1e-15 * max(1.0, x):
            break
    return x


def _beta_for_log_sum(mean: float, var: float, n_lists: int) -> tuple[float, float]:
    """(a, b) so that the sum of ``n_lists`` i.i.d. -log Beta(a, b) has this mean and variance."""
    m1 = mean / n_lists
    v1 = var / n_lists

    def b_of(a: float) -> float:
        return _inv_digamma(m1 + special.digamma(a)) - a

    def gap(log_a: float) -> float:
        a = math.exp(log_a)
        b = b_of(a)
        return math.log(float(special.polygamma(1, a) - special.polygamma(1, a + b))) - math.log(v1)

    lo, hi = math.log(1e-4), math.log(1e4)
    if gap(lo) * gap(hi) > 0.0:
        raise ConfigError(
            "beta_prior_from_expansion_factor: no Beta prior matches these expansion-factor "
            f"quantiles with {n_lists} lists (mean {mean:.4g}, variance {var:.4g} of -log p0)"
        )
    log_a = optimize.brentq(gap, lo, hi, xtol=1e-13, rtol=1e-13, maxiter=500)
    a = math.exp(log_a)
    return a, b_of(a)


def beta_prior_from_expansion_factor(
    low: float,
    high: float,
    n_lists: int,
    *,
    prob: tuple[float, float] = (0.025, 0.975),
) -> tuple[float, float]:
    """Beta prior on every list's inclusion probability from expansion-factor quantiles.

    Parameters
    ----------
    low, high : float
        Prior quantiles of the expansion factor ``N / n`` (both > 1, ``low < high``), at the
        probabilities ``prob``.
    n_lists : int
        Number of lists J the prior is for (the same Beta applies to each).
    prob : (float, float)
        Probabilities of ``low`` and ``high``; default a central 95% range.

    Returns
    -------
    (a, b) : tuple of float
        ``lambda_j ~ Beta(a, b)``. Pass it as ``LatentClassEstimator(list_priors=(a, b))``
        for every list, or per list as ``list_priors={"EXH": (a, b), ...}``.

    Raises
    ------
    ConfigError
        If the quantiles are not ordered, not above 1, or cannot be matched.

    Notes
    -----
    See the module docstring for the derivation: the quantiles become a gamma distribution
    for ``-\\log p_0 = \\log E - \\log(E - 1)``, matched in mean and variance by a sum of
    ``J`` i.i.d. ``-\\log(1 - \\lambda_j)``.

    References
    ----------
    HRDAG, StanLCMCR, ``fit/src/beta_priors.R``, https://github.com/HRDAG/StanLCMCR

    Examples
    --------
    >>> a, b = beta_prior_from_expansion_factor(1.01, 3.0, n_lists=4)
    >>> round(a, 3), round(b, 3)  # doctest: +SKIP
    """
    p_lo, p_hi = (float(p) for p in prob)
    if not (0.0 < p_lo < p_hi < 1.0):
        raise ConfigError(f"prob={prob!r}: need 0 < prob[0] < prob[1] < 1")
    if not (1.0 < low < high) or not math.isfinite(high):
        raise ConfigError(
            f"expansion-factor quantiles low={low!r}, high={high!r}: need 1 < low < high < inf"
        )
    if int(n_lists) != n_lists or n_lists < 1:
        raise ConfigError(f"n_lists={n_lists!r}: need a positive integer")
    # X = -log p0 decreases in E: the high E quantile gives the low X quantile.
    x_lo = math.log(high) - math.log(high - 1.0)
    x_hi = math.log(low) - math.log(low - 1.0)
    shape, rate = _gamma_through_quantiles(x_lo, x_hi, p_lo, p_hi)
    a_y, b_y = _beta_for_log_sum(shape / rate, shape / rate**2, int(n_lists))
    return float(b_y), float(a_y)


def implied_expansion_quantiles(
    a: float, b: float, n_lists: int, *, rng: np.random.Generator, size: int = 200_000,
    prob: tuple[float, float] = (0.025, 0.975),
) -> tuple[float, float]:
    """Monte Carlo quantiles of ``1 / (1 - prod_j (1 - lambda_j))`` for i.i.d. Beta(a, b).

    A check of :func:`beta_prior_from_expansion_factor` (one class, J lists).
    """
    lam = rng.beta(a, b, size=(size, n_lists))
    log_p0 = np.log1p(-lam).sum(axis=1)
    e = 1.0 / -np.expm1(log_p0)
    lo, hi = np.quantile(e, prob)
    return float(lo), float(hi)
