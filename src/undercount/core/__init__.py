"""Core types shared by every stage: capture tables, results, the estimator contract."""

from undercount.core.estimator import (
    CellPointEstimator,
    Estimator,
    PointEstimator,
    TopRestrictable,
    check_settings,
)
from undercount.core.provenance import Provenance
from undercount.core.result import Diagnostic, Interval, ModelRecord, MSEResult, Summary
from undercount.core.table import CaptureTable, list_overlaps, pattern_code, pattern_string

__all__ = [
    "CaptureTable",
    "CellPointEstimator",
    "Diagnostic",
    "Estimator",
    "Interval",
    "MSEResult",
    "ModelRecord",
    "PointEstimator",
    "Provenance",
    "Summary",
    "TopRestrictable",
    "check_settings",
    "list_overlaps",
    "pattern_code",
    "pattern_string",
]
