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
of the warnings on uk5_bic's misses. It cannot warn where every family is wrong together
(linkage errors, sparse lists).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from undercount.core.result import Diagnostic, MSEResult
from undercount.core.table import CaptureTable
from undercount.errors import UndercountError

#: Warning's first words when the families disagree.
FAMILIES_DISAGREE = "model families disagree"
#: Diagnostic code of that warning on the default's result.
FAMILIES_DISAGREE_CODE = "families_disagree"
#: The default's check fits dga on tables of at most this many lists (beyond, it takes
#: tens of seconds).
CHECK_DGA_MAX_LISTS = 5
#: The latent-class sampler's settings where it is fitted beside the other families (the
#: default's check, stacking): two chains of 20,000 iterations give an effective sample of N
#: near 1,000 in about a second on Kosovo and UK 2013 (5 lists).
QUICK_LCM: dict[str, int] = {"chains": 2, "iterations": 20_000, "burn_in": 2_000}


@dataclass(frozen=True)
class FamilySpread:
    """How far apart the identified families' estimates and intervals are.

    Attributes
    ----------
    labels : tuple of str
        ``"method: model"`` of each identified result, in the order given.
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

    @property
    def ratio(self) -> float:
        """``high / low``: how many times the largest estimate is the smallest."""
        return self.high / self.low if self.low > 0 else math.inf

    @property
    def disagree(self) -> bool:
        """Two or more families, and their intervals disjoint or their spread wider than one."""
        if len(self.labels) < 2:
            return False
        return bool(self.disjoint) or (self.high - self.low) > self.narrowest_width

    def warning(self) -> str | None:
        """The ``model families disagree`` warning, with the spread; None when they agree."""
        if not self.disagree:
            return None
        why = (f"the intervals of {', '.join(f'{a} and {b}' for a, b in self.disjoint[:3])} "
               "do not overlap" if self.disjoint else
               f"their estimates are further apart ({self.high - self.low:,.0f}) than the "
               f"narrowest interval is wide ({self.narrowest_width:,.0f})")
        return (f"{FAMILIES_DISAGREE}: estimates from {self.low:,.0f} to {self.high:,.0f} "
                f"({self.ratio:.2f} times), and {why}. Each rests on an assumption the lists "
                "cannot test; report the spread, not one interval.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "families": list(self.labels),
            "low": self.low if self.labels else None,
            "high": self.high if self.labels else None,
            "ratio": self.ratio if self.labels and math.isfinite(self.ratio) else None,
            "disjoint": [list(p) for p in self.disjoint],
            "disagree": self.disagree,
            "not_identified": [{"family": lab, "reason": why} for lab, why in self.not_identified],
        }


def label(result: MSEResult) -> str:
    return f"{result.method}: {result.model}"


def family_spread(results: Iterable[MSEResult]) -> FamilySpread:
    """Compare the estimates and intervals of several families fitted to one table."""
    used: list[MSEResult] = []
    left_out: list[tuple[str, str]] = []
    for res in results:
        reason = res.not_identified_reason
        if reason is None:
            used.append(res)
        else:
            left_out.append((label(res), reason))
    estimates = [float(r.estimate) for r in used]
    disjoint = tuple(
        (label(a), label(b)) for a, b in combinations(used, 2)
        if a.interval.upper < b.interval.lower or b.interval.upper < a.interval.lower
    )
    widths = [r.interval.upper - r.interval.lower for r in used]
    return FamilySpread(
        labels=tuple(label(r) for r in used),
        low=min(estimates, default=math.nan),
        high=max(estimates, default=math.nan),
        disjoint=disjoint,
        narrowest_width=min(widths, default=math.nan),
        not_identified=tuple(left_out),
    )


def default_family_check(
    result: MSEResult, table: CaptureTable, rng: np.random.Generator, *,
    fitted: Sequence[MSEResult] = (),
) -> tuple[dict[str, Any], tuple[Diagnostic, ...]]:
    """The default's ``result`` beside the heterogeneity family, latent classes (on 3 or
    more lists, :data:`QUICK_LCM` sweeps) and, on up to :data:`CHECK_DGA_MAX_LISTS` lists,
    dga, each with its own defaults otherwise, fitted to ``table``.

    Returns the JSON block ``families`` (``results``: each family's method, model, estimate,
    interval and whether its N is identified; ``failures``; ``spread``:
    :meth:`FamilySpread.to_dict`) and the ``model families disagree`` warning when
    :attr:`FamilySpread.disagree`. ``rng`` drives the latent-class sampler. ``fitted``:
    families already fitted to the table (the default's other cross-family members), put
    beside it too.
    """
    # Lazy: the families load only where the check runs.
    from undercount.models.graphical import GraphicalEstimator
    from undercount.models.heterogeneity import HeterogeneityEstimator
    from undercount.models.latent_class import LatentClassEstimator

    agg = table.aggregate()
    estimators: list[Any] = [HeterogeneityEstimator()]
    if agg.n_lists >= 3:
        estimators.append(LatentClassEstimator(**QUICK_LCM))
    if agg.n_lists <= CHECK_DGA_MAX_LISTS:
        estimators.append(GraphicalEstimator())
    others: list[MSEResult] = list(fitted)
    failures: list[dict[str, str]] = []
    for est in estimators:
        try:
            others.append(est.fit(agg, rng=rng) if type(est).stochastic else est.fit(agg))
        except UndercountError as exc:
            failures.append({"method": type(est).method, "reason": str(exc).splitlines()[0]})
    spread = family_spread([result, *others])
    block = {
        "results": [
            {"method": r.method, "model": r.model, "estimate": r.estimate,
             "interval": [r.interval.lower, r.interval.upper], "identified": r.identified}
            for r in (result, *others)
        ],
        "failures": failures,
        "spread": spread.to_dict(),
    }
    text = spread.warning()
    if text is None:
        return block, ()
    return block, (Diagnostic(
        FAMILIES_DISAGREE_CODE,
        f"{text} Compared: this default, {', '.join(r.method for r in others)}; "
        "--method stacked pools them.",
    ),)
