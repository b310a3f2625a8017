"""Capture data: which lists each person is on, and how many people share each pattern.

A *capture pattern* (or capture history) over J lists is a 0/1 vector ``x = (x_1, ..., x_J)``;
``x_j = 1`` when the person appears on list j. The all-zero pattern cannot be observed: its
count, ``n_0``, is what every estimator in undercount estimates, and ``N = n + n_0``.

Cells are indexed by the integer ``code(x) = sum_j x_j 2^(J-j)`` (first list = most
significant bit), so ``"101"`` over lists (A, B, C) is cell 5 and the unobserved cell is 0.
This matches the pattern strings and row order of the shipped reference tables.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from undercount.core.result import Diagnostic
from undercount.errors import DataWarning, InputError

__all__ = [
    "MAX_COUNT",
    "CaptureTable",
    "list_overlaps",
    "pattern_code",
    "pattern_string",
    "patterns_from_codes",
    "stratum_label",
]

_MAX_LISTS = 30
#: The largest count a cell may hold. More than a hundred times the world's population, so
#: no count of people reaches it; a larger value is a typing or export error (``1e18``), and
#: it would also break the floating-point fits, whose integers are exact only below 2**53.
MAX_COUNT = 10**12


def pattern_string(pattern: Sequence[int] | np.ndarray) -> str:
    """``(1, 0, 1) -> "101"``."""
    return "".join("1" if v else "0" for v in pattern)


def pattern_code(pattern: Sequence[int] | np.ndarray) -> int:
    """Integer cell index of a pattern, first list most significant."""
    code = 0
    for v in pattern:
        code = (code << 1) | (1 if v else 0)
    return code


def stratum_label(columns: Sequence[str], key: tuple) -> str:
    """A stratum's name: ``"sex=female, age=adult"`` for ``key`` ``("female", "adult")``."""
    return ", ".join(f"{c}={v}" for c, v in zip(columns, key, strict=True))


@dataclass(frozen=True, eq=False)
class CaptureTable:
    """Observed capture patterns over named lists, with their counts.

    Build one with :meth:`from_frame` (aggregated rows, one 0/1 column per list and a count
    column), :meth:`from_individuals` (one row per person), :meth:`from_mapping`
    (``{"101": 12, ...}``) or :func:`undercount.io.read_table` (CSV, Parquet, Excel). The
    constructor validates; a built table is never modified.

    Attributes
    ----------
    lists : tuple of str
        List names, in column order.
    patterns : ndarray of shape (m, J), uint8
        One row per observed row of the table. Without covariates every row is a distinct
        non-zero pattern; with covariates a pattern may repeat across covariate values.
    counts : ndarray of shape (m,), int64
        Number of people with each row's pattern (and covariate values).
    covariates : DataFrame or None
        ``m`` rows of covariate / stratum values aligned with ``patterns``, or None.
    source : str
        Where the table came from (a path, a dataset name or ``"<table>"``).
    citation : str or None
        Bibliographic citation of a shipped dataset.
    notes : tuple of str
        What was repaired on the way in (dropped all-zero rows, summed repeats).
    """

    lists: tuple[str, ...]
    patterns: np.ndarray
    counts: np.ndarray
    covariates: pd.DataFrame | None = None
    source: str = "<table>"
    citation: str | None = None
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        patterns = np.asarray(self.patterns)
        counts = np.asarray(self.counts)
        if patterns.ndim != 2 or patterns.shape[1] != len(self.lists):
            raise InputError(
                f"{self.source}: patterns must have one column per list "
                f"({len(self.lists)}), got shape {patterns.shape}"
            )
        if counts.shape != (patterns.shape[0],):
            raise InputError(f"{self.source}: counts must have one entry per pattern row")
        if counts.dtype.kind not in "biu":
            try:
                fc = counts.astype(float)
            except (TypeError, ValueError):
                raise InputError(f"{self.source}: counts must be numbers") from None
            if not np.isfinite(fc).all() or (fc != np.floor(fc)).any():
                raise InputError(f"{self.source}: counts must be finite whole numbers")
        if counts.size and (counts > MAX_COUNT).any():
            raise InputError(f"{self.source}: a count exceeds the limit of {MAX_COUNT:,}")
        patterns = patterns.astype(np.uint8, copy=True)
        counts = counts.astype(np.int64, copy=True)
        patterns.setflags(write=False)
        counts.setflags(write=False)
        object.__setattr__(self, "lists", tuple(str(x) for x in self.lists))
        object.__setattr__(self, "patterns", patterns)
        object.__setattr__(self, "counts", counts)
        if self.covariates is not None:
            cov = self.covariates.reset_index(drop=True).copy()
            if len(cov) != len(counts):
                raise InputError(f"{self.source}: covariates must have one row per pattern row")
            object.__setattr__(self, "covariates", cov)
        if len(self.lists) < 2:
            raise InputError(f"{self.source}: at least 2 lists are needed, got {len(self.lists)}")
        if len(set(self.lists)) != len(self.lists):
            raise InputError(f"{self.source}: duplicate list names {list(self.lists)}")
        if (counts < 0).any():
            raise InputError(f"{self.source}: negative counts")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        lists: Sequence[str] | None = None,
        count_column: str | None = "count",
        covariates: Sequence[str] | None = None,
        source: str = "<table>",
        citation: str | None = None,
    ) -> CaptureTable:
        """Build a table from aggregated rows (or individual rows when ``count_column`` is None).

        Parameters
        ----------
        frame : DataFrame
            One 0/1 column per list, a count column, and optionally covariate columns.
        lists : sequence of str, optional
            List columns. Default: every column except the count column and ``covariates``.
        count_column : str or None
            Column of counts. None means each row is one person (individual-level data).
        covariates : sequence of str, optional
            Columns kept as covariates / strata. With ``lists`` given and individual-level
            data, every other column is kept as a covariate by default.
        source : str
            Name used in error messages (a file path).

        Raises
        ------
        InputError
            Naming the row (1-based, as in a spreadsheet after its header) and the column of
            every bad cell: values other than 0/1, negative or non-integer counts, a missing
            count column, fewer than 2 lists, an empty list, a list holding everyone,
            duplicate list columns.
        """
        columns = [str(c) for c in frame.columns]
        problems: list[str] = []
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        if dupes:
            raise InputError(
                f"{source}: duplicate column(s) {', '.join(map(repr, dupes))}; "
                "each list must appear once"
            )
        frame = frame.copy()
        frame.columns = columns
        if count_column is not None and count_column not in columns:
            raise InputError(
                f"{source}: count column {count_column!r} not found; columns are "
                f"{columns}. Pass --count-column NAME, or treat rows as individuals "
                "with count_column=None."
            )
        if lists is None:
            excluded = set(covariates or ()) | ({count_column} if count_column else set())
            lists = [c for c in columns if c not in excluded]
        lists = [str(x) for x in lists]
        dup_lists = sorted({x for x in lists if lists.count(x) > 1})
        if dup_lists:
            raise InputError(f"{source}: list(s) named more than once: {dup_lists}")
        missing = [x for x in lists if x not in columns]
        if missing:
            raise InputError(f"{source}: list column(s) {missing} not found; columns are {columns}")
        if len(lists) < 2:
            raise InputError(
                f"{source}: at least 2 lists are needed for capture-recapture, got "
                f"{len(lists)} ({lists})"
            )
        if len(lists) > _MAX_LISTS:
            raise InputError(f"{source}: {len(lists)} lists; at most {_MAX_LISTS} are supported")
        if covariates is None:
            used = set(lists) | ({count_column} if count_column else set())
            covariates = [c for c in columns if c not in used]
        covariates = list(covariates)

        pattern_cols = []
        for name in lists:
            col, bad = _as_binary(frame[name])
            problems += [_bad_cell(r, name, v, "0 or 1") for r, v in bad]
            pattern_cols.append(col)
        if count_column is None:
            counts = np.ones(len(frame), dtype=np.int64)
        else:
            counts, bad = _as_counts(frame[count_column])
            problems += [
                f"row {r}, column {count_column!r}: {v!r} is larger than any count of people "
                f"(the limit is {MAX_COUNT:,}); check for a typing or export error"
                if _is_huge(v) else
                _bad_cell(r, count_column, v, "a non-negative integer count")
                for r, v in bad
            ]
        if problems:
            raise InputError(f"{source}: {len(problems)} bad cell(s)", problems)
        patterns = np.column_stack(pattern_cols).astype(np.uint8)
        cov = frame[covariates].reset_index(drop=True) if covariates else None
        return cls._normalised(
            lists, patterns, counts, cov, source=source, citation=citation,
            individual=count_column is None,
        )

    @classmethod
    def from_individuals(
        cls,
        frame: pd.DataFrame,
        *,
        lists: Sequence[str],
        covariates: Sequence[str] | None = None,
        source: str = "<table>",
    ) -> CaptureTable:
        """One row per person: 0/1 list columns; every other column is kept as a covariate."""
        return cls.from_frame(
            frame, lists=lists, count_column=None, covariates=covariates, source=source
        )

    @classmethod
    def from_mapping(
        cls,
        counts: Mapping[str, int],
        *,
        lists: Sequence[str] | None = None,
        source: str = "<mapping>",
    ) -> CaptureTable:
        """Build from pattern strings: ``{"100": 40, "010": 30, "110": 6}``."""
        if not counts:
            raise InputError(f"{source}: no patterns given")
        lengths = {len(k) for k in counts}
        if len(lengths) != 1:
            raise InputError(f"{source}: pattern strings have different lengths: {sorted(lengths)}")
        width = lengths.pop()
        if lists is None:
            lists = [f"L{j + 1}" for j in range(width)]
        if len(lists) != width:
            raise InputError(
                f"{source}: {len(lists)} list names for patterns of length {width}"
            )
        problems = []
        rows = []
        for key in counts:
            if set(key) - {"0", "1"}:
                problems.append(f"pattern {key!r}: characters other than 0 and 1")
            else:
                rows.append([int(ch) for ch in key])
        if problems:
            raise InputError(f"{source}: bad pattern(s)", problems)
        frame = pd.DataFrame(rows, columns=list(lists))
        frame["count"] = list(counts.values())
        return cls.from_frame(frame, lists=lists, count_column="count", source=source)

    @classmethod
    def _normalised(
        cls,
        lists: Sequence[str],
        patterns: np.ndarray,
        counts: np.ndarray,
        covariates: pd.DataFrame | None,
        *,
        source: str,
        citation: str | None = None,
        individual: bool = False,
    ) -> CaptureTable:
        """Drop all-zero and zero-count rows and sum repeated rows, noting what was done."""
        notes: list[str] = []
        zero = patterns.sum(axis=1) == 0
        if zero.any():
            dropped = int(counts[zero].sum())
            msg = (
                f"{source}: dropped {int(zero.sum())} all-zero row(s) ({dropped} record(s)); "
                "people on no list cannot be observed"
            )
            if individual:
                rows = ", ".join(str(_row_label(i)) for i in np.flatnonzero(zero)[:10])
                msg += f" (rows {rows}{', ...' if zero.sum() > 10 else ''})"
            warnings.warn(msg, DataWarning, stacklevel=3)
            notes.append(msg)
        keep = ~zero & (counts > 0)
        patterns, counts = patterns[keep], counts[keep]
        if covariates is not None:
            covariates = covariates.loc[keep].reset_index(drop=True)
        key = pd.DataFrame(patterns, columns=[f"__l{j}" for j in range(patterns.shape[1])])
        if covariates is not None:
            key = pd.concat([key, covariates.add_prefix("__c_")], axis=1)
        key["__n"] = counts
        grouped = key.groupby(list(key.columns[:-1]), dropna=False, sort=True)["__n"].sum()
        # For individual-level rows repeats are people, not a data problem.
        if len(grouped) < len(key) and not individual:
            msg = (
                f"{source}: {len(key) - len(grouped)} repeated pattern row(s) were summed"
            )
            notes.append(msg)
        flat = grouped.reset_index()
        new_patterns = flat[[c for c in flat.columns if c.startswith("__l")]].to_numpy()
        cov_cols = [c for c in flat.columns if c.startswith("__c_")]
        new_cov = None
        if covariates is not None:
            new_cov = flat[cov_cols].copy()
            new_cov.columns = [c[len("__c_") :] for c in cov_cols]
        # Sort so the first list is the most significant bit (the shipped tables' order).
        codes = np.array([pattern_code(p) for p in new_patterns], dtype=np.int64)
        order = np.argsort(codes, kind="stable")
        if new_cov is not None:
            new_cov = new_cov.iloc[order].reset_index(drop=True)
        table = cls(
            lists=tuple(lists),
            patterns=new_patterns[order],
            counts=flat["__n"].to_numpy()[order],
            covariates=new_cov,
            source=source,
            citation=citation,
            notes=tuple(notes),
        )
        problems = table.degeneracies()
        if problems:
            raise InputError(f"{source}: lists unusable for estimation", problems)
        return table

    # ------------------------------------------------------------------ views
    @property
    def n_lists(self) -> int:
        return len(self.lists)

    @property
    def n_observed(self) -> int:
        """Number of distinct people observed, ``n``."""
        return int(self.counts.sum())

    @property
    def list_sizes(self) -> dict[str, int]:
        sizes = (self.patterns.astype(np.int64) * self.counts[:, None]).sum(axis=0)
        return {name: int(s) for name, s in zip(self.lists, sizes, strict=True)}

    @property
    def has_covariates(self) -> bool:
        return self.covariates is not None and self.covariates.shape[1] > 0

    def full_counts(self) -> np.ndarray:
        """Counts of all ``2^J`` cells, indexed by :func:`pattern_code`; cell 0 is 0."""
        out = np.zeros(2**self.n_lists, dtype=np.int64)
        np.add.at(out, self.codes(), self.counts)
        return out

    def codes(self) -> np.ndarray:
        weights = 1 << np.arange(self.n_lists - 1, -1, -1, dtype=np.int64)
        return self.patterns.astype(np.int64) @ weights

    def aggregate(self) -> CaptureTable:
        """The same table with covariates summed out (one row per observed pattern)."""
        if self.covariates is None:
            return self
        full = self.full_counts()
        codes = np.flatnonzero(full)
        return CaptureTable(
            lists=self.lists,
            patterns=patterns_from_codes(codes, self.n_lists),
            counts=full[codes],
            source=self.source,
            citation=self.citation,
            notes=self.notes,
        )

    def cells(self) -> dict[str, int]:
        """``{pattern string: count}`` over observed patterns (covariates summed out)."""
        agg = self.aggregate()
        return {pattern_string(p): int(c) for p, c in zip(agg.patterns, agg.counts, strict=True)}

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.patterns.astype(np.int64), columns=list(self.lists))
        if self.covariates is not None:
            frame = pd.concat([frame, self.covariates], axis=1)
        frame["count"] = self.counts
        return frame

    def select_lists(self, lists: Iterable[str]) -> CaptureTable:
        """Keep only some lists (people on none of them drop out)."""
        lists = list(lists)
        unknown = [x for x in lists if x not in self.lists]
        if unknown:
            raise InputError(
                f"{self.source}: unknown list(s) {unknown}; lists are {list(self.lists)}"
            )
        idx = [self.lists.index(x) for x in lists]
        return CaptureTable._normalised_quiet(
            lists, self.patterns[:, idx], self.counts, self.covariates, self.source, self.citation
        )

    def by_stratum(self, columns: Sequence[str]) -> dict[tuple, CaptureTable]:
        """Split into one table per combination of covariate values (missing values kept)."""
        if self.covariates is None:
            raise InputError(f"{self.source}: the table has no covariate columns to stratify on")
        missing = [c for c in columns if c not in self.covariates.columns]
        if missing:
            raise InputError(
                f"{self.source}: stratum column(s) {missing} not found; covariates are "
                f"{list(self.covariates.columns)}"
            )
        out: dict[tuple, CaptureTable] = {}
        groups = self.covariates.groupby(list(columns), dropna=False, sort=True).indices
        for key, idx in groups.items():
            key = key if isinstance(key, tuple) else (key,)
            label = stratum_label(columns, key)
            out[key] = CaptureTable(
                lists=self.lists,
                patterns=self.patterns[idx],
                counts=self.counts[idx],
                covariates=self.covariates.iloc[idx].reset_index(drop=True),
                source=f"{self.source} [{label}]",
                citation=self.citation,
            )
        return out

    def degeneracies(self) -> list[str]:
        """Why this table cannot be estimated at all (empty table, an empty list, a list
        holding everyone); empty when it can. Files are rejected on these at reading time;
        strata split from a good table may still have them, and estimators refuse them."""
        n = self.n_observed
        if n == 0:
            return ["the table holds no records"]
        problems = []
        for name, size in self.list_sizes.items():
            if size == 0:
                problems.append(f"column {name!r}: the list has no records")
            elif size == n:
                problems.append(
                    f"column {name!r}: the list holds all {n} observed records, so it misses "
                    "no one observed and capture-recapture cannot estimate who it missed"
                )
        return problems

    def list_overlaps(self) -> tuple[Diagnostic, ...]:
        """Pairs of lists that are identical or nested; see :func:`list_overlaps`."""
        return list_overlaps(self)

    def sha256(self) -> str:
        """Content hash of the aggregated cells (list names and counts)."""
        h = hashlib.sha256()
        h.update("\x1f".join(self.lists).encode())
        for code, count in zip(self.codes(), self.counts, strict=True):
            h.update(f"{int(code)}:{int(count)};".encode())
        return h.hexdigest()

    @classmethod
    def _normalised_quiet(cls, lists, patterns, counts, covariates, source, citation):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            return cls._normalised(
                list(lists), np.asarray(patterns), np.asarray(counts), covariates,
                source=source, citation=citation,
            )

    def __repr__(self) -> str:
        return (
            f"CaptureTable(lists={list(self.lists)}, cells={len(self.counts)}, "
            f"n_observed={self.n_observed}, source={self.source!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CaptureTable):
            return NotImplemented
        return (
            self.lists == other.lists
            and np.array_equal(self.full_counts(), other.full_counts())
        )

    __hash__ = None  # type: ignore[assignment]


def list_overlaps(table: CaptureTable) -> tuple[Diagnostic, ...]:
    """Warnings for pairs of lists that are identical, or where one holds a subset of the other.

    Capture-recapture treats each list as a separate source. Two lists that name exactly the
    same people (a column duplicated under another name, one file named as two lists), or a
    list every one of whose people is also on another (an extract of it), are usually not
    separate sources: with them the estimate is badly wrong (a duplicated list makes the
    overlap look complete, and N collapses towards n). A small list can be nested in a large
    one by chance, so this warns rather than refuses.

    Returns one :class:`~undercount.core.result.Diagnostic` per pair (code
    ``"identical_lists"`` or ``"nested_lists"``), naming both lists and their sizes; empty
    when no pair is identical or nested. Used by ``undercount estimate``, ``link`` and the
    report, so the wording is the same everywhere.
    """
    sizes = table.list_sizes
    pats = table.patterns.astype(np.int64)
    counts = table.counts
    out: list[Diagnostic] = []
    names = table.lists
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            a, b = names[i], names[j]
            n_a, n_b = sizes[a], sizes[b]
            if n_a == 0 or n_b == 0:
                continue
            both = int((pats[:, i] * pats[:, j] * counts).sum())
            if both == n_a == n_b:
                out.append(Diagnostic(
                    "identical_lists",
                    f"lists {a!r} and {b!r} are identical: both hold the same {n_a:,} "
                    "people. One may be a copy of the other (a column repeated under another "
                    "name, or one file named as two lists); capture-recapture needs separate "
                    "sources, so check the input before trusting the estimate.",
                ))
            elif both in (n_a, n_b):
                small, big = (a, b) if both == n_a else (b, a)
                out.append(Diagnostic(
                    "nested_lists",
                    f"list {small!r} is a subset of list {big!r}: all {both:,} people on "
                    f"{small!r} are also on {big!r} ({sizes[big]:,} people). If {small!r} was "
                    f"drawn from {big!r} it is not a separate source and the estimate is "
                    "biased; check the input.",
                ))
    return tuple(out)


def patterns_from_codes(codes: np.ndarray, n_lists: int) -> np.ndarray:
    """The 0/1 capture patterns (rows, first list = most significant bit) of pattern codes:
    the inverse of :func:`pattern_code` for ``n_lists`` lists."""
    shifts = np.arange(n_lists - 1, -1, -1)
    return ((np.asarray(codes)[:, None] >> shifts) & 1).astype(np.uint8)


def _row_label(i: int) -> int:
    # Row numbers as a spreadsheet shows them: header is row 1, first data row is row 2.
    return int(i) + 2


def _bad_cell(row: int, column: str, value: object, wanted: str) -> str:
    """The error line for a cell that is not ``wanted``; an empty cell (read as a float NaN)
    says so rather than quoting ``nan``."""
    if isinstance(value, float) and math.isnan(value):
        return f"row {row}, column {column!r} is empty: it must be {wanted}"
    return f"row {row}, column {column!r}: {value!r} is not {wanted}"


def _as_binary(col: pd.Series) -> tuple[np.ndarray, list[tuple[int, object]]]:
    values = col.to_numpy(dtype=object)
    out = np.zeros(len(values), dtype=np.uint8)
    bad: list[tuple[int, object]] = []
    for i, v in enumerate(values):
        if isinstance(v, bool | np.bool_):
            out[i] = int(v)
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            bad.append((_row_label(i), v))
            continue
        if f == 0.0:
            out[i] = 0
        elif f == 1.0:
            out[i] = 1
        else:
            bad.append((_row_label(i), v))
    return out, bad


def _is_huge(v: object) -> bool:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return bool(np.isfinite(f) and f > MAX_COUNT)


def _as_counts(col: pd.Series) -> tuple[np.ndarray, list[tuple[int, object]]]:
    values = col.to_numpy(dtype=object)
    out = np.zeros(len(values), dtype=np.int64)
    bad: list[tuple[int, object]] = []
    for i, v in enumerate(values):
        try:
            f = float(v)
        except (TypeError, ValueError):
            bad.append((_row_label(i), v))
            continue
        if not np.isfinite(f) or f < 0 or f != np.floor(f) or f > MAX_COUNT:
            bad.append((_row_label(i), v))
        else:
            out[i] = int(f)
    return out, bad

