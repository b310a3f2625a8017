r"""Profile-likelihood intervals for N searched on :math:`s = \log(N - n)`, and the
log-sum-exp of the mixture likelihoods that profile them.

Shared by the models whose profile :math:`\ell_p(N)` is a maximisation over the other
parameters at each N (the logit-normal and finite latent-class models): the interval is
:math:`\{N : 2[\ell_p(\hat N) - \ell_p(N)] \le \chi^2_{1,\text{level}}\}`, found by stepping
out from :math:`\hat s` until the profile falls below the cut-off and then solving for the
crossing (Cormack 1992). A side that does not fall within the search range is unbounded.
Where the profile is not monotone between two steps (an optimiser that found another local
maximum), the step's outer point is the end: conservative by at most one step.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

# scipy.special's gammaincinv is what scipy.stats' chi2.ppf computes (to the bit); importing
# scipy.stats would add about a second to every process that profiles a likelihood (the
# default's second core among them).
from scipy import optimize, special

__all__ = ["lse", "lse_rows", "profile_bounds", "profile_maximum"]

#: How close to a bracket's end the bounded search may stop before the maximum counts as
#: lying beyond it (on s = log(N - n)).
_EDGE = 1e-3


def lse_rows(A: np.ndarray) -> np.ndarray:
    """``logsumexp(A, axis=1)`` without scipy's per-call checks: the likelihoods here call
    it thousands of times on small arrays, where those checks cost more than the sum."""
    m = A.max(axis=1)
    return m + np.log(np.exp(A - m[:, None]).sum(axis=1))


def lse(a: np.ndarray) -> float:
    """``logsumexp(a)`` of a 1-d array (see :func:`lse_rows`)."""
    m = float(a.max())
    return m + math.log(float(np.exp(a - m).sum()))


def profile_maximum(
    prof: Callable[[float], float], s_start: float, *, width: float, s_max: float,
    s_min: float = -10.0,
) -> tuple[float, float]:
    r""":math:`(\hat s, \ell_p(\hat s))`, the profile's maximum over
    ``[s_min, s_max]``, searched first within ``width`` of ``s_start`` (the conditional
    MLE, next to which the unconditional one usually lies: Sanathanan 1972).

    A bounded search stops at its bracket's end when the maximum lies beyond it, so where
    it does the bracket moves out by twice ``width`` on that side, up to ``s_min`` or
    ``s_max``. Without that, a profile still rising at the end of the first bracket would
    have its maximum put wherever that end happened to fall. A maximum at ``s_min`` means
    that the data allow no one unobserved; at ``s_max``, that the profile keeps rising (the
    caller decides what that means for its model)."""
    lo, hi = max(s_start - width, s_min), min(s_start + width, s_max)
    while True:
        opt = optimize.minimize_scalar(lambda s: -prof(s), bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-6})
        s_hat = float(opt.x)
        if s_hat - lo < _EDGE and lo > s_min:
            lo, hi = max(lo - 2.0 * width, s_min), lo + _EDGE
        elif hi - s_hat < _EDGE and hi < s_max:
            lo, hi = hi - _EDGE, min(hi + 2.0 * width, s_max)
        else:
            return s_hat, -float(opt.fun)


def profile_bounds(
    prof: Callable[[float], float], s_hat: float, l_hat: float, n: float, level: float, *,
    s_min: float = -10.0, s_max: float, step: float = 0.5,
    restart: Callable[[], None] | None = None,
) -> tuple[float, float]:
    """The profile interval's ends in N: ``n`` below when the profile never falls on the
    low side (the data allow no one unobserved), ``inf`` above when it does not fall by
    ``s_max``. ``restart`` resets a warm-started profile to the MLE before each side."""
    cut = l_hat - 2.0 * special.gammaincinv(0.5, level) / 2.0

    def g(s: float) -> float:
        return prof(s) - cut

    ends = []
    for direction in (-1.0, 1.0):
        if restart is not None:
            restart()
        end = n if direction < 0 else math.inf
        s = s_hat
        limit = s_min if direction < 0 else s_max
        while (s - limit) * direction < 0:
            nxt = s + direction * step
            nxt = max(nxt, limit) if direction < 0 else min(nxt, limit)
            if g(nxt) < 0:
                lo, hi = sorted((s, nxt))
                try:
                    end = n + math.exp(optimize.brentq(g, lo, hi, xtol=1e-8))
                except ValueError:
                    # A warm-started profile can find a higher optimum on the way back
                    # (several local maxima): the outer point is a conservative end.
                    end = n + math.exp(nxt)
                break
            s = nxt
        ends.append(end)
    return ends[0], ends[1]
