"""Bring every list to one standardised schema before linkage.

The work is done by :func:`undercount.names.standardise` (cross-script name parsing, consonant
skeleton keys, DOB/age heaping, ID check digits). This module only adapts its output to the
linkage stage: it attaches the list's covariates, assigns a global integer ``uid``, and fixes
dtypes so DuckDB and Spark see the same columns.

When :mod:`undercount.names` is not importable, a deliberately simple Latin-script fallback is
used (lower-casing, accent stripping, vowel-dropping keys) and the run records
``standardiser = "fallback"`` in its provenance. It is good enough for the Latin benchmarks
(FEBRL, historical_50k) but not for Arabic names.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from undercount.errors import UndercountWarning
from undercount.io.project import ListSource

__all__ = ["STD_COLUMNS", "standardise_lists", "standardiser_name"]

#: Columns every standardised list has (from the ``undercount.names.standardise`` contract).
STD_COLUMNS: tuple[str, ...] = (
    "list", "record_id", "row", "name_ar", "name_lat", "given", "father", "grandfather",
    "family", "given_key", "father_key", "grandfather_key", "family_key", "name_key", "sex",
    "age", "age_heaped", "dob", "dob_heaped", "birth_year", "dod", "place", "national_id",
    "id_valid",
)
_STRING = (
    "list", "record_id", "name_ar", "name_lat", "given", "father", "grandfather", "family",
    "given_key", "father_key", "grandfather_key", "family_key", "name_key", "sex", "dob", "dod",
    "place", "national_id",
)
_BOOL = ("age_heaped", "dob_heaped", "id_valid")


def standardiser_name() -> str:
    try:
        from undercount.names import standardise  # noqa: F401
    except ImportError:
        return "fallback"
    return "undercount.names"


def standardise_lists(frames: Sequence[pd.DataFrame], specs: Sequence[ListSource]) -> pd.DataFrame:
    """Standardise every list and stack them, in list order, with a global ``uid``.

    Covariates keep their source column names; a covariate that collides with a standardised
    column is stored as ``cov_<name>``.
    """
    parts = []
    for frame, spec in zip(frames, specs, strict=True):
        std = _standardise_one(frame, spec)
        if spec.covariates:
            cov = frame[[spec.id_column, *spec.covariates]].copy()
            cov[spec.id_column] = cov[spec.id_column].astype(str)
            cov.columns = ["record_id", *(_cov_name(c) for c in spec.covariates)]
            cov = cov.loc[:, ~cov.columns.duplicated()]
            std = std.drop(columns=[c for c in cov.columns[1:] if c in std.columns])
            std = std.merge(cov, on="record_id", how="left", validate="one_to_one")
        parts.append(std)
    out = pd.concat(parts, ignore_index=True, sort=False)
    out.insert(0, "uid", np.arange(len(out), dtype=np.int64))
    return _fix_dtypes(out)


def _cov_name(column: str) -> str:
    return f"cov_{column}" if column in STD_COLUMNS or column == "uid" else column


def _standardise_one(frame: pd.DataFrame, spec: ListSource) -> pd.DataFrame:
    try:
        from undercount.names import standardise
    except ImportError:
        warnings.warn(
            "undercount.names is not available; using the simple Latin-script fallback "
            "standardiser (not suitable for Arabic names)",
            UndercountWarning,
            stacklevel=3,
        )
        std = _fallback_standardise(frame, spec)
    else:
        std = standardise(
            frame,
            dict(spec.columns),
            list_name=spec.name,
            id_column=spec.id_column,
            source=str(spec.file),
            errors=spec.on_bad_value,
        )
    std = std.copy()
    for col in STD_COLUMNS:
        if col not in std.columns:
            std[col] = None
    std["list"] = spec.name
    std["record_id"] = std["record_id"].astype(str)
    return std


def _fix_dtypes(out: pd.DataFrame) -> pd.DataFrame:
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


# ---------------------------------------------------------------------------------- fallback
_VOWELS = re.compile(r"[aeiouyhw]")


def _fold(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text or None


def _skeleton(token: str | None) -> str | None:
    if not token:
        return None
    token = token.replace(" ", "")
    key = token[0] + _VOWELS.sub("", token[1:])
    return re.sub(r"(.)\1+", r"\1", key) or None


def _date(value: object) -> str | None:
    text = _fold(value)
    if not text:
        return None
    text = text.replace(" ", "-")
    for fmt in ("%Y%m%d", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return pd.to_datetime(text, format=fmt).date().isoformat()
        except (ValueError, OverflowError):
            continue
    return None


def _fallback_standardise(frame: pd.DataFrame, spec: ListSource) -> pd.DataFrame:
    """Latin-only standardisation used when ``undercount.names`` is missing."""
    cols = spec.columns
    n = len(frame)

    def col(role: str) -> list:
        return frame[cols[role]].tolist() if role in cols else [None] * n

    # Spreadsheet row numbers: the header is row 1, the first record row 2.
    out = pd.DataFrame({"record_id": frame[spec.id_column].astype(str), "row": np.arange(n) + 2})
    full = [_fold(v) for v in (col("name_lat") if "name_lat" in cols else col("name_ar"))]
    parts = {}
    for part in ("given", "father", "grandfather", "family"):
        vals = col(f"{part}_lat") if f"{part}_lat" in cols else col(f"{part}_ar")
        parts[part] = [_fold(v) for v in vals]
    for i, name in enumerate(full):
        if name is None:
            continue
        toks = name.split()
        guess = {"given": toks[0], "family": toks[-1] if len(toks) > 1 else None}
        if len(toks) >= 3:
            guess["father"] = toks[1]
        if len(toks) >= 4:
            guess["grandfather"] = toks[2]
        for part, val in guess.items():
            if parts[part][i] is None:
                parts[part][i] = val
    keys = {part: [_skeleton(v) for v in vals] for part, vals in parts.items()}
    for part, vals in parts.items():
        out[part] = pd.Series(vals, dtype=object)
        out[f"{part}_key"] = pd.Series(keys[part], dtype=object)
    out["name_lat"] = [
        n or " ".join(p for p in (parts["given"][i], parts["family"][i]) if p) or None
        for i, n in enumerate(full)
    ]
    order = ("given", "father", "grandfather", "family")
    out["name_key"] = pd.Series(
        ["".join(keys[p][i] for p in order if keys[p][i]) or None for i in range(n)],
        dtype=object,
    )
    sex = [_fold(v) for v in col("sex")]
    out["sex"] = pd.Series(
        [s[0] if s in ("m", "f", "male", "female") else None for s in sex], dtype=object
    )
    dob = [_date(v) for v in col("dob")]
    out["dob"] = pd.Series(dob, dtype=object)
    out["dob_heaped"] = [d is not None and d.endswith("-01-01") for d in dob]
    out["birth_year"] = pd.array([int(d[:4]) if d else None for d in dob], dtype="Int64")
    out["age"] = pd.to_numeric(pd.Series(col("age"), dtype=object), errors="coerce")
    out["age_heaped"] = [bool(a == a and a % 5 == 0) for a in out["age"]]
    out["dod"] = pd.Series([_date(v) for v in col("dod")], dtype=object)
    out["place"] = pd.Series([_fold(v) for v in col("place")], dtype=object)
    ids = [
        re.sub(r"\D", "", str(v)) if v is not None and v == v else ""
        for v in col("national_id")
    ]
    out["national_id"] = pd.Series([v or None for v in ids], dtype=object)
    out["id_valid"] = None
    return out
