r"""The package default across model families: each family weighted by how well it
describes the people observed, by BIC.

Three families make three different assumptions about the people on no list:

* **log-linear** models with selection (the BIC-best hierarchical model, forward stepwise
  beyond 5 lists; its bootstrap re-selects the model): the lists may depend on each other
  through a few interactions, and the highest-order interaction is zero;
* **logit-normal** heterogeneity
  (:class:`~undercount.models.heterogeneity.LogitNormalEstimator`): everyone has a
  catchability that raises or lowers their odds on every list alike, normally distributed
  on the log-odds scale;
* **latent classes** (:class:`~undercount.models.latent_class.FiniteClassEstimator`): a
  few classes of people, lists independent within each.

Each is a model of the same data, the counts of the observed capture histories given that
they were observed, so their maximised conditional log-likelihoods :math:`\hat\ell_f`
(with :math:`k_f` free parameters, :math:`n` people observed) are comparable. The Schwarz
criterion :math:`\mathrm{BIC}_f = -2\hat\ell_f + k_f \log n` approximates
:math:`-2\log p(y \mid f)`, the family's marginal likelihood, so with equal prior weight
on the families

.. math::

    w_f = \frac{\exp(-\mathrm{BIC}_f/2)}{\sum_g \exp(-\mathrm{BIC}_g/2)}

approximates the posterior probability of each family (Kass & Raftery 1995, sec. 4.1). The
default's interval is that of the mixture :math:`\sum_f w_f P_f(N)` of the families' own
distributions of N (:func:`undercount.uncertainty.stacking.pool`), its estimate the
weighted mean :math:`\sum_f w_f \hat N_f` (Buckland, Burnham & Augustin 1997). A family
whose weight is below :data:`WEIGHT_FLOOR` is left out of the mixture: each carries under
0.1% of its probability, so leaving it out moves the interval's ends by at most that much
probability. When one family is left, its own result is the default, exactly (on Kosovo,
the log-linear bootstrap).

**The search, counted beyond 5 lists.** The log-linear family's :math:`\hat\ell_f` is
maximised over a search of models as well as over one model's parameters. The search kept
the terms that fitted this sample's noise best, so its likelihood is optimistic beside a
family that was not searched, by more than the :math:`k_f` parameters of the model it kept
allow for. Beyond 5 lists the forward stepwise search tries every two-list term (28 on
eight lists), and the weights remove that optimism: the family's AIC and BIC add
:math:`2(\mathrm{df} - k_f)`, where :math:`\mathrm{df}` is the search's effective number
of parameters, Efron's (2004) covariance penalty estimated by re-running the search on
resamples of the people observed (:mod:`undercount.uncertainty.search_penalty`). For a
fixed model :math:`\mathrm{df} = k_f` and nothing is added; BIC's own
:math:`k_f \log n` stays as it is. On the battery's sparse tables the stepwise search
spends 10 to 17.4 parameters where its model keeps 6 to 9; counting them moved the default's
coverage from 76% to 94% on six lists (sparse6) and from 75% to 96% on eight (sparse8),
where the truth is heterogeneous and the search's likelihood had kept the logit-normal
model's weight near zero (``docs/validation.md``, "The stepwise search counted in the
weights"). On 3 to 5 lists the weights count the parameters kept. The penalty there would
measure only the bootstrap's re-selection among the 10 best models (0.5 to 2.9 parameters),
not the BIC search over all of them that chose the model, so it is not the search's
spending; counted anyway on 25 replicates of four designs, it widened hiv_bic's intervals
by a third and covered 2 more of negdep4's. The family check counts
it when it judges the others' support
(:func:`undercount.uncertainty.families.supported_reach`).

**Why BIC and not stacking.** The battery (``docs/validation.md``) compared stacking of
leave-one-out predictive densities, pseudo-BMA and equal weights over the log-linear,
Rcapture, Bayesian latent-class and dga families; none met the coverage targets together,
because leave-one-out scores favour the most flexible families, which extrapolate too low
under continuous heterogeneity. With a parsimonious model for each kind of departure from
independence, BIC picks the family whose assumption produced the data on sim1 (latent
classes), hetero5 (logit-normal) and the log-linear designs, and keeps the log-linear answer
on Kosovo and UK 2013; it cannot on negdep4, where a log-linear model with two interactions
fits the observed histories as well as the true two classes (``docs/validation.md``, "The
cross-family default").

**Why BIC and not AIC.** Akaike weights, :math:`\exp(-\mathrm{AIC}_f/2)` normalised with
:math:`\mathrm{AIC}_f = -2\hat\ell_f + 2k_f` (Burnham & Anderson 2002, sec. 4.2), are the
usual rule for averaging N in ecological capture-recapture, and penalise the extra
parameters of heterogeneity less. Measured on the battery's own tables (25 replicates each,
``docs/validation.md``, "BIC or AIC"), AIC covers where BIC keeps a log-linear model that
fits as well (negdep4 92% against 40%; sparse6 88% against 64%; sparse8 84% against 68%),
but it gives a family with one parameter more than it needs about
:math:`e^{-1}/(1+e^{-1}) = 0.27` of the weight, and that family's extrapolation with it: on
hiv_bic, whose truth is independence, the logit-normal model at :math:`\sigma \approx 0`
triples the median width (15,186 against 4,962) and the mean N-hat goes from 11,401 to
16,803 (the truth: 11,125); on the real Kosovo table three latent classes with an interval
unbounded above take 0.64 of the weight (the default 11,386, unbounded above, against the
Memory Book's 10,401), and on HIV Rome the default moves from 12,029 to 17,381. On
sparse6 and hiv_bic alike the logit-normal model improves the conditional log-likelihood on
the selected log-linear model by 0.1 to 0.2 units on average: the data cannot tell a little
heterogeneity that matters from none, so no rule between the two gets both right. BIC keeps
the answers that outside counts confirm, and the family check says when the families
disagree. :func:`cross_family` takes ``rule="aic"``, and the JSON's ``families`` block
carries both criteria for every family.

**Families unbounded above.** A family whose profile interval has no upper end (latent
classes where a rarely recorded class could be much larger) contributes draws above its
estimate at :math:`+\infty` (:func:`undercount.uncertainty.stacking.pool`): the mixture
is unbounded above only when half that family's weight exceeds the interval's upper tail,
and the result then says so.

**What it cannot do.** BIC compares fit to the people observed; a family that fits them as
well but extrapolates differently is not ruled out by it, and no family here represents
heterogeneity that is neither discrete classes nor normal on the log-odds scale. The
family check (:func:`undercount.uncertainty.families.default_family_check`) still puts the
default beside every family and warns when they disagree.

References
----------
.. [1] Schwarz, G. (1978). Estimating the dimension of a model. Annals of Statistics
   6:461-464. doi:10.1214/aos/1176344136
.. [2] Kass, R. E. and Raftery, A. E. (1995). Bayes factors. JASA 90:773-795.
   doi:10.1080/01621459.1995.10476572
.. [3] Buckland, S. T., Burnham, K. P. and Augustin, N. H. (1997). Model selection: an
   integral part of inference. Biometrics 53:603-618. doi:10.2307/2533961
.. [4] Coull, B. A. and Agresti, A. (1999). The use of mixed logit models to reflect
   heterogeneity in capture-recapture studies. Biometrics 55:294-301.
   doi:10.1111/j.0006-341X.1999.00294.x
.. [5] Burnham, K. P. and Anderson, D. R. (2002). Model Selection and Multimodel Inference,
   2nd ed. Springer. doi:10.1007/b97636
.. [6] Aleshin-Guendel, S., Sadinle, M. and Wakefield, J. (2024). The central role of the
   identifying assumption in population size estimation. Biometrics 80(1).
   doi:10.1093/biomtc/ujad028
.. [7] Efron, B. (2004). The estimation of prediction error: covariance penalties and
   cross-validation. JASA 99:619-632. doi:10.1198/016214504000000692
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from undercount.core.parallel import Step
from undercount.core.result import Diagnostic, MSEResult
from undercount.core.table import CaptureTable
from undercount.errors import UndercountError
from undercount.uncertainty.families import (
    FAMILIES_DISAGREE_CODE,
    Fitted,
    check_estimators,
    family_steps,
    fit_families,
    label,
)
from undercount.uncertainty.search_penalty import (
    SearchPenalty,
    is_stepwise_search,
    search_penalty,
)

__all__ = [
    "DEFAULT_RULE",
    "FIT_ERRORS",
    "WEIGHT_FLOOR",
    "CrossFamily",
    "conditional_bic",
    "conditional_fit",
    "criterion_weights",
    "cross_estimators",
    "cross_family",
    "default_family_steps",
    "information_criterion",
]

#: The information criteria the families can be weighed by.
Rule = Literal["aic", "bic"]
#: The default's rule (module docstring: why BIC and not AIC).
DEFAULT_RULE: Rule = "bic"

#: Families below this weight are left out of the default's mixture.
WEIGHT_FLOOR = 1e-3
#: Diagnostic code of the note saying which families the default pooled.
CROSS_FAMILY_CODE = "cross_family_default"
#: Diagnostic code of the warning that the pooled interval is unbounded above.
UNBOUNDED_CODE = "cross_family_unbounded"


def conditional_fit(result: MSEResult, table: CaptureTable) -> tuple[float, int] | None:
    """The maximised conditional log-likelihood of the observed histories under ``result``'s
    model and its number of free parameters on that likelihood (None for a family without
    one)."""
    from undercount.models.heterogeneity import LogitNormalResult
    from undercount.models.latent_class import FiniteClassResult
    from undercount.models.loglinear import LogLinearResult
    from undercount.uncertainty.bootstrap import BootstrapResult

    if isinstance(result, (FiniteClassResult, LogitNormalResult)):
        chosen = next(m for m in result.models if m.model == result.model)
        if chosen.aic is None or chosen.n_params is None:
            return None
        # the logit-normal records count N among their parameters; the classes do not
        k = chosen.n_params - (1 if isinstance(result, LogitNormalResult) else 0)
        return -(float(chosen.aic) - 2.0 * k) / 2.0, k
    base = result.base if isinstance(result, BootstrapResult) else result
    if isinstance(base, LogLinearResult) and base.fitted is not None and len(base.params):
        agg = table.aggregate()
        keep = agg.counts > 0
        fitted = np.asarray(base.fitted, dtype=float)
        mu = fitted[agg.codes()[keep]]
        counts = agg.counts[keep].astype(float)
        loglik = float(counts @ np.log(mu / fitted[1:].sum()))
        # the intercept only matches the total; the conditional model has the others
        return loglik, int(np.isfinite(base.params.to_numpy()).sum()) - 1
    return None


def information_criterion(result: MSEResult, table: CaptureTable, rule: Rule) -> float | None:
    r"""AIC (:math:`-2\hat\ell + 2k`) or BIC (:math:`-2\hat\ell + k \log n`) of
    ``result``'s model on the conditional likelihood of the observed histories (None for a
    family without one)."""
    fit = conditional_fit(result, table)
    if fit is None:
        return None
    loglik, k = fit
    penalty = 2.0 if rule == "aic" else math.log(table.n_observed)
    return -2.0 * loglik + k * penalty


def conditional_bic(result: MSEResult, table: CaptureTable) -> float | None:
    """BIC of ``result``'s model on the conditional likelihood of the observed histories."""
    return information_criterion(result, table, "bic")


def criterion_weights(scores: dict[str, float]) -> dict[str, float]:
    r""":math:`w_f \propto \exp(-\mathrm{IC}_f / 2)` for AIC or BIC values (module
    docstring)."""
    low = min(scores.values())
    raw = {k: math.exp(-(v - low) / 2.0) for k, v in scores.items()}
    total = sum(raw.values())
    return {k: v / total for k, v in raw.items()}


@dataclass(frozen=True)
class CrossFamily:
    """The families fitted for the default, their AIC, BIC and weights, and the default.

    ``result`` is the default: the one family left above :data:`WEIGHT_FLOOR`, or the
    mixture of those left (a :class:`~undercount.uncertainty.stacking.StackedResult`).
    ``weights`` come from the criterion ``rule`` names. ``fits`` holds every family fitted
    (the family check reuses them); ``failures`` the families that could not be fitted,
    with why.
    """

    result: MSEResult
    fits: tuple[MSEResult, ...]
    rule: Rule
    aic: dict[str, float]
    bic: dict[str, float]
    weights: dict[str, float]
    failures: tuple[tuple[str, str], ...]
    search: SearchPenalty | None = None

    def unfitted(self) -> list[dict[str, str]]:
        """The ``failures`` this adds to a ``families`` JSON block: families that could not
        be fitted, and a search penalty that could not be estimated. A fitted family the
        weights left out (not identified, no likelihood) is among the results already."""
        fitted = {label(f) for f in self.fits}
        return [{"method": m, "reason": why} for m, why in self.failures if m not in fitted]

    def block(self) -> dict[str, Any]:
        """The ``weights`` part of the result's ``families`` JSON block."""
        return {
            "rule": self.rule,
            "weights": dict(self.weights),
            "aic": dict(self.aic),
            "bic": dict(self.bic),
            "weight_floor": WEIGHT_FLOOR,
            "search_penalty": None if self.search is None else self.search.to_dict(),
        }

    def note(self) -> Diagnostic:
        kept = {k: w for k, w in self.weights.items() if w >= WEIGHT_FLOOR}
        shown = ", ".join(f"{k} {w:.3f}" for k, w in sorted(
            self.weights.items(), key=lambda kv: -kv[1]))
        what = (f"the {next(iter(kept))} family alone" if len(kept) == 1 else
                "the mixture of " + ", ".join(kept))
        counted = ("" if self.search is None else
                   f"; the log-linear search's {self.rule.upper()} counts the "
                   f"{self.search.df:.1f} parameters it spent, not the {self.search.kept} "
                   "its model kept")
        return Diagnostic(
            CROSS_FAMILY_CODE,
            f"Families weighted by {self.rule.upper()} on the people observed ({shown}"
            f"{counted}): this default is {what}.", "info",
        )


#: What a family that cannot be fitted beside the default may raise: it is left out and
#: said so, never the end of the default.
FIT_ERRORS = (UndercountError, ValueError, ArithmeticError, np.linalg.LinAlgError)


def cross_estimators(n_lists: int, level: float = 0.95) -> list[Any]:
    """The families :func:`cross_family` weighs beside the log-linear default: the
    logit-normal model and latent classes by maximum likelihood, on 3 or more lists."""
    # Lazy: the families load only where the default runs.
    from undercount.models.heterogeneity import LogitNormalEstimator
    from undercount.models.latent_class import FiniteClassEstimator

    if n_lists < 3:
        return []
    return [LogitNormalEstimator(level=level), FiniteClassEstimator(level=level)]


def default_family_steps(
    table: CaptureTable, rng: np.random.Generator, check_rng: np.random.Generator, *,
    level: float = 0.95,
) -> tuple[list[Step], Callable[[Sequence[Any]], tuple[Fitted, Fitted]]]:
    """The default's other families as steps to fit apart from its log-linear fit
    (:func:`undercount.core.parallel.beside`): :func:`cross_estimators` as
    :func:`cross_family` with ``rng`` fits them, and :func:`check_estimators` as
    :func:`~undercount.uncertainty.families.default_family_check` with ``check_rng`` fits
    them. The stochastic fits come first, as the longest. Returns the steps and what turns
    their results into the two functions' ``fitted`` and ``checked``."""
    agg = table.aggregate()
    # cross_family draws its fits from the first child of its generator; a copy spawns it
    # here, leaving the generator for cross_family as it was.
    fit_rng = copy.deepcopy(rng).spawn(2)[0]
    cross_steps, cross = family_steps(cross_estimators(agg.n_lists, level), agg, fit_rng,
                                      FIT_ERRORS)
    check_steps, check = family_steps(check_estimators(agg.n_lists), agg, check_rng,
                                      draws=False)
    # family_steps puts the stochastic fits first: the worker takes those, this process
    # the short deterministic ones from the end
    tagged = [(s, "cross") for s in cross_steps] + [(s, "check") for s in check_steps]
    order = sorted(range(len(tagged)), key=lambda i: i not in (0, len(cross_steps)))

    def assemble(results: Sequence[Any]) -> tuple[Fitted, Fitted]:
        by_step = dict(zip(order, results, strict=True))
        mine = {k: [by_step[i] for i in range(len(tagged)) if tagged[i][1] == k]
                for k in ("cross", "check")}
        return cross(mine["cross"]), check(mine["check"])

    return [tagged[i][0] for i in order], assemble


def cross_family(
    loglinear: MSEResult, table: CaptureTable, rng: np.random.Generator, *,
    level: float = 0.95, rule: Rule = DEFAULT_RULE, fitted: Fitted | None = None,
) -> CrossFamily:
    """Fit the logit-normal and latent-class families (:func:`cross_estimators`) beside the
    fitted log-linear default ``loglinear`` and weigh them by ``rule`` (module docstring).
    ``rng`` drives the latent-class EM's starts, the mixture's draws and, beyond 5 lists,
    the resamples that count the stepwise search in the weights (module docstring).
    ``fitted``: those families already fitted to the table (:func:`default_family_steps`)."""
    from undercount.uncertainty.stacking import FamilyFits, pool

    agg = table.aggregate()
    fit_rng, mixture_rng = rng.spawn(2)
    entries, _ = (fitted if fitted is not None else
                  fit_families(cross_estimators(agg.n_lists, level), agg, fit_rng, FIT_ERRORS))
    fits: list[MSEResult] = [loglinear, *(f for f in entries if isinstance(f, MSEResult))]
    failures: list[tuple[str, str]] = [f for f in entries if isinstance(f, tuple)]
    criteria: dict[Rule, dict[str, float]] = {"aic": {}, "bic": {}}
    scored: list[MSEResult] = []
    for res in fits:
        ics = {r: information_criterion(res, agg, r) for r in criteria}
        if any(v is None or not math.isfinite(v) for v in ics.values()) or not res.identified:
            failures.append((label(res), "no likelihood to weigh" if res.identified else
                             f"not identified: {res.not_identified_reason}"))
            continue
        for r, v in ics.items():
            criteria[r][label(res)] = float(v)  # type: ignore[arg-type]
        scored.append(res)
    search = None
    if any(r is loglinear for r in scored) and is_stepwise_search(loglinear):
        # scored, so it has a conditional likelihood and a parameter count
        kept = conditional_fit(loglinear, agg)[1]  # type: ignore[index]
        try:
            search = search_penalty(loglinear, agg, kept, rng.spawn(1)[0])
            why = "fewer than half its resamples could be fitted"
        except FIT_ERRORS as exc:
            why = str(exc).splitlines()[0]
        if search is None:
            # said, not silent: the weights then count the parameters kept, as on 5 lists
            failures.append((f"{label(loglinear)} (search penalty)",
                             f"{why}; its weight counts the parameters its model kept"))
        else:
            for r in criteria:
                criteria[r][label(loglinear)] += search.extra

    def done(result: MSEResult, weights: dict[str, float]) -> CrossFamily:
        return CrossFamily(result, tuple(fits), rule, criteria["aic"], criteria["bic"],
                           weights, tuple(failures), search)

    if not scored:
        return done(loglinear, {})
    weights = criterion_weights(criteria[rule])
    kept = [r for r in scored if weights[label(r)] >= WEIGHT_FLOOR]
    if len(kept) == 1:
        return done(kept[0], weights)
    kept_w = np.array([weights[label(r)] for r in kept])
    ffits = FamilyFits(
        n_observed=int(agg.n_observed), lists=agg.lists,
        counts=agg.counts[agg.counts > 0].astype(float), results=tuple(fits),
        pooled=tuple(kept), scores=np.empty((len(kept), 0)),
        excluded={label(r): f"{rule.upper()} weight {weights[label(r)]:.1e} below "
                  f"{WEIGHT_FLOOR:g}" for r in scored if weights[label(r)] < WEIGHT_FLOOR},
        pareto_k=None, settings={"rule": rule}, weights=kept_w / kept_w.sum(),
    )
    pooled = pool(ffits, "criterion", mixture_rng, level=level)
    # the family check puts every family beside the default and warns once
    diagnostics = [d for d in pooled.diagnostics if d.code != FAMILIES_DISAGREE_CODE]
    unbounded = [r for r in kept if not math.isfinite(r.interval.upper)]
    if not math.isfinite(pooled.interval.upper):
        diagnostics.append(Diagnostic(
            UNBOUNDED_CODE,
            f"{', '.join(label(r) for r in unbounded)} (weight "
            f"{sum(weights[label(r)] for r in unbounded):.3f}) has an interval unbounded "
            "above, and carries more than the interval's upper tail, so the pooled interval "
            "is unbounded above too.",
        ))
    pooled = dataclasses.replace(pooled, diagnostics=tuple(diagnostics))
    return done(pooled, weights)
