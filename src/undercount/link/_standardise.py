"""Bring every list to one standardised schema before linkage.

The work is done by :func:`undercount.names.standardise` (cross-script name parsing, consonant
skeleton keys, DOB/age heaping, ID check digits). This module only adapts its output to the
linkage stage: it attaches the list's covariates, assigns a global integer ``uid``, and fixes
dtypes so DuckDB and Spark see the same columns.

A list with no names is refused (:func:`check_names_present`), not linked on what is left:
an error rather than a warning because the evidence says the other fields do not carry the
linkage. The default blocking rules and three of the comparisons use name keys, so such a
list can only meet the others through an exact ID or DOB + place. On the simulated example
(``docs/examples/simulated``: hospital and family lists with national IDs, media without),
linked with this check switched off, blanking the hospital list's names gave 3,035 people
and blanking the media list's gave 3,002, instead of 2,263: more people than the 3,000 who
exist, even where every record keeps a national ID.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from undercount.errors import InputError
from undercount.io.project_types import NAME_ROLES, ListSource
from undercount.names import standardise

__all__ = [
    "STD_COLUMNS",
    "check_names_present",
    "covariate_column",
    "fix_dtypes",
    "standardise_lists",
    "standardiser_name",
]

#: Columns every standardised list has (from the ``undercount.names.standardise`` contract).
STD_COLUMNS: tuple[str, ...] = (
    "list", "record_id", "row", "name_ar", "name_lat", "given", "father", "grandfather",
    "family", "given_key", "father_key", "grandfather_key", "family_key", "name_key",
    "last_key", "given_variants", "name_tokens", "name_unplaced", "sex", "age", "age_heaped",
    "dob", "dob_text", "dob_heaped", "birth_year", "dod", "place", "national_id", "id_valid",
    "postcode", "postcode_district", "occupation",
)
_STRING = (
    "list", "record_id", "name_ar", "name_lat", "given", "father", "grandfather", "family",
    "given_key", "father_key", "grandfather_key", "family_key", "name_key", "last_key",
    "given_variants", "name_tokens", "name_unplaced", "sex", "dob", "dob_text", "dod", "place",
    "national_id", "postcode", "postcode_district", "occupation",
)
_BOOL = ("age_heaped", "dob_heaped", "id_valid")
#: The standardised name keys; a list with none of them on any record has no usable name.
_NAME_KEYS = ("given_key", "father_key", "grandfather_key", "family_key", "name_key")


def standardiser_name() -> str:
    """The standardiser recorded in a run's provenance."""
    return "undercount.names"


def standardise_lists(
    frames: Sequence[pd.DataFrame], specs: Sequence[ListSource], *,
    stats: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Standardise every list and stack them, in list order, with a global ``uid``.

    ``result.attrs["coerced"]`` holds, per list and column, the count and first examples
    ``[row, value]`` of the values set to missing under ``on_bad_value = "coerce"``.

    Covariates keep their source column names; a covariate that collides with a standardised
    column is stored as ``cov_<name>``.

    ``stats``, when given, receives ``worker_cpu``: the CPU seconds of the worker process
    when some lists were standardised on one (not in this process's CPU time).

    Each list's columns get their dtypes (:func:`fix_dtypes`) where the list is
    standardised: every step of it is value by value and the stacked columns keep the
    dtypes, so the stack is what fixing it whole gives, with the work split like the lists.
    """
    tasks = list(zip(frames, specs, strict=True))
    there = _worker_lists([len(f) for f in frames])
    worker_cpu = None
    if not there:
        parts = [_fixed(_standardise_checked(frame, spec)) for frame, spec in tasks]
    else:
        parts, worker_cpu = _standardise_on_worker(tasks, there)
    coerced: dict[str, dict] = {
        spec.name: std.attrs["coerced"] for std, spec in zip(parts, specs, strict=True)
        if std.attrs.get("coerced")}
    out = pd.concat(parts, ignore_index=True, sort=False)
    out.insert(0, "uid", np.arange(len(out), dtype=np.int64))
    # Values made missing by on_bad_value = "coerce": {list: {column: {count, examples}}}.
    out.attrs = {"coerced": coerced}
    if worker_cpu is not None and stats is not None:
        stats["worker_cpu"] = worker_cpu
    return out


def _standardise_on_worker(tasks: list, there: tuple[int, ...]) -> tuple[list, float]:
    """The parts, the lists ``there`` standardised on one loky worker while this process
    standardises the others, with the warnings and the first error in list order as the
    serial loop gives them; and the worker's CPU seconds."""
    from joblib.executor import get_memmapping_executor

    # This process's share needs no sending back, and one worker starts once, not two.
    # joblib's own handle on loky's reusable executor, not loky's: the executor is one per
    # process, and one made by loky directly lacks what joblib's Parallel (the bootstrap,
    # the battery) expects of it when it reuses it afterwards. max_nbytes=None: the lists
    # are pickled, not memory-mapped through a temporary folder.
    future = get_memmapping_executor(1, max_nbytes=None).submit(
        _standardise_packed, [tasks[i] for i in there])
    results = {i: _standardise_task(tasks[i]) for i in range(len(tasks)) if i not in there}
    sent = future.result()
    for i, (packed, error, caught, cpu) in zip(there, sent, strict=True):
        results[i] = (_unpack(packed) if packed is not None else None, error, caught, cpu)
    parts = []
    for i in range(len(tasks)):
        std, error, caught, _ = results[i]
        for category, message in caught:
            warnings.warn(message, category, stacklevel=3)
        if error is not None:
            raise error
        parts.append(std)
    return parts, sum(r[3] for r in sent)


def _fixed(std: pd.DataFrame) -> pd.DataFrame:
    """:func:`fix_dtypes` of one standardised list, its attrs kept."""
    attrs = dict(std.attrs)
    std = fix_dtypes(std)
    std.attrs = attrs
    return std


def _standardise_checked(frame: pd.DataFrame, spec: ListSource) -> pd.DataFrame:
    """One list standardised, checked for names, with its covariates."""
    check_names_present(frame, spec)
    std = standardise_one(frame, spec)
    if not std[[c for c in _NAME_KEYS if c in std.columns]].notna().any().any():
        raise InputError(
            f"{spec.file}: list {spec.name!r}: no record has a name that could be read "
            f"from {_mapped_names(spec)} (every name key is empty, e.g. "
            f"{_examples(frame, spec)}); linkage blocks and compares on names: check the "
            "column mapping in [lists.columns]")
    if spec.covariates:
        coerced = std.attrs.get("coerced")
        cov = frame[[spec.id_column, *spec.covariates]].copy()
        cov[spec.id_column] = cov[spec.id_column].astype(str)
        cov.columns = ["record_id", *(covariate_column(c) for c in spec.covariates)]
        cov = cov.loc[:, ~cov.columns.duplicated()]
        std = std.drop(columns=[c for c in cov.columns[1:] if c in std.columns])
        std = std.merge(cov, on="record_id", how="left", validate="one_to_one")
        if coerced:
            std.attrs["coerced"] = coerced
    return std


#: What starting the worker costs, in records standardised meanwhile (the standardiser
#: takes about 10 us a record; a worker about 2 s to start,
#: :data:`undercount.core.parallel.WORKER_START_S`). Lists go to a worker only when that
#: ends the stage sooner by more than this.
WORKER_RECORDS = 200_000


def _worker_lists(sizes: Sequence[int]) -> tuple[int, ...]:
    """The lists (indices, in order) to standardise on the worker: the split of the lists
    between this process and one worker that ends soonest, counting the worker's start as
    :data:`WORKER_RECORDS` more records; none when no split beats one process.

    At a million records (lists of 463,605, 284,591 and 274,162) the worker takes the
    largest list and this process the other two: 8.9 CPU seconds here and 7.1 on the worker,
    where a list per worker with every part pickled back took 5.0 here (unpickling, fixing
    dtypes) and 30.1 on the workers (75084fa, back to back on a loaded 2-core machine).
    """
    from itertools import combinations

    from undercount.core.parallel import available_cores

    n, total = len(sizes), sum(sizes)
    if n < 2 or available_cores() < 2:
        return ()
    best, chosen = total, ()
    # Every split up to a dozen lists (4,095 of them); beyond, the largest lists first.
    subsets = (
        (c for k in range(1, n) for c in combinations(range(n), k)) if n <= 12
        else (tuple(sorted(range(n), key=lambda i: -sizes[i])[:k]) for k in range(1, n))
    )
    for subset in subsets:
        there = sum(sizes[i] for i in subset)
        cost = max(total - there, WORKER_RECORDS + there)
        if cost < best:
            best, chosen = cost, tuple(sorted(subset))
    return chosen


def _on_workers(frames: Sequence[pd.DataFrame]) -> bool:
    """Whether some lists are standardised on a worker (:func:`_worker_lists`)."""
    return bool(_worker_lists([len(f) for f in frames]))


def _standardise_task(task: tuple[pd.DataFrame, ListSource]) -> tuple[Any, Any, list, float]:
    """:func:`_standardise_checked` and :func:`fix_dtypes`, with the warnings it raised
    (raised again by the caller, in list order, as a serial loop raises them): the part or
    None, the error or None, the warnings, and the CPU seconds it took."""
    import time

    cpu = time.process_time()
    frame, spec = task
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            std, error = _fixed(_standardise_checked(frame, spec)), None
        except Exception as exc:  # re-raised by the caller, in list order
            std, error = None, exc
    caught_out = [(w.category, str(w.message)) for w in caught]
    return std, error, caught_out, time.process_time() - cpu


def _standardise_packed(tasks: list) -> list[tuple[Any, Any, list, float]]:
    """:func:`_standardise_task` of each list on the worker, each part packed to be sent
    back (:func:`_pack`)."""
    import time

    out = []
    for task in tasks:
        std, error, caught, cpu = _standardise_task(task)
        start = time.process_time()
        packed = _pack(std) if std is not None else None
        out.append((packed, error, caught, cpu + time.process_time() - start))
    return out


def _pack(std: pd.DataFrame) -> tuple:
    """A standardised part as its text columns' codes and distinct values (None is code -1;
    :func:`fix_dtypes` leaves no other missing value in them) and its other columns.

    Pickling a part of 463,605 records column by column cost 1.5 s on the worker and 0.6 s
    here; most text columns hold a few thousand distinct values, sent once each.
    """
    text = {}
    for col in _STRING:
        codes, uniq = pd.factorize(std[col].to_numpy(dtype=object), use_na_sentinel=True)
        text[col] = (codes.astype(np.int32), np.asarray(uniq, dtype=object))
    rest = std.drop(columns=list(_STRING)).reset_index(drop=True)
    return list(std.columns), text, rest, dict(std.attrs)


def _unpack(packed: tuple) -> pd.DataFrame:
    """The part :func:`_pack` packed."""
    columns, text, rest, attrs = packed
    data = {}
    for col in columns:
        if col in text:
            codes, uniq = text[col]
            table = np.empty(len(uniq) + 1, dtype=object)
            table[:-1] = uniq
            table[-1] = None
            data[col] = pd.Series(table[codes], dtype=object)
        else:
            data[col] = rest[col]
    out = pd.DataFrame(data, columns=columns)
    out.attrs = attrs
    return out


def _mapped_names(spec: ListSource) -> str:
    return ", ".join(f"{r} = {c!r}" for r, c in spec.columns.items() if r in NAME_ROLES)


def _examples(frame: pd.DataFrame, spec: ListSource) -> str:
    cols = [c for r, c in spec.columns.items() if r in NAME_ROLES and c in frame.columns]
    values = pd.unique(frame[cols].stack().dropna().astype(str)) if cols else []
    return ", ".join(repr(v) for v in list(values)[:3]) or "no values"


def check_names_present(frame: pd.DataFrame, spec: ListSource) -> None:
    """Raise :class:`InputError` when every mapped name column of a list is empty.

    Empty means missing or blank on every row. The message names the list, its file and the
    mapped columns (see the module docstring for why this is an error).
    """
    cols = {r: c for r, c in spec.columns.items() if r in NAME_ROLES and c in frame.columns}
    for col in cols.values():
        s = frame[col]
        if s.notna().any() and s.dropna().astype(str).str.strip().ne("").any():
            return
    if not cols:
        return  # the project reader requires a name role; missing columns are its error
    raise InputError(
        f"{spec.file}: list {spec.name!r}: every mapped name column is empty "
        f"({_mapped_names(spec)}: {len(frame):,} rows, no names); linkage blocks and compares "
        "on names, so this list cannot be linked: check the column mapping in "
        "[lists.columns] or the file")


def covariate_column(column: str) -> str:
    """The stored name of a covariate column: ``cov_<name>`` when it collides with a
    standardised column."""
    return f"cov_{column}" if column in STD_COLUMNS or column == "uid" else column


def standardise_one(frame: pd.DataFrame, spec: ListSource) -> pd.DataFrame:
    std = standardise(
        frame,
        dict(spec.columns),
        list_name=spec.name,
        id_column=spec.id_column,
        source=str(spec.file),
        errors=spec.on_bad_value,
        dayfirst=None if spec.date_order is None else spec.date_order == "day-first",
    ).copy()
    for col in STD_COLUMNS:
        if col not in std.columns:
            std[col] = None
    std["list"] = spec.name
    std["record_id"] = std["record_id"].astype(str)
    return std


def _missing(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


def _string(v: object) -> str | None:
    return None if _missing(v) or v == "" else str(v)


def _strings(values: np.ndarray) -> np.ndarray:
    """:func:`_string` of every value (an object array): a million-record column of text
    without a Python call per value, which cost about 5 s over the 26 text columns."""
    out = np.full(len(values), None, dtype=object)
    null = pd.isna(values)
    # What pd.isna calls missing is not always what _string does (NaT is "NaT"): every
    # missing value but None by _string.
    odd = np.flatnonzero(null)
    odd = odd[~np.equal(values[odd], None)]
    out[odd] = [_string(v) for v in values[odd]]
    present = values[~null]
    # str(v) is v for a str; a subclass (numpy.str_) or any other value goes through it.
    if infer_dtype(present, skipna=False) == "string" and set(map(type, present)) <= {str}:
        out[~null] = np.where(present == "", None, present)
    else:
        out[~null] = [_string(v) for v in present]
    return out


def fix_dtypes(out: pd.DataFrame) -> pd.DataFrame:
    """One dtype per standardised column (object strings with None, nullable booleans,
    float age, Int64 birth year), so DuckDB, Spark and a re-read parquet agree."""
    for col in _STRING:
        # Missing is None whatever marks it: a round trip through the store (pandas >= 3
        # reads VARCHAR as the ``str`` dtype) brings NaN back, and ``str(nan)`` is "nan",
        # a value that matches every other missing value exactly in linkage.
        out[col] = pd.Series(_strings(out[col].to_numpy(object)), index=out.index, dtype=object)
    for col in _BOOL:
        if out[col].dtype == bool:  # no missing value: the values as they are
            out[col] = out[col].astype("boolean")
            continue
        if infer_dtype(out[col], skipna=True) in ("boolean", "empty"):
            # Booleans and missing values only (ids_valid's True/False/None): what the map
            # below gives, without a Python call per record.
            out[col] = out[col].astype("boolean")
            continue
        out[col] = out[col].map(lambda v: None if v is None or v is pd.NA or v != v else bool(v))
        out[col] = out[col].astype("boolean")
    out["age"] = pd.to_numeric(out["age"], errors="coerce").astype("float64")
    out["birth_year"] = pd.to_numeric(out["birth_year"], errors="coerce").astype("Int64")
    out["row"] = pd.to_numeric(out["row"], errors="coerce").astype("int64")
    return out
