"""Binning helpers that turn ages and dates into stratum labels."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from undercount.errors import ConfigError, InputError

__all__ = ["bin_ages", "bin_dates"]


def bin_ages(
    ages: pd.Series | Sequence[float],
    edges: Sequence[float] = (0, 15, 30, 45, 60),
    *,
    labels: Sequence[str] | None = None,
) -> pd.Series:
    """Label ages by left-closed bins ``[e_i, e_{i+1})``; the last bin is open-ended.

    The default edges are those of the 2025 Lancet Gaza study (0-14, 15-29, 30-44, 45-59,
    60+). Missing ages stay missing (for imputation); negative ages are an input error.
    """
    s = pd.Series(ages, dtype="float64") if not isinstance(ages, pd.Series) else ages
    values = pd.to_numeric(s, errors="coerce").astype("float64")
    bad = s.notna() & values.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"age {s.iloc[i]!r} at position {i} is not a number")
    if (values < 0).any():
        raise InputError("ages must be non-negative")
    edges = list(edges)
    if edges != sorted(edges) or len(set(edges)) != len(edges):
        raise ConfigError(f"age edges must be strictly increasing, got {edges}")
    if labels is None:
        labels = [f"{int(a)}-{int(b) - 1}" for a, b in itertools.pairwise(edges)]
        labels.append(f"{int(edges[-1])}+")
    if len(labels) != len(edges):
        raise ConfigError(f"{len(labels)} labels for {len(edges)} bins")
    cut = pd.cut(values, bins=[*edges, np.inf], right=False, labels=list(labels))
    return pd.Series(cut, index=s.index, name=getattr(s, "name", None)).astype("string")


def bin_dates(
    dates: pd.Series | Sequence[str], freq: str = "M"
) -> pd.Series:
    """Label dates by period (``"M"`` month, ``"Q"`` quarter, ``"Y"`` year, ``"W"`` week).

    Accepts ISO dates or ``YYYY-MM`` strings; missing stays missing.
    """
    s = pd.Series(dates) if not isinstance(dates, pd.Series) else dates
    parsed = pd.to_datetime(s, errors="coerce", format="mixed")
    bad = s.notna() & parsed.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"date {s.iloc[i]!r} at position {i} could not be parsed")
    if freq not in ("M", "Q", "Y", "W"):
        raise ConfigError(f"freq={freq!r} is not allowed; choose one of M, Q, Y, W")
    out = parsed.dt.to_period(freq).astype("string")
    return pd.Series(out, index=s.index, name=getattr(s, "name", None))
