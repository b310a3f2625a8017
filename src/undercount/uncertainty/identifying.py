r"""How N-hat depends on the identifying assumption, and where the model families stand on it.

Every estimate of the people on no list rests on an assumption the lists cannot test: the
observed capture patterns say nothing about the unobserved cell by themselves (Aleshin-Guendel,
Sadinle & Wakefield 2024, "The central role of the identifying assumption in population size
estimation", *Biometrics* 80(1)). For :math:`K` lists with expected counts :math:`m_s` of the
capture patterns :math:`s \in \{0,1\}^K`, the highest-order (K-way) interaction of a
log-linear model in corner coding is

.. math::

    \lambda_K = \sum_{s} (-1)^{K - |s|} \log m_s ,

so, with the observed-data distribution held fixed, the unobserved count is

.. math::

    m_0(\lambda_K) = e^{(-1)^K \lambda_K} \prod_{s \ne 0} m_s^{(-1)^{|s| + 1}} .

A hierarchical log-linear model without the K-way term assumes :math:`\lambda_K = 0`; the
other families (latent classes, heterogeneity models, graph averaging) make other
assumptions, and each estimate of :math:`m_0` *implies* a value of :math:`\lambda_K` given the
observed counts. This module gives

* :func:`assumption_sensitivity`: N-hat and its interval when the unobserved count is a factor
  :math:`r` of what the estimate assumes (the odds of being unobserved multiplied by
  :math:`r`; for a log-linear model, :math:`\lambda_K` moved by :math:`(-1)^K \log r`), and
* :func:`implied_interaction`: the :math:`\lambda_K` that an estimate amounts to on the
  observed table (None when a capture pattern is unobserved, since then the saturated
  observed-data fit has an empty cell and :math:`\lambda_K` is unbounded).

Aleshin-Guendel et al.'s own sensitivity parameter :math:`\xi` (their Kosovo analysis, code
``aleshing/central-role-of-identifying-assumptions``) divides the unobserved count: their
:math:`\xi` is our factor :math:`1/r`, and their range :math:`\xi \in [1/2, 2]` is our default
range. On Kosovo, the model with every interaction below the fourth order (saturated on the
observed cells) gives 16,942 at :math:`\xi = 1` and 29,484 to 10,671 over that range; the tests
reproduce their offset fit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from undercount.core.result import Interval, MSEResult
from undercount.core.table import CaptureTable

#: Factors on the unobserved count shown by default: from half to twice the model's own.
DEFAULT_FACTORS: tuple[float, ...] = (0.5, 2 / 3, 0.8, 1.0, 1.25, 1.5, 2.0)


@dataclass(frozen=True)
class AssumptionRow:
    """N-hat when the unobserved count is ``factor`` times the estimate's own."""

    factor: float
    interaction_shift: float
    estimate: float
    interval: Interval

    def to_dict(self) -> dict[str, float | str]:
        return {
            "factor": self.factor,
            "interaction_shift": self.interaction_shift,
            "estimate": self.estimate,
            "lower": self.interval.lower,
            "upper": self.interval.upper,
            "level": self.interval.level,
        }


def assumption_sensitivity(
    result: MSEResult, factors: Sequence[float] = DEFAULT_FACTORS
) -> list[AssumptionRow]:
    r"""N-hat, and its interval, with the unobserved count scaled by each factor.

    :math:`\hat N(r) = n + r(\hat N - n)`, and the same for both ends of the interval (the map
    is increasing, so the ends of an interval for :math:`N` map to the ends of one for
    :math:`\hat N(r)` under the shifted assumption). ``interaction_shift`` is the change of the
    K-way interaction that the factor amounts to, :math:`(-1)^K \log r`.
    """
    n = float(result.n_observed)
    k = len(result.lists)
    iv = result.interval
    rows = []
    for r in factors:
        if not (r > 0 and math.isfinite(r)):
            raise ValueError(f"factors must be positive and finite, got {r!r}")
        rows.append(AssumptionRow(
            factor=float(r),
            # + 0.0: the factor 1 shifts nothing, not by -0.0 (as the JSON would print it)
            interaction_shift=(-1.0) ** k * math.log(r) + 0.0,
            estimate=n + r * (float(result.estimate) - n),
            interval=Interval(n + r * (iv.lower - n), n + r * (iv.upper - n), iv.level,
                              f"{iv.method}, unobserved x {r:.3g}" if iv.method else ""),
        ))
    return rows


def implied_interaction(table: CaptureTable, estimate: float) -> float | None:
    r"""The K-way interaction :math:`\lambda_K` that ``estimate`` amounts to on ``table``.

    Uses the observed counts as the observed-data fit (the saturated model on the
    :math:`2^K - 1` observed patterns). None when some observed pattern has count 0 or the
    estimate leaves no one unobserved (:math:`\log m_0` undefined).
    """
    n = table.n_observed
    m0 = float(estimate) - n
    full = np.asarray(table.full_counts(), dtype=float)
    k = table.n_lists
    if m0 <= 0 or not math.isfinite(m0) or full.shape[0] != 2**k or np.any(full[1:] <= 0):
        return None
    full[0] = m0
    return float(np.sum(_interaction_signs(k) * np.log(full)))


def _interaction_signs(k: int) -> np.ndarray:
    r""":math:`(-1)^{K - |s|}` for the cells :math:`s`, cell ``c`` having the lists of the
    bits set in ``c`` (so the sign depends only on how many there are, not their order)."""
    sizes = np.array([bin(c).count("1") for c in range(2**k)])
    return (-1.0) ** (k - sizes)


def unobserved_without_interaction(full: np.ndarray) -> float:
    r"""The unobserved count that sets the K-way interaction to zero, given the others.

    ``full`` holds expected counts (or probabilities) over the :math:`2^K` cells in code
    order; cell 0 is ignored. Solving :math:`\lambda_K = 0` for :math:`m_0` gives
    :math:`m_0 = \prod_{s \ne 0} m_s^{(-1)^{|s| + 1}}`: what every hierarchical log-linear
    model without the K-way term assumes, and the one unobserved count that turns a
    distribution of the observed patterns into a log-linear population with that
    distribution (Aleshin-Guendel, Sadinle & Wakefield 2024).
    """
    m = np.asarray(full, dtype=float)
    k = round(math.log2(m.shape[0])) if m.ndim == 1 and m.shape[0] > 1 else 0
    if k < 1 or m.shape[0] != 2**k:
        raise ValueError(f"need counts over 2^K cells, got shape {m.shape}")
    if not np.all(np.isfinite(m[1:]) & (m[1:] > 0)):
        raise ValueError("every observed pattern needs a positive expected count")
    signs = _interaction_signs(k)
    return float(np.exp(-signs[0] * np.sum(signs[1:] * np.log(m[1:]))))


def identifying_summary(
    result: MSEResult, table: CaptureTable, factors: Sequence[float] = DEFAULT_FACTORS
) -> dict[str, Any]:
    """The JSON block ``identifying_assumption`` of a result: the K-way interaction its
    estimate implies on ``table`` and, where N is identified, N-hat over ``factors``."""
    k = table.n_lists
    implied = implied_interaction(table, result.estimate) if result.identified else None
    out: dict[str, Any] = {
        "interaction_order": k,
        "implied_interaction": implied,
        "rows": ([row.to_dict() for row in assumption_sensitivity(result, factors)]
                 if result.identified and math.isfinite(result.estimate) else []),
        "note": (
            f"The lists cannot tell how likely the people on none of them were to be missed. "
            f"Each row multiplies the estimated number unobserved by a factor: the odds of "
            f"being unobserved are that many times what the model assumes (for a log-linear "
            f"model, its {k}-way interaction moved by the shift shown)."
        ),
    }
    return out
