"""Read capture tables from CSV, Parquet or Excel files, with errors that name the file.

Inputs are opened read-only and never modified.

Text files are decoded as UTF-8 (a byte-order mark is ignored) unless an ``encoding`` is
given; a byte that is not valid in that encoding is an error naming the file, the line and
the byte, and the option that sets the encoding. An Excel workbook with more than one sheet
and no ``sheet`` named is read from its first sheet with a
:class:`~undercount.errors.DataWarning` naming it and the others; the table's ``source``
names the sheet read, so every later error does too.
"""

from __future__ import annotations

import codecs
import csv
import io
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, DataWarning, InputError

__all__ = [
    "ENCODING_HINT",
    "check_encoding",
    "excel_sheet",
    "looks_aggregated",
    "read_frame",
    "read_table",
    "read_text",
]

_READERS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xls": "excel",
}

#: How to set the encoding, for error messages.
ENCODING_HINT = (
    "set the file's encoding with --encoding (e.g. --encoding latin-1 or cp1252), or "
    "encoding = \"latin-1\" in the list's table of a project file"
)


def check_encoding(encoding: str | None) -> str:
    """The codec name to decode text files with (``utf-8-sig`` by default).

    Raises
    ------
    ConfigError
        An encoding Python does not know.
    """
    if encoding is None:
        return "utf-8-sig"
    try:
        info = codecs.lookup(encoding)
        # codecs also knows bytes-to-bytes transforms (base64, zlib), which decode no text.
        if not getattr(info, "_is_text_encoding", True):
            raise LookupError(encoding)
    except (LookupError, TypeError, ValueError):
        raise ConfigError(
            f"encoding {encoding!r} is not a known text encoding; use a name such as "
            "utf-8, latin-1, cp1252 or utf-16"
        ) from None
    # UTF-8 files often start with a byte-order mark; reading it as part of the first header
    # would rename the first column.
    return "utf-8-sig" if info.name == "utf-8" else info.name


def read_text(path: str | Path, encoding: str | None = None) -> str:
    """The whole text of a file, decoded, with an error naming the line and byte on failure.

    Raises
    ------
    InputError
        A byte sequence that is not valid in the encoding: names the file, the 1-based line,
        the byte (``0xe9``) and how to set the encoding.
    """
    codec = check_encoding(encoding)
    raw = Path(path).read_bytes()
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        shown = "UTF-8" if codec == "utf-8-sig" else codec
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise InputError(
                f"{path}: the file is UTF-16 text, not {shown}; set encoding = \"utf-16\" "
                "(--encoding utf-16), or save it as UTF-8 (in Excel: Save As, \"CSV UTF-8\")"
            ) from None
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = raw[exc.start]
        guess = " (probably Latin-1 or Windows-1252)" if shown == "UTF-8" else ""
        raise InputError(
            f"{path}: line {line}, byte {col} of the line: byte 0x{byte:02x} is not valid "
            f"{shown} text. The file is in another encoding{guess}; {ENCODING_HINT}, or save "
            "it as UTF-8 (in Excel: Save As, \"CSV UTF-8\")."
        ) from None


def excel_sheet(path: str | Path, sheet: str | int | None = None) -> tuple[str, list[str]]:
    """The name of the sheet :func:`read_frame` reads from a workbook, and all sheet names.

    Raises
    ------
    InputError
        The workbook cannot be opened, or ``sheet`` is not one of its sheets.
    """
    try:
        with pd.ExcelFile(path) as book:
            names = [str(s) for s in book.sheet_names]
    except Exception as exc:  # openpyxl / xlrd raise their own types
        raise InputError(f"{path}: could not be read as excel: {exc}") from exc
    if not names:
        raise InputError(f"{path}: the workbook has no sheets")
    if sheet is None:
        return names[0], names
    if isinstance(sheet, bool) or not isinstance(sheet, (str, int)):
        raise ConfigError(f"sheet = {sheet!r}: must be a sheet name or a 0-based index")
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise InputError(
                f"{path}: sheet index {sheet} out of range; the workbook's sheets are "
                f"{names} (0-based indices 0 to {len(names) - 1})"
            )
        return names[sheet], names
    if sheet not in names:
        if sheet.strip().isdigit() and sheet.isascii():
            # "--sheet 1" on the command line: a 0-based index when no sheet has that name.
            return excel_sheet(path, int(sheet))
        raise InputError(f"{path}: no sheet named {sheet!r}; the workbook's sheets are {names}")
    return sheet, names


def _kind(path: Path) -> str:
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
    return kind


def read_frame(
    path: str | Path, *, sheet: str | int | None = None, encoding: str | None = None
) -> pd.DataFrame:
    """Read a file into a DataFrame, choosing the reader from the extension.

    ``encoding`` applies to CSV/TSV files (default UTF-8); ``sheet`` to Excel workbooks
    (default: the first, with a :class:`~undercount.errors.DataWarning` when there are
    others). The sheet read is in ``frame.attrs["sheet"]``.
    """
    path = Path(path)
    kind = _kind(path)
    check_encoding(encoding)
    sheet_name: str | None = None
    try:
        if kind in ("csv", "tsv"):
            text = read_text(path, encoding)
            sep = "\t" if kind == "tsv" else ","
            frame = pd.read_csv(
                io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""]
            )
        elif kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            sheet_name, names = excel_sheet(path, sheet)
            if sheet is None and len(names) > 1:
                others = ", ".join(repr(n) for n in names[1:])
                warnings.warn(
                    f"{path}: the workbook has {len(names)} sheets; read the first, "
                    f"{sheet_name!r} (the others: {others}). Name the sheet to read with "
                    "--sheet NAME (sheet = \"NAME\" in a project file).",
                    DataWarning,
                    stacklevel=2,
                )
            frame = pd.read_excel(path, sheet_name=sheet_name)
    except (InputError, ConfigError):
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except Exception as exc:  # every parser has its own exception types
        where = f" (sheet {sheet_name!r})" if sheet_name is not None else ""
        raise InputError(f"{path}{where}: could not be read as {kind}: {exc}") from exc
    if frame.empty:
        where = f", sheet {sheet_name!r}," if sheet_name is not None else ""
        raise InputError(f"{path}{where}: the file has no data rows")
    # pandas suffixes repeated headers with ".1"; we want duplicates reported, not renamed.
    if kind in ("csv", "tsv"):
        raw = _raw_header(text, kind)
        if raw is not None and len(set(raw)) != len(raw):
            dupes = sorted({c for c in raw if raw.count(c) > 1})
            raise InputError(
                f"{path}: duplicate column(s) {', '.join(map(repr, dupes))}; "
                "each list must appear once"
            )
    frame.attrs["sheet"] = sheet_name
    return frame


def _raw_header(text: str, kind: str) -> list[str] | None:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if kind == "tsv" else ",")
    try:
        return [c.strip() for c in next(reader)]
    except (StopIteration, csv.Error):
        return None  # pandas has read the header already; its columns stand


def looks_aggregated(frame: pd.DataFrame, lists: Sequence[str]) -> tuple[str, bool] | None:
    """Why an "individual-level" frame looks like an aggregated table, or None.

    An aggregated table has one row per capture pattern and a column of counts. Read as
    individuals, that column becomes a covariate and every pattern counts once (n = 7
    instead of thousands). Returns ``(reason, certain)``: a column named like a count
    (``count``, ``counts``, ``n``, ``freq``, ``frequency``, ``cnt``) is taken as certain;
    every row a distinct pattern of the lists with another column holding whole numbers
    above 1 is only a sign (a few people with different patterns and their ages look the
    same).
    """
    others = [c for c in frame.columns if str(c) not in set(lists)]
    countish = {"count", "counts", "n", "freq", "frequency", "cnt"}
    named = [str(c) for c in others if str(c).strip().lower() in countish]
    if named:
        return f"it has a column named {named[0]!r}", True
    present = [c for c in lists if c in frame.columns]
    if len(present) != len(lists) or len(frame) < 2:
        return None
    if frame[present].astype(str).duplicated().any():
        return None
    for c in others:
        values = pd.to_numeric(frame[c], errors="coerce")
        if values.notna().all() and (values == values.round()).all() and (values > 1).any() \
                and (values >= 0).all():
            return (f"every row is a different pattern of the lists and column {str(c)!r} "
                    "holds whole numbers", False)
    return None


def read_table(
    path: str | Path,
    *,
    lists: Sequence[str] | None = None,
    count_column: str | None = "count",
    individual: bool = False,
    covariates: Sequence[str] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
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
        A file that looks aggregated (:func:`looks_aggregated`) is refused.
    sheet : str or int, optional
        Excel sheet name or 0-based index (default: the first).
    encoding : str, optional
        Text encoding of a CSV/TSV file (default UTF-8).
    """
    frame = read_frame(path, sheet=sheet, encoding=encoding)
    source = str(path)
    if frame.attrs.get("sheet") is not None:
        source = f"{path} [sheet {frame.attrs['sheet']!r}]"
    if individual and not lists:
        raise InputError(f"{source}: individual-level data needs the list columns (--lists a,b,c)")
    if individual:
        sign = looks_aggregated(frame, [str(x) for x in lists or ()])
        if sign is not None:
            why, certain = sign
            msg = (
                f"{source}: --individual reads each row as one person, but this table looks "
                f"aggregated ({why}). Drop --individual to read it as counts per pattern "
                "(--count-column names the counts column)."
            )
            if certain:
                raise InputError(msg)
            warnings.warn(msg, DataWarning, stacklevel=2)
    try:
        return CaptureTable.from_frame(
            frame,
            lists=lists,
            count_column=None if individual else count_column,
            covariates=covariates,
            source=source,
        )
    except InputError as exc:
        sheet_name = frame.attrs.get("sheet")
        if sheet_name is None or "not found" not in str(exc):
            raise
        _, names = excel_sheet(path, sheet_name)
        others = [n for n in names if n != sheet_name]
        if not others:
            raise
        raise InputError(
            f"{exc}\nThe workbook's other sheets are {others}; name one with --sheet NAME."
        ) from None
