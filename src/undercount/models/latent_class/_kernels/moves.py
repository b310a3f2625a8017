"""Metropolis moves added to LCMCR's Gibbs sweep, each leaving its posterior unchanged:
moves on each class's unobserved count with the inclusion probabilities and class weights
integrated out (:func:`collapsed_moves`), and swaps of adjacent class labels
(:func:`swap_labels`). They attack two of the plain sweep's slowest directions: N moving only
as fast as lambda, and the order of the classes along the stick.

References
----------
Papaspiliopoulos, O. and Roberts, G. O. (2008). Retrospective Markov chain Monte Carlo
methods for Dirichlet process hierarchical models. *Biometrika* 95:169-186.
doi:10.1093/biomet/asm086
van Dyk, D. A. and Park, T. (2008). Partially collapsed Gibbs samplers: theory and methods.
*JASA* 103:790-796. doi:10.1198/016214508000000409
Roberts, G. O. and Rosenthal, J. S. (2001). Optimal scaling for various Metropolis-Hastings
algorithms. *Statistical Science* 16:351-367. doi:10.1214/ss/1015346320
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .variates import uniform_pos

__all__ = ["COLLAPSED_TARGET_ACCEPT", "collapsed_moves", "initial_log_steps", "swap_labels"]

#: Acceptance rate the collapsed moves' proposal scales adapt towards: the optimum for a
#: one-dimensional random-walk Metropolis proposal (Roberts & Rosenthal 2001).
COLLAPSED_TARGET_ACCEPT = 0.44


@njit(cache=True, nogil=True)
def initial_log_steps(cnt0: np.ndarray, log_step: np.ndarray) -> None:
    """Initial log scale of each class's proposals: log sqrt(m_k + 1), a Poisson-like spread
    of the class's unobserved count ``cnt0[k]`` (adapted from there during burn-in)."""
    for k in range(cnt0.shape[0]):
        log_step[k] = 0.5 * math.log(cnt0[k] + 1.0)


@njit(cache=True, nogil=True)
def collapsed_moves(
    rng,
    n: int,
    n0: int,
    alpha: float,
    cnt0: np.ndarray,
    tot: np.ndarray,
    c1: np.ndarray,
    prior_a: np.ndarray,
    prior_b: np.ndarray,
    max_n0: int,
    n_moves: int,
    log_step: np.ndarray,
    accepted: np.ndarray,
    adapt: bool,
    t: int,
    skip_empty: bool,
) -> int:
    """Metropolis moves on each class's unobserved count m_k, lambda and pi integrated out.

    Target (class allocations of the observed fixed; lambda_.k integrated against its Beta
    prior and the stick-breaking weights against theirs):

        p(m_k | .) ∝ (N - 1)! / m_k! prod_j Gamma(b_j + o_k - c_jk + m_k)
                     / Gamma(a_j + b_j + o_k + m_k)
                     prod_{l < K} Gamma(1 + n_l) Gamma(alpha + n_{>l}) / Gamma(1 + alpha + n_{>=l})

    with N = n + sum_l m_l, n_l = o_l + m_l, o_k the observed people allocated to class k
    and c_jk those of them on list j; (N - 1)! is N! times the prior 1/N. The moves, and
    then the usual draws of lambda and pi from their full conditionals, form a blocked
    update of (m, lambda, pi) (partially collapsed Gibbs; van Dyk & Park 2008), so the
    chain keeps the same stationary distribution. Proposals are m_k + round(s_k Z), Z
    standard normal (symmetric); s_k adapts towards acceptance ``COLLAPSED_TARGET_ACCEPT``
    during burn-in only, by steps of 1/sqrt(t) (a diminishing adaptation, so the chain
    after burn-in is an ordinary Metropolis chain).
    Updates cnt0 and tot in place; returns the new n0.
    """
    kk = tot.shape[0]
    jj = c1.shape[0]
    for k in range(kk):
        o_k = tot[k] - cnt0[k]
        if skip_empty and o_k == 0:
            continue
        for _ in range(n_moves):
            step = int(round(math.exp(log_step[k]) * rng.standard_normal()))  # noqa: RUF046
            acc = 0.0
            if step != 0:
                m = cnt0[k]
                mp = m + step
                n0p = n0 + step
                if mp >= 0 and (max_n0 < 0 or n0p <= max_n0):
                    fm = float(m)
                    fmp = float(mp)
                    fs = float(step)
                    logr = (math.lgamma(n + n0p) - math.lgamma(n + n0)
                            - math.lgamma(fmp + 1.0) + math.lgamma(fm + 1.0))
                    for j in range(jj):
                        off = prior_b[j] + (o_k - c1[j, k])
                        full = prior_a[j] + prior_b[j] + o_k
                        logr += (math.lgamma(off + fmp) - math.lgamma(off + fm)
                                 - math.lgamma(full + fmp) + math.lgamma(full + fm))
                    # Stick-breaking terms that involve n_k: n_{>=l} for l <= k, n_{>l}
                    # for l < k, and n_k itself.
                    ge = 0.0
                    for i in range(k, kk):
                        ge += tot[i]
                    if k < kk - 1:
                        logr += (math.lgamma(1.0 + tot[k] + fs) - math.lgamma(1.0 + tot[k])
                                 - math.lgamma(1.0 + alpha + ge + fs)
                                 + math.lgamma(1.0 + alpha + ge))
                    for i in range(k - 1, -1, -1):
                        gt = ge
                        ge += tot[i]
                        logr += (math.lgamma(alpha + gt + fs) - math.lgamma(alpha + gt)
                                 - math.lgamma(1.0 + alpha + ge + fs)
                                 + math.lgamma(1.0 + alpha + ge))
                    if logr >= 0.0 or math.log(uniform_pos(rng)) < logr:
                        acc = 1.0
                        cnt0[k] = mp
                        tot[k] += step
                        n0 = n0p
            else:
                acc = 1.0
            if adapt:
                log_step[k] += (acc - COLLAPSED_TARGET_ACCEPT) / math.sqrt(t)
            else:
                accepted[0] += int(acc)
                accepted[1] += 1
    return n0


@njit(cache=True, nogil=True)
def swap_labels(rng, nu: np.ndarray, cnt0: np.ndarray, lm: np.ndarray) -> None:
    """Metropolis swaps of adjacent class labels k, k + 1 (k + 1 < K - 1).

    The likelihood and the priors of lambda are symmetric in the labels; the truncated
    stick-breaking prior of the weights is not: its density is alpha^{K-1} pi_K^{alpha-1}
    / prod_{k<K} R_k with R_k = sum_{l>=k} pi_l, so swapping k and k + 1 changes only
    R_{k+1}, and is accepted with probability min(1, R_{k+1} / R'_{k+1}) =
    min(1, (pi_{k+1} + R_{k+2}) / (pi_k + R_{k+2})) (Papaspiliopoulos & Roberts 2008).
    The last class, which holds the rest of the stick, is never swapped.
    """
    kk = nu.shape[0]
    jj = lm.shape[0]
    rest = 0.0  # R_{k+2} = sum of the weights after k + 1, built from the end
    for k in range(kk - 3, -1, -1):
        rest += nu[k + 2]
        # Compared without division: both sums can underflow to 0 at the end of the stick.
        num = nu[k + 1] + rest
        den = nu[k] + rest
        if num >= den or rng.random() * den < num:
            t = nu[k]
            nu[k] = nu[k + 1]
            nu[k + 1] = t
            ti = cnt0[k]
            cnt0[k] = cnt0[k + 1]
            cnt0[k + 1] = ti
            for j in range(jj):
                for x in range(2):
                    t = lm[j, x, k]
                    lm[j, x, k] = lm[j, x, k + 1]
                    lm[j, x, k + 1] = t
