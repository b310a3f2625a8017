"""The run configuration: a project TOML file with the tables ``run`` needs.

The file shares its ``[project]``, ``[[lists]]`` and ``[link]`` tables with
:mod:`undercount.io.project` (the linkage's view, validated by its own parser) and adds:

.. code-block:: toml

    [capture_histories]        # lists already linked: one row per person, 0/1 list columns
    file = "records.csv"
    lists = ["hospital", "survey", "social_media"]
    strata = ["sex", "age"]    # covariate columns kept
    id_column = "record"       # optional; never printed in a redacted report
    identifying = ["name"]     # optional: further columns holding names or IDs

    [strata]
    columns = ["age_group", "sex"]
    missing = "impute"         # or "drop" (leave them out), or "error"; imputations = 20
    [strata.bins.age_group]    # derived stratum columns
    column = "age"
    edges = [0, 15, 30, 45, 60]

    [estimate]
    method = "loglinear"       # or heterogeneity, chapman, lcm, dga, ...
    select = "aic"             # any option of `undercount estimate`, with its defaults:
                               # log-linear with no select/model/interval/bootstrap is BIC
                               # with the bootstrap (1,000, top 10, BCa); bootstrap = 0 for
                               # the selected model's profile interval
    seed = 1                   # default: [project] seed
    sensitivity = true         # also fit every family (method = "all") for the report
    replicates = 200           # joint bootstrap replicates for a stratified total
    headline = "stratified"    # or "overall": which total heads the report
    reported = 37877
    reported_label = "the Ministry of Health's reported count"

    [report]
    title = "..."
    subject = "deaths"
    redact = false
    pdf = true

:func:`load_run_config` reads and checks everything (keys, types, options, files, columns)
before any work starts, and raises one :class:`~undercount.errors.ConfigError` or
:class:`~undercount.errors.InputError` naming the file, the key or column, and what is wrong.
"""

from __future__ import annotations

import csv
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from undercount.errors import ConfigError, InputError
from undercount.io import project as proj
from undercount.io.project import NAME_ROLES, check_input_columns, read_toml
from undercount.io.readers import read_frame
from undercount.pipeline.registry import METHODS, EstimateOptions, build_estimator

__all__ = [
    "CaptureHistoriesSpec",
    "EstimateSpec",
    "ReportSpec",
    "RunConfig",
    "StrataSpec",
    "load_run_config",
]

_TOP = ("project", "lists", "link", "strata", "capture_histories", "estimate", "report")
_ESTIMATE_OPTIONS = ("select", "model", "interval", "level", "max_order", "chains",
                     "iterations", "burn_in", "delta", "prior")


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

    def sources(self) -> list[str]:
        """Columns the strata are computed from."""
        out = []
        for c in self.columns:
            out.append(self.bins[c][0] if c in self.bins else c)
        return list(dict.fromkeys(out))


@dataclass(frozen=True)
class EstimateSpec:
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
class RunConfig:
    """A validated project for ``undercount run``.

    ``project`` is the linkage's :class:`~undercount.io.project.ProjectConfig` when the file
    has ``[[lists]]``; ``capture_histories`` is set when the lists are already linked.
    """

    name: str
    seed: int
    output: Path
    path: Path
    strata: StrataSpec
    estimate: EstimateSpec
    report: ReportSpec
    project: Any = None
    capture_histories: CaptureHistoriesSpec | None = None

    @property
    def store_path(self) -> Path:
        return self.output / "project.duckdb"

    @property
    def linked(self) -> bool:
        """True when the lists must be linked (``[[lists]]``), False for capture histories."""
        return self.project is not None

    @property
    def list_names(self) -> tuple[str, ...]:
        if self.project is not None:
            return tuple(self.project.list_names)
        assert self.capture_histories is not None
        return self.capture_histories.lists

    def identifying_columns(self) -> dict[str, list[str]]:
        """Per input, the columns that hold names or IDs (never shown when redacting)."""
        out: dict[str, list[str]] = {}
        if self.project is not None:
            for spec in self.project.lists:
                cols = [spec.id_column]
                cols += [c for r, c in spec.columns.items() if r in NAME_ROLES or
                         r in ("national_id", "dob")]
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
            "name": self.name,
            "seed": self.seed,
            "output": self.output,
            "project": self.project.to_dict() if self.project is not None else None,
            "capture_histories": asdict(self.capture_histories)
            if self.capture_histories else None,
            "strata": asdict(self.strata),
            "estimate": asdict(self.estimate),
            "report": asdict(self.report),
        })


# ------------------------------------------------------------------------------ parsing
class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, msg: str) -> None:
        self.items.append(msg)

    def raise_if_any(self, cls: type[Exception] = ConfigError) -> None:
        if not self.items:
            return
        if len(self.items) == 1:
            raise cls(f"{self.source}: {self.items[0]}")
        raise cls(f"{self.source}: {len(self.items)} problems\n"
                  + "\n".join(f"  - {p}" for p in self.items))


def _unknown(table: dict, allowed: tuple[str, ...] | list[str], where: str, p: _Problems) -> None:
    for key in table:
        if key not in allowed:
            p.add(f"unknown key {where}.{key}; allowed keys are {', '.join(allowed)}")


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


def _parse_capture_histories(t: dict, base: Path, p: _Problems) -> CaptureHistoriesSpec | None:
    where = "[capture_histories]"
    _unknown(t, ("file", "lists", "strata", "id_column", "identifying"), where, p)
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


def _parse_strata(t: dict, p: _Problems) -> StrataSpec:
    where = "[strata]"
    _unknown(t, ("columns", "bins", "missing", "imputations"), where, p)
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
        _unknown(spec, ("column", "edges"), w, p)
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


def _parse_estimate(t: dict, seed: int, p: _Problems) -> EstimateSpec:
    where = "[estimate]"
    allowed = ("method", *_ESTIMATE_OPTIONS, "seed", "sensitivity", "replicates", "headline",
               "reported", "reported_label")
    _unknown(t, allowed, where, p)
    method = _text(t, "method", "loglinear", where, p)
    if method not in METHODS:
        p.add(f"{where} method = {method!r}: must be one of {', '.join(METHODS)}")
        method = "loglinear"
    options = {k: t[k] for k in _ESTIMATE_OPTIONS if k in t}
    try:
        opts = EstimateOptions(method=method, **options)
        if method != "all":
            build_estimator(opts)
    except (ConfigError, TypeError) as exc:  # TypeError: a wrongly typed option
        # The registry speaks in CLI flags (--burn-in); the project file in keys (burn_in).
        text = re.sub(r"--([a-z][a-z-]*)", lambda m: m.group(1).replace("-", "_"), str(exc))
        p.add(f"{where} {text}")
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
    allowed = tuple(f.name for f in fields(ReportSpec))
    _unknown(t, allowed, where, p)
    return ReportSpec(
        title=_text(t, "title", name, where, p),
        subtitle=_text(t, "subtitle", "", where, p),
        subject=_text(t, "subject", "people in total", where, p),
        redact=_bool(t, "redact", False, where, p),
        pdf=_bool(t, "pdf", True, where, p),
        identifying=_str_list(t.get("identifying", []), f"{where} identifying", p),
    )


def _parse_lists_and_link(doc: dict, base: Path, name: str, seed: int, output: Path,
                          strata: StrataSpec, p: _Problems) -> Any:
    """The linkage's view of the file, parsed by :mod:`undercount.io.project`'s own rules."""
    inner = proj._Problems(p.source)
    specs = []
    raw = doc.get("lists")
    if not isinstance(raw, list) or not raw:
        p.add("[[lists]] must be an array of tables")
        return None
    for i, t in enumerate(raw):
        spec = proj._parse_list(i, t, base, inner)
        if spec is not None:
            specs.append(spec)
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        inner.add(f"list name(s) used more than once: {dupes}")
    link = proj._parse_link(doc.get("link"), inner)
    known = set(proj.ROLES) | {"birth_year"} | {c for s in specs for c in s.covariates}
    bad = [c for c in strata.sources() if c not in known]
    if bad:
        inner.add(f"[strata] columns {bad} are neither a role (sex, age, place, ...) nor a "
                  "covariate of any list")
    for item in inner.items:
        p.add(item)
    if inner.items:
        return None
    link_strata = tuple(c for c in strata.sources())
    return proj.ProjectConfig(name=name, seed=seed, output=output, lists=tuple(specs),
                              link=link, strata=link_strata, path=None)


def load_run_config(path: str | Path, *, check_inputs: bool = True) -> RunConfig:
    """Read and validate a project file for ``undercount run`` (see the module docstring).

    Raises
    ------
    ConfigError
        Unknown tables or keys, wrong types, unknown methods or options, missing files.
    InputError
        An input file that cannot be read or lacks a named column.
    """
    path = Path(path)
    doc, source, base = read_toml(path)
    p = _Problems(source)
    _unknown(doc, _TOP, "top level", p)
    project = _table(doc, "project", p)
    _unknown(project, ("name", "seed", "output"), "[project]", p)
    name = _text(project, "name", path.stem, "[project]", p)
    seed = project.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        p.add(f"[project] seed = {seed!r}: expected a non-negative integer")
        seed = 0
    output = (base / _text(project, "output", "output", "[project]", p)).resolve()

    strata = _parse_strata(_table(doc, "strata", p), p)
    has_lists = "lists" in doc
    has_ch = "capture_histories" in doc
    if has_lists == has_ch:
        p.add("give either [[lists]] (lists to link) or [capture_histories] (already linked), "
              "not " + ("both" if has_lists else "neither"))
    ch = None
    proj_cfg = None
    if has_ch and not has_lists:
        ch = _parse_capture_histories(_table(doc, "capture_histories", p), base, p)
    if has_lists and not has_ch:
        proj_cfg = _parse_lists_and_link(doc, base, name, int(seed), output, strata, p)
    elif "link" in doc and not has_lists:
        p.add("[link] applies only to [[lists]] (capture histories are already linked)")
    estimate = _parse_estimate(_table(doc, "estimate", p), int(seed), p)
    report = _parse_report(_table(doc, "report", p), name, p)
    inputs = [ch.file] if ch else [s.file for s in proj_cfg.lists] if proj_cfg else []
    for f in inputs:
        if output == f or output in f.parents:
            p.add(f"[project] output {output} contains input file {f}; choose another folder")
    p.raise_if_any(ConfigError)

    cfg = RunConfig(name=name, seed=int(seed), output=output, path=path.resolve(),
                    strata=strata, estimate=estimate, report=report, project=proj_cfg,
                    capture_histories=ch)
    if proj_cfg is not None:
        cfg = replace(cfg, project=replace(proj_cfg, path=path.resolve()))
    if check_inputs:
        _check_columns(cfg)
    return cfg


def _check_columns(cfg: RunConfig) -> None:
    problems: list[str] = []
    if cfg.capture_histories is not None:
        ch = cfg.capture_histories
        header = _header(ch.file)
        for col in ch.columns:
            if col not in header:
                problems.append(f"{ch.file}: column {col!r} not found; columns are {header}")
        known = set(ch.strata)
        for col in cfg.strata.sources():
            if col not in known:
                problems.append(
                    f"[strata] column {col!r} is not among [capture_histories] strata "
                    f"{list(ch.strata)}"
                )
        for col in cfg.report.identifying:
            if col not in header:
                problems.append(f"[report] identifying column {col!r} not found in {ch.file}")
    if cfg.project is not None:
        check_input_columns(cfg.project)
    if problems:
        raise InputError(f"{cfg.path}: input columns missing", problems)


def _header(path: Path) -> list[str]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter="\t" if suffix == ".tsv" else ",")
            try:
                return [c.strip() for c in next(reader)]
            except StopIteration as exc:
                raise InputError(f"{path}: the file is empty") from exc
    return [str(c) for c in read_frame(path).columns]
