"""The named choices a user picks from, declared once as ``Literal`` types.

The estimators annotate their fields with these (``select: Select = "bic"``), so
:func:`~undercount.core.estimator.check_settings` checks them; the CLI builds its
``--method``, ``--select``, ``--interval``, ``--resample``, ``--prior``, ``--imputer`` and
``--recipe`` choices from the same types (:func:`choices`), and the project file's
``[estimate]`` table goes through the same options. A new choice is added here, or in the
estimator's own ``Literal``, and appears everywhere; the lists cannot drift apart.

This module imports nothing heavy: the CLI reads it to build ``--help``.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

__all__ = [
    "BootstrapInterval",
    "BootstrapResampling",
    "DgaPrior",
    "ImputerName",
    "IntervalChoice",
    "Method",
    "ModelInterval",
    "Recipe",
    "Resample",
    "Select",
    "TwoListInterval",
    "choices",
]

#: Estimator families of ``undercount estimate --method`` (``all``: every family that applies).
Method = Literal[
    "loglinear", "chapman", "lincoln-petersen", "heterogeneity", "logitnormal", "lcm",
    "lcm-ml", "dga", "stacked", "all"
]
#: Log-linear model selection (``LogLinearEstimator.select``).
Select = Literal["bic", "aic", "stepwise", "average"]
#: Conditional intervals of a fitted model (log-linear, heterogeneity).
ModelInterval = Literal["profile", "wald"]
#: Intervals of the two-list estimators (Chapman, Lincoln-Petersen).
TwoListInterval = Literal["log", "wald"]
#: Intervals from bootstrap replicates (``Bootstrap.interval``).
BootstrapInterval = Literal["bca", "percentile", "smoothed"]
#: How bootstrap replicates are drawn (``Bootstrap.kind``, ``--resample``).
BootstrapResampling = Literal["augmented", "nonparametric", "parametric"]
#: ``--resample``: a :data:`BootstrapResampling`, or ``"parametric-aic"``, the parametric
#: resample whose world is the AIC-best log-linear model's fit (the default on 3 to 5 lists).
Resample = Literal[BootstrapResampling, "parametric-aic"]
#: Every interval ``--interval`` accepts: each family takes its own subset.
IntervalChoice = Literal[ModelInterval, TwoListInterval, BootstrapInterval]
#: Priors on N of the graphical family a user can name (``GraphicalEstimator`` also takes
#: ``"custom"`` with a callable, which only Python can pass).
DgaPrior = Literal["inverse", "negbin"]
#: Imputers of missing stratum values (``MultipleImputation.imputer``).
ImputerName = Literal["hotdeck", "chained-forest"]
#: Published analyses reproduced step by step (``--recipe``).
Recipe = Literal["lancet2025"]


def choices(literal: Any) -> tuple[str, ...]:
    """The values of a ``Literal`` type, in order, nested ``Literal``\\ s flattened."""
    out: list[str] = []
    for a in get_args(literal):
        for v in choices(a) if get_args(a) else (a,):
            if v not in out:
                out.append(v)
    return tuple(out)
