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
    [link.spark]                 # only with backend = "spark" (see docs/scale.md)
    master = "spark://host:7077" # default "local[*]"
    conf = { "spark.executor.memory" = "4g" }   # passed through to the Spark session

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
                                 # with the bootstrap (1,000, top 10, percentile)
    seed = 1                     # default: [project] seed
    sensitivity = true           # also fit every family (method = "all") for the report
    replicates = 200             # joint bootstrap replicates for a stratified total
    headline = "stratified"      # or "overall", "linkage": which total heads the report
    linkage_draws = 50           # also average over 50 plausible linkages drawn from the
                                 # scored pairs (calibrated on review labels); default 0: off
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

The file is read into the typed objects of :mod:`undercount.io.project_types`
(:class:`~undercount.io.project_types.ProjectConfig` and one class per table); the input
lists are read by :mod:`undercount.io.lists`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from undercount.core.choices import Method, choices
from undercount.errors import ConfigError, InputError
from undercount.io.lists import check_input_columns
from undercount.io.project_types import (
    NAME_ROLES,
    ROLES,
    CaptureHistoriesSpec,
    EstimateSpec,
    LinkConfig,
    ListSource,
    ProjectConfig,
    ReportSpec,
    SparkConfig,
    StrataSpec,
)
from undercount.io.readers import check_encoding

__all__ = ["ESTIMATE_OPTIONS", "EstimateCheck", "load_project", "read_toml"]

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
    "postcode",
    "postcode_district",
    "occupation",
)



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


def _parse_spark(table: Any, p: _Problems) -> SparkConfig:
    if table is None:
        return SparkConfig()
    if not isinstance(table, dict):
        p.add("[link.spark] must be a table")
        return SparkConfig()
    _unknown_keys(table, ["master", "conf"], "[link.spark]", p)
    master = table.get("master", "local[*]")
    if not isinstance(master, str) or not master.strip():
        p.add(f"[link.spark] master = {master!r}: expected a Spark master URL such as "
              "\"local[*]\" or \"spark://host:7077\"")
        master = "local[*]"
    conf = table.get("conf", {})
    pairs: list[tuple[str, str]] = []
    if not isinstance(conf, dict):
        p.add(f"[link.spark] conf = {conf!r}: expected a table of Spark settings, e.g. "
              "{ \"spark.executor.memory\" = \"4g\" }")
    else:
        for key, value in conf.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            if not isinstance(value, str | int | float):
                p.add(f"[link.spark] conf.{key} = {value!r}: expected a string or number")
                continue
            pairs.append((str(key), str(value)))
    return SparkConfig(master=master.strip(), conf=tuple(pairs))


def _parse_link(table: Any, p: _Problems) -> LinkConfig:
    if table is None:
        return LinkConfig()
    if not isinstance(table, dict):
        p.add("[link] must be a table")
        return LinkConfig()
    allowed = [
        "backend", "threshold", "blocking_rules", "em_blocking_rules", "max_pairs",
        "em_max_iterations", "em_convergence", "prior", "prior_recall", "threads",
        "memory_limit", "spark",
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
        spark=_parse_spark(table.get("spark"), p),
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
         "encoding", "date_order"],
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
    encoding, date_order = _text_options(table, where, p)
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
        date_order=date_order,
    )


def _text_options(table: dict, where: str, p: _Problems) -> tuple[str | None, str | None]:
    """A list's ``encoding`` and ``date_order`` (issue 16), checked."""
    encoding = table.get("encoding")
    if encoding is not None:
        try:
            check_encoding(encoding if isinstance(encoding, str) else repr(encoding))
        except ConfigError as exc:
            p.add(f"{where}: {exc}")
    date_order = table.get("date_order")
    if date_order not in (None, "day-first", "month-first"):
        p.add(f"{where}: date_order = {date_order!r}: must be \"day-first\" (03/11/2023 is "
              "3 November) or \"month-first\" (11 March)")
    return encoding, date_order


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
               "linkage_draws", "reported", "reported_label")
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
    draws = t.get("linkage_draws", 0)
    if not isinstance(draws, int) or isinstance(draws, bool) or draws < 0 or draws == 1:
        p.add(f"{where} linkage_draws = {draws!r}: expected 0 (off) or an integer of at "
              "least 2 (e.g. 50)")
        draws = 0
    # Asking for linkage draws asks for them in the headline, unless another is chosen.
    headline = _text(t, "headline", "linkage" if draws else "stratified", where, p)
    if headline not in ("stratified", "overall", "linkage"):
        p.add(f"{where} headline = {headline!r}: must be \"stratified\", \"overall\" or "
              "\"linkage\"")
    elif headline == "linkage" and not draws:
        p.add(f"{where} headline = \"linkage\" needs linkage_draws (e.g. 50)")
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
        linkage_draws=int(draws),
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
    if ch is not None and estimate.linkage_draws:
        p.add("[estimate] linkage_draws: averaging over linkages needs [[lists]] to link; "
              "[capture_histories] are already linked")
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

