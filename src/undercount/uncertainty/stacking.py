r"""Stacking the model families: one estimate of N from several families, weighted by how
well each predicts the people it was not fitted to.

Each family (log-linear models with selection, Rcapture's heterogeneity models, latent
classes, decomposable-graph averaging) rests on its own identifying assumption about the
people on no list, which the lists cannot test (Aleshin-Guendel, Sadinle & Wakefield 2024).
What the lists can test is how well each family describes the people who *were* observed.
:class:`StackedEstimator` fits the families, scores each by its leave-one-out predictive
density of the observed capture patterns, and pools their distributions of N with the
stacking weights.

**Scores.** For the :math:`n` observed people with patterns :math:`x_i`, each family gives the
conditional distribution of patterns given capture, :math:`p_f(x \mid x \ne 0)`, and its
leave-one-out (LOO) density :math:`p_f(x_i \mid y_{-i})`, fitted without person :math:`i`.
People with the same pattern share it, so it is computed once per observed pattern:

* log-linear (with model selection): refit with one person of the pattern removed,
  re-selecting among the ``ntop`` best models of the full data (the default's own
  re-selection) or, for stepwise selection, refitting the selected model; then
  :math:`p(x) = \hat\mu_x / \sum_{x' \ne 0} \hat\mu_{x'}`;
* heterogeneity models: the model the criterion chose, refitted without the person;
* latent classes: Pareto-smoothed importance sampling over the posterior draws of
  :math:`p(x \mid x \ne 0)` (PSIS-LOO; Vehtari, Gelman & Gabry 2017), with its Pareto
  :math:`\hat k` reported;
* graph averaging: each graph :math:`g` at its posterior mean of N, the hyper-Dirichlet
  predictive of the pattern with the person removed,
  :math:`p_g(x) = \prod_C \frac{y_C(x_C) - 1 + a_C}{N - 1 + A} \big/ \prod_S
  \frac{y_S(x_S) - 1 + a_S}{N - 1 + A}` over cliques and separators, divided by one minus
  the same for the empty pattern; the graphs are pooled by the exact leave-one-out
  reweighting of their posterior, :math:`1 / \sum_g \pi(g \mid y) / p_g(x)`.

**Weights.** Stacking of predictive distributions (Yao, Vehtari, Simpson & Gelman 2018):

.. math::

    \hat w = \arg\max_{w \in \Delta} \sum_i \log \sum_f w_f\, p_f(x_i \mid y_{-i}),

a concave problem, solved by the EM iteration for mixture weights
:math:`w_f \leftarrow n^{-1} \sum_i w_f p_{fi} / \sum_g w_g p_{gi}`.

**The pooled N.** The mixture :math:`\sum_f \hat w_f P_f(N)` of the families' own
distributions of N: the log-linear bootstrap's distribution (its replicates; for a BCa
result, at BCa's adjusted probabilities; for a smoothed one, the log-normal whose
equal-tailed quantiles are its interval), the latent-class posterior draws, the graph
posterior, and for a heterogeneity model a two-piece log-normal on :math:`N - n` whose
quantiles are its profile interval. The estimate is the mixture's median (under the
``"criterion"`` weights of :mod:`undercount.uncertainty.crossfamily`, the weighted mean of
the families' estimates) and the interval its equal-tailed quantiles.
Families whose N is not identified are left out (weight 0, listed with their reason), as are
families that fail.

**What stacking can and cannot do.** The weights measure fit to the observed patterns
only; two families that fit them equally well share the weight even when they extrapolate
to different N, and the pooled interval then spans both. That is the honest summary of a
disagreement the data cannot settle. Where every family is wrong together (linkage errors,
heterogeneity that biases all of them), stacking cannot help.

References
----------
.. [1] Yao, Y., Vehtari, A., Simpson, D. and Gelman, A. (2018). Using stacking to average
   Bayesian predictive distributions. *Bayesian Analysis* 13:917-1007. doi:10.1214/17-BA1091
.. [2] Vehtari, A., Gelman, A. and Gabry, J. (2017). Practical Bayesian model evaluation
   using leave-one-out cross-validation and WAIC. *Statistics and Computing* 27:1413-1432.
   doi:10.1007/s11222-016-9696-4
.. [3] Aleshin-Guendel, S., Sadinle, M. and Wakefield, J. (2024). The central role of the
   identifying assumption in population size estimation. *Biometrics* 80(1).
   doi:10.1093/biomtc/ujad028
.. [4] Madigan, D. and York, J. C. (1997). Bayesian methods for estimation of the size of a
   closed population. *Biometrika* 84:19-31. doi:10.1093/biomet/84.1.19
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
from scipy import special

from undercount.core.draws import group_draws, import_arviz, n_draws
from undercount.core.estimator import Estimator
from undercount.core.result import Diagnostic, Interval, ModelRecord, MSEResult
from undercount.core.table import CaptureTable, patterns_from_codes
from undercount.errors import ConfigError, EstimationError, UndercountError
from undercount.uncertainty.bootstrap import Bootstrap, BootstrapResult, bca_quantiles
from undercount.uncertainty.families import (
    CHECK_DGA_MAX_LISTS,
    FAMILIES_DISAGREE_CODE,
    QUICK_LCM,
    family_spread,
    label,
)

__all__ = [
    "FamilyFits",
    "StackedEstimator",
    "StackedResult",
    "family_weights",
    "pool",
    "stacking_members",
    "stacking_weights",
]

#: How the families are weighted (:func:`family_weights`).
Weighting = Literal["stacking", "pseudo-bma", "equal", "criterion"]
#: The rules :class:`StackedEstimator` computes itself ("criterion" weights, AIC or BIC, come
#: from :mod:`undercount.uncertainty.crossfamily`).
StackWeighting = Literal["stacking", "pseudo-bma", "equal"]

#: Draws of N in the pooled mixture.
MIXTURE_DRAWS = 20_000
#: The assumption stacking adds to those of the families it pools.
STACKING_ASSUMPTION = (
    "Stacking: the families are weighted by how well they predict the people observed; the "
    "people on no list follow each family's own assumption in proportion to its weight."
)
#: The assumption weighting by an information criterion adds
#: (:mod:`undercount.uncertainty.crossfamily`).
CRITERION_ASSUMPTION = (
    "Families weighted by an information criterion (BIC unless the result's families block "
    "says otherwise): each family's weight is its relative support from the people "
    "observed; the people on no list follow each family's own assumption in proportion to "
    "its weight."
)
#: PSIS's Pareto k above which a latent-class LOO score is unreliable (Vehtari et al.).
PARETO_K_WARN = 0.7
#: Graphs carrying this much of the posterior are kept for the graph family's LOO scores.
GRAPH_MASS = 0.9999
#: N - n, in people, that an estimate or interval end at the n observed stands for in a
#: family's two-piece log-normal (:func:`_two_piece_lognormal`): N is a count, so "N = n"
#: is every N - n below one half.
HALF_PERSON = 0.5


def stacking_members(
    n_lists: int, replicates: int = 1000, *, ntop: int = 10, n_jobs: int | None = None
) -> tuple[Estimator, ...]:
    """The families the stacked estimate pools on a table of ``n_lists`` lists: the
    default's log-linear bootstrap (BIC among all models re-selected among the ``ntop`` best
    on up to 5 lists, stepwise beyond), Rcapture's heterogeneity models, latent classes
    (:data:`QUICK_LCM`) and, on up to :data:`CHECK_DGA_MAX_LISTS` lists, dga."""
    # Lazy: the families load only when stacked.
    from undercount.models.graphical import GraphicalEstimator
    from undercount.models.heterogeneity import HeterogeneityEstimator
    from undercount.models.latent_class import LatentClassEstimator
    from undercount.models.loglinear import LogLinearEstimator

    if n_lists <= 5:  # as the default: BIC over all hierarchical models up to 5 lists
        loglinear = Bootstrap(estimator=LogLinearEstimator(select="bic"), replicates=replicates,
                              ntop=ntop, n_jobs=n_jobs)
    else:
        loglinear = Bootstrap(estimator=LogLinearEstimator(select="stepwise"),
                              replicates=replicates, n_jobs=n_jobs)
    members: list[Estimator] = [
        loglinear,
        HeterogeneityEstimator(),
        LatentClassEstimator(**QUICK_LCM, n_jobs=n_jobs),
    ]
    if n_lists <= CHECK_DGA_MAX_LISTS:
        members.append(GraphicalEstimator())
    return tuple(members)


def stacking_weights(log_density: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Stacking weights from LOO log densities, shape (families, patterns), and the number of
    people with each pattern: the maximiser over the simplex of
    ``sum_x counts[x] * log(sum_f w[f] * exp(log_density[f, x]))``.

    The objective is concave; it is maximised by sequential quadratic programming on the
    simplex with its exact gradient (the EM iteration for mixture weights converges
    sublinearly when a weight belongs on the boundary)."""
    from scipy.optimize import minimize

    ld = np.asarray(log_density, dtype=float)
    c = np.asarray(counts, dtype=float) / float(np.sum(counts))
    n_f = ld.shape[0]
    if n_f == 1:
        return np.ones(1)
    shift = ld.max(axis=0, keepdims=True)
    dens = np.exp(ld - np.where(np.isfinite(shift), shift, 0.0))

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        mix = np.maximum(w @ dens, 1e-300)
        return -float(c @ np.log(mix)), -(dens @ (c / mix))

    fit = minimize(
        objective, np.full(n_f, 1.0 / n_f), jac=True, method="SLSQP",
        bounds=[(0.0, 1.0)] * n_f,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0,
                      "jac": lambda w: np.ones_like(w)}],
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    w = np.clip(fit.x, 0.0, None)
    w[w < 1e-9] = 0.0
    return w / w.sum()


@dataclass(frozen=True, kw_only=True, eq=False)
class StackedResult(MSEResult):
    """Result of :class:`StackedEstimator`.

    Attributes
    ----------
    weights : dict
        The weight of each family (``"method: model"``), summing to 1.
    elpd_loo : dict
        Each family's leave-one-out log predictive density of the observed people (sum;
        None where the family gives an observed pattern probability zero).
    families : dict
        The common field, here ``results`` (each family's method, model, estimate, interval,
        whether its N is identified, its weight and its LOO score), ``failures`` (the
        families left out, with why) and ``spread``
        (:meth:`~undercount.uncertainty.families.FamilySpread.to_dict`).
    fits : FamilyFits
        Every family's own result and LOO scores (not in the JSON): :func:`pool` weighs
        them again under another rule without refitting.
    excluded : dict
        Families left out of the pool, with the reason (not identified, failed).
    pareto_k : float, optional
        The largest PSIS Pareto k of the latent-class scores.

    :meth:`conf_int` gives the mixture's interval at another level from its draws.
    """

    weights: dict[str, float] = field(default_factory=dict)
    elpd_loo: dict[str, float | None] = field(default_factory=dict)
    fits: FamilyFits | None = None
    excluded: dict[str, str] = field(default_factory=dict)
    pareto_k: float | None = None

    methods: ClassVar[tuple[str, ...]] = ("stacked", "families")
    json_fields: ClassVar[tuple[str, ...]] = (
        "weights", "elpd_loo", "excluded", "pareto_k",
    )
    json_optional: ClassVar[frozenset[str]] = frozenset({"pareto_k"})

    def conf_int(self, level: float) -> Interval:
        """Equal-tailed interval of the pooled mixture's draws at another ``level``."""
        flat = n_draws(self)
        if flat is None or flat.size == 0:
            raise ValueError("this result carries no draws (a stored copy?)")
        lo, hi = np.quantile(flat, [(1 - level) / 2, (1 + level) / 2])
        return Interval(float(lo), float(hi), level, "stacked mixture")


@dataclass(frozen=True, kw_only=True)
class StackedEstimator(Estimator):
    """Several model families pooled by stacking their leave-one-out predictive densities.

    Parameters
    ----------
    members : tuple of Estimator, optional
        The families, each configured: a :class:`~undercount.uncertainty.bootstrap.Bootstrap`
        of a log-linear estimator (or a log-linear estimator alone), a heterogeneity
        estimator, a latent-class estimator (its ``pattern_probs`` is switched on here) and a
        graphical estimator, in any combination of at least two. None (the default): the
        families of :func:`stacking_members` for the table.
    weighting : {"stacking", "pseudo-bma", "equal"}
        How the families are weighted (:func:`family_weights`); stacking by default.
    replicates : int
        Bootstrap replicates of the default log-linear member (``members=None`` only).
    level : float
        Probability of the pooled interval.
    draws : int
        Draws of N in the mixture, shared among the families by a multinomial draw with
        the stacking weights.
    n_jobs : int or None
        Worker processes of the default members' bootstrap and threads of their sampler
        (default: the available cores). Results do not depend on it.

    The mathematics, and what stacking can and cannot do, are in the module docstring.
    """

    method: ClassVar[str] = "stacked"
    stochastic: ClassVar[bool] = True

    members: tuple[Estimator, ...] | None = None
    weighting: StackWeighting = "stacking"
    replicates: int = 1000
    level: float = 0.95
    draws: int = MIXTURE_DRAWS
    n_jobs: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.members is not None and len(self.members) < 2:
            raise ConfigError("StackedEstimator needs at least two families to stack")
        if not 0.0 < self.level < 1.0:
            raise ConfigError(f"StackedEstimator: level={self.level} must lie in (0, 1)")

    def _fit(self, table: CaptureTable, *, rng: np.random.Generator | None) -> MSEResult:
        assert rng is not None
        fit_rng, mixture_rng = rng.spawn(2)
        return pool(self._fit_families(table, fit_rng), self.weighting, mixture_rng,
                    draws=self.draws, level=self.level)

    def _fit_families(self, table: CaptureTable, rng: np.random.Generator) -> FamilyFits:
        """Fit every member and score the identified ones (module docstring)."""
        table = table.aggregate()
        keep = table.counts > 0
        codes = table.codes()[keep]
        members = self.members if self.members is not None else stacking_members(
            table.n_lists, self.replicates, n_jobs=self.n_jobs)
        results: list[MSEResult] = []
        scores: list[np.ndarray] = []
        excluded: dict[str, str] = {}
        pareto_k: float | None = None
        for est, r in zip(members, rng.spawn(len(members)), strict=True):
            est = _with_pattern_probs(est)
            try:
                res = est.fit(table, rng=r) if type(est).stochastic else est.fit(table)
            except UndercountError as exc:
                excluded[type(est).method] = str(exc).splitlines()[0]
                continue
            results.append(res)
            reason = res.not_identified_reason
            if reason is not None:
                excluded[label(res)] = f"not identified: {reason}"
                continue
            try:
                ld, k = _loo_log_density(est, res, table, codes)
            except (UndercountError, ValueError, FloatingPointError) as exc:
                excluded[label(res)] = f"no leave-one-out score: {exc}"
                continue
            if k is not None:
                pareto_k = k
            scores.append(ld)
        pooled = tuple(r for r in results if label(r) not in excluded)
        if not pooled:
            raise ConfigError(
                "stacking: no family gave an identified estimate with a score: "
                + "; ".join(f"{k}: {v}" for k, v in excluded.items())
            )
        return FamilyFits(
            n_observed=int(table.n_observed), lists=table.lists,
            counts=table.counts[keep].astype(float), results=tuple(results), pooled=pooled,
            scores=np.vstack(scores), excluded=excluded, pareto_k=pareto_k,
            settings={**self.get_params(), "members": [_described(m) for m in members]},
        )

    def get_params(self) -> dict[str, Any]:
        params = super().get_params()
        if self.members is not None:
            params["members"] = [_described(m) for m in self.members]
        return params


def _described(est: Estimator) -> dict[str, Any]:
    """An estimator's settings as JSON-ready data, estimators inside it described alike."""
    return {"method": type(est).method,
            **{k: _described(v) if isinstance(v, Estimator) else v
               for k, v in est.get_params().items()}}


@dataclass(frozen=True, eq=False)
class FamilyFits:
    """Every family fitted to one table, with the identified ones' LOO scores.

    ``scores`` has one row per result in ``pooled`` and one column per observed pattern
    (``counts`` people each). Working data of :class:`StackedResult`, not in the JSON."""

    n_observed: int
    lists: tuple[str, ...]
    counts: np.ndarray
    results: tuple[MSEResult, ...]
    pooled: tuple[MSEResult, ...]
    scores: np.ndarray
    excluded: dict[str, str]
    pareto_k: float | None
    settings: dict[str, Any]
    #: Weights fixed by the caller (the ``"criterion"`` rule of :mod:`undercount.uncertainty.
    #: crossfamily`), one per result in ``pooled``; ``scores`` may then have no columns.
    weights: np.ndarray | None = None


def family_weights(fits: FamilyFits, weighting: Weighting) -> np.ndarray:
    """The weights of ``fits.pooled`` under a rule: ``"stacking"`` (:func:`stacking_weights`),
    ``"pseudo-bma"`` (proportional to exp of each family's LOO score, Yao et al. 2018 sec. 3.1),
    ``"equal"``, or ``"criterion"`` (the weights the caller set in ``fits.weights``)."""
    if weighting == "criterion":
        if fits.weights is None:
            raise ConfigError("the criterion weighting needs the families' weights")
        return fits.weights
    # A family that gives an observed pattern probability zero (log-linear models with a
    # never-seen overlap fixed at zero) scores -inf there; the floor leaves the weights to
    # the mixture, whose density there comes from the other families.
    ld = np.maximum(fits.scores, math.log(1e-300))
    if weighting == "stacking":
        return stacking_weights(ld, fits.counts)
    if weighting == "pseudo-bma":
        elpd = ld @ fits.counts
        w = np.exp(elpd - elpd.max())
        return w / w.sum()
    return np.full(len(fits.pooled), 1.0 / len(fits.pooled))


def pool(fits: FamilyFits, weighting: Weighting, rng: np.random.Generator, *,
         draws: int = MIXTURE_DRAWS, level: float = 0.95) -> StackedResult:
    """The families' mixture under ``weighting``: the :class:`StackedResult`."""
    w = family_weights(fits, weighting)
    pooled = fits.pooled
    elpd = {label(r): (float(fits.counts @ s)
                       if s.size and np.all(np.isfinite(s)) else None)
            for r, s in zip(pooled, fits.scores, strict=True)}
    weights = {label(r): float(x) for r, x in zip(pooled, w, strict=True)}
    sizes = rng.multinomial(draws, w)
    values = np.concatenate([_n_draws(r, int(k), rng)
                             for r, k in zip(pooled, sizes, strict=True) if k > 0])
    alpha = (1.0 - level) / 2.0
    # The empirical quantile keeps +inf only where more than the tail's mass is unbounded.
    med, lo, hi = _quantiles(values, np.array([0.5, alpha, 1.0 - alpha]))
    if weighting == "criterion":
        # Model averaging by information-criterion weights: the weighted mean of
        # the families' own estimates (Buckland, Burnham & Augustin 1997), which a family
        # with nearly all the weight keeps as its own estimate; the interval stays the
        # mixture's.
        med = float(w @ np.array([float(r.estimate) for r in pooled]))
    diagnostics: list[Diagnostic] = []
    if fits.pareto_k is not None and fits.pareto_k > PARETO_K_WARN:
        diagnostics.append(Diagnostic(
            "stacking_pareto_k",
            f"the latent-class leave-one-out scores are unreliable (PSIS Pareto k "
            f"{fits.pareto_k:.2f} > {PARETO_K_WARN}); its weight is approximate",
        ))
    spread = family_spread(pooled)
    text = spread.warning()
    if text is not None:
        diagnostics.append(Diagnostic(
            FAMILIES_DISAGREE_CODE,
            f"{text} The interval pools them by their weights "
            f"({', '.join(f'{k} {v:.2f}' for k, v in weights.items())}).",
        ))
    assumptions = [CRITERION_ASSUMPTION if weighting == "criterion" else STACKING_ASSUMPTION]
    for r in pooled:
        if weights[label(r)] > 0:
            assumptions += [a for a in r.assumptions if a not in assumptions]
    return StackedResult(
        method="families" if weighting == "criterion" else StackedEstimator.method,
        model=", ".join(f"{k} ({v:.2f})" for k, v in weights.items()),
        estimate=float(med),
        interval=Interval(float(lo), float(hi), level,
                          f"{fits.settings.get('rule', weighting)} mixture"),
        n_observed=fits.n_observed,
        lists=fits.lists,
        models=tuple(ModelRecord(label(r), float(r.estimate), r.interval,
                                 weight=weights.get(label(r), 0.0)) for r in fits.results),
        diagnostics=tuple(diagnostics),
        settings={**fits.settings, "weighting": weighting},
        assumptions=tuple(assumptions),
        draws=group_draws("stacking", {"N": (("draw",), values)}, attrs={"posterior": False}),
        families={
            "results": [
                {"method": r.method, "model": r.model, "estimate": float(r.estimate),
                 "interval": r.interval.to_list(), "identified": r.identified,
                 "weight": weights.get(label(r), 0.0), "elpd_loo": elpd.get(label(r)),
                 # the mixture pools the reported model; the row shows what it was tied with
                 **({"tied": r.tied_models} if r.tied_models else {})}
                for r in fits.results
            ],
            "failures": [{"method": k, "reason": v} for k, v in fits.excluded.items()],
            "spread": spread.to_dict(),
        },
        weights=weights,
        elpd_loo=elpd,
        excluded=fits.excluded,
        pareto_k=fits.pareto_k,
        fits=fits,
    )


# ----------------------------------------------------------------------- per family
def _with_pattern_probs(est: Estimator) -> Estimator:
    if "pattern_probs" in {f.name for f in dataclasses.fields(est)}:
        return dataclasses.replace(est, pattern_probs=True)  # type: ignore[type-var]
    return est


def _loo_log_density(
    est: Estimator, res: MSEResult, table: CaptureTable, codes: np.ndarray
) -> tuple[np.ndarray, float | None]:
    """log p_f(x | y without one person of pattern x, x observed), per code in ``codes``;
    and the largest Pareto k where the score comes from importance sampling."""
    # Lazy: each family loads only when it is stacked.
    from undercount.models.graphical import GraphicalResult
    from undercount.models.heterogeneity import HeterogeneityResult
    from undercount.models.latent_class import LatentClassResult
    from undercount.models.loglinear import LogLinearEstimator, LogLinearResult

    if isinstance(res, LatentClassResult):
        return _loo_psis(res, codes)
    if isinstance(res, GraphicalResult):
        return _loo_graphs(res, table, codes), None
    if isinstance(res, HeterogeneityResult):
        from undercount.models.heterogeneity.estimator import fit_model

        return _loo_refit(table, codes, lambda t: fit_model(res.model, t).fit.mu), None
    base = res.base if isinstance(res, BootstrapResult) else res
    inner = est.estimator if isinstance(est, Bootstrap) else est
    if isinstance(base, LogLinearResult) and isinstance(inner, LogLinearEstimator):
        if inner.model is None and inner.select != "stepwise":
            ntop = est.ntop if isinstance(est, Bootstrap) and est.ntop else 10
            refit = dataclasses.replace(inner.restrict_to_top(table, ntop, fitted=base),
                                        interval="wald")
        else:
            refit = LogLinearEstimator(model=base.model, interval="wald",
                                       non_overlap=inner.non_overlap)
        return _loo_refit(table, codes, lambda t: np.asarray(refit.fit(t).fitted)[1:]), None
    raise ConfigError(f"stacking: no leave-one-out score for the {res.method} family")


def _loo_refit(table: CaptureTable, codes: np.ndarray, observed_means) -> np.ndarray:
    """Exact LOO for a fitted-by-maximum-likelihood family: refit without one person of each
    observed pattern; ``observed_means(table)`` gives the fitted counts of cells 1..2^J-1."""
    full = table.full_counts()
    out = np.empty(codes.size)
    for i, code in enumerate(codes):
        y = full.copy()
        y[code] -= 1
        nz = np.flatnonzero(y[1:]) + 1
        t = CaptureTable(lists=table.lists, patterns=patterns_from_codes(nz, table.n_lists),
                         counts=y[nz], source=table.source)
        fitted = observed_means(t)
        if fitted is None:
            raise EstimationError(f"no fit without one person of pattern {code}")
        mu = np.asarray(fitted, dtype=float)
        p = mu[code - 1] / mu.sum()
        out[i] = math.log(p) if p > 0 else -math.inf
    return out


def _loo_psis(res: Any, codes: np.ndarray) -> tuple[np.ndarray, float]:
    """PSIS-LOO from the per-draw log p(x | observed) the latent-class sampler kept."""
    logp = res.pattern_log_probs
    if logp is None:
        raise ConfigError("stacking: the latent-class result kept no pattern probabilities")
    col = {int(c): j for j, c in enumerate(res.pattern_codes)}
    lp = logp[:, [col[int(c)] for c in codes]].T  # (patterns, draws)
    az = import_arviz()
    ess = res.ess.get("bulk", lp.shape[1]) if isinstance(res.ess, dict) else lp.shape[1]
    reff = float(min(1.0, max(ess, 1.0) / lp.shape[1]))
    lw, k = az.psislw(-lp, reff=reff)
    comb = lw + lp
    top = comb.max(axis=1, keepdims=True)
    loo = (top[:, 0] + np.log(np.exp(comb - top).sum(axis=1)))
    return loo, float(np.max(k))


def _loo_graphs(res: Any, table: CaptureTable, codes: np.ndarray) -> np.ndarray:
    """The graph family's LOO densities (module docstring): graphs at their posterior mean of
    N, hyper-Dirichlet predictive without the person, graphs reweighted exactly."""
    from undercount.models.graphical.graphs import coefficient_matrix, decomposable_graphs

    j = table.n_lists
    names = res.graph_names
    probs = np.asarray(res.graph_probabilities, dtype=float)
    means = np.asarray(res.graph_means, dtype=float)
    if probs.size == 0:
        raise ConfigError("the graph result carries no posterior over graphs")
    # Graphs whose posterior mean of N is infinite (a heavy tail) have no finite N to
    # predict at; the others carry the scores.
    probs = np.where(np.isfinite(means), probs, 0.0)
    order = np.argsort(probs)[::-1]
    cum = np.cumsum(probs[order]) / probs.sum()
    top = order[: int(np.searchsorted(cum, GRAPH_MASS)) + 1]
    index = {g.name: i for i, g in enumerate(decomposable_graphs(j))}
    coef = coefficient_matrix(j)[[index[names[g]] for g in top]]
    w = probs[top] / probs[top].sum()
    n = float(table.n_observed)
    delta = float(res.delta)
    n_cells = 1 << j
    subsets = np.arange(1, n_cells)
    a = delta * 2.0 ** (j - np.array([int(s).bit_count() for s in subsets]))
    total = delta * n_cells
    y = table.full_counts().astype(float)
    all_codes = np.arange(n_cells)
    # margin[s, k]: people in margin cell k of subset s, the unobserved left out (added per graph)
    margin = np.stack([np.bincount(all_codes & s, weights=y * (all_codes > 0), minlength=n_cells)
                       for s in subsets])
    inv = np.zeros((top.size, codes.size))
    for gi, (row, mean) in enumerate(zip(coef[:, 1:], means[top], strict=True)):
        m = max(mean - n, 0.0)
        used = np.flatnonzero(row)
        # y_S(x & S) - 1 + a_S for the person's own cell, and the empty pattern's cell, whose
        # margin holds the unobserved and loses the person where x & S = 0.
        cells = codes[None, :] & subsets[used][:, None]
        own = margin[used][np.arange(used.size)[:, None], cells] + np.where(cells == 0, m, 0.0)
        own = np.log(own - 1.0 + a[used][:, None])
        zero = margin[used, 0][:, None] + m - (cells == 0) + a[used][:, None]
        norm = math.log(n + m - 1.0 + total)
        log_px = row[used] @ (own - norm)
        log_p0 = row[used] @ (np.log(zero) - norm)
        log_cond = log_px - np.log1p(-np.exp(np.minimum(log_p0, -1e-300)))
        inv[gi] = -log_cond
    top_inv = inv.max(axis=0)
    return -(top_inv + np.log(w @ np.exp(inv - top_inv)))


def _quantiles(values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Quantiles of draws of N at ``probs`` (bootstrap replicates, or a mixture's draws). A
    draw without an estimate is +inf, and interpolating towards it gives NaN (inf - inf), so
    with any such draw the quantiles are the draws themselves (``inverted_cdf``): +inf only
    in the tail they fill."""
    finite = bool(np.all(np.isfinite(values)))
    return np.quantile(values, probs, method="linear" if finite else "inverted_cdf")


def _n_draws(res: MSEResult, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` draws from a family's distribution of N (module docstring)."""
    from undercount.models.graphical import GraphicalResult

    if isinstance(res, BootstrapResult):
        u = rng.uniform(size=size)
        if res.interval_kind == "bca" and res.bias_correction is not None:
            return bca_quantiles(res.replicates, res.bias_correction,
                                 res.acceleration or 0.0, u)
        if res.interval_kind == "smoothed":
            if res.smoothed_sd is None or res.smoothed_centre is None:
                # No smoothed mean (a replicate without an estimate): its interval is the
                # percentile lower end with no upper one, so the upper half is unbounded.
                return np.where(u < 0.5, _quantiles(res.replicates, np.minimum(u, 0.5)),
                                math.inf)
            return np.exp(res.smoothed_centre + res.smoothed_sd * special.ndtri(u))
        return _quantiles(res.replicates, u)
    if isinstance(res, GraphicalResult):
        return res.sample(size, rng=rng).astype(float)
    if res.draws is not None and "posterior" in res.draws.groups():
        flat = n_draws(res)
        return rng.choice(flat, size=size).astype(float)
    return _two_piece_lognormal(res, size, rng)


def _two_piece_lognormal(res: MSEResult, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draws of N = n + (N-hat - n) exp(s z), z standard normal, with one s below the centre
    and another above, set so that the equal-tailed quantiles at the interval's level are
    the result's interval (for a family that reports only an estimate and an interval).

    An interval unbounded above (a profile likelihood that never falls to its cut-off)
    bounds nothing above the estimate, so the draws above the centre are +inf: half the
    family's mass, the most it can be sure of. A mixture that gives such a family weight
    ``w`` is then unbounded above only where ``w / 2`` exceeds the tail the interval leaves
    out (:func:`pool`).

    N counts people, so an estimate or a lower end at the n people observed (a profile
    likelihood still above its cut-off at N = n, as two latent classes give on the 123
    people of the shipped ``korea`` table) says only that N - n rounds to 0: the
    continuous stand-in puts it at :data:`HALF_PERSON`, and the draws below that round
    to n."""
    from scipy import special

    n = float(res.n_observed)
    iv = res.interval
    centre = float(res.estimate) - n
    if not (centre >= 0 and iv.lower >= n and math.isfinite(centre)):
        raise ConfigError(f"stacking: the {res.method} interval does not define a distribution")
    centre = max(centre, HALF_PERSON)
    z = float(special.ndtri((1.0 + iv.level) / 2.0))
    s_lo = (math.log(centre) - math.log(min(max(iv.lower - n, HALF_PERSON), centre))) / z
    s_hi = (math.log(iv.upper - n) - math.log(centre)) / z if math.isfinite(iv.upper) \
        else math.inf
    draws = rng.standard_normal(size)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(draws <= 0, n + centre * np.exp(s_lo * draws),
                        n + centre * np.exp(s_hi * draws))
