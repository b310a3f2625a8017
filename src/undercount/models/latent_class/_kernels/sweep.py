"""One chain of the LCMCR Gibbs sampler (:func:`run_chain`), on the distinct observed cells.

The class allocation of the ``c_m`` people sharing cell ``m`` is a single multinomial draw.
Each sweep draws, in order: the class allocations of the observed cells, the collapsed moves
on each class's unobserved count (:mod:`.moves`), the inclusion probabilities lambda, the
stick-breaking weights, the HMC move on (lambda, pi) (:mod:`.hmc`), n0, the allocation of
the unobserved across classes, the concentration alpha, and the label swaps. The order and
the number of variates drawn fix a chain's draws for a given generator state, so any change
here changes every reference number.

References
----------
Manrique-Vallier, D. (2016). Bayesian population size estimation using Dirichlet process
mixtures. *Biometrics* 72:1246-1254. doi:10.1111/biom.12502
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .hmc import (
    MASS_MIN_SAMPLES,
    hmc_move,
    hmc_pack,
    hmc_unpack,
    hmc_work_size,
    jittered_step,
    mass_accumulate,
    mass_update,
    mass_window_ends,
    step_size_init,
    step_size_restart,
    step_size_update,
)
from .moves import collapsed_moves, initial_log_steps, swap_labels
from .variates import (
    beta_pair,
    gamma,
    log_beta_pair,
    multinomial,
    negative_binomial,
    truncated_negbin,
)

__all__ = ["STATUS_DIVERGED", "STATUS_NUMERIC", "STATUS_OK", "ChainOutput", "run_chain"]

STATUS_OK = 0
#: n0's conditional mean passed the guard of :func:`.variates.negative_binomial`: the
#: posterior of N is (numerically) improper.
STATUS_DIVERGED = 1
#: Every class gave a cell probability 0 even on the log scale (pathological priors).
STATUS_NUMERIC = 2

#: Draws of n0 from the bounded conditional by rejection before switching to inversion
#: (:func:`.variates.truncated_negbin`): rejection keeps failing only when the mass sits at
#: the bound, where inversion from the bound down is cheap.
_CAP_TRIES = 64

#: The HMC trial (``hmc_trial``) runs only when burn-in after the warm-up has at least this
#: many sweeps; it takes the last ``1 / TRIAL_PARTS`` of them twice (with and without HMC).
TRIAL_MIN_ADAPT = 2_500
TRIAL_PARTS = 4
#: Cost of one leapfrog step relative to a sweep without HMC: 0.11 to 0.42 (mean 0.27) on
#: the eight shipped tables with 3 to 8 lists, from CPU time per sweep with 12 steps and
#: without HMC (100,000 sweeps each, 2026-12-05). The choice it feeds is far from the
#: boundary on all eight, so a rough figure suffices.
LEAPFROG_COST = 0.27
#: The move is dropped only when the chain without it looks at least this many times as
#: efficient: short windows estimate long autocorrelation times low, and the losses are
#: unequal (dropping a move that was needed cost 14 times on Kosovo; keeping one that was
#: not costs its 2 to 6 times).
TRIAL_MARGIN = 2.0
#: ... and only when its spread of log n0 is at least this fraction of the spread with it: a
#: window too short for a slowly moving chain underestimates its autocorrelation time, but
#: also shows a narrow spread.
TRIAL_SPREAD = 0.5


class ChainOutput(NamedTuple):
    """What :func:`run_chain` returns for one chain."""

    #: Kept draws of n0, the number of people no list recorded (int64; -1 after a failure).
    n0: np.ndarray
    #: Kept draws of the stick-breaking concentration alpha (NaN after a failure).
    alpha: np.ndarray
    #: Kept draws of the number of occupied classes (int64; -1 after a failure).
    k_star: np.ndarray
    #: Kept draws of the probability of the unobserved pattern (NaN after a failure).
    p0: np.ndarray
    #: Whether the bound ``max_n0`` truncated that draw's n0 update (bool).
    capped: np.ndarray
    #: Post-burn-in sweeps whose n0 update was truncated by ``max_n0``.
    n_capped: int
    #: ``STATUS_OK``, or why the chain stopped early.
    status: int
    #: Collapsed moves accepted and proposed after burn-in.
    collapsed_accepted: int
    collapsed_proposed: int
    #: HMC moves accepted and proposed after burn-in.
    hmc_accepted: int
    hmc_proposed: int
    #: The HMC step size adapted during burn-in (NaN without HMC).
    hmc_step: float
    #: Per kept draw, log p(x_m | observed) of each distinct observed pattern, shape
    #: (n_keep, M); shape (0, M) unless ``pattern_probs`` (stacking's leave-one-out scores).
    pattern_logp: np.ndarray
    #: Whether the HMC move ran after burn-in (the trial's choice, or ``hmc_steps > 0``).
    hmc_used: bool
    #: The trial's integrated autocorrelation times of log n0, with and without the HMC
    #: move (NaN without a trial).
    tau_hmc: float
    tau_plain: float


@njit(cache=True, nogil=True)
def run_chain(
    rng,
    x: np.ndarray,
    counts: np.ndarray,
    a_alpha: float,
    b_alpha: float,
    prior_a: np.ndarray,
    prior_b: np.ndarray,
    max_n0: int,
    n_warmup: int,
    n_burn: int,
    n_keep: int,
    thin: int,
    lam_init: np.ndarray,
    log_nu_init: np.ndarray,
    alpha_init: float,
    n0_init: int,
    n_collapsed: int = 0,
    skip_empty: bool = True,
    label_swaps: bool = False,
    hmc_steps: int = 0,
    pattern_probs: bool = False,
    hmc_trial: bool = False,
) -> ChainOutput:
    """Run one chain of the LCMCR Gibbs sampler.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chain's own generator (advanced in place).
    x : ndarray (M, J) uint8
        Distinct observed capture patterns.
    counts : ndarray (M,) int64
        People in each pattern (all >= 1).
    a_alpha, b_alpha : float
        Gamma(shape, rate) prior of the stick-breaking concentration alpha.
    prior_a, prior_b : ndarray (J,)
        Beta(prior_a[j], prior_b[j]) prior of every class's inclusion probability on list j.
    max_n0 : int
        Upper bound on n0 (prior on N truncated at n + max_n0); negative for no bound.
    n_warmup : int
        Initial iterations with alpha held at ``alpha_init``, after which the classes are
        relabelled by decreasing weight (LCMCR's initialisation). Part of ``n_burn``.
    n_burn, n_keep, thin : int
        Burn-in iterations, draws kept, and iterations per kept draw.
    lam_init : ndarray (J, K)
        Initial inclusion probabilities; K is the number of classes.
    log_nu_init : ndarray (K,)
        Initial log class weights (a stick-breaking draw).
    alpha_init : float
    n0_init : int
        Initial number of unobserved people (allocated across classes at the start).
    n_collapsed : int
        Metropolis moves per class and sweep on the class's unobserved count with lambda
        and the class weights integrated out (:func:`.moves.collapsed_moves`); 0 gives
        LCMCR's plain Gibbs sampler.
    skip_empty : bool
        Skip those moves for classes with no observed member in the current sweep (they
        mix fast under the plain updates; the choice depends only on the observed
        allocations, which the moves leave fixed, so the target is unchanged).
    label_swaps : bool
        After each sweep (from the end of the warm-up), propose swaps of adjacent class
        labels (:func:`.moves.swap_labels`).
    hmc_steps : int
        Leapfrog steps of the Hamiltonian Monte Carlo move on (lambda, pi) from their
        marginal posterior (:func:`.hmc.hmc_move`), made once per sweep from the end of the
        warm-up; 0 for none. Not used with a bound on n0 (the marginal is derived for the
        unbounded prior). Step size and diagonal mass matrix adapt during burn-in only.

    pattern_probs : bool
        Keep each kept draw's log p(x_m | observed) of the distinct observed patterns
        (``ChainOutput.pattern_logp``).
    hmc_trial : bool
        Keep the HMC move after burn-in only if it pays for its cost on this table. The
        last ``2 T`` burn-in sweeps (``T`` = ``(n_burn - n_warmup) // TRIAL_PARTS``) run
        with the adapted HMC move, then without it; the move is dropped iff the integrated
        autocorrelation time of log n0 without it (:func:`integrated_autocorrelation`)
        times ``TRIAL_MARGIN`` is at most ``1 + LEAPFROG_COST * hmc_steps`` times the time
        with it, i.e. iff the chain without it gives clearly more effective draws of N per
        unit of work, and its variance of log n0 is at least ``TRIAL_SPREAD`` times the
        variance with it. The step size and mass matrix then adapt over the sweeps before
        the trial. Needs ``TRIAL_MIN_ADAPT`` sweeps after the warm-up; with fewer, HMC
        stays on. Both kernels leave the posterior unchanged, and
        the choice is fixed before the first kept draw, so the chain after burn-in is a
        homogeneous Markov chain with the right target.

    Returns
    -------
    ChainOutput
    """
    mm, jj = x.shape
    kk = lam_init.shape[1]
    n = 0
    for m in range(mm):
        n += counts[m]

    # lm[j, 1, k] = lambda_jk and lm[j, 0, k] = 1 - lambda_jk, so that a cell's class
    # weights are products of rows lm[j, x_j] with no branch.
    lm = np.empty((jj, 2, kk))
    for j in range(jj):
        for k in range(kk):
            lm[j, 1, k] = lam_init[j, k]
            lm[j, 0, k] = 1.0 - lam_init[j, k]
    # Class weights nu_k on the linear scale (the largest is >= 1/K, so only negligible
    # classes can underflow), and log nu_K, which the alpha update needs exactly.
    nu = np.exp(log_nu_init)
    log_nu_last = log_nu_init[kk - 1]
    alpha = alpha_init
    n0 = n0_init

    p0k = np.empty(kk)
    w = np.empty(kk)
    alloc = np.zeros(kk, dtype=np.int64)
    cnt0 = np.zeros(kk, dtype=np.int64)
    tot = np.zeros(kk, dtype=np.int64)
    c1 = np.zeros((jj, kk), dtype=np.int64)
    order = np.empty(kk, dtype=np.int64)
    tmp = np.empty(kk)
    itmp = np.empty(kk, dtype=np.int64)
    suffix = np.empty(kk)
    # Log standard deviation of the collapsed moves' proposals, per class (adapted in
    # burn-in only), and the acceptance counts after burn-in: collapsed moves accepted and
    # proposed, then HMC moves accepted and proposed.
    log_step = np.empty(kk)
    accepted = np.zeros(4, dtype=np.int64)
    # HMC state: position, scratch, log V_k and log(1 - V_k) of the last stick draw, and
    # the adaptation (dual averaging of log eps; windowed variance of q for the mass).
    use_hmc = hmc_steps > 0 and max_n0 < 0
    dim = jj * kk + kk - 1
    hq = np.zeros(dim)
    hq1 = np.empty(dim)
    hp = np.empty(dim)
    hg = np.empty(dim)
    hwork = np.empty(hmc_work_size(jj, kk))
    inv_mass = np.ones(dim)
    w_mean = np.zeros(dim)
    w_m2 = np.zeros(dim)
    w_n = 0
    lv = np.zeros(kk)
    l1v = np.zeros(kk)
    # The trial of the HMC move at the end of burn-in (``hmc_trial``).
    trial = use_hmc and hmc_trial and n_burn - n_warmup >= TRIAL_MIN_ADAPT
    trial_len = (n_burn - n_warmup) // TRIAL_PARTS if trial else 0
    adapt_end = n_burn - 2 * trial_len
    trial_n0 = np.empty(2 * trial_len)
    tau_hmc = math.nan
    tau_plain = math.nan
    hmc_on = use_hmc
    win1, win2 = mass_window_ends(n_warmup, adapt_end)
    step_size = step_size_init()
    # Per-cell class order from the previous sweep (row mm: the unobserved).
    idx = np.empty((mm + 1, kk), dtype=np.int64)
    for m in range(mm + 1):
        for k in range(kk):
            idx[m, k] = k

    out_n0 = np.full(n_keep, -1, dtype=np.int64)
    out_alpha = np.full(n_keep, np.nan)
    out_kstar = np.full(n_keep, -1, dtype=np.int64)
    out_p0 = np.full(n_keep, np.nan)
    out_capped = np.zeros(n_keep, dtype=np.bool_)
    out_logp = np.full((n_keep if pattern_probs else 0, mm), np.nan)
    n_capped = 0
    status = STATUS_OK

    # Initial allocation of the unobserved, proportional to nu_k prod_j (1 - lambda_jk).
    for k in range(kk):
        pk = nu[k]
        for j in range(jj):
            pk *= lm[j, 0, k]
        w[k] = pk
    multinomial(rng, n0, w, cnt0, idx[mm], suffix)
    initial_log_steps(cnt0, log_step)

    n_total = n_burn + n_keep * thin
    kept = 0
    for it in range(n_total):
        if not _allocate_observed(rng, x, counts, nu, lm, cnt0, tot, c1, w, alloc, idx, suffix):
            status = STATUS_NUMERIC
            break

        # -- unobserved of each class, lambda integrated out (Metropolis) ---------------
        if n_collapsed > 0:
            n0 = collapsed_moves(
                rng, n, n0, alpha, cnt0, tot, c1, prior_a, prior_b, max_n0, n_collapsed,
                log_step, accepted, it < n_burn, it + 1, skip_empty,
            )

        _draw_lambda(rng, prior_a, prior_b, c1, tot, lm)
        k_star = 0
        for k in range(kk):
            if tot[k] > 0:
                k_star += 1
        log_nu_last = _draw_sticks(rng, tot, n + n0, alpha, nu, lv, l1v)

        # -- (lambda, pi) from their marginal posterior: HMC ----------------------------
        plain_trial = trial and it >= n_burn - trial_len and it < n_burn
        if hmc_on and not plain_trial and it >= n_warmup and hmc_pack(lm, lv, l1v, hq, kk):
            adapting = it < adapt_end
            eps = jittered_step(rng, step_size, adapting)
            acc_prob, moved = hmc_move(
                rng, hq, x, counts, n, prior_a, prior_b, alpha, kk, eps, hmc_steps,
                inv_mass, hwork, hq1, hp, hg,
            )
            if moved:
                log_nu_last = hmc_unpack(hq, lm, nu, kk)
            if adapting:
                step_size = step_size_update(step_size, acc_prob)
                # Windowed variance of q: the mass matrix is reset at the end of each window.
                w_n = mass_accumulate(hq, w_mean, w_m2, w_n)
                if (it == win1 - 1 or it == win2 - 1) and w_n >= MASS_MIN_SAMPLES:
                    mass_update(inv_mass, w_mean, w_m2, w_n)
                    w_n = 0
                    step_size = step_size_restart(step_size)
            elif it >= n_burn:
                accepted[2] += int(moved)
                accepted[3] += 1

        # -- n0 | lambda, nu ~ NegBin(n, 1 - p0) (prior on N proportional to 1/N) ------
        p0, p_obs = _p_unobserved(lm, nu, p0k)
        if not p_obs > 0.0:
            status = STATUS_DIVERGED
            break
        draw, capped = _draw_n0(rng, n, p_obs, max_n0)
        if draw == math.inf:
            status = STATUS_DIVERGED
            break
        n0 = int(draw)
        if trial and it >= adapt_end and it < n_burn:
            # On the log scale: N's posterior is right-skewed, and a short window's
            # variance of n0 itself swings with the few draws in its tail.
            trial_n0[it - adapt_end] = math.log1p(n0)
            if it == n_burn - 1:
                with_hmc = trial_n0[:trial_len]
                without = trial_n0[trial_len:]
                tau_hmc = integrated_autocorrelation(with_hmc)
                tau_plain = integrated_autocorrelation(without)
                cost = 1.0 + LEAPFROG_COST * hmc_steps
                hmc_on = (TRIAL_MARGIN * tau_plain > cost * tau_hmc
                          or np.var(without) < TRIAL_SPREAD * np.var(with_hmc))

        # -- allocation of the unobserved across classes --------------------------------
        for k in range(kk):
            w[k] = nu[k] * p0k[k]
        multinomial(rng, n0, w, cnt0, idx[mm], suffix)

        # -- concentration: alpha ~ Gamma(a + K - 1, b - log nu_K) ----------------------
        if it >= n_warmup:
            alpha = gamma(rng, a_alpha + kk - 1.0) / (b_alpha - log_nu_last)
        elif it == n_warmup - 1:
            # End of LCMCR's warm-up: relabel classes by decreasing weight, so the
            # stick-breaking order starts from the big classes.
            _relabel_by_weight(nu, cnt0, lm, order, tmp, itmp)

        if label_swaps and it >= n_warmup:
            swap_labels(rng, nu, cnt0, lm)

        if it >= n_burn:
            if capped:
                n_capped += 1
            t = it - n_burn
            if (t + 1) % thin == 0:
                out_n0[kept] = n0
                out_alpha[kept] = alpha
                out_kstar[kept] = k_star
                out_p0[kept] = p0
                out_capped[kept] = capped
                if pattern_probs:
                    _pattern_logp(x, nu, lm, math.log(p_obs), out_logp[kept])
                kept += 1
    return ChainOutput(
        out_n0, out_alpha, out_kstar, out_p0, out_capped, n_capped, status,
        accepted[0], accepted[1], accepted[2], accepted[3],
        step_size.eps_final if use_hmc else math.nan, out_logp, hmc_on, tau_hmc, tau_plain,
    )


@njit(cache=True, nogil=True)
def integrated_autocorrelation(y: np.ndarray) -> float:
    r"""Integrated autocorrelation time of a chain segment, by Geyer's initial monotone
    sequence: :math:`\tau = -1 + 2 \sum_{k \ge 0} \Gamma_k`, :math:`\Gamma_k =
    \rho_{2k} + \rho_{2k+1}`, summed while positive and made non-increasing (Geyer 1992,
    "Practical Markov chain Monte Carlo", *Statistical Science* 7:473-483). A constant
    segment did not move: its time is its length. Effective draws = length / tau."""
    t = y.shape[0]
    mean = y.mean()
    c0 = np.sum((y - mean) ** 2)
    if not c0 > 0.0:
        return float(t)
    tau = -1.0
    prev = math.inf
    lag = 0
    while lag + 1 < t:
        pair = 0.0
        for h in (lag, lag + 1):
            acc = 0.0
            for i in range(t - h):
                acc += (y[i] - mean) * (y[i + h] - mean)
            pair += acc / c0
        if pair <= 0.0:
            break
        pair = min(pair, prev)
        tau += 2.0 * pair
        prev = pair
        lag += 2
    return tau


@njit(cache=True, nogil=True)
def _pattern_logp(
    x: np.ndarray, nu: np.ndarray, lm: np.ndarray, log_p_obs: float, out: np.ndarray
) -> None:
    """``out[m] = log p(x_m | observed)``: sum_k nu_k prod_j lambda_jk^x (1 - lambda_jk)^(1-x),
    divided by the probability of being on at least one list."""
    for m in range(x.shape[0]):
        total = 0.0
        for k in range(nu.shape[0]):
            pk = nu[k]
            for j in range(x.shape[1]):
                pk *= lm[j, x[m, j], k]
            total += pk
        out[m] = math.log(total) - log_p_obs if total > 0.0 else -math.inf


@njit(cache=True, nogil=True)
def _allocate_observed(
    rng,
    x: np.ndarray,
    counts: np.ndarray,
    nu: np.ndarray,
    lm: np.ndarray,
    cnt0: np.ndarray,
    tot: np.ndarray,
    c1: np.ndarray,
    w: np.ndarray,
    alloc: np.ndarray,
    idx: np.ndarray,
    suffix: np.ndarray,
) -> bool:
    """Class allocation of each observed cell's people, one multinomial per cell.

    Sets ``tot`` to the class sizes (unobserved ``cnt0`` included) and ``c1[j, k]`` to the
    people of class k on list j. False when a cell has probability 0 under every class.
    """
    mm, jj = x.shape
    kk = nu.shape[0]
    for k in range(kk):
        tot[k] = cnt0[k]
    c1[:, :] = 0
    for m in range(mm):
        for k in range(kk):
            w[k] = nu[k]
        for j in range(jj):
            row = lm[j, x[m, j]]
            for k in range(kk):
                w[k] *= row[k]
        total = 0.0
        for k in range(kk):
            total += w[k]
        if not total > 1e-280:
            total = _class_weights_log(x, m, nu, lm, w)
            if not total > 0.0:
                return False
        multinomial(rng, counts[m], w, alloc, idx[m], suffix)
        for j in range(jj):
            if x[m, j]:
                for k in range(kk):
                    c1[j, k] += alloc[k]
        for k in range(kk):
            tot[k] += alloc[k]
    return True


@njit(cache=True, nogil=True)
def _class_weights_log(
    x: np.ndarray, m: int, nu: np.ndarray, lm: np.ndarray, w: np.ndarray
) -> float:
    # Fallback when the linear-scale weights of a cell underflow: weights relative to the
    # largest one, computed on the log scale. (A class weight nu_k that itself underflowed
    # to 0 is below 1e-308 and keeps weight 0.)
    kk = w.shape[0]
    jj = x.shape[1]
    top = -math.inf
    for k in range(kk):
        if not nu[k] > 0.0:
            w[k] = -math.inf
            continue
        lw = math.log(nu[k])
        for j in range(jj):
            lw += math.log(lm[j, x[m, j], k])
        w[k] = lw
        if lw > top:
            top = lw
    total = 0.0
    for k in range(kk):
        w[k] = math.exp(w[k] - top) if top > -math.inf else 0.0
        total += w[k]
    return total


@njit(cache=True, nogil=True)
def _draw_lambda(
    rng, prior_a: np.ndarray, prior_b: np.ndarray, c1: np.ndarray, tot: np.ndarray,
    lm: np.ndarray,
) -> None:
    """Inclusion probabilities: lambda_jk ~ Beta(a_j + on list j, b_j + off list j)."""
    jj, kk = c1.shape
    for j in range(jj):
        for k in range(kk):
            lam_jk, mu_jk = beta_pair(
                rng, prior_a[j] + c1[j, k], prior_b[j] + (tot[k] - c1[j, k])
            )
            # Keep log() finite; changes nothing unless a prior puts mass at 0 or 1.
            lm[j, 1, k] = max(lam_jk, 1e-300)
            lm[j, 0, k] = max(mu_jk, 1e-300)


@njit(cache=True, nogil=True)
def _draw_sticks(
    rng, tot: np.ndarray, big_n: int, alpha: float, nu: np.ndarray, lv: np.ndarray,
    l1v: np.ndarray,
) -> float:
    """Stick-breaking weights: V_k ~ Beta(1 + n_k, alpha + n_{>k}), k < K, into ``nu``.

    Keeps log V_k and log(1 - V_k) in ``lv``, ``l1v`` (the HMC move starts from them) and
    returns log nu_K. Linear scale while it is safe (both shapes >= 1 and the remaining
    stick far from underflow); on the log scale otherwise, e.g. for empty classes at the end
    of the stick, where the shape alpha + 0 may be tiny and 1 - V_k underflow.
    """
    kk = nu.shape[0]
    rest = big_n
    rem = 1.0
    log_rem = 0.0
    for k in range(kk - 1):
        rest -= tot[k]
        a = 1.0 + tot[k]
        b = alpha + rest
        if b >= 1.0 and rem > 1e-250:
            g1 = gamma(rng, a)
            g2 = gamma(rng, b)
            gs = g1 + g2
            nu[k] = rem * (g1 / gs)
            rem *= g2 / gs
            lv[k] = math.log(g1 / gs)
            l1v[k] = math.log(g2 / gs)
            log_rem += l1v[k]
        else:
            log_v, log_1mv = log_beta_pair(rng, a, b)
            nu[k] = math.exp(log_rem + log_v)
            lv[k] = log_v
            l1v[k] = log_1mv
            log_rem += log_1mv
            rem = math.exp(log_rem)
    nu[kk - 1] = rem
    return log_rem


@njit(cache=True, nogil=True)
def _p_unobserved(lm: np.ndarray, nu: np.ndarray, p0k: np.ndarray) -> tuple[float, float]:
    """(p0, 1 - p0): the probability of the all-zero pattern and its complement, the
    latter without cancellation when p0 is near 1. ``p0k[k]`` gets prod_j (1 - lambda_jk)."""
    jj = lm.shape[0]
    kk = nu.shape[0]
    p0 = 0.0
    for k in range(kk):
        prod = 1.0
        for j in range(jj):
            prod *= lm[j, 0, k]
        p0k[k] = prod
        p0 += nu[k] * prod
    if p0 < 0.9:
        return p0, 1.0 - p0
    # sum_k nu_k (1 - prod_j (1 - lambda_jk)), through log1p where the product is near 1.
    p_obs = 0.0
    for k in range(kk):
        if p0k[k] > 0.5:
            s = 0.0
            for j in range(jj):
                s += math.log1p(-lm[j, 1, k])
            p_obs += nu[k] * -math.expm1(s)
        else:
            p_obs += nu[k] * (1.0 - p0k[k])
    return p0, p_obs


@njit(cache=True, nogil=True)
def _draw_n0(rng, n: int, p_obs: float, max_n0: int) -> tuple[float, bool]:
    """n0 ~ NegBin(n, 1 - p0), truncated at ``max_n0`` when that is >= 0; returns the draw
    (inf when the chain ran off to N = infinity) and whether the bound truncated it."""
    draw = negative_binomial(rng, n, p_obs)
    if max_n0 < 0 or not draw > max_n0:
        return draw, False
    tries = 0
    while draw > max_n0 and tries < _CAP_TRIES:
        draw = negative_binomial(rng, n, p_obs)
        tries += 1
    if draw > max_n0:
        draw = float(truncated_negbin(rng, n, p_obs, max_n0))
    return draw, True


@njit(cache=True, nogil=True)
def _relabel_by_weight(
    nu: np.ndarray, cnt0: np.ndarray, lm: np.ndarray, order: np.ndarray, tmp: np.ndarray,
    itmp: np.ndarray,
) -> None:
    """Relabel the classes by decreasing weight (stable), permuting every per-class array."""
    kk = nu.shape[0]
    for k in range(kk):
        tmp[k] = -nu[k]
    order[:] = np.argsort(tmp, kind="mergesort")
    _permute(nu, order, tmp)
    _permute(cnt0, order, itmp)
    for j in range(lm.shape[0]):
        _permute(lm[j, 0], order, tmp)
        _permute(lm[j, 1], order, tmp)


@njit(cache=True, nogil=True)
def _permute(v: np.ndarray, order: np.ndarray, tmp: np.ndarray) -> None:
    # v[:] = v[order] through scratch ``tmp`` of v's dtype (compiled once per dtype).
    for k in range(v.shape[0]):
        tmp[k] = v[order[k]]
    for k in range(v.shape[0]):
        v[k] = tmp[k]
