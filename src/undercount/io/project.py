"""Project configuration: one TOML file names the lists, their columns and the linkage options.

A project file looks like::

    [project]
    name = "simulated"
    seed = 42
    output = "linked"            # output folder, relative to this file

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

    [strata]
    columns = ["sex"]

:func:`load_project` reads and validates the whole file before any work starts: unknown
tables or keys, wrong types, missing input files and columns that are not in the input files
all raise one :class:`~undercount.errors.ConfigError` (or :class:`~undercount.errors.InputError`
for problems with the input files themselves) naming the file, the key and what is wrong.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from undercount.errors import ConfigError, InputError

__all__ = [
    "NAME_ROLES",
    "ROLES",
    "LinkConfig",
    "ListSource",
    "ProjectConfig",
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
    """

    name: str
    file: Path
    format: str
    id_column: str
    columns: dict[str, str]
    covariates: tuple[str, ...] = ()
    sheet: str | int | None = None
    on_bad_value: str = "raise"

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
class ProjectConfig:
    """A validated project.

    Attributes
    ----------
    name : str
    seed : int
        Seed of every random step (u sampling).
    output : Path
        Absolute output folder.
    lists : tuple of ListSource
        In file order; ties in covariate conflicts go to the earliest list.
    link : LinkConfig
    strata : tuple of str
        Stratum columns for estimation (covariates or standardised fields such as ``sex``).
    path : Path or None
        The TOML file (None when built in memory).
    """

    name: str
    seed: int
    output: Path
    lists: tuple[ListSource, ...]
    link: LinkConfig = field(default_factory=LinkConfig)
    strata: tuple[str, ...] = ()
    path: Path | None = None

    @property
    def list_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.lists)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": {"name": self.name, "seed": self.seed, "output": str(self.output)},
            "lists": [
                {
                    "name": s.name,
                    "file": str(s.file),
                    "format": s.format,
                    "id_column": s.id_column,
                    "columns": dict(s.columns),
                    "covariates": list(s.covariates),
                    "on_bad_value": s.on_bad_value,
                }
                for s in self.lists
            ],
            "link": self.link.to_dict(),
            "strata": {"columns": list(self.strata)},
        }


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


def _unknown_keys(table: Mapping[str, Any], allowed: Sequence[str], where: str, p: _Problems):
    for key in table:
        if key not in allowed:
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
        ["name", "file", "format", "id_column", "columns", "covariates", "sheet", "on_bad_value"],
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
    )


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


def load_project(path: str | Path, *, check_inputs: bool = True) -> ProjectConfig:
    """Read and validate a project TOML file.

    Parameters
    ----------
    path : path
        The project file. Relative paths inside it are relative to its folder.
    check_inputs : bool
        Also open every input file's header and check the mapped columns exist and the id
        column has no repeats or blanks (reads the files; nothing is written).

    Raises
    ------
    ConfigError
        Unknown tables/keys/roles/options, wrong types, missing input files, a list name used
        twice, an output folder that is one of the inputs.
    InputError
        An input file that cannot be read, lacks a mapped column, or has repeated or blank
        record ids.
    """
    path = Path(path)
    doc, source, base = read_toml(path)
    p = _Problems(source)
    _unknown_keys(doc, ["project", "lists", "link", "strata"], "top level", p)

    project = doc.get("project", {})
    if not isinstance(project, dict):
        p.add("[project] must be a table")
        project = {}
    _unknown_keys(project, ["name", "seed", "output"], "[project]", p)
    name = project.get("name", path.stem)
    if not isinstance(name, str):
        p.add(f"[project] name = {name!r}: expected a string")
        name = path.stem
    seed = _number(project, "seed", 0, p, lo=0, hi=2**63 - 1, integer=True, where="[project]")
    output = project.get("output", "linked")
    if not isinstance(output, str) or not output:
        p.add(f"[project] output = {output!r}: expected a folder path")
        output = "linked"
    output_path = (base / output).resolve()

    raw_lists = doc.get("lists")
    specs: list[ListSource] = []
    if not isinstance(raw_lists, list) or not raw_lists:
        p.add("no [[lists]] given; a project needs at least one list")
    else:
        for i, table in enumerate(raw_lists):
            spec = _parse_list(i, table, base, p)
            if spec is not None:
                specs.append(spec)
        names = [s.name for s in specs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            p.add(f"list name(s) used more than once: {dupes}")
        for s in specs:
            if output_path == s.file or output_path in s.file.parents:
                p.add(f"[project] output {output!r} contains input file {s.file}; choose another")

    link = _parse_link(doc.get("link"), p)

    strata_t = doc.get("strata", {})
    strata: tuple[str, ...] = ()
    if not isinstance(strata_t, dict):
        p.add("[strata] must be a table with columns = [...]")
    else:
        _unknown_keys(strata_t, ["columns"], "[strata]", p)
        cols = strata_t.get("columns", [])
        if isinstance(cols, str):
            cols = [cols]
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            p.add(f"[strata] columns = {cols!r}: expected a list of column names")
        else:
            strata = tuple(cols)
            known = set(ROLES) | {"birth_year"} | {c for s in specs for c in s.covariates}
            bad = [c for c in strata if c not in known]
            if bad:
                p.add(
                    f"[strata] columns {bad} are neither a role (sex, age, place, ...) nor a "
                    "covariate of any list"
                )
    p.raise_if_any(ConfigError)

    config = ProjectConfig(
        name=name,
        seed=int(seed),
        output=output_path,
        lists=tuple(specs),
        link=link,
        strata=strata,
        path=path.resolve(),
    )
    if check_inputs:
        check_input_columns(config)
    return config


# ---------------------------------------------------------------------------------- inputs
def _read_header(spec: ListSource) -> list[str]:
    import pandas as pd

    try:
        if spec.format == "csv":
            header = pd.read_csv(spec.file, nrows=0, dtype=str, skipinitialspace=True)
            return [str(c).strip() for c in header.columns]
        if spec.format == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(spec.file).names)
        frame = pd.read_excel(spec.file, sheet_name=spec.sheet or 0, nrows=0)
        return [str(c) for c in frame.columns]
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
    if problems:
        raise InputError(f"{config.path}: input columns missing", problems)


def read_list(spec: ListSource):
    """Read one list's needed columns as strings; check its record ids.

    Returns a DataFrame with the source columns (strings, missing as None), in file order.

    Raises
    ------
    InputError
        Unreadable file, missing columns, blank or repeated record ids (rows numbered as in a
        spreadsheet: header row 1, first record row 2).
    """
    import pandas as pd

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
