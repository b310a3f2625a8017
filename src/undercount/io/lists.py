"""Reading a project's input lists: their headers (checked before any work starts) and
their records (:func:`read_list`), with errors naming the file, row and column."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from undercount.errors import DataWarning, InputError
from undercount.io.project_types import ListSource, ProjectConfig
from undercount.io.readers import excel_sheet, read_frame, read_text

__all__ = ["check_input_columns", "read_list"]


def _read_header(spec: ListSource) -> list[str]:
    try:
        if spec.format == "csv":
            header = pd.read_csv(io.StringIO(read_text(spec.file, spec.encoding)), nrows=0,
                                 dtype=str, skipinitialspace=True)
            return [str(c).strip() for c in header.columns]
        if spec.format == "parquet":
            return list(pq.read_schema(spec.file).names)
        frame = pd.read_excel(spec.file, sheet_name=spec.sheet or 0, nrows=0)
        return [str(c) for c in frame.columns]
    except InputError:
        raise  # read_text's: the line and byte that are not valid in the encoding
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
        text = read_text(path)  # names the line and byte a non-UTF-8 file fails at
        reader = csv.reader(io.StringIO(text, newline=""),
                            delimiter="\t" if suffix == ".tsv" else ",")
        try:
            return [c.strip() for c in next(reader)]
        except StopIteration as exc:
            raise InputError(f"{path}: the file is empty") from exc
    return [str(c) for c in read_frame(path).columns]


def _warn_other_sheets(spec: ListSource) -> None:
    """Warn when a list reads the first sheet of a workbook that has others."""
    if spec.sheet is not None:
        return
    first, names = excel_sheet(spec.file)
    if len(names) > 1:
        warnings.warn(
            f"{spec.file}: list {spec.name!r} reads the workbook's first sheet, {first!r}; it "
            f"also has {names[1:]}. Set sheet = \"...\" in the list's [[lists]] table to read "
            "another.",
            DataWarning,
            stacklevel=3,
        )


#: Text that the C parser's options change (quotes, a space or tab that skipinitialspace
#: skips, a carriage return, a byte-order mark, a NUL), which only the C parser reads.
#: Searched one by one in the UTF-8 bytes (a few ms each for a million records; in the
#: decoded text, or with one regular expression, the search costs most of a second).
_NOT_PLAIN = (b'"', b"\r", b"\x00", "\ufeff".encode(), b", ", b",\t", b"\n ", b"\n\t")


def _read_csv(spec: ListSource) -> pd.DataFrame:
    """A list's CSV file as pandas' C parser reads it (strings, only empty fields missing,
    spaces after a comma skipped), with Arrow's parser where that is the same frame.

    Arrow's parser reads a million records in about a tenth of the C parser's 2 s. It is
    used only for plain files: no quotes, no space or tab after a comma or at the start of
    a line, no carriage return, byte-order mark or NUL, a header of distinct non-empty
    names that holds every column the list needs. Anything else, and any file Arrow cannot
    read (a row with more or fewer fields), goes to the C parser, whose frames and error
    messages are the ones the project has always had.
    """
    text = read_text(spec.file, spec.encoding)
    wanted = set(spec.source_columns)
    header = text[: text.find("\n")].split(",") if "\n" in text else []
    plain = (
        header and all(header) and len(set(header)) == len(header)
        and wanted <= set(header) and not text.startswith((" ", "\t"))
    )
    try:
        data = text.encode("utf-8") if plain else b""
    except UnicodeEncodeError:  # a lone surrogate: the C parser reads the text as it is
        plain = False
    if plain and not any(mark in data for mark in _NOT_PLAIN):
        try:
            return pd.read_csv(
                io.BytesIO(data),
                engine="pyarrow",
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                usecols=[c for c in header if c in wanted],
            )
        except Exception:  # the C parser below reads it or says what is wrong
            pass
    return pd.read_csv(
        io.StringIO(text),
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        skipinitialspace=True,
        usecols=lambda c: c in wanted,
    )


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
            frame = _read_csv(spec)
        elif spec.format == "parquet":
            frame = pd.read_parquet(spec.file, columns=spec.source_columns)
        else:
            frame = pd.read_excel(spec.file, sheet_name=spec.sheet or 0, dtype=str)
            _warn_other_sheets(spec)
    except InputError:
        raise  # read_text's: the line and byte that are not valid in the encoding
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
