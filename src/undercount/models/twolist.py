r"""Two-list estimators: Lincoln-Petersen and Chapman.

With two lists of sizes :math:`n_1`, :math:`n_2` and :math:`m` people on both, the
Lincoln-Petersen estimator and Chapman's nearly unbiased modification are

.. math::

    \hat N_{LP} = \frac{n_1 n_2}{m}, \qquad
    \hat N_C = \frac{(n_1 + 1)(n_2 + 1)}{m + 1} - 1,

with the variance estimates of Seber (1982, sec. 3.1)

.. math::

    \widehat{\mathrm{var}}(\hat N_{LP}) = \frac{n_1 n_2 (n_1 - m)(n_2 - m)}{m^3}, \qquad
    \widehat{\mathrm{var}}(\hat N_C) =
    \frac{(n_1 + 1)(n_2 + 1)(n_1 - m)(n_2 - m)}{(m + 1)^2 (m + 2)}.

:math:`\hat N_{LP}` is the maximum-likelihood estimate (it equals the two-list model Mt,
the independence log-linear model) and does not exist when :math:`m = 0`. Chapman's
estimator is exactly unbiased for the hypergeometric model when :math:`n_1 + n_2 \ge N`
and nearly so otherwise once :math:`m \ge 7` (Robson & Regier 1964); it is finite at
:math:`m = 0`, but then it is set by the +1 corrections, not by the data.

Intervals, with :math:`n = n_1 + n_2 - m` observed and :math:`\hat f_0 = \hat N - n`:

* ``"log"`` (default; Chao 1987): :math:`[\,n + \hat f_0 / C,\; n + \hat f_0 C\,]`,
  :math:`C = \exp\{z \sqrt{\log(1 + \widehat{\mathrm{var}}/\hat f_0^2)}\}`. It treats
  :math:`\hat f_0` as log-normal, so it never goes below the n people already seen and is
  right-skewed like the sampling distribution of :math:`\hat N`, whereas the symmetric
  Wald interval can include values below n and covers poorly when m is small.
* ``"wald"``: :math:`\hat N \pm z\,\widehat{\mathrm{se}}`, with the lower end raised to n
  (and a diagnostic saying so) when it falls below.

References
----------
.. [1] Seber, G. A. F. (1982). The Estimation of Animal Abundance and Related Parameters,
   2nd ed. Griffin, London. Sec. 3.1.
.. [2] Chapman, D. G. (1951). Some properties of the hypergeometric distribution with
   applications to zoological sample censuses. Univ. California Publ. Statist. 1:131-160.
.. [3] Chao, A. (1987). Estimating the population size for capture-recapture data with
   unequal catchability. Biometrics 43:783-791. doi:10.2307/2531532
.. [4] Robson, D. S. and Regier, H. A. (1964). Sample size in Petersen mark-recapture
   experiments. Trans. Am. Fish. Soc. 93:215-226.
   doi:10.1577/1548-8659(1964)93[215:SSIPME]2.0.CO;2
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, ClassVar

import numpy as np

# scipy.special's ndtri is what scipy.stats' norm.ppf computes (to the bit); importing
# scipy.stats would add about a second to every process that fits two lists.
from scipy import special

from undercount.core.choices import TwoListInterval
from undercount.core.constraints import Open
from undercount.core.estimator import Estimator
from undercount.core.result import (
    SHARED_ASSUMPTIONS,
    Diagnostic,
    Interval,
    ModelRecord,
    MSEResult,
)
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, InputError, MLENotFoundError

__all__ = [
    "ChapmanEstimator",
    "LincolnPetersenEstimator",
    "TwoListResult",
    "chapman",
    "lincoln_petersen",
    "log_interval",
]

#: Robson & Regier (1964): below this many people on both lists the bias of the
#: two-list estimators and the coverage of their intervals are poor.
MIN_OVERLAP = 7

ASSUMPTIONS: tuple[str, ...] = (
    "The two lists are independent: being on one list does not change a person's chance of "
    "being on the other.",
    "Capture probabilities are homogeneous: within each list, everyone has the same chance "
    "of appearing (the lists may differ from each other).",
    "If the lists are positively dependent (the same people are easy to find for both, or "
    "one list draws on the other), or some people are hard to record on either list, N is "
    "biased downwards; negative dependence biases it upwards. With two lists neither "
    "assumption can be checked from the data.",
    *SHARED_ASSUMPTIONS,
    "A missed link counts one person as two and inflates N; a false link counts two people "
    "as one and deflates it.",
)


def lincoln_petersen(n1: int, n2: int, m: int) -> tuple[float, float]:
    """Lincoln-Petersen estimate and its estimated variance (Seber 1982, sec. 3.1)."""
    if m <= 0:
        raise MLENotFoundError(
            "Lincoln-Petersen: no one is on both lists (m = 0), so the estimate n1*n2/m does "
            "not exist (the maximum-likelihood estimate of N is infinite)",
            cells=["11"],
        )
    n_hat = n1 * n2 / m
    var = n1 * n2 * (n1 - m) * (n2 - m) / m**3
    return float(n_hat), float(var)


def chapman(n1: int, n2: int, m: int) -> tuple[float, float]:
    """Chapman's estimate and Seber's variance (Seber 1982, sec. 3.1)."""
    n_hat = (n1 + 1) * (n2 + 1) / (m + 1) - 1
    var = (n1 + 1) * (n2 + 1) * (n1 - m) * (n2 - m) / ((m + 1) ** 2 * (m + 2))
    return float(n_hat), float(var)


def log_interval(n_hat: float, var: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Chao's (1987) log-normal interval for N: ``n + f0/C, n + f0*C``."""
    f0 = n_hat - n
    if f0 <= 0 or var <= 0:
        return float(n_hat), float(n_hat)
    z = special.ndtri(0.5 + level / 2)
    c = math.exp(z * math.sqrt(math.log1p(var / f0**2)))
    return n + f0 / c, n + f0 * c


def _counts(table: CaptureTable) -> tuple[int, int, int]:
    if table.n_lists != 2:
        raise ConfigError(
            f"{table.source}: two-list estimators need exactly 2 lists, the table has "
            f"{table.n_lists} ({', '.join(table.lists)}); choose two with "
            "table.select_lists([...]) or use a log-linear method (LogLinearEstimator, "
            "HeterogeneityEstimator) that uses all the lists"
        )
    full = table.full_counts()
    n10, n01, n11 = int(full[2]), int(full[1]), int(full[3])
    return n10 + n11, n01 + n11, n11


@dataclass(frozen=True, kw_only=True)
class TwoListResult(MSEResult):
    """Result of the two-list estimators (Lincoln-Petersen, Chapman).

    Attributes
    ----------
    se : float
        Estimated standard error of N-hat (Seber 1982, sec. 3.1).
    n1, n2 : int
        People on the first and on the second list.
    m : int
        People on both lists.

    :meth:`conf_int` gives the same kind of interval (``interval.method``: Chao's log-normal
    or Wald) at another level, exactly.
    """

    se: float
    n1: int
    n2: int
    m: int

    methods: ClassVar[tuple[str, ...]] = ("lincoln-petersen", "chapman")
    json_fields: ClassVar[tuple[str, ...]] = ("se", "n1", "n2", "m")

    def conf_int(self, level: float) -> Interval:
        """The estimator's interval at ``level`` (a Wald interval is raised to n, as in fit)."""
        var = self.se**2
        n = self.n_observed
        if self.interval.method == "log":
            lo, hi = log_interval(self.estimate, var, n, level)
        else:
            z = special.ndtri(0.5 + level / 2)
            lo, hi = max(self.estimate - z * self.se, float(n)), self.estimate + z * self.se
        return Interval(float(lo), float(hi), level, self.interval.method)


@dataclass(frozen=True, kw_only=True)
class _TwoListEstimator(Estimator):
    interval: TwoListInterval = "log"
    level: Annotated[float, Open(0, 1)] = 0.95

    label: ClassVar[str] = ""

    def _estimate(self, n1: int, n2: int, m: int) -> tuple[float, float]:
        raise NotImplementedError

    def _fit(self, table: CaptureTable, *, rng: np.random.Generator | None) -> MSEResult:
        n1, n2, m = _counts(table)
        n = table.n_observed
        a, b = table.lists
        diags: list[Diagnostic] = []
        for name, size in ((a, n1), (b, n2)):
            if size == 0:
                raise InputError(f"{table.source}: list {name!r} has no records")
        n_hat, var = self._estimate(n1, n2, m)
        level = float(self.level)
        if m == 0:
            diags.append(
                Diagnostic(
                    "twolist.no_overlap",
                    f"NO OVERLAP: no one is on both {a!r} and {b!r} (m = 0). The data contain "
                    "no information on N beyond N >= n; Chapman's value "
                    f"{n_hat:,.1f} = (n1+1)(n2+1) - 1 is produced by its +1 corrections, not "
                    "by the data. Do not report it as an estimate.",
                    "error",
                )
            )
        elif m < MIN_OVERLAP:
            diags.append(
                Diagnostic(
                    "twolist.small_overlap",
                    f"Only {m} people are on both lists (fewer than {MIN_OVERLAP}): the "
                    "estimate is strongly biased and its interval's coverage poor "
                    "(Robson & Regier 1964).",
                    "warning",
                )
            )
        if m in (n1, n2):
            diags.append(
                Diagnostic(
                    "twolist.nested_lists",
                    "One list is contained in the other, so the estimated number missed by "
                    "both is "
                    f"{n_hat - n:,.1f} with variance estimate {var:.3g}; the interval "
                    "reflects no uncertainty, which is not credible.",
                    "warning",
                )
            )
        if self.interval == "log":
            lo, hi = log_interval(n_hat, var, n, level)
            method = "log"
        else:
            z = special.ndtri(0.5 + level / 2)
            se = math.sqrt(var)
            lo, hi = n_hat - z * se, n_hat + z * se
            method = "wald"
            if lo < n:
                diags.append(
                    Diagnostic(
                        "twolist.wald_below_n",
                        f"The Wald interval's lower end ({lo:,.1f}) is below the {n:,} people "
                        "observed and was raised to n; prefer interval='log'.",
                        "warning",
                    )
                )
                lo = float(n)
        iv = Interval(float(lo), float(hi), level, method)
        se = math.sqrt(var)
        record = ModelRecord(
            model=self.label,
            estimate=n_hat,
            interval=iv,
            df=0,
            n_params=3,
            extra={"se": se},
        )
        return TwoListResult(
            method=self.method,
            model=self.label,
            estimate=n_hat,
            interval=iv,
            n_observed=n,
            lists=table.lists,
            models=(record,),
            diagnostics=tuple(diags),
            settings=self.get_params(),
            assumptions=ASSUMPTIONS,
            se=se,
            n1=n1,
            n2=n2,
            m=m,
        )


@dataclass(frozen=True, kw_only=True)
class LincolnPetersenEstimator(_TwoListEstimator):
    r"""Lincoln-Petersen estimator :math:`\hat N = n_1 n_2 / m` for two lists.

    Parameters
    ----------
    interval : {"log", "wald"}
        ``"log"`` (default): Chao's (1987) log-normal interval on :math:`N - n`, which never
        falls below the n people observed; ``"wald"``: :math:`\hat N \pm z\,se`.
    level : float
        Confidence level.

    Notes
    -----
    The maximum-likelihood estimate under independent lists with homogeneous capture
    (the two-list Mt model). Variance :math:`n_1 n_2 (n_1-m)(n_2-m)/m^3` (Seber 1982).
    Raises :class:`~undercount.errors.MLENotFoundError` when :math:`m = 0`. Biased upwards
    for small m; prefer :class:`ChapmanEstimator`.

    References
    ----------
    .. [1] Seber, G. A. F. (1982). The Estimation of Animal Abundance, 2nd ed., sec. 3.1.
    """

    method: ClassVar[str] = "lincoln-petersen"
    label: ClassVar[str] = "Lincoln-Petersen"

    def _estimate(self, n1: int, n2: int, m: int) -> tuple[float, float]:
        return lincoln_petersen(n1, n2, m)


@dataclass(frozen=True, kw_only=True)
class ChapmanEstimator(_TwoListEstimator):
    r"""Chapman's estimator :math:`\hat N = (n_1+1)(n_2+1)/(m+1) - 1` for two lists.

    Parameters
    ----------
    interval : {"log", "wald"}
        ``"log"`` (default): Chao's (1987) log-normal interval on :math:`N - n`, which never
        falls below the n people observed; ``"wald"``: :math:`\hat N \pm z\,se`.
    level : float
        Confidence level.

    Notes
    -----
    Unbiased under the hypergeometric model when :math:`n_1 + n_2 \ge N` (Chapman 1951),
    with Seber's variance
    :math:`(n_1+1)(n_2+1)(n_1-m)(n_2-m) / ((m+1)^2 (m+2))`. At :math:`m = 0` it returns a
    number, with an ``error``-severity diagnostic: the number carries no information.

    References
    ----------
    .. [1] Chapman, D. G. (1951). Univ. California Publ. Statist. 1:131-160.
    .. [2] Seber, G. A. F. (1982). The Estimation of Animal Abundance, 2nd ed., sec. 3.1.
    """

    method: ClassVar[str] = "chapman"
    label: ClassVar[str] = "Chapman"

    def _estimate(self, n1: int, n2: int, m: int) -> tuple[float, float]:
        return chapman(n1, n2, m)
