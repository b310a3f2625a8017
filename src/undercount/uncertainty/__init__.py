"""Honest uncertainty: bootstrap with re-selection, strata totals, imputation, official figures."""

from undercount.uncertainty.reported import ReportedComparison, compare_reported

__all__ = ["ReportedComparison", "compare_reported"]
