"""Simulated victim lists with known truth, for testing linkage and estimation.

:mod:`~undercount.simulate.specs` describes the lists (:class:`SimulatedList`,
:class:`NoiseSpec`), :mod:`~undercount.simulate.noise` the names and their token-level noise,
and :mod:`~undercount.simulate.lists` is the simulator (:func:`simulate_lists`) and its
result (:class:`Simulation`). The validation battery built on it is :mod:`undercount.validate`.
"""

from undercount.simulate.lists import Simulation, simulate_lists
from undercount.simulate.noise import lam_alef_artefact
from undercount.simulate.specs import (
    COVARIATE_EFFECTS,
    FIELDS,
    GOVERNORATES,
    NoiseSpec,
    SimulatedList,
    default_lists,
)

__all__ = [
    "COVARIATE_EFFECTS",
    "FIELDS",
    "GOVERNORATES",
    "NoiseSpec",
    "SimulatedList",
    "Simulation",
    "default_lists",
    "lam_alef_artefact",
    "simulate_lists",
]
