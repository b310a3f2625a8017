"""Bayesian model averaging over decomposable graphical models (Madigan & York 1997; R dga)."""

from undercount.models.graphical.estimator import GraphicalEstimator, GraphicalResult
from undercount.models.graphical.graphs import (
    DecomposableGraph,
    coefficient_matrix,
    decomposable_graphs,
)

__all__ = [
    "DecomposableGraph",
    "GraphicalEstimator",
    "GraphicalResult",
    "coefficient_matrix",
    "decomposable_graphs",
]
