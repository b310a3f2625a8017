r"""Logit-normal heterogeneity: the mixed logit models Mh-Normal and Mth-Normal.

Coull & Agresti (1999) model each person's chance of being on list :math:`j` as

.. math::

    \operatorname{logit} p_{ij} = \alpha_j + \sigma z_i, \qquad z_i \sim N(0, 1),

independently across lists given :math:`z_i` (Mth-Normal; Mh-Normal has one
:math:`\alpha` for all lists). A capture history :math:`\omega \in \{0,1\}^J` then has
probability

.. math::

    \pi_\omega(\alpha, \sigma) = \int \prod_j p_j(z)^{\omega_j} (1 - p_j(z))^{1-\omega_j}
    \,\phi(z)\,dz,

computed by the trapezoidal rule on ``nodes`` equally spaced points of
:math:`z \in [-9, 9]`, and the counts of the observed
histories with the unobserved count :math:`N - n` are multinomial:

.. math::

    \ell(N, \alpha, \sigma) = \log\frac{N!}{(N-n)!} + \sum_{\omega \ne 0} n_\omega
    \log \pi_\omega + (N - n)\log \pi_0 .

The estimate maximises :math:`\ell` over :math:`N` (continuous) and the capture parameters;
the interval is the profile likelihood
:math:`\{N : 2[\ell_p(\hat N) - \ell_p(N)] \le \chi^2_{1,\text{level}}\}`, searched on
:math:`\log(N - n)`. Where the profile does not fall below the cut-off within
``max_factor`` times the observed count, the upper end is unbounded and said so; where the
profile rises without end, the MLE does not exist and the fit raises.

Unlike Rcapture's Poisson2, Darroch and Gamma models, this is not a log-linear model of the
observed counts: the heterogeneity distribution is named (normal on the logit scale) and
its variance is estimated from how often people appear on several lists. With an
unrestricted distribution N is not identified (Link 2003); the normal shape is the
assumption that identifies it, and other shapes that fit the observed histories as well can
give a very different N.

References
----------
.. [1] Coull, B. A. and Agresti, A. (1999). The use of mixed logit models to reflect
   heterogeneity in capture-recapture studies. Biometrics 55:294-301.
   doi:10.1111/j.0006-341X.1999.00294.x
.. [2] Link, W. A. (2003). Nonidentifiability of population size from capture-recapture
   data with heterogeneous detection probabilities. Biometrics 59:1123-1130.
   doi:10.1111/j.0006-341X.2003.00129.x
.. [3] Trefethen, L. N. and Weideman, J. A. C. (2014). The exponentially convergent
   trapezoidal rule. SIAM Review 56:385-458. doi:10.1137/130932132
.. [4] Cormack, R. M. (1992). Interval estimation for mark-recapture studies of closed
   populations. Biometrics 48:567-576. doi:10.2307/2532310
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

import numpy as np
from scipy import optimize, special

from undercount.core.constraints import Closed, Open
from undercount.core.estimator import Estimator
from undercount.core.result import SHARED_ASSUMPTIONS, Diagnostic, Interval, ModelRecord, MSEResult
from undercount.core.table import CaptureTable
from undercount.errors import EstimationError, InputError, MLENotFoundError
from undercount.models._profile import lse, lse_rows, profile_bounds

__all__ = ["LOGIT_NORMAL_MODELS", "LogitNormalEstimator", "LogitNormalResult"]

#: The two models, as named in results.
LOGIT_NORMAL_MODELS = ("Mth-Normal", "Mh-Normal")
#: The standard deviation of the logit is searched in ``[0, _SIGMA_MAX]``: beyond, the
#: quadrature is no longer accurate and no list of people behaves like that.
_SIGMA_MAX = 8.0
#: The integral over catchability runs over ``z`` in ``[-_Z_MAX, _Z_MAX]`` (the normal
#: density beyond is below 1e-17).
_Z_MAX = 9.0

_ASSUMPTIONS = {
    "Mth-Normal": "Each person has one catchability that raises or lowers their odds of being "
    "on every list by the same factor; across people it follows a normal distribution on the "
    "log-odds scale, lists differ in coverage, and lists are independent given a person's "
    "catchability. The normal shape is what fixes the number never recorded: other shapes "
    "that fit the lists as well can give a very different N.",
    "Mh-Normal": "As Mth-Normal, with the same coverage on every list.",
}
@dataclass(frozen=True)
class _Fit:
    """One model fitted at the profile maximum."""

    model: str
    alpha: np.ndarray
    sigma: float
    estimate: float
    loglik: float
    conditional_loglik: float
    n_params: int


class _Likelihood:
    """The multinomial log-likelihood of one table under one model, with its gradient."""

    def __init__(self, table: CaptureTable, model: str, nodes: int) -> None:
        agg = table.aggregate()
        keep = agg.counts > 0
        self.omega = agg.patterns[keep].astype(float)
        self.counts = agg.counts[keep].astype(float)
        self.n = float(self.counts.sum())
        self.J = agg.n_lists
        self.common = model == "Mh-Normal"
        self.z = np.linspace(-_Z_MAX, _Z_MAX, nodes)
        logw = -0.5 * self.z**2
        self.logw = logw - lse(logw)

    def n_alpha(self) -> int:
        return 1 if self.common else self.J

    def _alpha(self, theta: np.ndarray) -> np.ndarray:
        k = self.n_alpha()
        return np.repeat(theta[:1], self.J) if self.common else theta[:k]

    def terms(self, theta: np.ndarray, unobserved: float):
        """Log-likelihood (without the factorial term) and its gradient in ``theta``."""
        alpha = self._alpha(theta)
        sigma = theta[-1]
        eta = alpha[None, :] + sigma * self.z[:, None]  # nodes x lists
        log_p = -np.logaddexp(0.0, -eta)
        log_q = -np.logaddexp(0.0, eta)
        p = np.exp(log_p)
        # log of each history's integrand at each node: histories x nodes
        A = self.logw[None, :] + self.omega @ log_p.T + (1.0 - self.omega) @ log_q.T
        log_pi = lse_rows(A)
        r = np.exp(A - log_pi[:, None])
        A0 = self.logw + log_q.sum(axis=1)
        log_pi0 = lse(A0)
        r0 = np.exp(A0 - log_pi0)
        ll = float(self.counts @ log_pi + unobserved * log_pi0)
        # d log pi_w / d eta_qj = r_wq (omega_wj - p_qj)
        cr = self.counts[:, None] * r  # histories x nodes
        g_eta = cr.T @ self.omega - cr.sum(axis=0)[:, None] * p  # nodes x lists
        g_eta -= unobserved * r0[:, None] * p
        g_alpha = g_eta.sum(axis=0)
        g_sigma = float(self.z @ g_eta.sum(axis=1))
        grad = np.append([g_alpha.sum()] if self.common else g_alpha, g_sigma)
        return ll, grad, log_pi0

    def conditional(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Log-likelihood of the observed histories given that they were observed."""
        ll, grad, log_pi0 = self.terms(theta, 0.0)
        alpha = self._alpha(theta)
        eta = alpha[None, :] + theta[-1] * self.z[:, None]
        log_q = -np.logaddexp(0.0, eta)
        A0 = self.logw + log_q.sum(axis=1)
        r0 = np.exp(A0 - log_pi0)
        p = np.exp(-np.logaddexp(0.0, -eta))
        pi0 = math.exp(log_pi0)
        # - n log(1 - pi0): d/dtheta = n pi0/(1-pi0) d log pi0
        g0_eta = -r0[:, None] * p
        g0 = np.append([g0_eta.sum()] if self.common else g0_eta.sum(axis=0),
                       float(self.z @ g0_eta.sum(axis=1)))
        scale = self.n * pi0 / max(1.0 - pi0, 1e-300)
        return ll - self.n * math.log1p(-pi0), grad + scale * g0

    def start(self) -> np.ndarray:
        share = np.clip((self.counts[:, None] * self.omega).sum(axis=0) / self.n, 0.02, 0.98)
        alpha = special.logit(share * 0.5)
        head = np.array([alpha.mean()]) if self.common else alpha
        return np.append(head, 1.0)

    def bounds(self) -> list[tuple[float | None, float | None]]:
        return [(-30.0, 30.0)] * self.n_alpha() + [(0.0, _SIGMA_MAX)]


def _maximise(fun, theta0: np.ndarray, bounds) -> tuple[np.ndarray, float]:
    res = optimize.minimize(
        lambda th: tuple(-v for v in fun(th)), theta0, jac=True, method="L-BFGS-B",
        bounds=bounds, options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-8},
    )
    return res.x, -float(res.fun)


class _Profile:
    """:math:`\\ell_p(N) = \\max_{\\alpha,\\sigma} \\ell(N, \\alpha, \\sigma)`, warm-started."""

    def __init__(self, lik: _Likelihood, theta: np.ndarray) -> None:
        self.lik = lik
        self.theta = theta
        self.bounds = lik.bounds()

    def __call__(self, s: float) -> float:
        """Profile log-likelihood at ``N = n + exp(s)``."""
        f0 = math.exp(s)
        n = self.lik.n
        best = None
        # Two starts: the last optimum, and one with sigma large enough to reach any f0.
        for start in (self.theta, np.append(self.theta[:-1], max(self.theta[-1], 1.5))):
            theta, ll = _maximise(lambda th: self.lik.terms(th, f0)[:2], start, self.bounds)
            if best is None or ll > best[1]:
                best = (theta, ll)
        assert best is not None
        self.theta = best[0]
        return float(special.gammaln(n + f0 + 1) - special.gammaln(f0 + 1) + best[1])


def fit_logit_normal(
    table: CaptureTable, model: str, *, nodes: int = 181, level: float = 0.95,
    max_factor: float = 1000.0,
) -> tuple[_Fit, Interval, tuple[Diagnostic, ...]]:
    """Fit one logit-normal model; its estimate, profile interval and diagnostics."""
    lik = _Likelihood(table, model, nodes)
    n = lik.n
    theta_c, cll = _maximise(lik.conditional, lik.start(), lik.bounds())
    log_pi0 = lik.terms(theta_c, 0.0)[2]
    pi0 = math.exp(log_pi0)
    if pi0 >= 1.0 - 1e-12:
        raise MLENotFoundError(f"{table.source}: {model}: capture probabilities fitted as 0")
    s_c = math.log(max(n * pi0 / (1.0 - pi0), 1e-6))
    prof = _Profile(lik, theta_c)
    s_max = math.log(n * max_factor)
    # the unconditional MLE lies next to the conditional one (Sanathanan 1972)
    if s_c >= s_max:
        raise MLENotFoundError(
            f"{table.source}: {model}: the fitted number never recorded exceeds "
            f"{max_factor:g} times the {n:,.0f} observed; the MLE does not exist in practice"
        )
    opt = optimize.minimize_scalar(
        lambda s: -prof(s), bounds=(max(s_c - 3.0, -10.0), min(s_c + 3.0, s_max)),
        method="bounded", options={"xatol": 1e-6},
    )
    s_hat, l_hat = float(opt.x), -float(opt.fun)
    prof(s_hat)
    theta_hat = prof.theta.copy()
    if s_hat > min(s_c + 3.0, s_max) - 1e-3:
        raise MLENotFoundError(
            f"{table.source}: {model}: the profile likelihood of N keeps rising (the "
            "heterogeneity the model fits implies an unbounded hidden population)"
        )
    diags: list[Diagnostic] = []

    def restart() -> None:
        prof.theta = theta_hat.copy()

    lower, upper = profile_bounds(prof, s_hat, l_hat, n, level, s_max=s_max, restart=restart)
    if not math.isfinite(upper):
        diags.append(Diagnostic(
            "logit_normal.unbounded",
            f"{model}: the profile likelihood does not fall below its {level:.0%} cut-off "
            f"within {max_factor:g} times the observed count: under this model the lists "
            "cannot rule out a very large hidden population, and the interval is unbounded "
            "above.",
        ))
    sigma = float(theta_hat[-1])
    if sigma < 1e-3:
        diags.append(Diagnostic(
            "logit_normal.no_heterogeneity",
            f"{model}: the fitted spread of catchability is 0, so the model reduces to "
            f"{'Mh' if model == 'Mh-Normal' else 'Mt'} (independent lists, no heterogeneity).",
            "info",
        ))
    k = lik.n_alpha() + 1
    fit = _Fit(
        model=model, alpha=lik._alpha(theta_hat), sigma=sigma, estimate=n + math.exp(s_hat),
        loglik=l_hat, conditional_loglik=cll, n_params=k + 1,
    )
    return fit, Interval(lower, upper, level, "profile"), tuple(diags)


@dataclass(frozen=True, kw_only=True)
class LogitNormalResult(MSEResult):
    """Result of :class:`LogitNormalEstimator` for the chosen model.

    Attributes
    ----------
    sigma : float
        The fitted standard deviation of catchability on the log-odds scale.
    capture_logits : tuple of float
        The fitted :math:`\\alpha_j`, one per list (the log-odds of capture of a person of
        median catchability).
    """

    sigma: float = 0.0
    capture_logits: tuple[float, ...] = ()

    methods: ClassVar[tuple[str, ...]] = ("logitnormal",)
    json_fields: ClassVar[tuple[str, ...]] = ("sigma", "capture_logits")


@dataclass(frozen=True, kw_only=True)
class LogitNormalEstimator(Estimator):
    r"""Mixed logit heterogeneity models (Coull & Agresti 1999): Mth-Normal and Mh-Normal.

    Parameters
    ----------
    model : {"Mth-Normal", "Mh-Normal"} or None
        One model, or None to fit both and keep the smaller AIC.
    nodes : int
        Points of the trapezoidal rule for the integral over catchability. The integrand is
        analytic in a strip of half-width about :math:`\pi/\sigma`, so the rule's error falls
        like :math:`e^{-2\pi^2/(\sigma h)}` with spacing :math:`h` (Trefethen & Weideman
        2014): the default 181 points (:math:`h = 0.1`) give about 10 significant digits up
        to :math:`\sigma = 8`, where Gauss-Hermite rules of 40-120 points lose accuracy
        beyond :math:`\sigma \approx 2`.
    level : float
        Confidence level of the profile-likelihood interval.
    max_factor : float
        The upper end of the interval is searched up to this many times the observed
        count; beyond, it is reported as unbounded.

    Notes
    -----
    See :mod:`undercount.models.heterogeneity.logit_normal` for the likelihood. Both models
    need at least three lists: with two, :math:`\sigma` and :math:`N` are confounded.
    ``result.models`` lists both fitted models with estimate, interval, AIC, BIC and
    :math:`\sigma`.
    """

    method: ClassVar[str] = "logitnormal"

    model: Literal["Mth-Normal", "Mh-Normal"] | None = None
    nodes: Annotated[int, Closed(21, 2001)] = 181
    level: Annotated[float, Open(0, 1)] = 0.95
    max_factor: Annotated[float, Closed(2, 1e6)] = 1000.0

    def _fit(self, table: CaptureTable, *, rng: np.random.Generator | None) -> MSEResult:
        if table.n_lists < 3:
            raise InputError(
                f"{table.source}: the logit-normal models need at least 3 lists (with 2, the "
                "spread of catchability and N cannot be told apart)"
            )
        if table.n_observed == 0:
            raise InputError(f"{table.source}: the table is empty")
        names = [self.model] if self.model else list(LOGIT_NORMAL_MODELS)
        records: list[ModelRecord] = []
        fitted: list[tuple[_Fit, Interval, tuple[Diagnostic, ...]]] = []
        n = table.n_observed
        for name in names:
            try:
                fit, iv, diags = fit_logit_normal(
                    table, name, nodes=self.nodes, level=float(self.level),
                    max_factor=float(self.max_factor),
                )
            except MLENotFoundError as exc:
                if self.model is not None:
                    raise
                records.append(ModelRecord(name, None, status="mle_not_found",
                                           reason=str(exc)))
                continue
            fitted.append((fit, iv, diags))
            aic = -2.0 * fit.conditional_loglik + 2.0 * (fit.n_params - 1)
            bic = -2.0 * fit.conditional_loglik + math.log(n) * (fit.n_params - 1)
            records.append(ModelRecord(
                model=name, estimate=fit.estimate, interval=iv, aic=aic, bic=bic,
                n_params=fit.n_params, status="ok",
                reason=" ".join(d.message for d in diags if d.severity != "info"),
                extra={"sigma": fit.sigma},
            ))
        if not fitted:
            raise EstimationError(
                f"{table.source}: no logit-normal model could be fitted: "
                + "; ".join(f"{r.model}: {r.reason}" for r in records)
            )
        by_name = {r.model: r for r in records}
        best = min(fitted, key=lambda f: by_name[f[0].model].aic or math.inf)
        fit, iv, diags = best
        notes = list(diags)
        if len(fitted) > 1:
            notes.append(Diagnostic(
                "logit_normal.selection",
                f"{fit.model} chosen by AIC among {len(fitted)} logit-normal models.", "info",
            ))
        return LogitNormalResult(
            method=self.method,
            model=fit.model,
            estimate=fit.estimate,
            interval=iv,
            n_observed=n,
            lists=table.aggregate().lists,
            models=tuple(records),
            diagnostics=tuple(notes),
            settings=self.get_params(),
            assumptions=(_ASSUMPTIONS[fit.model], *SHARED_ASSUMPTIONS),
            sigma=fit.sigma,
            capture_logits=tuple(float(a) for a in fit.alpha),
        )
