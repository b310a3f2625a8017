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

__all__ = ["lse", "lse_rows", "profile_bounds"]


def lse_rows(A: np.ndarray) -> np.ndarray:
    """``logsumexp(A, axis=1)`` without scipy's per-call checks: the likelihoods here call
    it thousands of times on small arrays, where those checks cost more than the sum."""
    m = A.max(axis=1)
    return m + np.log(np.exp(A - m[:, None]).sum(axis=1))


def lse(a: np.ndarray) -> float:
    """``logsumexp(a)`` of a 1-d array (see :func:`lse_rows`)."""
    m = float(a.max())
    return m + math.log(float(np.exp(a - m).sum()))


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
