"""Numba kernels of the latent-class (LCMCR) Gibbs sampler. Arrays in, arrays out.

The sampler works on the distinct observed capture patterns (cells) rather than on
individuals: the class allocation of the ``c_m`` people sharing cell ``m`` is a single
multinomial draw. Every random variate comes from the chain's own
:class:`numpy.random.Generator` (numba's nopython support for ``Generator``), so a chain's
draws depend only on its generator's state, never on thread scheduling.

Three Metropolis moves can be added to LCMCR's Gibbs sweep without changing its stationary
distribution: moves on each class's unobserved count with the inclusion probabilities and
class weights integrated out (:func:`_collapsed_moves`), swaps of adjacent class labels
(:func:`_label_swaps`), and a Hamiltonian Monte Carlo move on (lambda, pi) from their
posterior given the observed table alone, with the class allocations and N summed out
(:func:`hmc_move`). They attack the slowest-mixing directions of the plain sweep: N moving
only as fast as lambda, the order of the classes along the stick, and the coupling between
the parameters and the missing data (allocations and unobserved) that the sweep
alternates between.

Samplers for the binomial (inversion for small means, Hörmann's transformed rejection
with decomposition, "BTRD", otherwise) and gamma (Marsaglia & Tsang) distributions are
written here because numba's generic binomial (about 300 ns a call) dominated the sweep.

References
----------
Manrique-Vallier, D. (2016). Bayesian population size estimation using Dirichlet process
mixtures. *Biometrics* 72:1246-1254. doi:10.1111/biom.12502
Hörmann, W. (1993). The generation of binomial random variates. *Journal of Statistical
Computation and Simulation* 46:101-110. doi:10.1080/00949659308811496
Papaspiliopoulos, O. and Roberts, G. O. (2008). Retrospective Markov chain Monte Carlo
methods for Dirichlet process hierarchical models. *Biometrika* 95:169-186.
doi:10.1093/biomet/asm086
van Dyk, D. A. and Park, T. (2008). Partially collapsed Gibbs samplers: theory and methods.
*JASA* 103:790-796. doi:10.1198/016214508000000409
Marsaglia, G. and Tsang, W. W. (2000). A simple method for generating gamma variables.
*ACM Transactions on Mathematical Software* 26:363-372. doi:10.1145/358407.358414
Neal, R. M. (2011). MCMC using Hamiltonian dynamics. In *Handbook of Markov Chain Monte
Carlo*, ch. 5. Chapman & Hall/CRC. doi:10.1201/b10905-6
Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn sampler: adaptively setting path
lengths in Hamiltonian Monte Carlo. *JMLR* 15:1593-1623 (dual averaging of the step size).
Carpenter, B. et al. (2017). Stan: a probabilistic programming language. *Journal of
Statistical Software* 76(1). doi:10.18637/jss.v076.i01 (windowed mass-matrix adaptation).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "STATUS_DIVERGED",
    "STATUS_NUMERIC",
    "STATUS_OK",
    "binomial",
    "log_gamma_variate",
    "multinomial",
    "negative_binomial",
    "run_chain",
]

STATUS_OK = 0
#: n0's conditional mean passed ``_N0_GUARD``: the posterior of N is (numerically) improper.
STATUS_DIVERGED = 1
#: Every class gave a cell probability 0 even on the log scale (pathological priors).
STATUS_NUMERIC = 2

# A conditional mean of n0 above this cannot be represented exactly in float64 nor drawn
# reliably as a Poisson variate; a chain that gets there has run off to N = infinity.
_N0_GUARD = 1e15

# A multinomial switches from conditional binomials to placing trials one by one when at
# most this many are left (one uniform each instead of a binomial per class).
_FEW = 12

# Stirling-series remainders log(k!) - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi)/2],
# exact for k < 10 (used by the binomial sampler's acceptance test).
_FC_TABLE = np.array(
    [
        math.lgamma(k + 1.0) - ((k + 0.5) * math.log(k + 1.0) - (k + 1.0)
                                + 0.5 * math.log(2.0 * math.pi))
        for k in range(10)
    ]
)


@njit(cache=True, nogil=True)
def _fc(k: float) -> float:
    if k < 10.0:
        return _FC_TABLE[int(k)]
    kp1 = k + 1.0
    kp1sq = kp1 * kp1
    return (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / 1260.0 / kp1sq) / kp1sq) / kp1


@njit(cache=True, nogil=True)
def _uniform_pos(rng) -> float:
    """Uniform on (0, 1] (safe under log)."""
    return 1.0 - rng.random()


@njit(cache=True, nogil=True)
def _binomial_inversion(rng, n: int, p: float) -> int:
    # Sequential search of the CDF; expected n*p + 1 steps, used for n*p < 10, p <= 1/2.
    q = 1.0 - p
    s = p / q
    a = (n + 1) * s
    r0 = math.exp(n * math.log1p(-p))
    while True:
        u = rng.random()
        r = r0
        x = 0
        while u > r:
            u -= r
            x += 1
            if x > n:
                break
            r *= a / x - s
        if x <= n:
            return x


@njit(cache=True, nogil=True)
def _binomial_btrd(rng, n: int, p: float) -> int:
    # Hörmann's BTRD (transformed rejection with decomposition); needs n*p >= 10, p <= 1/2.
    # About 80% of draws take the first branch: one uniform, no transcendental function.
    nf = float(n)
    npq = nf * p * (1.0 - p)
    spq = math.sqrt(npq)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = nf * p + 0.5
    v_r = 0.92 - 4.2 / b
    u_rv_r = 0.86 * v_r
    while True:
        v = rng.random()
        if v <= u_rv_r:
            u = v / v_r - 0.43
            return int(math.floor((2.0 * a / (0.5 - abs(u)) + b) * u + c))  # noqa: RUF046
        if v >= v_r:
            u = rng.random() - 0.5
        else:
            u = v / v_r - 0.93
            u = (-0.5 if u < 0.0 else 0.5) - u
            v = rng.random() * v_r
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0.0 or k > nf:
            continue
        alpha = (2.83 + 5.1 / b) * spq
        v = v * alpha / (a / (us * us) + b)
        r = p / (1.0 - p)
        m = math.floor((nf + 1.0) * p)
        km = abs(k - m)
        if km <= 15.0:
            # f(k)/f(m) by the recursion f(i)/f(i-1) = (n + 1) r / i - r.
            nr = (nf + 1.0) * r
            f = 1.0
            if m < k:
                i = m
                while i < k:
                    i += 1.0
                    f *= nr / i - r
            elif m > k:
                i = k
                while i < m:
                    i += 1.0
                    v *= nr / i - r
            if v <= f:
                return int(k)
            continue
        # Squeeze on log f(k)/f(m), then the exact test with Stirling remainders.
        v = math.log(v)
        rho = (km / npq) * (((km / 3.0 + 0.625) * km + 1.0 / 6.0) / npq + 0.5)
        t = -km * km / (2.0 * npq)
        if v < t - rho:
            return int(k)
        if v > t + rho:
            continue
        nm = nf - m + 1.0
        h = (m + 0.5) * math.log((m + 1.0) / (r * nm)) + _fc(m) + _fc(nf - m)
        nk = nf - k + 1.0
        if v <= (h + (nf + 1.0) * math.log(nm / nk) + (k + 0.5) * math.log(nk * r / (k + 1.0))
                 - _fc(k) - _fc(nf - k)):
            return int(k)


@njit(cache=True, nogil=True)
def binomial(rng, n: int, p: float) -> int:
    """Binomial(n, p) variate."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    flip = p > 0.5
    pp = 1.0 - p if flip else p
    if n * pp < 10.0:
        x = _binomial_inversion(rng, n, pp)
    else:
        x = _binomial_btrd(rng, n, pp)
    return n - x if flip else x


@njit(cache=True, nogil=True)
def multinomial(
    rng, n: int, w: np.ndarray, out: np.ndarray, idx: np.ndarray, suffix: np.ndarray
) -> None:
    """Multinomial(n, w / sum(w)) into ``out``; ``w`` are non-negative weights.

    Classes are visited in decreasing weight. While many trials are left they are split off
    by conditional binomials, X_k ~ Binomial(left, w_k / sum of the weights not yet
    visited); the last few (at most ``_FEW``) are placed one at a time by inverting the
    cumulative weights of the classes not yet visited. Both steps draw exactly from the
    conditional multinomial, and visiting the big classes first means the binomial phase
    ends after a handful of classes instead of K - 1.

    ``idx`` (int64, length K) holds a permutation of the classes on entry, a guess of their
    decreasing order (the order found at the previous sweep), and is sorted in place; the
    guess only saves time. ``suffix`` (float64, length K) is scratch.
    """
    kk = w.shape[0]
    for k in range(kk):
        out[k] = 0
    if n <= 0:
        return
    # Insertion sort of the class indices by decreasing weight: K is small and the
    # previous order is nearly right, so this is close to K comparisons.
    for i in range(1, kk):
        ki = idx[i]
        wi = w[ki]
        j = i - 1
        while j >= 0 and w[idx[j]] < wi:
            idx[j + 1] = idx[j]
            j -= 1
        idx[j + 1] = ki
    # Suffix sums in increasing order of size: exact enough, never a difference.
    acc = 0.0
    for i in range(kk - 1, -1, -1):
        acc += w[idx[i]]
        suffix[i] = acc
    left = n
    pos = 0
    while left > _FEW and pos < kk - 1:
        k = idx[pos]
        rest = suffix[pos]
        if rest <= 0.0:
            break
        p = w[k] / rest
        x = binomial(rng, left, p) if p < 1.0 else left
        out[k] += x
        left -= x
        pos += 1
    if left == 0:
        return
    rest = suffix[pos]
    if pos == kk - 1 or rest <= 0.0:
        out[idx[pos]] += left
        return
    # Each remaining trial goes to visited-order class i with suffix[i + 1] < t <= suffix[i],
    # t uniform on (0, rest]: classes of weight 0 (equal suffixes) are never chosen.
    last = kk - 1
    for _ in range(left):
        t = rest * (1.0 - rng.random())
        i = pos
        while i < last and suffix[i + 1] >= t:
            i += 1
        out[idx[i]] += 1


@njit(cache=True, nogil=True)
def _gamma_mt(rng, a: float) -> float:
    # Marsaglia-Tsang, a >= 1.
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = rng.standard_normal()
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = rng.random()
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2:
            return d * v
        if math.log(u) < 0.5 * x2 + d * (1.0 - v + math.log(v)):
            return d * v


@njit(cache=True, nogil=True)
def log_gamma_variate(rng, a: float) -> float:
    """log of a Gamma(a, 1) variate, finite even when ``a`` is tiny.

    For ``a < 1``, Gamma(a) = Gamma(a + 1) U^{1/a}, taken on the log scale so that draws
    far below the smallest double survive.
    """
    if a == 1.0:
        return math.log(rng.standard_exponential())
    if a > 1.0:
        return math.log(_gamma_mt(rng, a))
    return math.log(_gamma_mt(rng, a + 1.0)) + math.log(_uniform_pos(rng)) / a


@njit(cache=True, nogil=True)
def _gamma(rng, a: float) -> float:
    if a == 1.0:
        return rng.standard_exponential()
    if a > 1.0:
        return _gamma_mt(rng, a)
    return math.exp(log_gamma_variate(rng, a))


@njit(cache=True, nogil=True)
def negative_binomial(rng, n: int, p: float) -> float:
    """Failures before ``n`` successes of probability ``p`` (gamma-Poisson mixture).

    Returns a float so that a conditional mean beyond ``_N0_GUARD`` can be signalled by
    ``inf`` instead of overflowing.
    """
    lam = _gamma(rng, float(n)) * (1.0 - p) / p
    if not lam < _N0_GUARD:
        return math.inf
    return float(rng.poisson(lam))


@njit(cache=True, nogil=True)
def _truncated_negbin(rng, n: int, p: float, cap: int) -> int:
    """NegBin(n, p) conditioned on <= cap, by inversion from the cap downwards.

    Used only when rejection keeps failing, i.e. when the mass sits at the cap. The pmf
    ratio f(k-1)/f(k) = k / ((n + k - 1)(1 - p)) is used to walk down from the cap until
    the weights become negligible.
    """
    q = 1.0 - p
    size = min(cap + 1, 1 << 22)
    wts = np.empty(size)
    wts[0] = 1.0
    total = 1.0
    count = 1
    k = cap
    while k > 0 and count < size:
        nxt = wts[count - 1] * k / ((n + k - 1) * q)
        if nxt < 1e-17 * total and nxt <= wts[count - 1]:
            break
        wts[count] = nxt
        total += nxt
        count += 1
        k -= 1
    u = rng.random() * total
    acc = 0.0
    for i in range(count):
        acc += wts[i]
        if u < acc:
            return cap - i
    return cap - count + 1


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
def _beta_pair(rng, a: float, b: float) -> tuple[float, float]:
    """(B, 1 - B) for B ~ Beta(a, b), each computed without cancellation."""
    if a == 1.0 and b == 1.0:
        u = _uniform_pos(rng)
        return u, 1.0 - u
    if a >= 1.0 and b >= 1.0:
        g1 = _gamma(rng, a)
        g2 = _gamma(rng, b)
        s = g1 + g2
        return g1 / s, g2 / s
    l1 = log_gamma_variate(rng, a)
    l2 = log_gamma_variate(rng, b)
    top = max(l1, l2)
    ls = top + math.log(math.exp(l1 - top) + math.exp(l2 - top))
    return math.exp(l1 - ls), math.exp(l2 - ls)


@njit(cache=True, nogil=True)
def _log_beta_pair(rng, a: float, b: float) -> tuple[float, float]:
    """(log B, log(1 - B)) for B ~ Beta(a, b); finite even when B or 1 - B underflows."""
    if a >= 1.0 and b >= 1.0:
        g1 = _gamma(rng, a)
        g2 = _gamma(rng, b)
        ls = math.log(g1 + g2)
        return math.log(g1) - ls, math.log(g2) - ls
    l1 = log_gamma_variate(rng, a)
    l2 = log_gamma_variate(rng, b)
    top = max(l1, l2)
    ls = top + math.log(math.exp(l1 - top) + math.exp(l2 - top))
    return l1 - ls, l2 - ls


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
):
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
        and the class weights integrated out (:func:`_collapsed_moves`); 0 gives LCMCR's
        plain Gibbs sampler.
    skip_empty : bool
        Skip those moves for classes with no observed member in the current sweep (they
        mix fast under the plain updates; the choice depends only on the observed
        allocations, which the moves leave fixed, so the target is unchanged).
    label_swaps : bool
        After each sweep (from the end of the warm-up), propose swaps of adjacent class
        labels (:func:`_label_swaps`).
    hmc_steps : int
        Leapfrog steps of the Hamiltonian Monte Carlo move on (lambda, pi) from their
        marginal posterior (:func:`hmc_move`), made
        once per sweep from the end of the warm-up; 0 for none. Not used with a bound on
        n0 (the marginal is derived for the unbounded prior). Step size and diagonal mass
        matrix adapt during burn-in only.

    Returns
    -------
    n0, alpha, k_star, p0, capped : ndarrays (n_keep,)
        Kept draws of n0, alpha, the number of occupied classes, the probability of the
        unobserved pattern, and whether the bound ``max_n0`` truncated that draw's n0 update.
    n_capped : int
        Post-burn-in iterations whose n0 update was truncated by ``max_n0``.
    status : int
        ``STATUS_OK``, or why the chain stopped early (kept draws after that are -1 / NaN).
    accepted : ndarray (4,) int64
        Collapsed moves accepted and proposed after burn-in, then HMC moves accepted and
        proposed after burn-in.
    step : float
        The HMC step size adapted during burn-in (NaN without HMC).
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
    # burn-in only), and their acceptance counts after burn-in.
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
    hwork = np.empty(_hmc_work_size(jj, kk))
    inv_mass = np.ones(dim)
    w_mean = np.zeros(dim)
    w_m2 = np.zeros(dim)
    w_n = 0
    lv = np.zeros(kk)
    l1v = np.zeros(kk)
    adapt_len = n_burn - n_warmup
    win1 = n_warmup + (15 * adapt_len) // 100
    win2 = n_warmup + (50 * adapt_len) // 100
    log_eps = math.log(0.05)
    da_mu = math.log(0.5)
    da_h = 0.0
    da_bar = 0.0
    da_t = 0
    eps_final = math.exp(log_eps)  # the step used after burn-in
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
    n_capped = 0
    status = STATUS_OK

    # Initial allocation of the unobserved, proportional to nu_k prod_j (1 - lambda_jk).
    for k in range(kk):
        pk = nu[k]
        for j in range(jj):
            pk *= lm[j, 0, k]
        w[k] = pk
    multinomial(rng, n0, w, cnt0, idx[mm], suffix)
    for k in range(kk):
        log_step[k] = 0.5 * math.log(cnt0[k] + 1.0)

    n_total = n_burn + n_keep * thin
    kept = 0
    for it in range(n_total):
        # -- class allocation of the observed cells ------------------------------------
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
                    status = STATUS_NUMERIC
                    break
            multinomial(rng, counts[m], w, alloc, idx[m], suffix)
            for j in range(jj):
                if x[m, j]:
                    for k in range(kk):
                        c1[j, k] += alloc[k]
            for k in range(kk):
                tot[k] += alloc[k]
        if status != STATUS_OK:
            break

        # -- unobserved of each class, lambda integrated out (Metropolis) ---------------
        if n_collapsed > 0:
            n0 = _collapsed_moves(
                rng, n, n0, alpha, cnt0, tot, c1, prior_a, prior_b, max_n0, n_collapsed,
                log_step, accepted, it < n_burn, it + 1, skip_empty,
            )


        # -- inclusion probabilities: Beta(a_j + on list, b_j + off list) ---------------
        for j in range(jj):
            for k in range(kk):
                lam_jk, mu_jk = _beta_pair(
                    rng, prior_a[j] + c1[j, k], prior_b[j] + (tot[k] - c1[j, k])
                )
                # Keep log() finite; changes nothing unless a prior puts mass at 0 or 1.
                lm[j, 1, k] = max(lam_jk, 1e-300)
                lm[j, 0, k] = max(mu_jk, 1e-300)

        # -- stick-breaking weights: V_k ~ Beta(1 + n_k, alpha + n_{>k}) ---------------
        k_star = 0
        for k in range(kk):
            if tot[k] > 0:
                k_star += 1
        # Linear scale while it is safe (both shapes >= 1 and the remaining stick far from
        # underflow); on the log scale otherwise, e.g. for empty classes at the end of the
        # stick, where the shape alpha + 0 may be tiny and 1 - V_k underflow.
        rest = n + n0
        rem = 1.0
        log_rem = 0.0
        for k in range(kk - 1):
            rest -= tot[k]
            a = 1.0 + tot[k]
            b = alpha + rest
            if b >= 1.0 and rem > 1e-250:
                g1 = _gamma(rng, a)
                g2 = _gamma(rng, b)
                gs = g1 + g2
                nu[k] = rem * (g1 / gs)
                rem *= g2 / gs
                lv[k] = math.log(g1 / gs)
                l1v[k] = math.log(g2 / gs)
                log_rem += l1v[k]
            else:
                log_v, log_1mv = _log_beta_pair(rng, a, b)
                nu[k] = math.exp(log_rem + log_v)
                lv[k] = log_v
                l1v[k] = log_1mv
                log_rem += log_1mv
                rem = math.exp(log_rem)
        nu[kk - 1] = rem
        log_nu_last = log_rem

        # -- (lambda, pi) from their marginal posterior: HMC ----------------------------
        finite = True
        if use_hmc and it >= n_warmup:
            for j in range(jj):
                for k in range(kk):
                    hq[j * kk + k] = math.log(lm[j, 1, k]) - math.log(lm[j, 0, k])
            for k in range(kk - 1):
                hq[jj * kk + k] = lv[k] - l1v[k]
                # A stick draw of exactly 0 or 1 (a gamma variate of 0, probability about
                # 2^-53) has no logit: skip the move rather than poison the adaptation.
                finite = finite and abs(hq[jj * kk + k]) < math.inf
        if use_hmc and it >= n_warmup and finite:
            adapting = it < n_burn
            eps = math.exp(log_eps) if adapting else eps_final
            eps *= 0.9 + 0.2 * rng.random()
            acc_prob, moved = hmc_move(
                rng, hq, x, counts, n, prior_a, prior_b, alpha, kk, eps, hmc_steps,
                inv_mass, hwork, hq1, hp, hg,
            )
            if moved:
                log_rem = _hmc_unpack(hq, lm, nu, kk)
                log_nu_last = log_rem
            if adapting:
                da_t += 1
                eta_t = 1.0 / (da_t + 10.0)
                da_h = (1.0 - eta_t) * da_h + eta_t * (0.8 - acc_prob)
                log_eps = da_mu - math.sqrt(da_t) / 0.05 * da_h
                wgt = da_t ** -0.75
                da_bar = wgt * log_eps + (1.0 - wgt) * da_bar
                eps_final = math.exp(da_bar)
                # Windowed variance of q: the mass matrix is reset at the end of each window.
                w_n += 1
                for i in range(dim):
                    dlt = hq[i] - w_mean[i]
                    w_mean[i] += dlt / w_n
                    w_m2[i] += dlt * (hq[i] - w_mean[i])
                if (it == win1 - 1 or it == win2 - 1) and w_n >= 20:
                    # Regularised towards 1e-3 as Stan does (Carpenter et al. 2017).
                    for i in range(dim):
                        var = w_m2[i] / max(w_n - 1, 1)
                        inv_mass[i] = (w_n * var + 5e-3) / (w_n + 5.0)
                        w_mean[i] = 0.0
                        w_m2[i] = 0.0
                    w_n = 0
                    da_mu = math.log(10.0 * math.exp(log_eps))
                    da_h = 0.0
                    da_bar = 0.0
                    da_t = 0
            else:
                accepted[2] += int(moved)
                accepted[3] += 1

        # -- n0 | lambda, nu ~ NegBin(n, 1 - p0) (prior on N proportional to 1/N) ------
        p0 = 0.0
        for k in range(kk):
            prod = 1.0
            for j in range(jj):
                prod *= lm[j, 0, k]
            p0k[k] = prod
            p0 += nu[k] * prod
        if p0 < 0.9:
            p_obs = 1.0 - p0
        else:
            # 1 - p0 without cancellation: sum_k nu_k (1 - prod_j (1 - lambda_jk)).
            p_obs = 0.0
            for k in range(kk):
                if p0k[k] > 0.5:
                    s = 0.0
                    for j in range(jj):
                        s += math.log1p(-lm[j, 1, k])
                    p_obs += nu[k] * -math.expm1(s)
                else:
                    p_obs += nu[k] * (1.0 - p0k[k])
        if not p_obs > 0.0:
            status = STATUS_DIVERGED
            break
        capped = False
        draw = negative_binomial(rng, n, p_obs)
        if max_n0 >= 0 and draw > max_n0:
            capped = True
            tries = 0
            while draw > max_n0 and tries < 64:
                draw = negative_binomial(rng, n, p_obs)
                tries += 1
            if draw > max_n0:
                draw = float(_truncated_negbin(rng, n, p_obs, max_n0))
        if draw == math.inf:
            status = STATUS_DIVERGED
            break
        n0 = int(draw)

        # -- allocation of the unobserved across classes --------------------------------
        for k in range(kk):
            w[k] = nu[k] * p0k[k]
        multinomial(rng, n0, w, cnt0, idx[mm], suffix)

        # -- concentration: alpha ~ Gamma(a + K - 1, b - log nu_K) ----------------------
        if it >= n_warmup:
            alpha = _gamma(rng, a_alpha + kk - 1.0) / (b_alpha - log_nu_last)
        elif it == n_warmup - 1:
            # End of LCMCR's warm-up: relabel classes by decreasing weight, so the
            # stick-breaking order starts from the big classes.
            for k in range(kk):
                tmp[k] = -nu[k]
            order[:] = np.argsort(tmp, kind="mergesort")
            _permute(nu, order, tmp)
            _permute(cnt0, order, itmp)
            for j in range(jj):
                _permute(lm[j, 0], order, tmp)
                _permute(lm[j, 1], order, tmp)

        if label_swaps and it >= n_warmup:
            _label_swaps(rng, nu, cnt0, lm)

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
                kept += 1
    step = eps_final if use_hmc else math.nan
    return out_n0, out_alpha, out_kstar, out_p0, out_capped, n_capped, status, accepted, step


@njit(cache=True, nogil=True)
def _collapsed_moves(
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
    standard normal (symmetric); s_k adapts towards acceptance 0.44 during burn-in only.
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
                    if logr >= 0.0 or math.log(_uniform_pos(rng)) < logr:
                        acc = 1.0
                        cnt0[k] = mp
                        tot[k] += step
                        n0 = n0p
            else:
                acc = 1.0
            if adapt:
                log_step[k] += (acc - 0.44) / math.sqrt(t)
            else:
                accepted[0] += int(acc)
                accepted[1] += 1
    return n0


@njit(cache=True, nogil=True)
def _label_swaps(rng, nu: np.ndarray, cnt0: np.ndarray, lm: np.ndarray) -> None:
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


@njit(cache=True, nogil=True)
def _permute(v: np.ndarray, order: np.ndarray, tmp: np.ndarray) -> None:
    # v[:] = v[order] through scratch ``tmp`` of v's dtype (compiled once per dtype).
    for k in range(v.shape[0]):
        tmp[k] = v[order[k]]
    for k in range(v.shape[0]):
        v[k] = tmp[k]


# ----------------------------------------------------------------------------------------
# Hamiltonian Monte Carlo on the marginal posterior of (lambda, pi)
#
# Kept in this module on purpose: numba's on-disk cache of run_chain is invalidated only
# when this file changes, not when a module it calls does.


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

    ``work`` is float64 scratch of :func:`_hmc_work_size` entries. Returns -inf (and leaves
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
def _hmc_work_size(jj: int, kk: int) -> int:
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
def _hmc_unpack(q: np.ndarray, lm: np.ndarray, nu: np.ndarray, kk: int) -> float:
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
