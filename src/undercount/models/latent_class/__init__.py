"""Bayesian latent-class capture-recapture (LCMCR; Manrique-Vallier 2016)."""

from undercount.models.latent_class.estimator import LatentClassEstimator, LatentClassResult
from undercount.models.latent_class.priors import beta_prior_from_expansion_factor

__all__ = ["LatentClassEstimator", "LatentClassResult", "beta_prior_from_expansion_factor"]
