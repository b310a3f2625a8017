"""Reading a project's input lists: their headers (checked before any work starts) and
their records (:func:`read_list`), with errors naming the file, row and column."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from undercount.errors import InputError
from undercount.io.project_types import ListSource, ProjectConfig
from undercount.io.readers import read_frame

__all__ = ["check_input_columns", "read_list"]


def _read_header(spec: ListSource) -> list[str]:
    try:
        if spec.format == "csv":
            header = pd.read_csv(spec.file, nrows=0, dtype=str, skipinitialspace=True)
            return [str(c).strip() for c in header.columns]
        if spec.format == "parquet":
            return list(pq.read_schema(spec.file).names)
        frame = pd.read_excel(spec.file, sheet_name=spec.sheet or 0, nrows=0)
        return [str(c) for c in frame.columns]
    except UnicodeDecodeError as exc:
        raise InputError(_not_utf8(spec.file)) from exc
    except Exception as exc:  # each reader raises its own types
        raise InputError(f"{spec.file}: could not be read as {spec.format}: {exc}") from exc


def check_input_columns(config: ProjectConfig) -> None:
    """Check every mapped column exists in its input file, naming the file and column."""
    problems: list[str] = []
    for spec in config.lists:
        header = _read_header(spec)
        for col in spec.source_columns:
            if col not in header:
                role = next((r for r, c in spec.columns.items() if c == col), None)
                what = (
                    "id_column"
                    if col == spec.id_column
                    else f"columns.{role}"
                    if role
                    else "covariates"
                )
                problems.append(
                    f"{spec.file}: column {col!r} (list {spec.name!r}, {what}) not found; "
                    f"columns are {header}"
                )
    ch = config.capture_histories
    if ch is not None:
        header = _file_header(ch.file)
        for col in ch.columns:
            if col not in header:
                problems.append(f"{ch.file}: column {col!r} not found; columns are {header}")
        for col in config.strata.sources():
            if col not in ch.strata:
                problems.append(
                    f"[strata] column {col!r} is not among [capture_histories] strata "
                    f"{list(ch.strata)}"
                )
        for col in config.report.identifying:
            if col not in header:
                problems.append(f"[report] identifying column {col!r} not found in {ch.file}")
    if problems:
        raise InputError(f"{config.path}: input columns missing", problems)


def _file_header(path: Path) -> list[str]:
    """The column names of a capture-history file (CSV/TSV read by hand: only the header)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter="\t" if suffix == ".tsv" else ",")
            try:
                return [c.strip() for c in next(reader)]
            except StopIteration as exc:
                raise InputError(f"{path}: the file is empty") from exc
    return [str(c) for c in read_frame(path).columns]



def _not_utf8(path: Path) -> str:
    """Where a CSV stops being UTF-8 (line and column of the first bad byte), and the fix."""
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return (f"{path}: the file is UTF-16 text; save it as UTF-8 (in Excel: Save As, "
                "\"CSV UTF-8\")")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return (f"{path}, line {line}, byte {column}: byte 0x{data[exc.start]:02x} is not "
                "UTF-8 text (the file is probably Latin-1 or Windows-1252); save it as UTF-8 "
                "(in Excel: Save As, \"CSV UTF-8\")")
    return f"{path}: the file is not UTF-8 text; save it as UTF-8"  # pragma: no cover

def read_list(spec: ListSource):
    """Read one list's needed columns as strings; check its record ids.

    Returns a DataFrame with the source columns (strings, missing as None), in file order.

    Raises
    ------
    InputError
        Unreadable file, missing columns, blank or repeated record ids (rows numbered as in a
        spreadsheet: header row 1, first record row 2).
    """
    try:
        if spec.format == "csv":
            frame = pd.read_csv(
                spec.file,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                skipinitialspace=True,
                usecols=lambda c: c in set(spec.source_columns),
            )
        elif spec.format == "parquet":
            frame = pd.read_parquet(spec.file, columns=spec.source_columns)
        else:
            frame = pd.read_excel(spec.file, sheet_name=spec.sheet or 0, dtype=str)
    except UnicodeDecodeError as exc:
        raise InputError(_not_utf8(spec.file)) from exc
    except Exception as exc:
        raise InputError(f"{spec.file}: could not be read as {spec.format}: {exc}") from exc
    missing = [c for c in spec.source_columns if c not in frame.columns]
    if missing:
        raise InputError(f"{spec.file}: column(s) {missing} not found (list {spec.name!r})")
    frame = frame[spec.source_columns]
    if frame.empty:
        raise InputError(f"{spec.file}: the file has no data rows (list {spec.name!r})")
    ids = frame[spec.id_column]
    # Rows are numbered as in a spreadsheet: the header is row 1, the first record row 2.
    problems = [
        f"row {i + 2}, column {spec.id_column!r}: blank record id"
        for i in ids.index[ids.isna()].tolist()[:50]
    ]
    dup = ids[ids.duplicated(keep=False) & ids.notna()]
    for value, idx in dup.groupby(dup, sort=False).groups.items():
        rows = ", ".join(str(i + 2) for i in list(idx)[:5])
        problems.append(f"rows {rows}, column {spec.id_column!r}: record id {value!r} repeated")
    if problems:
        raise InputError(f"{spec.file}: bad record ids (list {spec.name!r})", problems)
    return frame.reset_index(drop=True)
