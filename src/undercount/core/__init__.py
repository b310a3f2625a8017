"""Core types shared by every stage: capture tables, results, the estimator contract."""

from typing import TYPE_CHECKING

from undercount._lazy import lazy_names

if TYPE_CHECKING:
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

# Imported on first use: the table and results need pandas, which `undercount --help` and
# the CLI's choices (undercount.core.choices) do not.
_LAZY: dict[str, tuple[str, str | None]] = {
    **{name: ("undercount.core.estimator", name) for name in (
        "CellPointEstimator", "Estimator", "PointEstimator", "TopRestrictable",
        "check_settings")},
    "Provenance": ("undercount.core.provenance", "Provenance"),
    **{name: ("undercount.core.result", name) for name in (
        "Diagnostic", "Interval", "ModelRecord", "MSEResult", "Summary")},
    **{name: ("undercount.core.table", name) for name in (
        "CaptureTable", "list_overlaps", "pattern_code", "pattern_string")},
}

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

__getattr__, __dir__ = lazy_names(__name__, globals(), _LAZY, __all__)
