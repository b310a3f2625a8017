"""The project file: one TOML file, read and checked by one reader, :func:`load_project`.

A project names its input, as lists to link (``[[lists]]``, ``[link]``) or as capture
histories already linked (``[capture_histories]``), and what to do with it (``[strata]``,
``[estimate]``, ``[report]``). ``undercount link`` reads its lists and linkage options;
``undercount run`` (:class:`undercount.Project`) every table. The keys are the CLI's option
names (``chains``, ``iterations``, ``burn_in``, ``imputations``, ...)::

    [project]
    name = "simulated"
    seed = 42
    output = "linked"            # output folder, relative to this file (default "output")

    [[lists]]
    name = "hospital"
    file = "lists/hospital.csv"  # relative to this file
    format = "csv"               # csv | parquet | excel (default: from the extension)
    id_column = "record_id"
    [lists.columns]              # role = source column
    name_ar = "name"
    sex = "sex"
    covariates = ["governorate"] # optional extra columns kept (also allowed under [[lists]])

    [link]
    backend = "duckdb"           # or "spark"
    threshold = 0.9

    [capture_histories]          # instead of [[lists]]: one row per person, 0/1 list columns
    file = "records.csv"
    lists = ["hospital", "survey", "social_media"]
    strata = ["sex", "age"]      # covariate columns kept
    id_column = "record"         # optional; never printed in a redacted report
    identifying = ["name"]       # optional: further columns holding names or IDs

    [strata]
    columns = ["age_group", "sex"]
    missing = "impute"           # or "drop" (leave them out), or "error"
    imputations = 20
    [strata.bins.age_group]      # derived stratum columns
    column = "age"
    edges = [0, 15, 30, 45, 60]

    [estimate]
    method = "loglinear"         # or heterogeneity, chapman, lcm, dga, all
    select = "aic"               # options of `undercount estimate`, with its names and
                                 # defaults: log-linear with no select/model/interval is BIC
                                 # with the bootstrap (1,000, top 10, BCa)
    seed = 1                     # default: [project] seed
    sensitivity = true           # also fit every family (method = "all") for the report
    replicates = 200             # joint bootstrap replicates for a stratified total
    headline = "stratified"      # or "overall": which total heads the report
    reported = 37877
    reported_label = "the Ministry of Health's reported count"

    [report]
    title = "..."
    subject = "deaths"
    redact = false
    pdf = true

:func:`load_project` reads and validates the whole file before any work starts: unknown
tables or keys, wrong types, unknown options, missing input files and columns that are not
in the input files all raise one :class:`~undercount.errors.ConfigError` (or
:class:`~undercount.errors.InputError` for problems with the input files themselves) naming
the file, the key and what is wrong, every problem at once.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from undercount.core.choices import Method, choices
from undercount.errors import ConfigError, InputError
from undercount.io.readers import read_frame

__all__ = [
    "NAME_ROLES",
    "ROLES",
    "CaptureHistoriesSpec",
    "EstimateSpec",
    "LinkConfig",
    "ListSource",
    "ProjectConfig",
    "ReportSpec",
    "StrataSpec",
    "check_input_columns",
    "load_project",
    "read_list",
]

#: Name roles a list may map (whole names or parts, Arabic or Latin script).
NAME_ROLES: tuple[str, ...] = (
    "name_ar",
    "name_lat",
    "given_ar",
    "father_ar",
    "grandfather_ar",
    "family_ar",
    "given_lat",
    "father_lat",
    "grandfather_lat",
    "family_lat",
)
#: Every role a list's ``[lists.columns]`` table may use.
ROLES: tuple[str, ...] = (*NAME_ROLES, "sex", "age", "dob", "dod", "place", "national_id")

_FORMATS = {"csv": "csv", "parquet": "parquet", "excel": "excel"}
_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xls": "excel",
}
_BACKENDS = ("duckdb", "spark")

#: Columns of the standardised records that blocking rules may use.
BLOCKING_COLUMNS: tuple[str, ...] = (
    "given",
    "father",
    "grandfather",
    "family",
    "given_key",
    "father_key",
    "grandfather_key",
    "family_key",
    "name_key",
    "sex",
    "dob",
    "birth_year",
    "dod",
    "place",
    "national_id",
)


@dataclass(frozen=True)
class ListSource:
    """One input list.

    Attributes
    ----------
    name : str
        The list's name; becomes its 0/1 column in the capture histories.
    file : Path
        Absolute path of the input file (opened read-only).
    format : {"csv", "parquet", "excel"}
    id_column : str
        Column holding the list's own record identifier (unique within the list).
    columns : dict
        ``role -> source column`` for the roles in :data:`ROLES`.
    covariates : tuple of str
        Extra source columns carried through to the capture histories.
    sheet : str or int or None
        Excel sheet (default: the first).
    on_bad_value : {"raise", "coerce"}
        What to do with an unparseable value (a date like ``19399222``, an age ``"twelve"``,
        an unknown sex code): ``"raise"`` (default) stops with an error naming every bad
        cell; ``"coerce"`` treats them as missing and warns.
    encoding : str or None
        Text encoding of a CSV file (``"cp1256"``, ``"latin-1"``); None: UTF-8 (with or
        without a byte-order mark).
    """

    name: str
    file: Path
    format: str
    id_column: str
    columns: dict[str, str]
    covariates: tuple[str, ...] = ()
    sheet: str | int | None = None
    on_bad_value: str = "raise"
    encoding: str | None = None

    @property
    def source_columns(self) -> list[str]:
        """Every source column the list needs, id first, without repeats."""
        out = [self.id_column]
        for col in [*self.columns.values(), *self.covariates]:
            if col not in out:
                out.append(col)
        return out


@dataclass(frozen=True)
class LinkConfig:
    """Options of the ``[link]`` table.

    Attributes
    ----------
    backend : {"duckdb", "spark"}
        SQL engine Splink runs on. Spark needs ``pip install undercount[spark]`` and Java.
    threshold : float
        Match probability at or above which a pair may join two records into one cluster.
    blocking_rules : tuple of tuple of str, or None
        Each rule is a set of standardised columns that must all be equal (and non-missing)
        for a pair to be compared. None: the default rules for the columns the lists have.
    em_blocking_rules : tuple of tuple of str, or None
        Blocking rules of the EM training sessions. None: defaults.
    max_pairs : float or None
        Record pairs sampled at random to estimate the u probabilities. None (default):
        ``max(2e6, min(5e7, 20 × records))``, so rare levels (an exact national ID, u ~ 1e-6)
        are still seen on large lists.
    em_max_iterations, em_convergence
        EM stopping rules.
    prior : float or None
        Probability that two random records match. None: estimated from deterministic rules
        with an assumed recall ``prior_recall``.
    prior_recall : float
        Assumed recall of the deterministic rules used to estimate ``prior``.
    threads : int
        DuckDB threads (Spark: local cores).
    memory_limit : str
        DuckDB memory limit, e.g. ``"6GB"``.
    """

    backend: str = "duckdb"
    threshold: float = 0.9
    blocking_rules: tuple[tuple[str, ...], ...] | None = None
    em_blocking_rules: tuple[tuple[str, ...], ...] | None = None
    max_pairs: float | None = None
    em_max_iterations: int = 25
    em_convergence: float = 1e-4
    prior: float | None = None
    prior_recall: float = 0.7
    threads: int = 2
    memory_limit: str = "6GB"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("blocking_rules", "em_blocking_rules"):
            if out[key] is not None:
                out[key] = [list(r) for r in out[key]]
        return out


@dataclass(frozen=True)
class CaptureHistoriesSpec:
    """Already-linked, individual-level capture histories (one row per person)."""

    file: Path
    lists: tuple[str, ...]
    strata: tuple[str, ...] = ()
    id_column: str | None = None
    identifying: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        out = [*self.lists, *self.strata]
        for c in (self.id_column, *self.identifying):
            if c and c not in out:
                out.append(c)
        return out


@dataclass(frozen=True)
class StrataSpec:
    """Stratum columns, derived age/number bins, and what to do with missing values."""

    columns: tuple[str, ...] = ()
    bins: dict[str, tuple[str, tuple[float, ...]]] = field(default_factory=dict)
    missing: str = "impute"
    imputations: int = 20

    def sources(self) -> tuple[str, ...]:
        """Columns the strata are computed from (a binned stratum: the column it bins)."""
        out = [self.bins[c][0] if c in self.bins else c for c in self.columns]
        return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class EstimateSpec:
    """The ``[estimate]`` table: ``options`` are ``undercount estimate``'s, by its names."""

    method: str = "loglinear"
    options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    sensitivity: bool = True
    replicates: int = 200
    headline: str = "stratified"
    reported: float | None = None
    reported_label: str = "the reported figure"


@dataclass(frozen=True)
class ReportSpec:
    title: str = ""
    subtitle: str = ""
    subject: str = "people in total"
    redact: bool = False
    pdf: bool = True
    identifying: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectConfig:
    """A validated project file (see the module docstring), as :func:`load_project` reads it.

    Attributes
    ----------
    name : str
    seed : int
        Seed of every random step (u sampling; the estimate's unless ``[estimate] seed``).
    output : Path
        Absolute output folder.
    lists : tuple of ListSource
        Lists to link, in file order (ties in covariate conflicts go to the earliest list);
        empty when the project starts from ``capture_histories``.
    link : LinkConfig
    strata : StrataSpec
        Stratum columns for estimation (covariates or standardised fields such as ``sex``),
        derived bins, and what to do with missing values.
    capture_histories : CaptureHistoriesSpec or None
        Capture histories already linked, instead of ``lists``.
    estimate : EstimateSpec
    report : ReportSpec
    path : Path or None
        The TOML file (None when built in memory).
    """

    name: str
    seed: int
    output: Path
    lists: tuple[ListSource, ...] = ()
    link: LinkConfig = field(default_factory=LinkConfig)
    strata: StrataSpec = field(default_factory=StrataSpec)
    capture_histories: CaptureHistoriesSpec | None = None
    estimate: EstimateSpec = field(default_factory=EstimateSpec)
    report: ReportSpec = field(default_factory=ReportSpec)
    path: Path | None = None

    @property
    def linked(self) -> bool:
        """True when the lists must be linked (``[[lists]]``), False for capture histories."""
        return bool(self.lists)

    @property
    def list_names(self) -> tuple[str, ...]:
        if self.capture_histories is not None:
            return self.capture_histories.lists
        return tuple(spec.name for spec in self.lists)

    @property
    def store_path(self) -> Path:
        """The run's store (``undercount run``)."""
        return self.output / "project.duckdb"

    def identifying_columns(self) -> dict[str, list[str]]:
        """Per input, the columns that hold names or IDs (never shown when redacting)."""
        out: dict[str, list[str]] = {}
        for spec in self.lists:
            cols = [spec.id_column]
            cols += [c for r, c in spec.columns.items()
                     if r in NAME_ROLES or r in ("national_id", "dob")]
            cols += [c for c in self.report.identifying if c in spec.source_columns]
            out[spec.name] = list(dict.fromkeys(cols))
        if self.capture_histories is not None:
            ch = self.capture_histories
            cols = [c for c in (ch.id_column, *ch.identifying, *self.report.identifying) if c]
            out["capture_histories"] = list(dict.fromkeys(cols))
        return out

    def to_dict(self) -> dict[str, Any]:
        def plain(obj: Any) -> Any:
            if isinstance(obj, Path):
                return str(obj)
            if isinstance(obj, dict):
                return {k: plain(v) for k, v in obj.items()}
            if isinstance(obj, list | tuple):
                return [plain(v) for v in obj]
            return obj

        return plain({
            "project": {"name": self.name, "seed": self.seed, "output": self.output},
            "lists": [
                {
                    "name": s.name,
                    "file": s.file,
                    "format": s.format,
                    "id_column": s.id_column,
                    "columns": dict(s.columns),
                    "covariates": list(s.covariates),
                    "on_bad_value": s.on_bad_value,
                    **({"encoding": s.encoding} if s.encoding else {}),
                }
                for s in self.lists
            ],
            "link": self.link.to_dict(),
            "capture_histories": asdict(self.capture_histories)
            if self.capture_histories else None,
            "strata": asdict(self.strata),
            "estimate": asdict(self.estimate),
            "report": asdict(self.report),
        })


# ---------------------------------------------------------------------------------- loading
class _Problems:
    """Collects every configuration problem so the user sees them all at once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self, cls: type[ConfigError] | type[InputError] = ConfigError) -> None:
        if not self.items:
            return
        if len(self.items) == 1:
            raise cls(f"{self.source}: {self.items[0]}")
        text = f"{self.source}: {len(self.items)} problems\n" + "\n".join(
            f"  - {p}" for p in self.items
        )
        raise cls(text)


#: Names of the Python API before it took the CLI's names: a project file that uses one is
#: told the name to use, never read silently.
_RENAMED = {"n_chains": "chains", "n_iter": "iterations", "n_replicates": "replicates",
            "m": "imputations"}


def _unknown_keys(table: Mapping[str, Any], allowed: Sequence[str], where: str, p: _Problems):
    for key in table:
        if key in allowed:
            continue
        if _RENAMED.get(key) in allowed:
            p.add(f"{where} {key} is now called {_RENAMED[key]}; rename the key")
            continue
        p.add(f"unknown key {where}.{key}; allowed keys are {', '.join(allowed)}")


def _rules(value: Any, key: str, p: _Problems) -> tuple[tuple[str, ...], ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        p.add(
            f"[link] {key} must be a non-empty list of rules like "
            '[["given_key", "family_key"]]'
        )
        return None
    out = []
    for i, rule in enumerate(value):
        rule = [rule] if isinstance(rule, str) else rule
        if not isinstance(rule, list) or not rule or not all(isinstance(c, str) for c in rule):
            p.add(f"[link] {key}[{i}] must be a list of column names, got {rule!r}")
            continue
        bad = [c for c in rule if c not in BLOCKING_COLUMNS]
        if bad:
            p.add(
                f"[link] {key}[{i}]: unknown column(s) {bad}; blocking columns are "
                f"{', '.join(BLOCKING_COLUMNS)}"
            )
            continue
        out.append(tuple(rule))
    return tuple(out)


def _number(table, key, default, p, *, lo=None, hi=None, integer=False, where="[link]"):
    if key not in table:
        return default
    value = table[key]
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type:
        p.add(f"{where} {key} = {value!r}: expected {'an integer' if integer else 'a number'}")
        return default
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        p.add(f"{where} {key} = {value!r}: must be in [{lo}, {hi}]")
        return default
    return value


def _parse_link(table: Any, p: _Problems) -> LinkConfig:
    if table is None:
        return LinkConfig()
    if not isinstance(table, dict):
        p.add("[link] must be a table")
        return LinkConfig()
    allowed = [
        "backend", "threshold", "blocking_rules", "em_blocking_rules", "max_pairs",
        "em_max_iterations", "em_convergence", "prior", "prior_recall", "threads",
        "memory_limit",
    ]
    _unknown_keys(table, allowed, "[link]", p)
    backend = table.get("backend", "duckdb")
    if backend not in _BACKENDS:
        p.add(f"[link] backend = {backend!r}: must be one of {', '.join(_BACKENDS)}")
        backend = "duckdb"
    threshold = _number(table, "threshold", 0.9, p, lo=0.0, hi=1.0)
    if "threshold" in table and threshold in (0.0, 0):
        p.add("[link] threshold = 0 would link every compared pair; use a probability > 0")
    prior = table.get("prior")
    if prior is not None:
        prior = _number(table, "prior", None, p, lo=1e-12, hi=1.0)
    memory_limit = table.get("memory_limit", "6GB")
    if not isinstance(memory_limit, str) or not memory_limit.strip()[:1].isdigit():
        p.add(f"[link] memory_limit = {memory_limit!r}: expected a size like \"6GB\"")
        memory_limit = "6GB"
    return LinkConfig(
        backend=backend,
        threshold=float(threshold),
        blocking_rules=_rules(table.get("blocking_rules"), "blocking_rules", p),
        em_blocking_rules=_rules(table.get("em_blocking_rules"), "em_blocking_rules", p),
        max_pairs=(
            None if "max_pairs" not in table
            else float(_number(table, "max_pairs", 2e6, p, lo=1e3, hi=1e11))
        ),
        em_max_iterations=int(
            _number(table, "em_max_iterations", 25, p, lo=1, hi=10_000, integer=True)
        ),
        em_convergence=float(_number(table, "em_convergence", 1e-4, p, lo=1e-12, hi=1.0)),
        prior=None if prior is None else float(prior),
        prior_recall=float(_number(table, "prior_recall", 0.7, p, lo=0.01, hi=1.0)),
        threads=int(_number(table, "threads", 2, p, lo=1, hi=1024, integer=True)),
        memory_limit=memory_limit,
    )


def _parse_list(i: int, table: Any, base: Path, p: _Problems) -> ListSource | None:
    where = f"[[lists]] #{i + 1}"
    if not isinstance(table, dict):
        p.add(f"{where} must be a table")
        return None
    name = table.get("name")
    if isinstance(name, str) and name:
        where = f"[[lists]] {name!r}"
    _unknown_keys(
        table,
        ["name", "file", "format", "id_column", "columns", "covariates", "sheet", "on_bad_value",
         "encoding"],
        where,
        p,
    )
    ok = True
    if not isinstance(name, str) or not name.strip():
        p.add(f"{where}: 'name' is required (a non-empty string)")
        ok = False
    elif not name.replace("_", "").isalnum():
        p.add(
            f"{where}: name {name!r} must use only letters, digits and '_' (it becomes a "
            "column name)"
        )
        ok = False
    file = table.get("file")
    path = None
    if not isinstance(file, str) or not file:
        p.add(f"{where}: 'file' is required (a path relative to the project file)")
        ok = False
    else:
        path = (base / file).resolve()
        if not path.exists():
            p.add(f"{where}: file {file!r} not found (looked for {path})")
            ok = False
        elif not path.is_file():
            p.add(f"{where}: file {file!r} is not a file")
            ok = False
    fmt = table.get("format")
    if fmt is None and path is not None:
        fmt = _EXTENSIONS.get(path.suffix.lower())
        if fmt is None:
            p.add(
                f"{where}: cannot tell the format of {file!r} from its extension; set "
                "format = \"csv\" | \"parquet\" | \"excel\""
            )
            ok = False
    elif fmt is not None and fmt not in _FORMATS:
        p.add(f"{where}: format = {fmt!r}: must be one of csv, parquet, excel")
        ok = False
    id_column = table.get("id_column")
    if not isinstance(id_column, str) or not id_column:
        p.add(f"{where}: 'id_column' is required (the column of record identifiers)")
        ok = False
    columns = table.get("columns")
    roles: dict[str, str] = {}
    covariates: list[str] = []
    if not isinstance(columns, dict) or not columns:
        p.add(f"{where}: a [lists.columns] table mapping roles to source columns is required")
        ok = False
    else:
        for role, col in columns.items():
            if role == "covariates":
                covariates += _covariates(col, f"{where}.columns", p)
                continue
            if role not in ROLES:
                p.add(
                    f"{where}.columns: unknown role {role!r}; roles are {', '.join(ROLES)}, "
                    "covariates"
                )
                ok = False
                continue
            if not isinstance(col, str) or not col:
                p.add(f"{where}.columns.{role} must be a column name, got {col!r}")
                ok = False
                continue
            roles[role] = col
        if not any(r in roles for r in NAME_ROLES):
            p.add(
                f"{where}.columns: no name column; map at least one of {', '.join(NAME_ROLES)}"
            )
            ok = False
    if "covariates" in table:
        covariates += _covariates(table["covariates"], where, p)
    sheet = table.get("sheet")
    if sheet is not None and not isinstance(sheet, (str, int)):
        p.add(f"{where}: sheet must be a sheet name or 0-based index")
    on_bad = table.get("on_bad_value", "raise")
    if on_bad not in ("raise", "coerce"):
        p.add(f"{where}: on_bad_value = {on_bad!r}: must be \"raise\" or \"coerce\"")
        ok = False
    encoding = _encoding(table.get("encoding"), where, p)
    if not ok or path is None:
        return None
    return ListSource(
        name=name,
        file=path,
        format=fmt,
        id_column=id_column,
        columns=roles,
        covariates=tuple(dict.fromkeys(covariates)),
        sheet=sheet,
        on_bad_value=on_bad,
        encoding=encoding,
    )


def _encoding(value: Any, where: str, p: _Problems) -> str | None:
    """A ``[[lists]]`` ``encoding``: None, or a codec Python knows."""
    if value is None:
        return None
    import codecs

    try:
        if isinstance(value, str):
            return codecs.lookup(value).name
    except LookupError:
        pass
    p.add(f"{where}: encoding = {value!r} is not a known text encoding (e.g. \"utf-8\", "
          "\"cp1256\", \"latin-1\")")
    return None


def _covariates(value: Any, where: str, p: _Problems) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        p.add(f"{where}.covariates must be a list of column names, got {value!r}")
        return []
    return list(value)


def read_toml(path: Path) -> tuple[dict[str, Any], str, Path]:
    """A project file's parsed contents, its name for messages, and the folder that relative
    paths in it are resolved against. Raises ConfigError for a missing or invalid file."""
    source = str(path)
    if not path.is_file():
        raise ConfigError(f"{source}: project file not found")
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    return doc, source, path.resolve().parent


def _str_list(value: Any, where: str, p: _Problems) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        p.add(f"{where} = {value!r}: expected a list of column names")
        return ()
    return tuple(value)


def _bool(table: dict, key: str, default: bool, where: str, p: _Problems) -> bool:
    v = table.get(key, default)
    if not isinstance(v, bool):
        p.add(f"{where} {key} = {v!r}: expected true or false")
        return default
    return v


def _text(table: dict, key: str, default: str, where: str, p: _Problems) -> str:
    v = table.get(key, default)
    if not isinstance(v, str):
        p.add(f"{where} {key} = {v!r}: expected a string")
        return default
    return v


def _table(doc: dict, key: str, p: _Problems) -> dict:
    t = doc.get(key, {})
    if not isinstance(t, dict):
        p.add(f"[{key}] must be a table")
        return {}
    return t


def _parse_lists(raw: Any, base: Path, p: _Problems) -> tuple[ListSource, ...]:
    if not isinstance(raw, list) or not raw:
        p.add("[[lists]] must be a non-empty array of tables, one per list")
        return ()
    specs = [s for i, t in enumerate(raw) if (s := _parse_list(i, t, base, p)) is not None]
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        p.add(f"list name(s) used more than once: {dupes}")
    return tuple(specs)


def _parse_capture_histories(t: dict, base: Path, p: _Problems) -> CaptureHistoriesSpec | None:
    where = "[capture_histories]"
    _unknown_keys(t, ("file", "lists", "strata", "id_column", "identifying"), where, p)
    file = t.get("file")
    path = None
    if not isinstance(file, str) or not file:
        p.add(f"{where} file is required (a path relative to the project file)")
    else:
        path = (base / file).resolve()
        if not path.is_file():
            p.add(f"{where} file {file!r} not found (looked for {path})")
            path = None
    lists = _str_list(t.get("lists"), f"{where} lists", p) if "lists" in t else ()
    if "lists" not in t:
        p.add(f"{where} lists is required (the 0/1 list columns)")
    elif len(lists) < 2:
        p.add(f"{where} lists = {list(lists)}: at least 2 lists are needed")
    strata = _str_list(t.get("strata", []), f"{where} strata", p)
    id_column = t.get("id_column")
    if id_column is not None and not (isinstance(id_column, str) and id_column):
        p.add(f"{where} id_column = {id_column!r}: expected a column name")
        id_column = None
    identifying = _str_list(t.get("identifying", []), f"{where} identifying", p)
    if path is None:
        return None
    return CaptureHistoriesSpec(path, lists, strata, id_column, identifying)


def _parse_strata(t: Any, p: _Problems) -> StrataSpec:
    where = "[strata]"
    if not isinstance(t, dict):
        p.add("[strata] must be a table with columns = [...]")
        return StrataSpec()
    _unknown_keys(t, ("columns", "bins", "missing", "imputations"), where, p)
    columns = _str_list(t.get("columns", []), f"{where} columns", p)
    bins: dict[str, tuple[str, tuple[float, ...]]] = {}
    raw_bins = t.get("bins", {})
    if not isinstance(raw_bins, dict):
        p.add(f"{where} bins must be a table of [strata.bins.NAME] tables")
        raw_bins = {}
    for name, spec in raw_bins.items():
        w = f"[strata.bins.{name}]"
        if not isinstance(spec, dict):
            p.add(f"{w} must be a table with column and edges")
            continue
        _unknown_keys(spec, ("column", "edges"), w, p)
        col = spec.get("column")
        edges = spec.get("edges")
        if not isinstance(col, str) or not col:
            p.add(f"{w} column is required (the numeric column to bin)")
            continue
        if (not isinstance(edges, list) or len(edges) < 2
                or not all(isinstance(e, int | float) and not isinstance(e, bool)
                           for e in edges)
                or list(edges) != sorted(set(edges))):
            p.add(f"{w} edges = {edges!r}: expected at least 2 strictly increasing numbers")
            continue
        bins[name] = (col, tuple(float(e) for e in edges))
        if name not in columns:
            p.add(f"{w} defines {name!r}, which is not in [strata] columns {list(columns)}")
    missing = _text(t, "missing", "impute", where, p)
    if missing not in ("error", "drop", "impute"):
        p.add(f"{where} missing = {missing!r}: must be \"impute\", \"drop\" or \"error\"")
        missing = "impute"
    imputations = t.get("imputations", 20)
    if not isinstance(imputations, int) or isinstance(imputations, bool) or imputations < 2:
        p.add(f"{where} imputations = {imputations!r}: must be an integer of at least 2")
        imputations = 20
    return StrataSpec(columns, bins, missing, imputations)


#: ``undercount estimate`` options a project's ``[estimate]`` table may set, by the CLI's names.
ESTIMATE_OPTIONS = ("select", "model", "interval", "level", "max_order", "chains",
                    "iterations", "burn_in", "delta", "prior")


def _parse_estimate(
    t: dict, seed: int, p: _Problems, check: EstimateCheck | None
) -> EstimateSpec:
    where = "[estimate]"
    allowed = ("method", *ESTIMATE_OPTIONS, "seed", "sensitivity", "replicates", "headline",
               "reported", "reported_label")
    _unknown_keys(t, allowed, where, p)
    methods = choices(Method)
    method = _text(t, "method", "loglinear", where, p)
    if method not in methods:
        p.add(f"{where} method = {method!r}: must be one of {', '.join(methods)}")
        method = "loglinear"
    options = {k: t[k] for k in ESTIMATE_OPTIONS if k in t}
    problem = check(method, options) if check is not None else None
    if problem:
        # The estimate command speaks in CLI flags (--burn-in); the project file in keys.
        p.add(f"{where} " + re.sub(r"--([a-z][a-z-]*)",
                                   lambda m: m.group(1).replace("-", "_"), problem))
    est_seed = t.get("seed", seed)
    if not isinstance(est_seed, int) or isinstance(est_seed, bool) or est_seed < 0:
        p.add(f"{where} seed = {est_seed!r}: expected a non-negative integer")
        est_seed = seed
    replicates = t.get("replicates", 200)
    if not isinstance(replicates, int) or isinstance(replicates, bool) or replicates < 10:
        p.add(f"{where} replicates = {replicates!r}: expected an integer of at least 10")
        replicates = 200
    headline = _text(t, "headline", "stratified", where, p)
    if headline not in ("stratified", "overall"):
        p.add(f"{where} headline = {headline!r}: must be \"stratified\" or \"overall\"")
    reported = t.get("reported")
    if reported is not None and (isinstance(reported, bool)
                                 or not isinstance(reported, int | float) or reported <= 0):
        p.add(f"{where} reported = {reported!r}: expected a positive number")
        reported = None
    return EstimateSpec(
        method=method,
        options=options,
        seed=int(est_seed),
        sensitivity=_bool(t, "sensitivity", True, where, p),
        replicates=int(replicates),
        headline=headline,
        reported=None if reported is None else float(reported),
        reported_label=_text(t, "reported_label", "the reported figure", where, p),
    )


def _parse_report(t: dict, name: str, p: _Problems) -> ReportSpec:
    where = "[report]"
    _unknown_keys(t, tuple(f.name for f in fields(ReportSpec)), where, p)
    return ReportSpec(
        title=_text(t, "title", name, where, p),
        subtitle=_text(t, "subtitle", "", where, p),
        subject=_text(t, "subject", "people in total", where, p),
        redact=_bool(t, "redact", False, where, p),
        pdf=_bool(t, "pdf", True, where, p),
        identifying=_str_list(t.get("identifying", []), f"{where} identifying", p),
    )


_TOP = ("project", "lists", "link", "strata", "capture_histories", "estimate", "report")


#: Why the estimate command would refuse ``[estimate]``'s method and options, or None.
EstimateCheck = Callable[[str, dict[str, Any]], str | None]


def load_project(
    path: str | Path,
    *,
    check_inputs: bool = True,
    check_estimate: EstimateCheck | None = None,
) -> ProjectConfig:
    """Read and validate a project TOML file (see the module docstring).

    This is the one reader of project files: ``undercount link`` and ``undercount run``
    (:class:`undercount.Project`) both read through it.

    Parameters
    ----------
    path : path
        The project file. Relative paths inside it are relative to its folder.
    check_inputs : bool
        Also open every input file's header and check the mapped columns exist (reads the
        files; nothing is written).
    check_estimate : callable, optional
        Checks ``[estimate]``'s method and options by the estimate command's own rules
        (:func:`undercount.pipeline.registry.estimate_options_problem`, passed in by
        ``undercount run``: the rules live in the pipeline layer, above io). Without it only
        the keys and the method name are checked.

    Raises
    ------
    ConfigError
        Unknown tables/keys/roles/options, wrong types, missing input files, a list name used
        twice, an output folder that holds an input, both or neither of ``[[lists]]`` and
        ``[capture_histories]``.
    InputError
        An input file that cannot be read or lacks a mapped column.
    """
    path = Path(path)
    doc, source, base = read_toml(path)
    p = _Problems(source)
    _unknown_keys(doc, _TOP, "top level", p)

    project = _table(doc, "project", p)
    _unknown_keys(project, ["name", "seed", "output"], "[project]", p)
    name = _text(project, "name", path.stem, "[project]", p)
    seed = int(_number(project, "seed", 0, p, lo=0, hi=2**63 - 1, integer=True,
                       where="[project]"))
    output = project.get("output", "output")
    if not isinstance(output, str) or not output:
        p.add(f"[project] output = {output!r}: expected a folder path")
        output = "output"
    output_path = (base / output).resolve()

    has_lists = "lists" in doc
    has_ch = "capture_histories" in doc
    if has_lists == has_ch:
        p.add("give either [[lists]] (lists to link) or [capture_histories] (already linked), "
              "not " + ("both" if has_lists else "neither"))
    specs = _parse_lists(doc.get("lists"), base, p) if has_lists else ()
    if has_lists:
        link = _parse_link(doc.get("link"), p)
    else:
        link = LinkConfig()
        if "link" in doc:
            p.add("[link] applies only to [[lists]] (capture histories are already linked)")
    ch = None
    if has_ch and not has_lists:
        ch = _parse_capture_histories(_table(doc, "capture_histories", p), base, p)

    strata = _parse_strata(doc.get("strata", {}), p)
    if has_lists:
        known = set(ROLES) | {"birth_year"} | {c for s in specs for c in s.covariates}
        bad = [c for c in strata.sources() if c not in known]
        if bad:
            p.add(f"[strata] columns {bad} are neither a role (sex, age, place, ...) nor a "
                  "covariate of any list")

    estimate = _parse_estimate(_table(doc, "estimate", p), seed, p, check_estimate)
    report = _parse_report(_table(doc, "report", p), name, p)
    inputs = [ch.file] if ch else [s.file for s in specs]
    for f in inputs:
        if output_path == f or output_path in f.parents:
            p.add(f"[project] output {output!r} contains input file {f}; choose another folder")
    p.raise_if_any(ConfigError)

    config = ProjectConfig(
        name=name,
        seed=seed,
        output=output_path,
        lists=specs,
        link=link,
        strata=strata,
        capture_histories=ch,
        estimate=estimate,
        report=report,
        path=path.resolve(),
    )
    if check_inputs:
        check_input_columns(config)
    return config


# ---------------------------------------------------------------------------------- inputs
def _read_header(spec: ListSource) -> list[str]:
    try:
        if spec.format == "csv":
            header = pd.read_csv(spec.file, nrows=0, dtype=str, skipinitialspace=True,
                                 encoding=spec.encoding or "utf-8-sig")
            return [str(c).strip() for c in header.columns]
        if spec.format == "parquet":
            return list(pq.read_schema(spec.file).names)
        frame = pd.read_excel(spec.file, sheet_name=spec.sheet or 0, nrows=0)
        return [str(c) for c in frame.columns]
    except UnicodeDecodeError as exc:
        raise _encoding_error(spec, exc) from exc
    except Exception as exc:  # each reader raises its own types
        raise InputError(f"{spec.file}: could not be read as {spec.format}: {exc}") from exc


def _encoding_error(spec: ListSource, exc: UnicodeDecodeError) -> InputError:
    return InputError(
        f"{spec.file}: is not valid {spec.encoding or 'UTF-8'} text (byte {exc.start}: "
        f"{exc.reason}); set encoding = \"...\" in this list's [[lists]] table (for "
        "example \"cp1256\" for Windows Arabic, \"latin-1\")"
    )


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
                encoding=spec.encoding or "utf-8-sig",
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
        raise _encoding_error(spec, exc) from exc
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
