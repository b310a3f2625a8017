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
The log-linear family's :math:`k_f` counts the parameters of the model selected, not the
search: its BIC is optimistic by the selection, which favours it where it fits about as
well as the others.

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
.. [5] Aleshin-Guendel, S., Sadinle, M. and Wakefield, J. (2024). The central role of the
   identifying assumption in population size estimation. Biometrics 80(1).
   doi:10.1093/biomtc/ujad028
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from undercount.core.result import Diagnostic, Interval, MSEResult
from undercount.core.table import CaptureTable
from undercount.errors import UndercountError
from undercount.uncertainty.families import FAMILIES_DISAGREE_CODE, label

__all__ = ["WEIGHT_FLOOR", "CrossFamily", "bic_weights", "conditional_bic", "cross_family"]

#: Families below this weight are left out of the default's mixture.
WEIGHT_FLOOR = 1e-3
#: Diagnostic code of the note saying which families the default pooled.
CROSS_FAMILY_CODE = "cross_family_default"


def conditional_bic(result: MSEResult, table: CaptureTable) -> float | None:
    """BIC of ``result``'s model on the conditional likelihood of the observed histories
    (None for a family without one)."""
    from undercount.models.heterogeneity import LogitNormalResult
    from undercount.models.latent_class import FiniteClassResult
    from undercount.models.loglinear import LogLinearResult
    from undercount.uncertainty.bootstrap import BootstrapResult

    if isinstance(result, FiniteClassResult):
        return float(result.bic)
    if isinstance(result, LogitNormalResult):
        chosen = next(m for m in result.models if m.model == result.model)
        return float(chosen.bic) if chosen.bic is not None else None
    base = result.base if isinstance(result, BootstrapResult) else result
    if isinstance(base, LogLinearResult) and base.fitted is not None and len(base.params):
        agg = table.aggregate()
        keep = agg.counts > 0
        fitted = np.asarray(base.fitted, dtype=float)
        mu = fitted[agg.codes()[keep]]
        counts = agg.counts[keep].astype(float)
        loglik = float(counts @ np.log(mu / fitted[1:].sum()))
        # the intercept only matches the total; the conditional model has the others
        k = int(np.isfinite(base.params.to_numpy()).sum()) - 1
        return -2.0 * loglik + k * math.log(counts.sum())
    return None


def bic_weights(bics: dict[str, float]) -> dict[str, float]:
    """:math:`w_f \\propto \\exp(-\\mathrm{BIC}_f / 2)` (module docstring)."""
    low = min(bics.values())
    raw = {k: math.exp(-(v - low) / 2.0) for k, v in bics.items()}
    total = sum(raw.values())
    return {k: v / total for k, v in raw.items()}


@dataclass(frozen=True)
class CrossFamily:
    """The families fitted for the default, their BIC and weights, and the default itself.

    ``result`` is the default: the one family left above :data:`WEIGHT_FLOOR`, or the
    mixture of those left (a :class:`~undercount.uncertainty.stacking.StackedResult`).
    ``fits`` holds every family fitted (the family check reuses them); ``failures`` the
    families that could not be fitted, with why.
    """

    result: MSEResult
    fits: tuple[MSEResult, ...]
    bic: dict[str, float]
    weights: dict[str, float]
    failures: tuple[tuple[str, str], ...]

    def block(self) -> dict[str, Any]:
        """The ``weights`` part of the result's ``families`` JSON block."""
        return {
            "rule": "bic",
            "weights": dict(self.weights),
            "bic": dict(self.bic),
            "weight_floor": WEIGHT_FLOOR,
        }

    def note(self) -> Diagnostic:
        kept = {k: w for k, w in self.weights.items() if w >= WEIGHT_FLOOR}
        shown = ", ".join(f"{k} {w:.3f}" for k, w in sorted(
            self.weights.items(), key=lambda kv: -kv[1]))
        what = (f"the {next(iter(kept))} family alone" if len(kept) == 1 else
                "the mixture of " + ", ".join(kept))
        return Diagnostic(
            CROSS_FAMILY_CODE,
            f"Families weighted by BIC on the people observed ({shown}): this default is "
            f"{what}.", "info",
        )


def cross_family(
    loglinear: MSEResult, table: CaptureTable, rng: np.random.Generator, *,
    level: float = 0.95,
) -> CrossFamily:
    """Fit the logit-normal and latent-class families beside the fitted log-linear default
    ``loglinear`` and weigh them (module docstring). ``rng`` drives the latent-class EM's
    starts and the mixture's draws."""
    # Lazy: the families load only where the default runs.
    from undercount.models.heterogeneity import LogitNormalEstimator
    from undercount.models.latent_class import FiniteClassEstimator
    from undercount.uncertainty.stacking import FamilyFits, pool

    agg = table.aggregate()
    fit_rng, mixture_rng = rng.spawn(2)
    fits: list[MSEResult] = [loglinear]
    failures: list[tuple[str, str]] = []
    if agg.n_lists >= 3:
        for est in (LogitNormalEstimator(level=level), FiniteClassEstimator(level=level)):
            try:
                fits.append(est.fit(agg, rng=fit_rng) if type(est).stochastic else est.fit(agg))
            except (UndercountError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
                # a family that cannot be fitted here is left out and said so, never the end
                # of the default
                failures.append((type(est).method, str(exc).splitlines()[0]))
    bics: dict[str, float] = {}
    scored: list[MSEResult] = []
    for res in fits:
        b = conditional_bic(res, agg)
        if b is None or not math.isfinite(b) or not res.identified:
            failures.append((label(res), "no BIC" if res.identified else
                             f"not identified: {res.not_identified_reason}"))
            continue
        bics[label(res)] = b
        scored.append(res)
    if not scored:
        return CrossFamily(loglinear, tuple(fits), {}, {}, tuple(failures))
    weights = bic_weights(bics)
    kept = [r for r in scored if weights[label(r)] >= WEIGHT_FLOOR]
    if len(kept) == 1:
        return CrossFamily(kept[0], tuple(fits), bics, weights, tuple(failures))
    # A family unbounded above defines no distribution to draw from: the mixture is drawn
    # from the others and its interval left open above.
    unbounded = [r for r in kept if not math.isfinite(r.interval.upper)]
    kept = [r for r in kept if r not in unbounded] or kept[:1]
    kept_w = np.array([weights[label(r)] for r in kept])
    ffits = FamilyFits(
        n_observed=int(agg.n_observed), lists=agg.lists,
        counts=agg.counts[agg.counts > 0].astype(float), results=tuple(fits),
        pooled=tuple(kept), scores=np.empty((len(kept), 0)),
        excluded={label(r): f"BIC weight {weights[label(r)]:.1e} below {WEIGHT_FLOOR:g}"
                  for r in scored if weights[label(r)] < WEIGHT_FLOOR},
        pareto_k=None, settings={"rule": "bic"}, weights=kept_w / kept_w.sum(),
    )
    pooled = pool(ffits, "bic", mixture_rng, level=level)
    # the family check puts every family beside the default and warns once
    pooled = dataclasses.replace(pooled, diagnostics=tuple(
        d for d in pooled.diagnostics if d.code != FAMILIES_DISAGREE_CODE))
    if unbounded:
        pooled = dataclasses.replace(
            pooled,
            interval=Interval(pooled.interval.lower, math.inf, level, pooled.interval.method),
            diagnostics=(*pooled.diagnostics, Diagnostic(
                "cross_family_unbounded",
                f"{', '.join(label(r) for r in unbounded)} (weight "
                f"{sum(weights[label(r)] for r in unbounded):.3f}) has an interval unbounded "
                "above, so the pooled interval is too; the estimate pools the others.",
            )),
        )
    return CrossFamily(pooled, tuple(fits), bics, weights, tuple(failures))
