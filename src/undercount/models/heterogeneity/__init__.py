"""Rcapture's closed-population family: M0, Mt, Mh-* and Mth-* (Baillargeon & Rivest 2007).

See :class:`HeterogeneityEstimator`; the designs are documented in
:mod:`undercount.models.heterogeneity._designs`.
"""

from undercount.models.heterogeneity._designs import MODELS, build_design
from undercount.models.heterogeneity.estimator import (
    HeterogeneityEstimator,
    HeterogeneityFit,
    HeterogeneityResult,
    assumptions_for,
    fit_model,
)

__all__ = [
    "MODELS",
    "HeterogeneityEstimator",
    "HeterogeneityFit",
    "HeterogeneityResult",
    "assumptions_for",
    "build_design",
    "fit_model",
]
