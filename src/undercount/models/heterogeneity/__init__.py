"""Rcapture's closed-population family: M0, Mt, Mh-* and Mth-* (Baillargeon & Rivest 2007),
and the logit-normal mixed models Mh-Normal and Mth-Normal (Coull & Agresti 1999).

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
from undercount.models.heterogeneity.logit_normal import (
    LOGIT_NORMAL_MODELS,
    LogitNormalEstimator,
    LogitNormalResult,
)

__all__ = [
    "LOGIT_NORMAL_MODELS",
    "MODELS",
    "HeterogeneityEstimator",
    "HeterogeneityFit",
    "HeterogeneityResult",
    "LogitNormalEstimator",
    "LogitNormalResult",
    "assumptions_for",
    "build_design",
    "fit_model",
]
