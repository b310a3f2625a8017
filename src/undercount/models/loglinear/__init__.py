"""Hierarchical Poisson log-linear multiple-systems estimation (J >= 3 lists)."""

from undercount.models.loglinear._design import (
    all_hierarchical_models,
    design_matrix,
    format_model,
    parse_model,
)
from undercount.models.loglinear.estimator import LogLinearEstimator, LogLinearResult
from undercount.models.loglinear.existence import (
    ExistenceCheck,
    boundary_cells,
    check_existence,
    fienberg_rinaldo_lp,
)
from undercount.models.loglinear.select import LogLinearFit, LogLinearProblem, stepwise

__all__ = [
    "ExistenceCheck",
    "LogLinearEstimator",
    "LogLinearFit",
    "LogLinearProblem",
    "LogLinearResult",
    "all_hierarchical_models",
    "boundary_cells",
    "check_existence",
    "design_matrix",
    "fienberg_rinaldo_lp",
    "format_model",
    "parse_model",
    "stepwise",
]
