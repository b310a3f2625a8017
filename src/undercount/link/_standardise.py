"""Bring every list to one standardised schema before linkage.

The work is done by :func:`undercount.names.standardise` (cross-script name parsing, consonant
skeleton keys, DOB/age heaping, ID check digits). This module only adapts its output to the
linkage stage: it attaches the list's covariates, assigns a global integer ``uid``, and fixes
dtypes so DuckDB and Spark see the same columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from undercount.io.project import ListSource
from undercount.names import standardise

__all__ = [
    "STD_COLUMNS",
    "covariate_column",
    "fix_dtypes",
    "standardise_lists",
    "standardiser_name",
]

#: Columns every standardised list has (from the ``undercount.names.standardise`` contract).
STD_COLUMNS: tuple[str, ...] = (
    "list", "record_id", "row", "name_ar", "name_lat", "given", "father", "grandfather",
    "family", "given_key", "father_key", "grandfather_key", "family_key", "name_key",
    "name_tokens", "name_unplaced", "sex", "age", "age_heaped", "dob", "dob_heaped",
    "birth_year", "dod", "place", "national_id", "id_valid",
)
_STRING = (
    "list", "record_id", "name_ar", "name_lat", "given", "father", "grandfather", "family",
    "given_key", "father_key", "grandfather_key", "family_key", "name_key", "name_tokens",
    "name_unplaced", "sex", "dob", "dod", "place", "national_id",
)
_BOOL = ("age_heaped", "dob_heaped", "id_valid")


def standardiser_name() -> str:
    """The standardiser recorded in a run's provenance."""
    return "undercount.names"


def standardise_lists(frames: Sequence[pd.DataFrame], specs: Sequence[ListSource]) -> pd.DataFrame:
    """Standardise every list and stack them, in list order, with a global ``uid``.

    ``result.attrs["coerced"]`` holds, per list and column, the count and first examples
    ``[row, value]`` of the values set to missing under ``on_bad_value = "coerce"``.

    Covariates keep their source column names; a covariate that collides with a standardised
    column is stored as ``cov_<name>``.
    """
    parts = []
    coerced: dict[str, dict] = {}
    for frame, spec in zip(frames, specs, strict=True):
        std = _standardise_one(frame, spec)
        if std.attrs.get("coerced"):
            coerced[spec.name] = std.attrs["coerced"]
        if spec.covariates:
            cov = frame[[spec.id_column, *spec.covariates]].copy()
            cov[spec.id_column] = cov[spec.id_column].astype(str)
            cov.columns = ["record_id", *(covariate_column(c) for c in spec.covariates)]
            cov = cov.loc[:, ~cov.columns.duplicated()]
            std = std.drop(columns=[c for c in cov.columns[1:] if c in std.columns])
            std = std.merge(cov, on="record_id", how="left", validate="one_to_one")
        parts.append(std)
    out = pd.concat(parts, ignore_index=True, sort=False)
    out.insert(0, "uid", np.arange(len(out), dtype=np.int64))
    out = fix_dtypes(out)
    # Values made missing by on_bad_value = "coerce": {list: {column: {count, examples}}}.
    out.attrs["coerced"] = coerced
    return out


def covariate_column(column: str) -> str:
    """The stored name of a covariate column: ``cov_<name>`` when it collides with a
    standardised column."""
    return f"cov_{column}" if column in STD_COLUMNS or column == "uid" else column


def _standardise_one(frame: pd.DataFrame, spec: ListSource) -> pd.DataFrame:
    std = standardise(
        frame,
        dict(spec.columns),
        list_name=spec.name,
        id_column=spec.id_column,
        source=str(spec.file),
        errors=spec.on_bad_value,
    ).copy()
    for col in STD_COLUMNS:
        if col not in std.columns:
            std[col] = None
    std["list"] = spec.name
    std["record_id"] = std["record_id"].astype(str)
    return std


def fix_dtypes(out: pd.DataFrame) -> pd.DataFrame:
    """One dtype per standardised column (object strings with None, nullable booleans,
    float age, Int64 birth year), so DuckDB, Spark and a re-read parquet agree."""
    for col in _STRING:
        s = out[col]
        out[col] = s.where(s.notna(), None).astype(object)
        out[col] = out[col].map(lambda v: None if v is None or v == "" else str(v))
    for col in _BOOL:
        out[col] = out[col].map(lambda v: None if v is None or v is pd.NA or v != v else bool(v))
        out[col] = out[col].astype("boolean")
    out["age"] = pd.to_numeric(out["age"], errors="coerce").astype("float64")
    out["birth_year"] = pd.to_numeric(out["birth_year"], errors="coerce").astype("Int64")
    out["row"] = pd.to_numeric(out["row"], errors="coerce").astype("int64")
    return out
