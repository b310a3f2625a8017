"""Latent-class capture-recapture: Bayesian (LCMCR; Manrique-Vallier 2016) and finite
classes by maximum likelihood (:mod:`undercount.models.latent_class.finite`)."""

from undercount.models.latent_class.estimator import LatentClassEstimator, LatentClassResult
from undercount.models.latent_class.finite import FiniteClassEstimator, FiniteClassResult
from undercount.models.latent_class.priors import beta_prior_from_expansion_factor

__all__ = [
    "FiniteClassEstimator",
    "FiniteClassResult",
    "LatentClassEstimator",
    "LatentClassResult",
    "beta_prior_from_expansion_factor",
]
