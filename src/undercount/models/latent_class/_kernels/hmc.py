"""Hamiltonian Monte Carlo move on (lambda, pi) from their marginal posterior given the
observed table alone (class allocations and N summed out), and the adaptation of its step
size and diagonal mass matrix during burn-in.

The Gibbs sweep alternates between the missing data (class allocations, the unobserved) and
the parameters; on data like Kosovo each half barely moves the other. :func:`hmc_move` moves
the parameters without conditioning on the missing data (derivation in its docstring).

References
----------
Neal, R. M. (2011). MCMC using Hamiltonian dynamics. In *Handbook of Markov Chain Monte
Carlo*, ch. 5. Chapman & Hall/CRC. doi:10.1201/b10905-6
Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn sampler: adaptively setting path
lengths in Hamiltonian Monte Carlo. *JMLR* 15:1593-1623 (dual averaging of the step size,
section 3.2.1).
Carpenter, B. et al. (2017). Stan: a probabilistic programming language. *Journal of
Statistical Software* 76(1). doi:10.18637/jss.v076.i01 (windowed mass-matrix adaptation).
Stan Development Team. *Stan Reference Manual*, "HMC algorithm parameters" (adaptation
windows and the regularisation of the estimated variances).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = [
    "HMC_INITIAL_STEP",
    "HMC_TARGET_ACCEPT",
    "StepSize",
    "hmc_move",
    "hmc_pack",
    "hmc_unpack",
    "hmc_work_size",
    "jittered_step",
    "log_target",
    "mass_accumulate",
    "mass_update",
    "mass_window_ends",
    "step_size_init",
    "step_size_restart",
    "step_size_update",
]

# --------------------------------------------------------------------------- tuning constants
#: Mean acceptance probability the step size is tuned to: Stan's default ``adapt_delta``
#: (Carpenter et al. 2017).
HMC_TARGET_ACCEPT = 0.8
#: Step size at the start of adaptation: this sampler's guess of the scale of the logit
#: coordinates' posterior spread, from which dual averaging adapts it during burn-in.
HMC_INITIAL_STEP = 0.05
#: Dual averaging pulls log eps towards log(``DA_MU_FACTOR`` x the current step), as in
#: Hoffman & Gelman (2014, section 3.2.1), favouring larger steps.
DA_MU_FACTOR = 10.0
#: Dual-averaging gamma (shrinkage towards mu), t0 (damps the first iterations) and kappa
#: (decay of the averaging weights): Hoffman & Gelman's (2014) recommended 0.05, 10, 0.75.
DA_GAMMA = 0.05
DA_T0 = 10.0
DA_KAPPA = 0.75
#: Each move's step is eps times a uniform factor in [1 - ``STEP_JITTER``, 1 + ``STEP_JITTER``)
#: (+-10%; randomising the step as Neal 2011, section 5.4, recommends), so that no fixed
#: trajectory length resonates with a periodic direction of the target.
STEP_JITTER = 0.1
#: The mass matrix is re-estimated at the end of two windows, after these percentages of the
#: post-warm-up burn-in; the remaining half tunes the step size for the final mass matrix
#: (this sampler's coarser version of Stan's expanding windows).
MASS_WINDOW_ENDS_PCT = (15, 50)
#: A window with fewer sweeps than this keeps the previous mass matrix (variance too noisy).
MASS_MIN_SAMPLES = 20
#: The window variance is shrunk towards ``MASS_PRIOR_VAR`` with the weight of
#: ``MASS_PRIOR_WEIGHT`` sweeps: var' = (n var + 5 x 1e-3) / (n + 5), Stan's regularisation.
MASS_PRIOR_WEIGHT = 5.0
MASS_PRIOR_VAR = 1e-3


@njit(cache=True, nogil=True)
def _logistic(e: float) -> tuple[float, float]:
    """(s, 1 - s) for s = 1 / (1 + exp(-e)), each without cancellation."""
    if e >= 0.0:
        t = math.exp(-e)
        s = 1.0 / (1.0 + t)
        return s, t * s
    t = math.exp(e)
    s = 1.0 / (1.0 + t)
    return t * s, s


@njit(cache=True, nogil=True)
def _log_logistic(e: float) -> tuple[float, float]:
    """(log s, log(1 - s)) for s = 1 / (1 + exp(-e))."""
    l1p = math.log1p(math.exp(-abs(e)))
    if e >= 0.0:
        return -l1p, -e - l1p
    return e - l1p, -l1p


@njit(cache=True, nogil=True)
def _sum_log(v: np.ndarray, lo: int, hi: int, q: np.ndarray, upper: bool) -> float:
    # sum of log v[i], i in [lo, hi), v[i] = logistic(q[i]) (or 1 - it, ``upper``): one log
    # of the product unless the product underflows, then the log-logistic of each q[i].
    prod = 1.0
    for i in range(lo, hi):
        prod *= v[i]
    if prod > 1e-250:
        return math.log(prod)
    acc = 0.0
    for i in range(lo, hi):
        la, lb = _log_logistic(q[i])
        acc += lb if upper else la
    return acc


@njit(cache=True, nogil=True)
def log_target(
    q: np.ndarray,
    grad: np.ndarray,
    x: np.ndarray,
    counts: np.ndarray,
    n: int,
    prior_a: np.ndarray,
    prior_b: np.ndarray,
    alpha: float,
    kk: int,
    work: np.ndarray,
) -> float:
    """Log marginal posterior of q = (eta (J x K, row-major), u (K - 1)) and its gradient
    (formulas in :func:`hmc_move`).

    ``work`` is float64 scratch of :func:`hmc_work_size` entries. Returns -inf (and leaves
    ``grad`` undefined) where the target is not finite. Sums of logs are taken as logs of
    products where these cannot underflow, which keeps the evaluation to a few dozen
    transcendental calls.
    """
    mm, jj = x.shape
    jk = jj * kk
    # Scratch: lambda and 1 - lambda per (j, k); per class pi, f_k = prod_j (1 -
    # lambda_jk), 1 - f_k, sum_x n_x w_xk, V; per class the weights of one cell.
    lam = work[0:jk]
    onem = work[jk:2 * jk]
    o = 2 * jk
    pi = work[o:o + kk]
    f0 = work[o + kk:o + 2 * kk]
    obs = work[o + 2 * kk:o + 3 * kk]
    gk = work[o + 3 * kk:o + 4 * kk]
    vv = work[o + 4 * kk:o + 5 * kk]
    row = work[o + 5 * kk:o + 6 * kk]

    lp = 0.0
    for i in range(jk):
        a, b = _logistic(q[i])
        lam[i] = a
        onem[i] = b
        j = i // kk
        grad[i] = prior_a[j] * b - prior_b[j] * a
    for j in range(jj):
        lp += (prior_a[j] * _sum_log(lam, j * kk, (j + 1) * kk, q, False)
               + prior_b[j] * _sum_log(onem, j * kk, (j + 1) * kk, q, True))
    rem = 1.0
    log_rem = 0.0  # log of the stick left, exact even after rem underflows
    prod_v = 1.0
    for k in range(kk - 1):
        v, v1 = _logistic(q[jk + k])
        pi[k] = rem * v
        vv[k] = v
        rem *= v1
        prod_v *= v
        if not (rem > 1e-250 and prod_v > 1e-250):
            break
    if rem > 1e-250 and prod_v > 1e-250:
        lp += math.log(prod_v) + alpha * math.log(rem)
        log_rem = math.log(rem)
    else:
        for k in range(kk - 1):
            v = _logistic(q[jk + k])[0]
            lv, l1v = _log_logistic(q[jk + k])
            pi[k] = math.exp(log_rem + lv)
            vv[k] = v
            log_rem += l1v
            lp += lv + alpha * l1v
        rem = math.exp(log_rem)
    pi[kk - 1] = rem
    vv[kk - 1] = 1.0
    for k in range(kk):
        gk[k] = 0.0

    # Observed cells: p_x on the linear scale (log scale if it underflows); n_x w_xk
    # accumulated into sum_x n_x w_xk and, for the lists x is on, into grad. The loops
    # over classes are innermost and contiguous (lambda and 1 - lambda are adjacent
    # blocks of ``work``), so they vectorise.
    for m in range(mm):
        for k in range(kk):
            row[k] = pi[k]
        for j in range(jj):
            off = j * kk if x[m, j] else jk + j * kk
            for k in range(kk):
                row[k] *= work[off + k]
        tot = 0.0
        for k in range(kk):
            tot += row[k]
        if tot > 1e-280:
            lp += counts[m] * math.log(tot)
        else:
            top = -math.inf
            for k in range(kk):
                t = _log_pi(q, jk, kk, k)
                for j in range(jj):
                    la, lb = _log_logistic(q[j * kk + k])
                    t += la if x[m, j] else lb
                row[k] = t
                top = max(top, t)
            if not top > -math.inf:
                return -math.inf
            tot = 0.0
            for k in range(kk):
                row[k] = math.exp(row[k] - top)
                tot += row[k]
            lp += counts[m] * (top + math.log(tot))
        cm = counts[m] / tot
        for k in range(kk):
            row[k] *= cm
            gk[k] += row[k]
        for j in range(jj):
            if x[m, j]:
                base = j * kk
                for k in range(kk):
                    grad[base + k] += row[k]

    # The unobserved pattern: 1 - p0 = sum_k pi_k (1 - f_k), with 1 - f_k =
    # sum_j lambda_jk prod_{i<j} (1 - lambda_ik), a sum of positive terms.
    p_obs = 0.0
    for k in range(kk):
        f = 1.0
        one_minus = 0.0
        for j in range(jj):
            one_minus += lam[j * kk + k] * f
            f *= onem[j * kk + k]
        f0[k] = f
        obs[k] = one_minus
        p_obs += pi[k] * one_minus
    if not p_obs > 0.0:
        return -math.inf
    lp -= n * math.log(p_obs)
    scale = n / p_obs

    for k in range(kk):
        bk = gk[k] + scale * pi[k] * f0[k]
        for j in range(jj):
            i = j * kk + k
            grad[i] -= lam[i] * bk
        gk[k] -= scale * pi[k] * obs[k]
    tail = 0.0  # sum_{k > l} G_k
    for k in range(kk - 1, -1, -1):
        if k < kk - 1:
            v = vv[k]
            grad[jk + k] = gk[k] * (1.0 - v) - v * tail + (1.0 - v) - alpha * v
        tail += gk[k]
    return lp


@njit(cache=True, nogil=True)
def _log_pi(q: np.ndarray, jk: int, kk: int, k: int) -> float:
    # log pi_k = log V_k + sum_{l<k} log(1 - V_l), from the stick coordinates.
    acc = 0.0
    for i in range(k):
        acc += _log_logistic(q[jk + i])[1]
    if k < kk - 1:
        acc += _log_logistic(q[jk + k])[0]
    return acc


@njit(cache=True, nogil=True)
def hmc_work_size(jj: int, kk: int) -> int:
    """Length of the scratch array :func:`log_target` needs."""
    return 2 * jj * kk + 6 * kk


@njit(cache=True, nogil=True)
def hmc_move(
    rng,
    q: np.ndarray,
    x: np.ndarray,
    counts: np.ndarray,
    n: int,
    prior_a: np.ndarray,
    prior_b: np.ndarray,
    alpha: float,
    kk: int,
    eps: float,
    n_steps: int,
    inv_mass: np.ndarray,
    work: np.ndarray,
    q1: np.ndarray,
    p: np.ndarray,
    g: np.ndarray,
) -> tuple[float, bool]:
    r"""One HMC transition from ``q`` (updated in place when accepted).

    Leapfrog with step ``eps`` for ``n_steps`` steps and diagonal inverse mass matrix
    ``inv_mass``, then a Metropolis test on the Hamiltonian. Returns the acceptance
    probability (0 for a non-finite trajectory) and whether the proposal was accepted.

    Why
    ---
    The Gibbs sweep alternates between the missing data (which class each observed person is
    in, how many people no list recorded) and the parameters (lambda, pi). On data like Kosovo
    the missing data carry most of the information about the parameters, so each half of the
    sweep barely moves the other: N's autocorrelation time is hundreds of sweeps even with the
    partially collapsed moves on the unobserved. This move updates the parameters from their
    marginal posterior given the observed table alone, which contains no missing data, and the
    sweep then redraws the missing data from their conditionals given the new parameters.

    The marginal target
    -------------------
    With :math:`p_x = \sum_k \pi_k \prod_j \lambda_{jk}^{x_j} (1 - \lambda_{jk})^{1 - x_j}`,
    :math:`p_0` the probability of the all-zero pattern and the prior :math:`p(N) \propto 1/N`,

    .. math::

        \sum_{N \ge n} \frac{1}{N} \binom{N}{n_0, (n_x)_x} p_0^{N - n} \prod_x p_x^{n_x}
        \propto \prod_x \Big(\frac{p_x}{1 - p_0}\Big)^{n_x},

    because :math:`\sum_{m \ge 0} \frac{(n + m - 1)!}{m!} p_0^m = (n - 1)!\,(1 - p_0)^{-n}`:
    the marginal likelihood of (lambda, pi) is the multinomial likelihood of the observed table
    conditional on being observed. The move works in unconstrained coordinates
    :math:`\eta_{jk} = \mathrm{logit}\,\lambda_{jk}` and :math:`u_k = \mathrm{logit}\,V_k`
    (:math:`k < K`), with the Beta priors of lambda and the Beta(1, alpha) stick-breaking
    prior of V (alpha held fixed; the sweep draws it from its conditional) and the Jacobians:

    .. math::

        \log p(\eta, u \mid \alpha, \text{data}) = \sum_x n_x \log p_x - n \log(1 - p_0)
        + \sum_{j,k} [a_j \log \lambda_{jk} + b_j \log(1 - \lambda_{jk})]
        + \sum_{k<K} [\log V_k + \alpha \log(1 - V_k)] + \text{const}.

    Its gradient, with :math:`w_{xk} = \pi_k \Pr(x \mid k) / p_x` and
    :math:`f_k = \prod_j (1 - \lambda_{jk})`:

    .. math::

        \partial_{\eta_{jk}} = \sum_x n_x w_{xk} (x_j - \lambda_{jk})
            - \frac{n \pi_k f_k \lambda_{jk}}{1 - p_0} + a_j (1 - \lambda_{jk})
            - b_j \lambda_{jk},\qquad
        \partial_{u_l} = G_l (1 - V_l) - V_l \sum_{k > l} G_k + (1 - V_l) - \alpha V_l,

    with :math:`G_k = \sum_x n_x w_{xk} - n \pi_k (1 - f_k) / (1 - p_0)` the derivative with
    respect to :math:`\log \pi_k`. A leapfrog trajectory with a diagonal mass matrix and a
    Metropolis test on the Hamiltonian leaves this target invariant (Neal 2011). Followed by
    draws of the allocations and n0 from their conditionals given the new parameters, it is a
    partially collapsed Gibbs step (van Dyk & Park 2008), so the sampler's stationary
    distribution is LCMCR's posterior. The marginal holds only under the untruncated prior
    1/N; with a bound on N the move is not used.

    References
    ----------
    Neal, R. M. (2011). MCMC using Hamiltonian dynamics. In *Handbook of Markov Chain
    Monte Carlo*, ch. 5. Chapman & Hall/CRC. doi:10.1201/b10905-6
    """
    d = q.shape[0]
    lp0 = log_target(q, g, x, counts, n, prior_a, prior_b, alpha, kk, work)
    if not lp0 > -math.inf:
        return 0.0, False
    kin0 = 0.0
    for i in range(d):
        p[i] = rng.standard_normal() / math.sqrt(inv_mass[i])
        kin0 += 0.5 * inv_mass[i] * p[i] * p[i]
        q1[i] = q[i]
    lp = lp0
    for i in range(d):
        p[i] += 0.5 * eps * g[i]
    for step in range(n_steps):
        for i in range(d):
            q1[i] += eps * inv_mass[i] * p[i]
        lp = log_target(q1, g, x, counts, n, prior_a, prior_b, alpha, kk, work)
        if not lp > -math.inf:
            return 0.0, False
        h = eps if step < n_steps - 1 else 0.5 * eps
        for i in range(d):
            p[i] += h * g[i]
    kin1 = 0.0
    for i in range(d):
        kin1 += 0.5 * inv_mass[i] * p[i] * p[i]
    log_acc = (lp - kin1) - (lp0 - kin0)
    if not log_acc == log_acc:  # NaN
        return 0.0, False
    acc_prob = 1.0 if log_acc >= 0.0 else math.exp(log_acc)
    if log_acc >= 0.0 or rng.random() < acc_prob:
        for i in range(d):
            q[i] = q1[i]
        return acc_prob, True
    return acc_prob, False


@njit(cache=True, nogil=True)
def hmc_unpack(q: np.ndarray, lm: np.ndarray, nu: np.ndarray, kk: int) -> float:
    """Write q back as the sampler's lm[j, 1, k] = lambda, lm[j, 0, k] = 1 - lambda and
    class weights nu; returns log nu_K (the rest of the stick)."""
    jj = lm.shape[0]
    for j in range(jj):
        for k in range(kk):
            e = q[j * kk + k]
            a, b = _logistic(e)
            lm[j, 1, k] = max(a, 1e-300)
            lm[j, 0, k] = max(b, 1e-300)
    acc = 0.0
    for k in range(kk - 1):
        u = q[jj * kk + k]
        lv, l1v = _log_logistic(u)
        nu[k] = math.exp(acc + lv)
        acc += l1v
    nu[kk - 1] = math.exp(acc)
    return acc


# --------------------------------------------------------------------------- adaptation
class StepSize(NamedTuple):
    """State of the dual averaging of log eps (Hoffman & Gelman 2014, algorithm 5)."""

    #: log of the step used while adapting
    log_eps: float
    #: the value log eps is shrunk towards
    mu: float
    #: running average of ``HMC_TARGET_ACCEPT`` minus the acceptance probability
    h: float
    #: weighted average of log eps; its exponential is the step used after burn-in
    log_eps_bar: float
    #: adaptation iterations since the last restart
    t: int
    #: the step used after burn-in
    eps_final: float


@njit(cache=True, nogil=True)
def step_size_init() -> StepSize:
    """Dual averaging started at ``HMC_INITIAL_STEP``."""
    log_eps = math.log(HMC_INITIAL_STEP)
    return StepSize(
        log_eps, math.log(DA_MU_FACTOR * HMC_INITIAL_STEP), 0.0, 0.0, 0, math.exp(log_eps)
    )


@njit(cache=True, nogil=True)
def step_size_update(s: StepSize, acc_prob: float) -> StepSize:
    """One dual-averaging update after a move with acceptance probability ``acc_prob``."""
    t = s.t + 1
    eta_t = 1.0 / (t + DA_T0)
    h = (1.0 - eta_t) * s.h + eta_t * (HMC_TARGET_ACCEPT - acc_prob)
    log_eps = s.mu - math.sqrt(t) / DA_GAMMA * h
    wgt = t ** -DA_KAPPA
    log_eps_bar = wgt * log_eps + (1.0 - wgt) * s.log_eps_bar
    return StepSize(log_eps, s.mu, h, log_eps_bar, t, math.exp(log_eps_bar))


@njit(cache=True, nogil=True)
def step_size_restart(s: StepSize) -> StepSize:
    """Restart the averaging around the current step (after the mass matrix changed)."""
    return StepSize(
        s.log_eps, math.log(DA_MU_FACTOR * math.exp(s.log_eps)), 0.0, 0.0, 0, s.eps_final
    )


@njit(cache=True, nogil=True)
def jittered_step(rng, s: StepSize, adapting: bool) -> float:
    """The step of one move: the adapting or final step, jittered by +-``STEP_JITTER``."""
    eps = math.exp(s.log_eps) if adapting else s.eps_final
    eps *= (1.0 - STEP_JITTER) + 2.0 * STEP_JITTER * rng.random()
    return eps


@njit(cache=True, nogil=True)
def mass_window_ends(n_warmup: int, n_burn: int) -> tuple[int, int]:
    """Sweeps (exclusive ends) at which the mass-matrix windows close."""
    adapt_len = n_burn - n_warmup
    return (n_warmup + (MASS_WINDOW_ENDS_PCT[0] * adapt_len) // 100,
            n_warmup + (MASS_WINDOW_ENDS_PCT[1] * adapt_len) // 100)


@njit(cache=True, nogil=True)
def mass_accumulate(q: np.ndarray, w_mean: np.ndarray, w_m2: np.ndarray, w_n: int) -> int:
    """Add ``q`` to the window's running mean and sum of squares (Welford); returns the
    window's new count."""
    w_n += 1
    for i in range(q.shape[0]):
        dlt = q[i] - w_mean[i]
        w_mean[i] += dlt / w_n
        w_m2[i] += dlt * (q[i] - w_mean[i])
    return w_n


@njit(cache=True, nogil=True)
def mass_update(inv_mass: np.ndarray, w_mean: np.ndarray, w_m2: np.ndarray, w_n: int) -> None:
    """Close a window: the inverse mass becomes the window's regularised variance of q, and
    the window's sums are reset."""
    for i in range(inv_mass.shape[0]):
        var = w_m2[i] / max(w_n - 1, 1)
        inv_mass[i] = (w_n * var + MASS_PRIOR_WEIGHT * MASS_PRIOR_VAR) / (w_n + MASS_PRIOR_WEIGHT)
        w_mean[i] = 0.0
        w_m2[i] = 0.0


@njit(cache=True, nogil=True)
def hmc_pack(lm: np.ndarray, lv: np.ndarray, l1v: np.ndarray, q: np.ndarray, kk: int) -> bool:
    """Write the sampler's state as q = (logit lambda, logit V) from ``lm`` and the last
    stick draw's log V and log(1 - V); False when a stick draw was exactly 0 or 1."""
    jj = lm.shape[0]
    for j in range(jj):
        for k in range(kk):
            q[j * kk + k] = math.log(lm[j, 1, k]) - math.log(lm[j, 0, k])
    finite = True
    for k in range(kk - 1):
        q[jj * kk + k] = lv[k] - l1v[k]
        # A stick draw of exactly 0 or 1 (a gamma variate of 0, probability about 2^-53)
        # has no logit: the caller skips the move rather than poison the adaptation.
        finite = finite and abs(q[jj * kk + k]) < math.inf
    return finite
