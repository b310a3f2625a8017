"""Simulated victim lists with known truth, for testing linkage and estimation."""

from undercount.simulate.lists import (
    COVARIATE_EFFECTS,
    FIELDS,
    GOVERNORATES,
    ListSpec,
    NoiseSpec,
    Simulation,
    default_lists,
    lam_alef_artefact,
    simulate_lists,
)

__all__ = [
    "COVARIATE_EFFECTS",
    "FIELDS",
    "GOVERNORATES",
    "ListSpec",
    "NoiseSpec",
    "Simulation",
    "default_lists",
    "lam_alef_artefact",
    "simulate_lists",
]
