"""Read capture tables from CSV, Parquet or Excel files, with errors that name the file.

Inputs are opened read-only and never modified.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from undercount.core.table import CaptureTable
from undercount.errors import InputError

__all__ = ["read_frame", "read_table"]

_READERS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xls": "excel",
}


def read_frame(path: str | Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a file into a DataFrame, choosing the reader from the extension."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    kind = _READERS.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"{path}: unknown file type {path.suffix!r}; expected one of "
            f"{', '.join(sorted(_READERS))}"
        )
    try:
        if kind == "csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        elif kind == "tsv":
            frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_values=[""])
        elif kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_excel(path, sheet_name=0 if sheet is None else sheet)
    except InputError:
        raise
    except Exception as exc:  # every parser has its own exception types
        raise InputError(f"{path}: could not be read as {kind}: {exc}") from exc
    if frame.empty:
        raise InputError(f"{path}: the file has no data rows")
    # pandas suffixes repeated headers with ".1"; we want duplicates reported, not renamed.
    if kind in ("csv", "tsv"):
        raw = _raw_header(path, kind)
        if raw is not None and len(set(raw)) != len(raw):
            dupes = sorted({c for c in raw if raw.count(c) > 1})
            raise InputError(
                f"{path}: duplicate column(s) {', '.join(map(repr, dupes))}; "
                "each list must appear once"
            )
    return frame


def _raw_header(path: Path, kind: str) -> list[str] | None:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter="\t" if kind == "tsv" else ",")
        try:
            return [c.strip() for c in next(reader)]
        except StopIteration:
            return None


def read_table(
    path: str | Path,
    *,
    lists: Sequence[str] | None = None,
    count_column: str | None = "count",
    individual: bool = False,
    covariates: Sequence[str] | None = None,
    sheet: str | int | None = None,
) -> CaptureTable:
    """Read a capture table.

    Parameters
    ----------
    path : path
        CSV, TSV, Parquet or Excel file.
    lists : sequence of str, optional
        List columns. Required for individual-level files; otherwise every column but the
        count column (and ``covariates``).
    count_column : str
        Count column of an aggregated file.
    individual : bool
        Each row is one person; every column that is not a list is kept as a covariate.
    """
    frame = read_frame(path, sheet=sheet)
    if individual and not lists:
        raise InputError(f"{path}: individual-level data needs the list columns (--lists a,b,c)")
    return CaptureTable.from_frame(
        frame,
        lists=lists,
        count_column=None if individual else count_column,
        covariates=covariates,
        source=str(path),
    )
