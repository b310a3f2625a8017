r"""Rcapture's closed-population family: M0, Mt, Mh and Mth with four heterogeneity models.

Each of the ten models (:data:`MODELS`) is a Poisson log-linear model on the ``2^t - 1``
observable capture histories (see :mod:`undercount.models.heterogeneity._designs` for the
designs). For a fitted model

.. math::

    \hat N = n + e^{\hat\beta_0}, \qquad
    \widehat{\mathrm{se}}(\hat N) = \sqrt{e^{\hat\beta_0} + e^{2\hat\beta_0}\,
    \widehat{\mathrm{var}}(\hat\beta_0)},

the second being Rcapture's delta-method standard error: the first term is the Poisson
variance of the unobserved count given its mean, the second the delta-method variance of
:math:`e^{\hat\beta_0}` (Baillargeon & Rivest 2007, sec. 2). Fit statistics follow R's
``glm``: the deviance, residual df ``2^t - 1 - p``,
:math:`\mathrm{AIC} = -2\ell + 2p` with the full Poisson log-likelihood, and
:math:`\mathrm{BIC} = -2\ell + p\log n` with ``n`` the number of people observed.

Intervals are either the multinomial profile likelihood (Cormack 1992; Rcapture's
``closedpCI.t``), whose centre, the multinomial MLE, is reported as ``profile_estimate``,
or a Wald interval on :math:`\log(N - n)`.

Fit checks, after Rcapture's ``infoFit`` codes:

* negative Chao :math:`\eta` are set to zero and the model refitted (Rcapture's default
  ``neg = TRUE``); which ones is an ``info`` diagnostic and recorded in ``extra``;
* a negative :math:`\tau` in a Poisson2, Darroch or Gamma3.5 model means the data show less
  dispersion than independent, homogeneous capture would: no mixing distribution gives that
  (a warning; Rcapture does not flag it);
* the second-order asymptotic bias of :math:`e^{\hat\beta_0}` (Cordeiro & McCullagh 1991),
  flagged when it exceeds 10% of :math:`\hat N`, as Rcapture does;
* non-existence of the MLE (a linear-programming check on the design, Fienberg & Rinaldo
  2012), non-convergence and rank deficiency keep a model out of selection.

References
----------
.. [1] Baillargeon, S. and Rivest, L.-P. (2007). Rcapture: loglinear models for
   capture-recapture in R. Journal of Statistical Software 19(5). doi:10.18637/jss.v019.i05
.. [2] Rivest, L.-P. and Lévesque, T. (2001). Improved log-linear model estimators of
   abundance in capture-recapture experiments. Canadian Journal of Statistics 29:555-572.
   doi:10.2307/3316007
.. [3] Cormack, R. M. (1992). Interval estimation for mark-recapture studies of closed
   populations. Biometrics 48:567-576. doi:10.2307/2532310
.. [4] Cordeiro, G. M. and McCullagh, P. (1991). Bias correction in generalized linear
   models. JRSS B 53:629-643. doi:10.1111/j.2517-6161.1991.tb01852.x
.. [5] Fienberg, S. E. and Rinaldo, A. (2012). Maximum likelihood estimation in log-linear
   models. Annals of Statistics 40:996-1023. doi:10.1214/12-AOS986
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

import numpy as np

# scipy.special's gammaincinv is what scipy.stats' chi2.ppf computes (to the bit); importing
# scipy.stats would add about a second to every process that fits these models (the
# default's second core among them).
from scipy import optimize, special

from undercount.core.choices import ModelInterval
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
from undercount.errors import (
    ConfigError,
    EstimationError,
    InputError,
    MLENotFoundError,
    NotIdentifiableError,
)
from undercount.models.heterogeneity._designs import (
    MODELS,
    Design,
    build_design,
    histories,
)
from undercount.models.loglinear._irls import (
    PoissonFit,
    fit_poisson,
    profile_interval,
    wald_interval,
)

__all__ = [
    "MODELS",
    "HeterogeneityEstimator",
    "HeterogeneityFit",
    "HeterogeneityResult",
    "fit_model",
]

_BIAS_FRACTION = 0.1

_ASSUMPTIONS: dict[str, str] = {
    "M0": "Everyone has the same probability of appearing on each list, the same for every "
    "list, and the lists are independent: being on one list does not change a person's chance "
    "of being on another.",
    "Mt": "The lists are independent: being on one list does not change a person's chance of "
    "being on another, and everyone has the same probability of appearing on a given list "
    "(lists may differ in coverage). Positive dependence between lists, or people who are "
    "harder to record on every list, biases N downwards.",
    "Mh": "Capture probabilities vary between people (some are easier to record than others), "
    "but each person's probability is the same on every list, and lists are independent given "
    "that probability.",
    "Mth": "Capture probabilities vary between people and between lists, combining "
    "multiplicatively on the odds scale (no person-by-list interaction), and lists are "
    "independent given a person's catchability.",
}

_HET_ASSUMPTIONS: dict[str, str] = {
    "Chao": "Chao's model gives a lower bound for N under any distribution of catchability: "
    "it assumes nothing about the people never recorded beyond what the counts of people seen "
    "once, twice, ... imply, so the true N may be larger.",
    "Poisson2": "The spread of catchability follows the Poisson2 mixture (a log-linear term "
    "2^k - 1 in the number of lists k): a specific parametric shape that extrapolates to the "
    "never-recorded people; other shapes fitting equally well can give very different N.",
    "Darroch": "The spread of catchability follows Darroch's mixture (a term k^2/2 in the "
    "number of lists k, a normal-like mixing distribution): a parametric extrapolation to the "
    "never-recorded people; other shapes fitting equally well can give very different N.",
    "Gamma3.5": "The spread of catchability follows a gamma mixing distribution (a term "
    "-log(1 + k/3.5) in the number of lists k): a heavy lower tail of hard-to-record people, "
    "so N is large and uncertain; other shapes fitting equally well give very different N.",
}


def assumptions_for(model: str) -> tuple[str, ...]:
    """The identifying assumptions of one of :data:`MODELS`, in plain words."""
    base, _, het = model.partition("-")
    out = [_ASSUMPTIONS[base]]
    if het:
        out.append(_HET_ASSUMPTIONS[het])
    return (*out, *SHARED_ASSUMPTIONS)


# --------------------------------------------------------------------------- fitting
@dataclass(frozen=True)
class HeterogeneityFit:
    """One fitted closed-population model (before any interval)."""

    model: str
    design: Design
    fit: PoissonFit
    n_observed: int
    removed_eta: tuple[str, ...] = ()
    status: str = "ok"
    reason: str = ""
    diagnostics: tuple[Diagnostic, ...] = ()
    zero_cells: tuple[str, ...] = ()

    @property
    def estimate(self) -> float:
        return self.n_observed + self.fit.n0

    @property
    def se(self) -> float:
        n0 = self.fit.n0
        return math.sqrt(n0 + n0**2 * max(float(self.fit.cov[0, 0]), 0.0))

    @property
    def n_params(self) -> int:
        return self.design.X.shape[1]

    @property
    def df(self) -> int:
        return self.design.X.shape[0] - self.n_params

    @property
    def aic(self) -> float:
        return -2.0 * self.fit.loglik + 2.0 * self.n_params

    @property
    def bic(self) -> float:
        return -2.0 * self.fit.loglik + math.log(self.n_observed) * self.n_params

    @property
    def bias(self) -> float:
        return _asymptotic_bias(self.design.X, self.fit)

    @property
    def heterogeneity_params(self) -> dict[str, float]:
        d = self.design
        return {d.names[j]: float(self.fit.beta[j]) for j in range(d.n_base, len(d.names))}

    @property
    def usable(self) -> bool:
        return self.status == "ok"


def _asymptotic_bias(X: np.ndarray, fit: PoissonFit) -> float:
    r"""Second-order bias of :math:`e^{\hat\beta_0}`.

    For a canonical-link GLM, :math:`E[\hat\beta - \beta] \approx V X^\top W \xi` with
    :math:`V = (X^\top W X)^{-1}`, :math:`W = \mathrm{diag}(\mu)` and
    :math:`\xi_i = -\tfrac12 x_i^\top V x_i` (Cordeiro & McCullagh 1991). Then
    :math:`E[e^{\hat\beta_0}] - e^{\beta_0} \approx e^{\beta_0}(b_0 + \tfrac12 V_{00})`.
    """
    V = fit.cov
    xi = -0.5 * np.einsum("ij,jk,ik->i", X, V, X)
    b = V @ (X.T @ (fit.mu * xi))
    return float(fit.n0 * (b[0] + 0.5 * V[0, 0]))


def _pattern_labels(t: int) -> list[str]:
    return ["".join(str(int(v)) for v in row) for row in histories(t)]


def mle_obstruction(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of zero cells whose fitted values are forced to zero (MLE does not exist).

    The Poisson MLE exists iff no direction ``f`` has ``X_+ f = 0`` on the positive cells and
    ``X_0 f >= 0`` on the zero cells with some strict inequality (Haberman 1974; Fienberg &
    Rinaldo 2012). A linear programme maximises ``sum(X_0 f)`` with ``0 <= X_0 f <= 1``;
    the cells where it is positive are those the likelihood pushes to zero.
    """
    zero = y <= 0
    if not zero.any():
        return np.zeros(0, dtype=int)
    Xp, X0 = X[~zero], X[zero]
    p = X.shape[1]
    res = optimize.linprog(
        c=-X0.sum(axis=0),
        A_ub=np.vstack([X0, -X0]),
        b_ub=np.concatenate([np.ones(len(X0)), np.zeros(len(X0))]),
        A_eq=Xp if len(Xp) else None,
        b_eq=np.zeros(len(Xp)) if len(Xp) else None,
        bounds=[(None, None)] * p,
        method="highs",
    )
    if res.status != 0 or -res.fun < 1e-7:
        return np.zeros(0, dtype=int)
    hit = X0 @ res.x > 1e-7
    return np.flatnonzero(zero)[hit]


def _drop_negative_eta(design: Design, y: np.ndarray, fit: PoissonFit):
    """Rcapture's ``neg = TRUE`` rule: remove the leftmost negative eta, refit, repeat."""
    removed: list[str] = []
    while True:
        eta = fit.beta[design.n_base :]
        neg = np.flatnonzero(eta < 0)
        if neg.size == 0:
            return design, fit, tuple(removed)
        j = design.n_base + int(neg[0])
        removed.append(design.names[j])
        design = design.drop(j)
        fit = fit_poisson(design.X, y)


def fit_model(model: str, table: CaptureTable) -> HeterogeneityFit:
    """Fit one of :data:`MODELS` to an aggregated table (no interval).

    Raises
    ------
    NotIdentifiableError
        A heterogeneity model on two lists (its columns are confounded with the list
        effects; Rcapture fits only M0 and Mt then).
    """
    t = table.n_lists
    if model not in MODELS:
        raise ConfigError(f"model={model!r} is not allowed; choose one of {', '.join(MODELS)}")
    if model not in ("M0", "Mt") and t < 3:
        raise NotIdentifiableError(
            f"{model} needs at least three lists; with {t} lists the heterogeneity term is "
            "confounded with the list effects (only M0 and Mt can be fitted)"
        )
    n = table.n_observed
    y = table.full_counts()[1:].astype(float)
    design = build_design(model, t, table.lists)
    fit = fit_poisson(design.X, y)
    removed: tuple[str, ...] = ()
    diags: list[Diagnostic] = []
    if design.heterogeneity == "Chao":
        design, fit, removed = _drop_negative_eta(design, y, fit)
        if removed:
            diags.append(
                Diagnostic(
                    "heterogeneity.eta_set_to_zero",
                    f"{model}: negative Chao parameter(s) {', '.join(removed)} set to zero and "
                    "the model refitted (Chao's lower bound constrains them to be >= 0).",
                    "info",
                )
            )
    labels = _pattern_labels(t)
    status, reason = "ok", ""
    zero_cells: tuple[str, ...] = ()
    if np.linalg.matrix_rank(design.X) < design.X.shape[1]:
        status, reason = "not_identifiable", "design matrix not of full rank"
    else:
        bad = mle_obstruction(design.X, y)
        if bad.size:
            zero_cells = tuple(labels[i] for i in bad)
            status = "mle_not_found"
            reason = (
                "the maximum-likelihood estimate does not exist: the fitted counts of the "
                f"empty cell(s) {', '.join(zero_cells)} are driven to zero"
            )
        elif not fit.converged or not np.all(np.isfinite(fit.beta)):
            status, reason = "failed", f"IRLS did not converge in {fit.iterations} iterations"
    if status == "ok":
        het = {k: v for k, v in zip(design.names, fit.beta, strict=True) if k == "tau"}
        if het and het["tau"] < 0:
            diags.append(
                Diagnostic(
                    "heterogeneity.negative_tau",
                    f"{model}: the heterogeneity parameter tau = {het['tau']:.4g} is negative: "
                    "the data are less dispersed than homogeneous capture allows, so no mixing "
                    "distribution fits; treat this model's N as unsupported.",
                    "warning",
                )
            )
        n_hat = n + fit.n0
        bias = _asymptotic_bias(design.X, fit)
        if abs(bias) > _BIAS_FRACTION * n_hat:
            diags.append(
                Diagnostic(
                    "heterogeneity.large_bias",
                    f"{model}: the asymptotic bias of N-hat ({bias:,.1f}) exceeds 10% of N-hat "
                    f"({n_hat:,.1f}); the estimate and its standard error are unreliable.",
                    "warning",
                )
            )
    else:
        diags.append(
            Diagnostic(f"heterogeneity.{status}", f"{model}: {reason}.", "warning")
        )
    return HeterogeneityFit(
        model=model,
        design=design,
        fit=fit,
        n_observed=n,
        removed_eta=removed,
        status=status,
        reason=reason,
        diagnostics=tuple(diags),
        zero_cells=zero_cells,
    )


# --------------------------------------------------------------------------- intervals
def _chao_profile_interval(
    model: str, table: CaptureTable, mf: HeterogeneityFit, level: float, max_factor: float = 1e4
) -> tuple[float, float, float]:
    """Multinomial profile interval for a Chao model, re-applying the eta >= 0 rule at each N.

    For a candidate N the unobserved cell is set to ``N - n``, the model with *all* its eta
    columns is fitted to the complete table, negative etas are removed as in the point fit,
    and the multinomial log-likelihood (as in
    :func:`undercount.models.loglinear._irls.profile_interval`) is evaluated. This is what
    Rcapture's ``closedpCI.t`` does for ``h = "Chao"``; using the point fit's reduced design
    at every N would give a (slightly) different curve.
    """
    n = float(table.n_observed)
    y_obs = table.full_counts()[1:].astype(float)
    full = build_design(model, table.n_lists, table.lists)
    row0 = np.zeros((1, full.X.shape[1]))
    row0[0, 0] = 1.0
    full_c = Design(
        X=np.vstack([row0, full.X]), names=full.names, n_base=full.n_base,
        heterogeneity=full.heterogeneity,
    )
    lgam_y = float(special.gammaln(y_obs + 1).sum())

    def ll(N: float) -> float:
        y = np.concatenate([[N - n], y_obs])
        f = fit_poisson(full_c.X, y)
        _, f, _ = _drop_negative_eta(full_c, y, f)
        mu = f.mu
        pos = y > 0
        return float(
            special.gammaln(N + 1) - special.gammaln(N - n + 1) - lgam_y
            + np.sum(y[pos] * np.log(mu[pos] / mu.sum()))
        )

    n0 = max(mf.fit.n0, 1e-8)
    res = optimize.minimize_scalar(
        lambda s: -ll(n + math.exp(s)),
        bounds=(math.log(n0 / 50), math.log(n0 * 50)),
        method="bounded",
        options={"xatol": 1e-10},
    )
    s_hat, cut = float(res.x), -float(res.fun) - 2.0 * special.gammaincinv(0.5, level) / 2

    def g(s: float) -> float:
        return ll(n + math.exp(s)) - cut

    lower = n
    s = s_hat
    for _ in range(200):
        s -= 0.5
        if g(s) < 0:
            lower = n + math.exp(optimize.brentq(g, s, s + 0.5, xtol=1e-12))
            break
        if math.exp(s) < 1e-6:
            break
    upper = math.inf
    s = s_hat
    limit = math.log(max(mf.estimate, 1.0) * max_factor)
    while s < limit:
        s += 0.5
        if g(s) < 0:
            upper = n + math.exp(optimize.brentq(g, s - 0.5, s, xtol=1e-12))
            break
    return n + math.exp(s_hat), lower, upper


def model_interval(
    mf: HeterogeneityFit, table: CaptureTable, kind: str, level: float
) -> tuple[Interval, float | None]:
    """Interval for N from one fitted model, and the profile (multinomial) MLE if profiled."""
    n = table.n_observed
    if kind == "wald":
        lo, hi = wald_interval(mf.fit, n, level)
        return Interval(lo, hi, level, "wald-log"), None
    if mf.design.heterogeneity == "Chao":
        centre, lo, hi = _chao_profile_interval(mf.model, table, mf, level)
    else:
        y = table.full_counts()[1:].astype(float)
        centre, lo, hi = profile_interval(mf.design.X, y, mf.fit, level)
    return Interval(lo, hi, level, "profile"), centre


# --------------------------------------------------------------------------- estimator
@dataclass(frozen=True, kw_only=True)
class HeterogeneityResult(MSEResult):
    """Result of :class:`HeterogeneityEstimator`, for the chosen model.

    Attributes
    ----------
    se : float
        Standard error of N-hat.
    profile_estimate : float, optional
        The multinomial MLE the profile interval is centred on (profile intervals only).
    deviance : float
    df : int
    tied : dict, optional
        The models whose criterion ties with the chosen one's (:data:`CRITERION_TIE`) and
        which give different N: their names, the smallest and largest estimate and the union
        of their intervals (:attr:`~undercount.core.result.MSEResult.tied_models`). On three
        lists the four Mth models all reproduce the observed counts, so the lists cannot
        choose among them, and the range is the family's answer.

    Every model's estimate, s.e., bias, heterogeneity parameters and interval are in
    ``models`` (their ``extra``). The profile interval at another level needs a refit, so
    :meth:`conf_int` is not available.
    """

    se: float | None = None
    profile_estimate: float | None = None
    deviance: float | None = None
    df: int | None = None
    tied: dict[str, Any] | None = None

    methods: ClassVar[tuple[str, ...]] = ("heterogeneity",)
    json_fields: ClassVar[tuple[str, ...]] = ("se", "profile_estimate", "deviance", "df",
                                              "tied")
    json_optional: ClassVar[frozenset[str]] = frozenset({"profile_estimate", "tied"})

    @property
    def tied_models(self) -> dict[str, Any] | None:
        return self.tied


@dataclass(frozen=True, kw_only=True)
class HeterogeneityEstimator(Estimator):
    r"""Rcapture's closed-population models M0, Mt, Mh-* and Mth-* (Baillargeon & Rivest 2007).

    Parameters
    ----------
    model : str or None
        One of :data:`MODELS` (``"M0"``, ``"Mt"``, ``"Mh-Chao"``, ``"Mh-Poisson2"``,
        ``"Mh-Darroch"``, ``"Mh-Gamma3.5"``, ``"Mth-Chao"``, ``"Mth-Poisson2"``,
        ``"Mth-Darroch"``, ``"Mth-Gamma3.5"``), or None to fit all ten and choose by
        ``select``.
    select : {"aic", "bic"}
        Criterion for choosing among the usable models when ``model`` is None.
    interval : {"profile", "wald"}
        Multinomial profile likelihood (Rcapture's ``closedpCI.t``; default, because it is
        asymmetric like the sampling distribution of N-hat and never goes below n) or Wald on
        ``log(N - n)``.
    level : float
        Confidence level of the interval.

    Notes
    -----
    The estimate is the Poisson MLE :math:`\hat N = n + e^{\hat\beta_0}` (Rcapture's
    ``closedp`` abundance). The profile interval is centred on the multinomial MLE, which is
    slightly smaller and is reported in ``result.profile_estimate``. ``result.models``
    holds all ten models with their estimate, s.e. (the record's ``extra["se"]``), deviance,
    df, AIC, BIC and interval; models that cannot be fitted carry a status and reason and are not
    selected. The heterogeneity models need at least three lists; with two, only M0 and Mt
    are fitted, as in Rcapture. With t lists and an unrestricted heterogeneity distribution
    N is not identifiable (Link 2003), so the heterogeneity models differ in how they
    extrapolate, not only in fit: compare them, do not trust AIC alone.

    References
    ----------
    .. [1] Baillargeon, S. and Rivest, L.-P. (2007). Rcapture: loglinear models for
       capture-recapture in R. Journal of Statistical Software 19(5).
       doi:10.18637/jss.v019.i05
    .. [2] Rivest, L.-P. and Lévesque, T. (2001). Canadian Journal of Statistics
       29:555-572. doi:10.2307/3316007
    .. [3] Link, W. A. (2003). Nonidentifiability of population size from capture-recapture
       data with heterogeneous detection probabilities. Biometrics 59:1123-1130.
       doi:10.1111/j.0006-341X.2003.00129.x
    """

    method = "heterogeneity"

    model: str | None = None
    select: Literal["aic", "bic"] = "aic"
    interval: ModelInterval = "profile"
    level: Annotated[float, Open(0, 1)] = 0.95

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model is not None and self.model not in MODELS:
            raise ConfigError(
                f"HeterogeneityEstimator: model={self.model!r} is not allowed; choose one of "
                f"{', '.join(MODELS)} or None"
            )

    def _fit(self, table: CaptureTable, *, rng: np.random.Generator | None) -> MSEResult:
        t = table.n_lists
        if t < 2:
            raise InputError(f"{table.source}: closed-population models need at least 2 lists")
        if table.n_observed == 0:
            raise InputError(f"{table.source}: the table is empty")
        diags = list(_table_diagnostics(table))
        names = [self.model] if self.model is not None else list(MODELS)
        fits: dict[str, HeterogeneityFit] = {}
        records: dict[str, ModelRecord] = {}
        for name in names:
            if name not in ("M0", "Mt") and t < 3:
                if self.model is not None:
                    fit_model(name, table)  # raises NotIdentifiableError with the reason
                records[name] = ModelRecord(
                    name, None, status="not_identifiable",
                    reason="heterogeneity models need at least three lists",
                )
                continue
            mf = fit_model(name, table)
            fits[name] = mf
            diags += mf.diagnostics
        if t < 3 and self.model is None:
            diags.append(
                Diagnostic(
                    "heterogeneity.two_lists",
                    "With two lists only M0 and Mt can be fitted (Mt is the Lincoln-Petersen "
                    "estimator); heterogeneity between people cannot be assessed and biases N "
                    "downwards.",
                    "warning",
                )
            )
        for name, mf in fits.items():
            iv, centre = None, None
            if mf.usable:
                try:
                    iv, centre = model_interval(mf, table, self.interval, float(self.level))
                except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
                    # Never a silent fallback: say which interval the record carries and why.
                    iv, _ = model_interval(mf, table, "wald", float(self.level))
                    diags.append(
                        Diagnostic(
                            "heterogeneity.profile_failed",
                            f"{name}: the profile-likelihood interval could not be computed "
                            f"({exc}); the Wald interval on log(N - n) is reported instead.",
                            "warning",
                        )
                    )
            extra: dict[str, Any] = {
                "se": mf.se if mf.usable else None,
                "bias": mf.bias if mf.usable else None,
                "heterogeneity_params": mf.heterogeneity_params,
            }
            if centre is not None:
                extra["profile_estimate"] = centre
            if mf.removed_eta:
                extra["eta_set_to_zero"] = list(mf.removed_eta)
            reason = mf.reason
            if mf.usable:
                notes = [d.message for d in mf.diagnostics if d.severity != "info"]
                reason = " ".join(notes)
            records[name] = ModelRecord(
                model=name,
                estimate=mf.estimate if mf.usable else None,
                interval=iv,
                aic=mf.aic if mf.usable else None,
                bic=mf.bic if mf.usable else None,
                deviance=mf.fit.deviance if mf.usable else None,
                df=mf.df,
                n_params=mf.n_params,
                status=mf.status,
                reason=reason,
                extra=extra,
            )
        ordered = tuple(records[name] for name in names)
        usable = [r for r in ordered if r.usable]
        if not usable:
            first = fits.get(names[0])
            reasons = {r.reason for r in ordered}
            if len(reasons) == 1:
                detail = f"Every model: {reasons.pop()}."
            else:
                detail = "; ".join(f"{r.model}: {r.reason}" for r in ordered)
            if first is not None and first.status == "mle_not_found":
                raise MLENotFoundError(
                    f"{table.source}: no closed-population model can be fitted. {detail}",
                    cells=list(first.zero_cells),
                )
            if first is not None and first.status == "not_identifiable":
                raise NotIdentifiableError(f"{table.source}: {detail}")
            raise EstimationError(f"{table.source}: no usable model. {detail}")
        tied = None
        if self.model is not None:
            chosen = usable[0]
        else:
            key = "aic" if self.select == "aic" else "bic"
            chosen, tie, tied = _choose(usable, key)
            if tie is not None:
                diags.append(tie)
            diags.append(
                Diagnostic(
                    "heterogeneity.selection",
                    f"{chosen.model} chosen by {key.upper()} among {len(usable)} usable models "
                    f"(estimates range {min(r.estimate for r in usable):,.1f} to "
                    f"{max(r.estimate for r in usable):,.1f}).",
                    "info",
                )
            )
        assert chosen.interval is not None and chosen.estimate is not None
        return HeterogeneityResult(
            method=self.method,
            model=chosen.model,
            estimate=float(chosen.estimate),
            interval=chosen.interval,
            n_observed=table.n_observed,
            lists=table.lists,
            models=ordered,
            diagnostics=tuple(_dedupe(diags)),
            settings=self.get_params(),
            assumptions=assumptions_for(chosen.model),
            se=chosen.extra["se"],
            profile_estimate=chosen.extra.get("profile_estimate"),
            deviance=chosen.deviance,
            df=chosen.df,
            tied=tied,
        )


#: Criteria closer than this to the smallest count as tied. Models that all reproduce the
#: observed counts (the four Mth models on three lists) have the same deviance and number of
#: parameters, and their AICs then differ only by the optimiser's last digits (about 1e-13 on
#: the Gaza table), which would otherwise pick among them differently from machine to machine.
CRITERION_TIE = 1e-6


def _choose(
    usable: list[ModelRecord], key: str
) -> tuple[ModelRecord, Diagnostic | None, dict[str, Any] | None]:
    """The model with the smallest criterion, the first in :data:`MODELS`' order among those
    tied with it (:data:`CRITERION_TIE`); where tied models disagree on N, a warning and
    :attr:`HeterogeneityResult.tied`."""
    best = min(getattr(r, key) for r in usable)
    tied = [r for r in usable if getattr(r, key) - best <= CRITERION_TIE]
    chosen = tied[0]
    low = min(r.estimate for r in tied)
    high = max(r.estimate for r in tied)
    if len(tied) == 1 or high <= low * (1 + 1e-6):
        return chosen, None, None
    names = ", ".join(r.model for r in tied[:-1]) + f" and {tied[-1].model}"
    span = {
        "models": [r.model for r in tied],
        "estimates": [low, high],
        "interval": [min(r.interval.lower for r in tied), max(r.interval.upper for r in tied)],
    }
    return chosen, Diagnostic(
        "heterogeneity.tie",
        f"{names} describe the observed capture histories equally well ({key.upper()} "
        f"within {CRITERION_TIE:g}) and give {low:,.1f} to {high:,.1f}: the lists cannot "
        f"choose between them; {chosen.model}, the first in Rcapture's order, is reported, "
        "and tables and plots show the range.",
        "warning",
    ), span


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[str, str]] = set()
    out = []
    for d in diags:
        if (d.code, d.message) not in seen:
            seen.add((d.code, d.message))
            out.append(d)
    return out


def _table_diagnostics(table: CaptureTable) -> list[Diagnostic]:
    """Warnings about the table itself: lists that overlap no other list, empty lists."""
    out = []
    P = table.patterns.astype(bool)
    c = table.counts
    for j, name in enumerate(table.lists):
        on = P[:, j] & (c > 0)
        if not on.any():
            out.append(
                Diagnostic(
                    "heterogeneity.empty_list",
                    f"List {name!r} has no records; its capture probability is estimated as 0 "
                    "and the models with one parameter per list cannot be fitted.",
                    "warning",
                )
            )
            continue
        if not (P[on].sum(axis=1) > 1).any():
            out.append(
                Diagnostic(
                    "heterogeneity.isolated_list",
                    f"List {name!r} shares no record with any other list: its coverage is "
                    "estimated from the other lists' overlaps and the model's assumptions "
                    "alone, so estimates that depend on it are fragile (consider dropping it "
                    "with select_lists).",
                    "warning",
                )
            )
    return out
