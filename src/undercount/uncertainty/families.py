"""Whether the model families agree on N: the check behind the ``model families disagree`` warning.

Each family (log-linear, heterogeneity, latent classes, graph averaging) rests on its own
identifying assumption, which the lists cannot test. When their intervals do not overlap, or
their estimates lie further apart than the narrowest of their intervals is wide, any one
interval understates what is known: the honest answer is that the models disagree, and by how
much. Results whose N is not identified (:attr:`~undercount.core.result.MSEResult.identified`)
take no part in the comparison and are listed with their reason.

:func:`default_family_check` puts the package default beside the families that take a
second or two (Rcapture-style heterogeneity models on any table; latent classes with a short
sampler run, :data:`QUICK_LCM`, on 3 or more lists; decomposable-graph averaging on up to
:data:`CHECK_DGA_MAX_LISTS` lists), so that ``undercount estimate`` with no options says when
they disagree, not only ``--method all``. On the validation battery (``docs/validation.md``)
the check warns on every replicate where the default misses in the designs whose misses come
from the families' different assumptions (sim1, negdep4, hetero5); latent classes add most
of the warnings on uk5_bic's misses.

**A family that fits as well and reaches further.** The default weighs its families by BIC
(:mod:`undercount.uncertainty.crossfamily`), which leaves little weight to a family with one
parameter more that describes the people observed about as well; heterogeneity that matters
hides there (on many sparse lists, the logit-normal model's wider interval covers the truth
where the log-linear one does not). The check therefore also names every cross-family member
with substantial support, an AIC within :data:`SUPPORT_DELTA` of the best (Burnham & Anderson
2002, sec. 2.6), whose interval reaches so far beyond the default's that the two together
span more than :data:`REACH` times the default's width: the width the data allow depends on
an assumption they cannot test. Measured on the battery (``docs/validation.md``, "A family
that fits as well"). A family fitted at the boundary of the model it extends (the
logit-normal model at sigma = 0 is the independence model) is exactly 2 above it; the check
allows the optimiser's rounding (:data:`AIC_ROUNDING`) so that such a family counts as
supported whichever way the last digits fall. Where the smallest AIC is a log-linear
search's, it is optimistic: the search kept the terms that fitted this sample's noise best.
When a family reaching that far lacks support, the search's AIC counts the parameters it
spent, estimated by resampling (:mod:`undercount.uncertainty.search_penalty`, Efron's
covariance penalty), before support is judged; beyond 5 lists the default's weights have
counted it already, and the check reads theirs. It cannot warn where every family is wrong
together (linkage errors, or a sample that happens to lead all of them the same way).

**The stratified default.** Where covariates change its answer the default fits the
log-linear model within each group and totals them, weighing no other family;
:func:`stratified_family_check` compares the families within each group instead, on the
same conditions, and names the groups where they disagree.

References
----------
.. [1] Burnham, K. P. and Anderson, D. R. (2002). Model Selection and Multimodel Inference,
   2nd ed. Springer. doi:10.1007/b97636
.. [2] Efron, B. (2004). The estimation of prediction error: covariance penalties and
   cross-validation. JASA 99:619-632. doi:10.1198/016214504000000692
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import combinations
from typing import Any

import numpy as np

from undercount.core.parallel import Step
from undercount.core.result import Diagnostic, MSEResult
from undercount.core.table import CaptureTable, stratum_label
from undercount.errors import UndercountError
from undercount.uncertainty.search_penalty import SearchPenalty, search_penalty

#: Warning's first words when the families disagree.
FAMILIES_DISAGREE = "model families disagree"
#: Diagnostic code of that warning on the default's result.
FAMILIES_DISAGREE_CODE = "families_disagree"
#: The warning's last words.
UNTESTABLE = ("Each rests on an assumption the lists cannot test; report the spread, not one "
              "interval.")
#: The default's check fits dga on tables of at most this many lists (beyond, it takes
#: tens of seconds).
CHECK_DGA_MAX_LISTS = 5
#: The latent-class sampler's settings where it is fitted beside the other families (the
#: default's check, stacking): two chains of 20,000 iterations give an effective sample of N
#: near 1,000 in about a second on Kosovo and UK 2013 (5 lists).
QUICK_LCM: dict[str, int] = {"chains": 2, "iterations": 20_000, "burn_in": 2_000}
#: A family whose AIC is within this of the best has substantial support (Burnham & Anderson
#: 2002, sec. 2.6: "models having Delta_i <= 2 have substantial support").
SUPPORT_DELTA = 2.0
#: Rounding allowed on :data:`SUPPORT_DELTA`: a family fitted at the boundary of the model it
#: extends (the logit-normal model at sigma = 0 is the independence model) is exactly 2 AIC
#: above it, and its optimiser reproduces that likelihood only to about 1e-11.
AIC_ROUNDING = 1e-6
#: The check warns when such a family's interval and the default's together span more than
#: this many times the default's width (the issue's width bound is the same factor).
REACH = 1.5


@dataclass(frozen=True)
class Reach:
    """A supported family whose interval reaches beyond the default's (module docstring)."""

    label: str
    lower: float
    upper: float
    delta_aic: float


@dataclass(frozen=True)
class FamilySpread:
    """How far apart the identified families' estimates and intervals are.

    Attributes
    ----------
    labels : tuple of str
        ``"method: model"`` of each identified result, in the order given (for models tied
        on their criterion, ``"method: model / model / ..."``, compared by their range).
    low, high : float
        The smallest and the largest of their estimates (NaN with no identified result).
    disjoint : tuple of (str, str)
        Pairs of results whose intervals do not overlap.
    narrowest_width : float
        Width of the narrowest interval among them.
    not_identified : tuple of (str, str)
        Label and reason of each result left out because its N is not identified.
    """

    labels: tuple[str, ...]
    low: float
    high: float
    disjoint: tuple[tuple[str, str], ...]
    narrowest_width: float
    not_identified: tuple[tuple[str, str], ...]
    reach: tuple[Reach, ...] = ()
    search: SearchPenalty | None = None

    @property
    def ratio(self) -> float:
        """``high / low``: how many times the largest estimate is the smallest."""
        return self.high / self.low if self.low > 0 else math.inf

    @property
    def disagree(self) -> bool:
        """Two or more families, and their intervals disjoint, their spread wider than one, or
        a supported family reaching beyond the default (:attr:`reach`)."""
        if len(self.labels) < 2:
            return False
        return (bool(self.disjoint) or (self.high - self.low) > self.narrowest_width
                or bool(self.reach))

    def warning(self) -> str | None:
        """The ``model families disagree`` warning, with the spread; None when they agree."""
        detail = self.detail()
        return None if detail is None else f"{FAMILIES_DISAGREE}: {detail}. {UNTESTABLE}"

    def detail(self) -> str | None:
        """What the warning says after its first words: the spread and why it counts."""
        if not self.disagree:
            return None
        whys = []
        if self.disjoint:
            # every pair, as families.spread.disjoint has them: naming only some would
            # hide a family that overlaps none of the others
            pairs = "; ".join(f"{a} and {b}" for a, b in self.disjoint)
            whys.append(f"the intervals of {pairs} do not overlap" if len(self.disjoint) == 1
                        else f"these pairs of intervals do not overlap: {pairs}")
        elif (self.high - self.low) > self.narrowest_width:
            whys.append(f"their estimates are further apart ({self.high - self.low:,.0f}) "
                        f"than the narrowest interval is wide ({self.narrowest_width:,.0f})")
        whys.extend(
            f"{r.label}, which describes the people observed about as well ("
            + ("the smallest AIC" if r.delta_aic == 0 else
               f"its AIC {r.delta_aic:.1f} above the smallest")
            + f"), has {_span(r.lower, r.upper)}; with this default's, the two span more "
            f"than {REACH:g} times this default's width" for r in self.reach)
        if self.reach and self.search is not None and self.search.extra > 0:
            whys[-1] += (f" (AIC counting the {self.search.df:.1f} parameters the log-linear "
                         f"search spent, not the {self.search.kept} its model kept)")
        return (f"estimates from {self.low:,.0f} to {self.high:,.0f} ({self.ratio:.2f} times), "
                f"and {'; and '.join(whys)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "families": list(self.labels),
            "low": self.low if self.labels else None,
            "high": self.high if self.labels else None,
            "ratio": self.ratio if self.labels and math.isfinite(self.ratio) else None,
            "disjoint": [list(p) for p in self.disjoint],
            "disagree": self.disagree,
            "reach": [{"family": r.label, "interval": [r.lower, r.upper],
                       "delta_aic": r.delta_aic} for r in self.reach],
            "search_penalty": None if self.search is None else self.search.to_dict(),
            "not_identified": [{"family": lab, "reason": why} for lab, why in self.not_identified],
        }


def label(result: MSEResult) -> str:
    return f"{result.method}: {result.model}"


def _span(lower: float, upper: float) -> str:
    return f"the interval {lower:,.0f} to {upper:,.0f}" if math.isfinite(upper) else \
        f"an interval from {lower:,.0f} with no upper bound"


def supported_reach(
    default: MSEResult, others: Iterable[MSEResult], aic: Mapping[str, float], *,
    table: CaptureTable | None = None, rng: np.random.Generator | None = None,
    ntop: int | None = None, counted: SearchPenalty | None = None,
) -> tuple[tuple[Reach, ...], SearchPenalty | None]:
    """The families among ``others`` with an AIC (``aic``, by :func:`label`) within
    :data:`SUPPORT_DELTA` of the smallest in ``aic`` whose interval and ``default``'s
    together span more than :data:`REACH` times ``default``'s width (module docstring).

    Given ``table`` and ``rng``, where the smallest AIC is a log-linear search's and a
    family reaching that far lacks support, the search's AIC counts what it spent
    (:func:`~undercount.uncertainty.search_penalty.search_penalty`, drawn from ``rng``;
    ``ntop``: the bootstrap's re-selection where the result does not carry it), which is
    returned beside the families. ``counted``: a penalty ``aic`` already counts (the
    default's weights count the stepwise search's beyond 5 lists,
    :func:`~undercount.uncertainty.crossfamily.cross_family`); it is returned, not drawn
    again."""
    others = list(others)
    lo, hi = default.interval.lower, default.interval.upper
    if not aic or not (math.isfinite(lo) and math.isfinite(hi)):
        return (), None
    far = [res for res in others if res.not_identified_reason is None and label(res) in aic
           and max(hi, res.interval.upper) - min(lo, res.interval.lower) > REACH * (hi - lo)]

    def supported(scores: Mapping[str, float]) -> tuple[Reach, ...]:
        best = min(scores.values())
        return tuple(Reach(label(res), float(res.interval.lower), float(res.interval.upper),
                           float(scores[label(res)] - best))
                     for res in far
                     if scores[label(res)] - best <= SUPPORT_DELTA + AIC_ROUNDING)

    found = supported(aic)
    if counted is not None:
        uncounted = {**aic, counted.family: aic[counted.family] - counted.extra}
        return _keep_own(found, supported(uncounted), counted.family), counted
    best_label = min(aic, key=aic.__getitem__)
    searched = next((r for r in (default, *others) if label(r) == best_label), None)
    if table is None or rng is None or searched is None or len(found) == len(far):
        return found, None
    from undercount.uncertainty.crossfamily import conditional_fit

    fit = conditional_fit(searched, table)
    penalty = None if fit is None else search_penalty(searched, table, fit[1], rng,
                                                       ntop=ntop)
    if penalty is None:
        return found, None
    counted_found = supported({**aic, best_label: aic[best_label] + penalty.extra})
    return _keep_own(counted_found, found, best_label), penalty


def _keep_own(counted: tuple[Reach, ...], uncounted: tuple[Reach, ...],
              searched: str) -> tuple[Reach, ...]:
    """The families supported with the search's AIC counting what it spent, and the search's
    own member where it was supported without: the penalty only adds support to the
    others."""
    return counted + tuple(r for r in uncounted if r.label == searched
                           and all(c.label != searched for c in counted))


def _rows(results: Iterable[MSEResult]) -> list[dict[str, Any]]:
    """The families' results as the ``families`` JSON block lists them. A family whose N is
    not identified has no estimate or interval there (null): its summary is the prior's, and
    a number in the JSON would be drawn as one (``spread.not_identified`` says why)."""
    return [
        {"method": r.method, "model": r.model,
         "estimate": r.estimate if r.identified else None,
         "interval": [r.interval.lower, r.interval.upper] if r.identified else None,
         "identified": r.identified,
         **({"tied": r.tied_models} if r.tied_models else {})}
        for r in results
    ]


def family_extent(res: MSEResult) -> tuple[float, float, float, float]:
    """A family's smallest and largest estimate and its interval's ends: for models the
    lists cannot choose among (:attr:`~undercount.core.result.MSEResult.tied_models`),
    their range and their intervals together, as the tables show them."""
    tied = res.tied_models
    if not tied:
        return (float(res.estimate), float(res.estimate), float(res.interval.lower),
                float(res.interval.upper))
    lower, upper = tied["interval"]
    # JSON writes an unbounded end as null
    return (float(tied["estimates"][0]), float(tied["estimates"][1]),
            -math.inf if lower is None else float(lower),
            math.inf if upper is None else float(upper))


def _shown(res: MSEResult) -> str:
    """The family as the spread names it: :func:`label`, or for tied models all of them."""
    tied = res.tied_models
    return label(res) if not tied else f"{res.method}: {' / '.join(tied['models'])}"


def family_spread(results: Iterable[MSEResult]) -> FamilySpread:
    """Compare the estimates and intervals of several families fitted to one table (a family
    of tied models by their range and their intervals together, :func:`family_extent`)."""
    used: list[MSEResult] = []
    left_out: list[tuple[str, str]] = []
    for res in results:
        reason = res.not_identified_reason
        if reason is None:
            used.append(res)
        else:
            left_out.append((label(res), reason))
    ext = [(_shown(r), family_extent(r)) for r in used]
    disjoint = tuple(
        (a, b) for (a, ea), (b, eb) in combinations(ext, 2)
        if ea[3] < eb[2] or eb[3] < ea[2]
    )
    return FamilySpread(
        labels=tuple(name for name, _ in ext),
        low=min((e[0] for _, e in ext), default=math.nan),
        high=max((e[1] for _, e in ext), default=math.nan),
        disjoint=disjoint,
        narrowest_width=min((e[3] - e[2] for _, e in ext), default=math.nan),
        not_identified=tuple(left_out),
    )


#: Fits of some families, each its result or why it could not be fitted (its method and
#: the reason), and the generator the stochastic ones drew from, as they left it.
Fitted = tuple[list[MSEResult | tuple[str, str]], np.random.Generator | None]


def fit_families(
    estimators: Sequence[Any], table: CaptureTable, rng: np.random.Generator | None,
    catch: tuple[type[BaseException], ...] = (UndercountError,), *, draws: bool = True,
) -> Fitted:
    """Each estimator fitted to ``table`` in turn, the stochastic ones drawing from ``rng``;
    an error in ``catch`` makes that family's entry (its method, the error's first line),
    not the end of the others. Returns the entries and ``rng`` as the fits left it.

    ``draws=False`` drops each result's draws, for a caller that reads only estimates,
    intervals and diagnostics: a latent-class posterior is an ArviZ ``InferenceData``, and
    a process that receives one imports ArviZ (about 2 s) to read it."""
    out: list[MSEResult | tuple[str, str]] = []
    for est in estimators:
        try:
            res = est.fit(table, rng=rng) if type(est).stochastic else est.fit(table)
            out.append(res if draws else dataclasses.replace(res, draws=None))
        except catch as exc:
            out.append((type(est).method, str(exc).splitlines()[0]))
    return out, rng


def family_steps(
    estimators: Sequence[Any], table: CaptureTable, rng: np.random.Generator | None,
    catch: tuple[type[BaseException], ...] = (UndercountError,), *, draws: bool = True,
) -> tuple[list[Step], Callable[[Sequence[Fitted]], Fitted]]:
    """:func:`fit_families` as steps that may run apart
    (:func:`undercount.core.parallel.beside`): the stochastic families in one step, first,
    drawing from ``rng`` in turn as :func:`fit_families` does, and each other family a step
    of its own. Returns the steps and what turns their results, in step order, into
    :func:`fit_families`'s own."""
    drawn = [i for i, e in enumerate(estimators) if type(e).stochastic]
    groups = ([drawn] if drawn else []) + [[i] for i in range(len(estimators)) if i not in drawn]
    steps: list[Step] = [
        (partial(fit_families, draws=draws),
         ([estimators[i] for i in g], table, rng if drawn and k == 0 else None, catch))
        for k, g in enumerate(groups)]

    def assemble(results: Sequence[Fitted]) -> Fitted:
        entries: dict[int, MSEResult | tuple[str, str]] = {}
        for g, (fits, _) in zip(groups, results, strict=True):
            entries.update(zip(g, fits, strict=True))
        return [entries[i] for i in range(len(estimators))], results[0][1] if drawn else rng

    return steps, assemble


def check_estimators(n_lists: int) -> list[Any]:
    """The families :func:`default_family_check` fits beside the default: heterogeneity,
    latent classes (on 3 or more lists, :data:`QUICK_LCM` sweeps) and, on up to
    :data:`CHECK_DGA_MAX_LISTS` lists, dga, each with its own defaults otherwise."""
    # Lazy: the families load only where the check runs.
    from undercount.models.graphical import GraphicalEstimator
    from undercount.models.heterogeneity import HeterogeneityEstimator
    from undercount.models.latent_class import LatentClassEstimator

    estimators: list[Any] = [HeterogeneityEstimator()]
    if n_lists >= 3:
        estimators.append(LatentClassEstimator(**QUICK_LCM))
    if n_lists <= CHECK_DGA_MAX_LISTS:
        estimators.append(GraphicalEstimator())
    return estimators


def default_family_check(
    result: MSEResult, table: CaptureTable, rng: np.random.Generator, *,
    fitted: Sequence[MSEResult] = (), aic: Mapping[str, float] | None = None,
    checked: Fitted | None = None, search: SearchPenalty | None = None,
) -> tuple[dict[str, Any], tuple[Diagnostic, ...]]:
    """The default's ``result`` beside the heterogeneity family, latent classes (on 3 or
    more lists, :data:`QUICK_LCM` sweeps) and, on up to :data:`CHECK_DGA_MAX_LISTS` lists,
    dga, each with its own defaults otherwise, fitted to ``table``.

    Returns the JSON block ``families`` (``results``: each family's method, model, estimate,
    interval and whether its N is identified; ``failures``; ``spread``:
    :meth:`FamilySpread.to_dict`) and the ``model families disagree`` warning when
    :attr:`FamilySpread.disagree`. ``rng`` drives the latent-class sampler. ``fitted``:
    families already fitted to the table (the default's other cross-family members), put
    beside it too; ``aic``: their AIC (and the default's families'), by :func:`label`, for
    :func:`supported_reach`; ``checked``: the check's own families
    (:func:`check_estimators`) already fitted to the table by :func:`fit_families` from a
    copy of ``rng``, and that copy as they left it; ``search``: the search penalty ``aic``
    already counts (:func:`supported_reach`'s ``counted``).
    """
    agg = table.aggregate()
    entries, left = (checked if checked is not None else
                     fit_families(check_estimators(agg.n_lists), agg, rng, draws=False))
    rng = left if left is not None else rng
    others: list[MSEResult] = [*fitted, *(f for f in entries if isinstance(f, MSEResult))]
    failures = [{"method": f[0], "reason": f[1]} for f in entries if isinstance(f, tuple)]
    reach, search = supported_reach(result, fitted, aic or {}, table=agg,
                                    rng=rng.spawn(1)[0], counted=search)
    spread = dataclasses.replace(family_spread([result, *others]), reach=reach, search=search)
    block = {
        "results": _rows((result, *others)),
        "failures": failures,
        "spread": spread.to_dict(),
    }
    text = spread.warning()
    if text is None:
        return block, ()
    compared = [r.method for r in others if r.not_identified_reason is None]
    left_out = [r.method for r in others if r.not_identified_reason is not None]
    return block, (Diagnostic(
        FAMILIES_DISAGREE_CODE,
        f"{text} Compared: this default, {', '.join(compared)}"
        + (f" ({', '.join(left_out)}: N not identified, left out)" if left_out else "")
        + "; --method stacked pools them.",
    ),)


def stratified_family_check(
    result: MSEResult, table: CaptureTable, columns: Sequence[str], rng: np.random.Generator,
    *, level: float = 0.95,
) -> tuple[dict[str, Any], tuple[Diagnostic, ...]]:
    """The family check within each stratum of the stratified default.

    Where covariates change its answer, the default fits the BIC-best log-linear model
    within each group of ``columns`` and totals the groups (``result``, a
    :class:`~undercount.strata.estimator.StratifiedResult`); it weighs no other family
    there. So in each stratum the logit-normal and latent-class families are fitted beside
    that stratum's log-linear result (:func:`~undercount.uncertainty.crossfamily.cross_family`,
    ``rng`` drives them) and compared with it as :func:`default_family_check` compares the
    pooled default: the intervals disjoint, the estimates further apart than the narrowest
    interval is wide, or a family with AIC support reaching beyond :data:`REACH` times the
    stratum's width (:func:`supported_reach`).

    Returns the JSON block ``families`` (``strata``: for each stratum its families'
    results, the spread, and the families' AIC, BIC and the weights BIC would give them) and
    the ``model families disagree`` warning naming each stratum where they disagree. Strata
    the default could not estimate are left out.
    """
    from undercount.uncertainty.crossfamily import cross_family

    fitted: Mapping[str, MSEResult] = getattr(result, "strata", {})
    # each stratum re-selects among its ntop best in the joint bootstrap
    ntop = result.settings.get("ntop")
    split = table.by_stratum(list(columns))
    blocks: dict[str, dict[str, Any]] = {}
    whys: list[str] = []
    for (key, part), stream in zip(split.items(), rng.spawn(len(split)), strict=True):
        name = stratum_label(columns, key)
        own = fitted.get(name)
        if own is None:
            continue
        cross = cross_family(own, part, stream, level=level)
        others = [f for f in cross.fits if f is not own]
        reach, search = supported_reach(own, others, cross.aic, table=part,
                                        rng=stream.spawn(1)[0], ntop=ntop,
                                        counted=cross.search)
        spread = dataclasses.replace(family_spread([own, *others]), reach=reach,
                                     search=search)
        detail = spread.detail()
        if detail is not None:
            whys.append(f"in {name}, {detail}")
        blocks[name] = {
            "results": _rows((own, *others)),
            "failures": cross.unfitted(),
            "spread": spread.to_dict(),
            **cross.block(),
        }
    block = {"strata": blocks, "check": "within each stratum"}
    if not whys:
        return block, ()
    return block, (Diagnostic(
        FAMILIES_DISAGREE_CODE,
        f"{FAMILIES_DISAGREE} within {len(whys)} of {len(blocks)} strata (this default fits "
        f"the log-linear model in each): {'; '.join(whys)}. {UNTESTABLE}",
    ),)
