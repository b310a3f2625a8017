"""Recipes: published analyses reproduced step by step, for checking and comparison."""

from undercount.recipes.lancet2025 import (
    LANCET_MODELS,
    Lancet2025,
    Lancet2025Result,
    stratum_average,
)

__all__ = ["LANCET_MODELS", "Lancet2025", "Lancet2025Result", "stratum_average"]
