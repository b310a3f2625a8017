r"""Finite latent-class models fitted by maximum likelihood: how strongly the observed
capture histories call for discrete classes of people.

With :math:`K` classes of shares :math:`\lambda_k` and list probabilities
:math:`p_{kj}`, independent lists within a class, a history :math:`\omega` has probability
:math:`\pi_\omega = \sum_k \lambda_k \prod_j p_{kj}^{\omega_j}(1-p_{kj})^{1-\omega_j}`. The
fit maximises the likelihood of the observed histories given that they were observed,

.. math::

    \ell_c = \sum_{\omega \ne 0} n_\omega \log \frac{\pi_\omega}{1 - \pi_0},

from ``restarts`` random points per :math:`K`, the best kept. Each start is taken to a
maximum by L-BFGS-B on the share and list logits, with the gradient of :math:`\ell_c`: the
expected complete-data score of the EM algorithm for truncated data (Dempster, Laird &
Rubin 1977, sec. 4.7), whose E-step adds the expected :math:`n\pi_0/(1-\pi_0)` people
never observed, shared among the classes by their posterior. EM itself crawls along the
nearly flat ridges of these likelihoods (on HIV Rome most starts had not converged after
3,000 steps and stopped at different N), and the likelihood has several local maxima, so
the number of starts matters as much as finishing each (Biernacki, Celeux & Govaert 2003).
The model has :math:`KJ + K - 1` free parameters, and
:math:`\mathrm{BIC} = -2\ell_c + (KJ+K-1)\log n`.

This is the evidence for the latent-class family in the cross-family default
(:mod:`undercount.uncertainty.crossfamily`); the family's distribution of N comes from the
Bayesian latent-class model (:class:`~undercount.models.latent_class.LatentClassEstimator`),
which averages over the number of classes instead of fixing it.

References
----------
.. [1] Dempster, A. P., Laird, N. M. and Rubin, D. B. (1977). Maximum likelihood from
   incomplete data via the EM algorithm. JRSS B 39:1-38.
   doi:10.1111/j.2517-6161.1977.tb01600.x
.. [2] Biernacki, C., Celeux, G. and Govaert, G. (2003). Choosing starting values for the
   EM algorithm for getting the highest likelihood in multivariate Gaussian mixture
   models. Computational Statistics & Data Analysis 41:561-575.
   doi:10.1016/S0167-9473(02)00163-9
.. [3] Manrique-Vallier, D. (2016). Bayesian population size estimation using Dirichlet
   process mixtures. Biometrics 72:1246-1254. doi:10.1111/biom.12502
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, ClassVar

import numpy as np
from scipy import optimize, special

from undercount.core.constraints import AtLeast, Closed, Open
from undercount.core.estimator import Estimator
from undercount.core.result import SHARED_ASSUMPTIONS, Diagnostic, Interval, ModelRecord, MSEResult
from undercount.core.table import CaptureTable
from undercount.errors import InputError, MLENotFoundError
from undercount.models._profile import lse as _lse
from undercount.models._profile import lse_rows as _lse_rows
from undercount.models._profile import profile_bounds, profile_maximum

__all__ = [
    "FiniteClassEstimator",
    "FiniteClassFit",
    "FiniteClassResult",
    "best_finite_class_fit",
    "fit_finite_classes",
]

_P_FLOOR = 1e-8
#: List logits are kept within +-_LOGIT_MAX in the profile (probabilities 1e-8 from 0 and 1).
_LOGIT_MAX = 18.0
#: Share logits (against the last class) are kept within +-_SHARE_LOGIT_MAX.
_SHARE_LOGIT_MAX = 30.0
#: Random starts per number of classes.
DEFAULT_RESTARTS = 20
#: EM steps that move the MLE to a new N, one of the profile's starts at that N.
_EM_STEPS = 50


@dataclass(frozen=True)
class FiniteClassFit:
    """One K-class model at its (best found) maximum of the conditional likelihood."""

    classes: int
    conditional_loglik: float
    n_params: int
    n_observed: int
    shares: np.ndarray
    probs: np.ndarray
    estimate: float
    iterations: int

    @property
    def bic(self) -> float:
        return -2.0 * self.conditional_loglik + self.n_params * math.log(self.n_observed)

    @property
    def aic(self) -> float:
        return -2.0 * self.conditional_loglik + 2.0 * self.n_params


def _em(omega: np.ndarray, counts: np.ndarray, shares: np.ndarray, probs: np.ndarray,
        iterations: int, unseen: float) -> tuple[np.ndarray, np.ndarray]:
    """``iterations`` EM steps from ``shares``, ``probs`` for the full likelihood at
    ``N = n + unseen`` (the E-step adds exactly ``unseen`` people never observed)."""
    for _ in range(iterations):
        log_p, log_q = np.log(probs), np.log1p(-probs)
        A = np.log(shares)[None, :] + omega @ log_p.T + (1.0 - omega) @ log_q.T
        A0 = np.log(shares) + log_q.sum(axis=1)
        log_pi = _lse_rows(A)
        log_pi0 = _lse(A0)
        R = np.exp(A - log_pi[:, None]) * counts[:, None]
        R0 = np.exp(A0 - log_pi0) * unseen
        total = R.sum(axis=0) + R0
        shares = np.maximum(total / total.sum(), 1e-12)
        probs = np.clip((R.T @ omega) / np.maximum(total, 1e-300)[:, None],
                        _P_FLOOR, 1.0 - _P_FLOOR)
    return shares, probs


def _pack(shares: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Share logits (the last class's fixed at 0) and list logits, within :func:`_bounds`."""
    a = np.log(shares)
    return np.concatenate([np.clip(a[:-1] - a[-1], -_SHARE_LOGIT_MAX, _SHARE_LOGIT_MAX),
                           np.clip(special.logit(probs), -_LOGIT_MAX, _LOGIT_MAX).ravel()])


def _unpack(theta: np.ndarray, K: int, J: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.append(theta[: K - 1], 0.0)
    return np.exp(a - _lse(a)), special.expit(theta[K - 1:].reshape(K, J))


def _bounds(K: int, J: int) -> list[tuple[float, float]]:
    return ([(-_SHARE_LOGIT_MAX, _SHARE_LOGIT_MAX)] * (K - 1)
            + [(-_LOGIT_MAX, _LOGIT_MAX)] * (K * J))


def _neg_loglik(theta: np.ndarray, omega: np.ndarray, counts: np.ndarray, K: int, J: int,
                unseen: float | None = None) -> tuple[float, np.ndarray]:
    r"""The negative log-likelihood at :func:`_pack`'s ``theta`` and its gradient.

    With ``unseen`` the full multinomial likelihood at :math:`N = n + \text{unseen}`,
    :math:`\sum_\omega n_\omega \log\pi_\omega + (N-n)\log\pi_0` (without the terms in the
    counts alone); with None the conditional likelihood :math:`\ell_c`, whose gradient is
    the full likelihood's at the expected :math:`n\pi_0/(1-\pi_0)` people never observed
    (the E-step's count). Each gradient is the expected complete-data score: the
    posterior class counts against the shares, and the listed against the expected
    listed per class and list."""
    a = np.append(theta[: K - 1], 0.0)
    log_shares = a - _lse(a)
    eta = theta[K - 1:].reshape(K, J)
    log_p, log_q = -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)
    A = log_shares[None, :] + omega @ log_p.T + (1.0 - omega) @ log_q.T
    A0 = log_shares + log_q.sum(axis=1)
    log_pi = _lse_rows(A)
    log_pi0 = _lse(A0)
    if unseen is None:
        n = counts.sum()
        pi0 = math.exp(log_pi0)
        unseen = n * pi0 / (1.0 - pi0)
        ll = float(counts @ log_pi - n * math.log1p(-pi0))
    else:
        ll = float(counts @ log_pi + unseen * log_pi0)
    R = np.exp(A - log_pi[:, None]) * counts[:, None]
    total = R.sum(axis=0) + np.exp(A0 - log_pi0) * unseen
    g_shares = total - total.sum() * np.exp(log_shares)
    g_eta = R.T @ omega - total[:, None] * np.exp(log_p)
    return -ll, -np.concatenate([g_shares[:-1], g_eta.ravel()])


def _maximise(theta: np.ndarray, omega: np.ndarray, counts: np.ndarray, K: int, J: int,
              unseen: float | None = None) -> optimize.OptimizeResult:
    """L-BFGS-B on :func:`_neg_loglik` from ``theta``."""
    return optimize.minimize(_neg_loglik, theta, args=(omega, counts, K, J, unseen),
                             jac=True, method="L-BFGS-B", bounds=_bounds(K, J),
                             options={"maxiter": 5000, "ftol": 1e-14, "gtol": 1e-9})


def _observed(table: CaptureTable) -> tuple[np.ndarray, np.ndarray]:
    """The observed histories (0/1 rows) and their counts; an empty table is an error."""
    agg = table.aggregate()
    keep = agg.counts > 0
    if not keep.any():
        raise InputError(f"{table.source}: the table is empty")
    return agg.patterns[keep].astype(float), agg.counts[keep].astype(float)


def fit_finite_classes(
    table: CaptureTable, classes: int, rng: np.random.Generator, *,
    restarts: int = DEFAULT_RESTARTS,
) -> FiniteClassFit:
    """The K-class model with the highest conditional likelihood over ``restarts`` starts,
    each a random point taken to a maximum by L-BFGS-B.

    The starts are not moved by EM first. Fifty EM steps before each (the search up to
    commit 35165fd) drew most starts into the basins of lower maxima: on HIV Rome 30 of 200
    starts then reached the two-class model's highest maximum, against 111 of 200 without
    them, so 20 starts missed it for seeds 23 and 51 of 0-99, and N at the conditional
    maximum moved with the seed (14,839 or 11,405). Without them all 100 seeds reach it.
    On replicates 0-9 of the twelve battery designs the two-class fit is higher on 3
    tables of 120 (by up to 1.74) and lower on none; the three-class fit, whose maxima few
    starts reach either way, is higher on 5 and lower on 3 (docs/validation.md, "lcm-ml's
    random starts without EM steps").

    Every start is finished. Screening them after 60 quasi-Newton steps and finishing the
    5 best (the search, run, select strategy of Biernacki, Celeux & Govaert 2003) took
    less than half the time, but on 3 of 480 battery fits it dropped the start that led to the
    highest maximum; on sparse6 replicate 15 that start looked worst at the screen, and the
    two-class fit was -1,957.80 with N about 3.3e8 instead of -1,957.41 with N about
    1,810."""
    if classes < 1:
        raise InputError(f"fit_finite_classes: classes={classes} must be at least 1")
    omega, counts = _observed(table)
    J = omega.shape[1]
    share_seen = np.clip(counts @ omega / counts.sum(), 0.01, 0.99)
    runs = []
    for _ in range(restarts if classes > 1 else 1):
        shares = rng.dirichlet(np.ones(classes))
        probs = np.clip(share_seen[None, :] * rng.uniform(0.2, 1.5, size=(classes, J)),
                        0.005, 0.95)
        runs.append(_maximise(_pack(shares, probs), omega, counts, classes, J))
    best = min(runs, key=lambda run: run.fun)
    iterations = sum(run.nit for run in runs)
    shares, probs = _unpack(best.x, classes, J)
    pi0 = float(np.exp(np.log(shares) + np.log1p(-probs).sum(axis=1)).sum())
    return FiniteClassFit(
        classes=classes, conditional_loglik=-float(best.fun),
        n_params=classes * J + classes - 1, n_observed=int(counts.sum()), shares=shares,
        probs=probs, estimate=float(counts.sum()) / (1.0 - pi0), iterations=iterations,
    )


def best_finite_class_fit(
    table: CaptureTable, rng: np.random.Generator, *, classes: tuple[int, ...] = (2, 3),
    restarts: int = DEFAULT_RESTARTS,
) -> FiniteClassFit:
    """The smallest-BIC fit among ``classes`` (each from ``restarts`` starts)."""
    fits = [fit_finite_classes(table, k, rng, restarts=restarts) for k in classes]
    return min(fits, key=lambda f: f.bic)


class _ClassProfile:
    r""":math:`\ell_p(N)`: the full likelihood at :math:`N = n + e^s` maximised over the
    class parameters by L-BFGS (EM crawls along the flat directions a profile follows),
    on :func:`_pack`'s logits, warm-started."""

    def __init__(self, omega: np.ndarray, counts: np.ndarray, fit: FiniteClassFit) -> None:
        self.omega, self.counts = omega, counts
        self.K, self.J = fit.probs.shape
        self.start = _pack(fit.shares, fit.probs)
        self.theta = self.start.copy()

    def reset(self) -> None:
        self.theta = self.start.copy()

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _unpack(theta, self.K, self.J)

    def __call__(self, s: float) -> float:
        unseen = math.exp(s)
        best = None
        # The best of three local maxima: from the last optimum, from the MLE, and from the
        # MLE moved by EM steps at this N. Where N is barely identified (a ridge of equal
        # conditional likelihood), L-BFGS from the first two can stop on a lower branch.
        moved = _pack(*_em(self.omega, self.counts, *self.unpack(self.start), _EM_STEPS,
                           unseen))
        for theta0 in (self.theta, self.start, moved):
            res = _maximise(theta0, self.omega, self.counts, self.K, self.J, unseen)
            if best is None or res.fun < best.fun:
                best = res
        assert best is not None
        self.theta = best.x
        n = self.counts.sum()
        return float(-best.fun + special.gammaln(n + unseen + 1) - special.gammaln(unseen + 1))


@dataclass(frozen=True, kw_only=True)
class FiniteClassResult(MSEResult):
    """Result of :class:`FiniteClassEstimator` for the chosen number of classes.

    Attributes
    ----------
    classes : int
    shares : tuple of float
        The classes' shares of the population (people never observed included).
    capture_probs : tuple of tuple of float
        Each class's probability of being on each list.
    bic : float
        The chosen model's BIC on the conditional likelihood of the observed histories.
    """

    classes: int = 0
    shares: tuple[float, ...] = ()
    capture_probs: tuple[tuple[float, ...], ...] = ()
    bic: float = math.nan

    methods: ClassVar[tuple[str, ...]] = ("lcm-ml",)
    json_fields: ClassVar[tuple[str, ...]] = ("classes", "shares", "capture_probs", "bic")


_ASSUMPTION = (
    "The people belong to a few classes (as many as the BIC chose); within a class everyone "
    "has the same chance of being on each list and the lists are independent. The classes "
    "found among the people observed are assumed to hold, in the same proportions of "
    "capture, for the people on no list; a class nobody in it was recorded from is "
    "invisible to the model."
)


@dataclass(frozen=True, kw_only=True)
class FiniteClassEstimator(Estimator):
    r"""Latent classes by maximum likelihood, with a profile-likelihood interval for N.

    Parameters
    ----------
    classes : int or None
        The number of classes, or None to choose it by BIC among ``2..max_classes``.
    max_classes : int
        The largest number of classes tried when ``classes`` is None.
    restarts : int
        Random starts per number of classes, each taken to a maximum; the best is kept.
    level : float
        Confidence level of the profile-likelihood interval.
    max_factor : float
        The upper end is searched up to this many times the observed count; beyond, it is
        reported as unbounded.

    Notes
    -----
    :func:`fit_finite_classes` finds each model by its conditional likelihood; the
    estimate and interval come from the full multinomial likelihood
    :math:`\ell(N, \lambda, p)`, profiled over the class parameters by L-BFGS-B at fixed
    :math:`N`, the best of three starts: the last N's maximum, the MLE, and the MLE moved
    by EM steps at this N (the E-step then adds exactly :math:`N - n` people never
    observed), as in :mod:`undercount.models._profile`. The random starts make the fit
    depend on the generator, so the estimator is seeded like the samplers. The Bayesian
    latent-class model (:class:`~undercount.models.latent_class.LatentClassEstimator`,
    LCMCR) averages over the number of classes with a Dirichlet-process prior instead.
    """

    method: ClassVar[str] = "lcm-ml"
    stochastic: ClassVar[bool] = True

    classes: Annotated[int, Closed(1, 20)] | None = None
    max_classes: Annotated[int, Closed(2, 10)] = 3
    restarts: Annotated[int, AtLeast(1)] = DEFAULT_RESTARTS
    level: Annotated[float, Open(0, 1)] = 0.95
    max_factor: Annotated[float, Closed(2, 1e6)] = 1000.0

    def _fit(self, table: CaptureTable, *, rng: np.random.Generator | None) -> MSEResult:
        assert rng is not None
        if table.n_lists < 3:
            raise InputError(
                f"{table.source}: latent classes need at least 3 lists (with 2, even one "
                "class leaves no overlap to estimate dependence from)"
            )
        agg = table.aggregate()
        omega, counts = _observed(agg)
        n = float(counts.sum())
        ks = (self.classes,) if self.classes else tuple(range(2, self.max_classes + 1))
        fits = [fit_finite_classes(agg, k, rng, restarts=self.restarts) for k in ks]
        fit = min(fits, key=lambda f: f.bic)
        if fit.estimate - n > n * self.max_factor:
            raise MLENotFoundError(
                f"{table.source}: the {fit.classes}-class model puts more than "
                f"{self.max_factor:g} times the {n:,.0f} observed on no list (a class with "
                "capture probabilities near 0); the MLE does not exist in practice"
            )
        prof = _ClassProfile(omega, counts, fit)
        s_c = math.log(max(fit.estimate - n, 1e-6))
        s_max = math.log(n * self.max_factor)
        s_hat, _ = profile_maximum(prof, s_c, width=2.0, s_max=s_max)
        if s_hat > s_max - 1e-3:
            raise MLENotFoundError(
                f"{table.source}: the {fit.classes}-class model's profile likelihood keeps "
                f"rising up to {self.max_factor:g} times the {n:,.0f} observed (a class with "
                "capture probabilities near 0); the MLE does not exist in practice"
            )
        prof.reset()
        l_hat = prof(s_hat)
        prof.start = prof.theta.copy()
        lower, upper = profile_bounds(prof, s_hat, l_hat, n, float(self.level), s_max=s_max,
                                      restart=prof.reset)
        shares, probs = prof.unpack(prof.start)
        diags = [Diagnostic(
            "lcm_ml.selection",
            f"{fit.classes} classes chosen by BIC among "
            + ", ".join(f"{f.classes} ({f.bic:,.1f})" for f in fits) + ".", "info",
        )] if len(fits) > 1 else []
        if not math.isfinite(upper):
            diags.append(Diagnostic(
                "lcm_ml.unbounded",
                f"the profile likelihood does not fall below its {self.level:.0%} cut-off "
                f"within {self.max_factor:g} times the observed count: a class that is "
                "rarely recorded could be much larger, and the interval is unbounded above.",
            ))
        estimate = n + math.exp(s_hat)
        iv = Interval(lower, upper, float(self.level), "profile")
        # the chosen model with its profile MLE and interval; the others at their
        # conditional MLE n / (1 - pi_0)
        records = tuple(ModelRecord(
            f"{f.classes} classes", estimate if f is fit else f.estimate,
            iv if f is fit else None, aic=f.aic, bic=f.bic, n_params=f.n_params)
            for f in fits)
        return FiniteClassResult(
            method=self.method,
            model=f"{fit.classes} classes",
            estimate=estimate,
            interval=iv,
            n_observed=int(n),
            lists=agg.lists,
            models=records,
            diagnostics=tuple(diags),
            settings=self.get_params(),
            assumptions=(_ASSUMPTION, *SHARED_ASSUMPTIONS),
            classes=fit.classes,
            shares=tuple(float(x) for x in shares),
            capture_probs=tuple(tuple(float(x) for x in row) for row in probs),
            bic=fit.bic,
        )
