"""Random variates for the latent-class sampler: binomial, multinomial, gamma, beta and
negative binomial, each drawn from the chain's own :class:`numpy.random.Generator`.

The binomial (inversion for small means, Hörmann's transformed rejection with decomposition,
"BTRD", otherwise) and gamma (Marsaglia & Tsang) samplers are written here because numba's
generic binomial (about 300 ns a call) dominated the sweep.

References
----------
Hörmann, W. (1993). The generation of binomial random variates. *Journal of Statistical
Computation and Simulation* 46:101-110. doi:10.1080/00949659308811496
Marsaglia, G. and Tsang, W. W. (2000). A simple method for generating gamma variables.
*ACM Transactions on Mathematical Software* 26:363-372. doi:10.1145/358407.358414
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "beta_pair",
    "binomial",
    "gamma",
    "log_beta_pair",
    "log_gamma_variate",
    "multinomial",
    "negative_binomial",
    "truncated_negbin",
    "uniform_pos",
]

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
def uniform_pos(rng) -> float:
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
    return math.log(_gamma_mt(rng, a + 1.0)) + math.log(uniform_pos(rng)) / a


@njit(cache=True, nogil=True)
def gamma(rng, a: float) -> float:
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
    lam = gamma(rng, float(n)) * (1.0 - p) / p
    if not lam < _N0_GUARD:
        return math.inf
    return float(rng.poisson(lam))


@njit(cache=True, nogil=True)
def truncated_negbin(rng, n: int, p: float, cap: int) -> int:
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
def beta_pair(rng, a: float, b: float) -> tuple[float, float]:
    """(B, 1 - B) for B ~ Beta(a, b), each computed without cancellation."""
    if a == 1.0 and b == 1.0:
        u = uniform_pos(rng)
        return u, 1.0 - u
    if a >= 1.0 and b >= 1.0:
        g1 = gamma(rng, a)
        g2 = gamma(rng, b)
        s = g1 + g2
        return g1 / s, g2 / s
    l1 = log_gamma_variate(rng, a)
    l2 = log_gamma_variate(rng, b)
    top = max(l1, l2)
    ls = top + math.log(math.exp(l1 - top) + math.exp(l2 - top))
    return math.exp(l1 - ls), math.exp(l2 - ls)


@njit(cache=True, nogil=True)
def log_beta_pair(rng, a: float, b: float) -> tuple[float, float]:
    """(log B, log(1 - B)) for B ~ Beta(a, b); finite even when B or 1 - B underflows."""
    if a >= 1.0 and b >= 1.0:
        g1 = gamma(rng, a)
        g2 = gamma(rng, b)
        ls = math.log(g1 + g2)
        return math.log(g1) - ls, math.log(g2) - ls
    l1 = log_gamma_variate(rng, a)
    l2 = log_gamma_variate(rng, b)
    top = max(l1, l2)
    ls = top + math.log(math.exp(l1 - top) + math.exp(l2 - top))
    return l1 - ls, l2 - ls
