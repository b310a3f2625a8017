"""``undercount run``: the pipeline's stages, cached by content hash and resumable.

Stages (a project with ``[[lists]]`` runs all of them; one with ``[capture_histories]``,
already linked, skips ``standardise`` and ``link``)::

    ingest → standardise → link → tabulate → estimate → report

Each stage is a plain function ``stage(ctx) -> StageOutput``. Its *cache key* is the SHA-256
of the stage's name, its settings (the part of the project file it reads), the output hashes
of the stages it reads from, and the undercount version. A stage whose key matches the one
recorded in the store's stage log (and whose outputs are still there) is skipped; otherwise it
runs and commits its outputs and its log entry in one transaction. So:

* rerunning an unchanged project does nothing but the cheap checks;
* changing ``[estimate]`` reruns only ``estimate`` and ``report``;
* a stage whose inputs changed but whose output did not (same content hash) stops the
  cascade: the stages after it are skipped;
* a run killed mid-stage loses only that stage's work: the next run resumes there.

Outputs go only into the project's output folder, and only if it is new, empty or
undercount's own (:func:`undercount.link.outputs.check_output_folder`): a file or a folder
of the user's in the way is an error before any stage runs. A first run (one that created
the output folder) that stops on bad input before linkage completed, or is interrupted before
any stage completed, removes that folder again: bad input leaves nothing behind
(:meth:`Project.run`).

Counts: the link stage's ``clusters`` and the report's "the lists together name N people"
are both the number of distinct people after linkage, the same number ``undercount link``
prints (both link the same standardised records; see ``fix_dtypes``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import html
import inspect
import json
import math
import shutil
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

from undercount.core.draws import slim_draws
from undercount.core.provenance import file_sha256, package_versions
from undercount.core.result import Diagnostic, MSEResult
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, InputError, UndercountWarning
from undercount.io.lists import read_list
from undercount.io.project import load_project
from undercount.io.project_types import ProjectConfig
from undercount.io.readers import read_frame
from undercount.link._standardise import (
    STD_COLUMNS,
    fix_dtypes,
    standardise_lists,
    standardiser_name,
)
from undercount.link.calibrate import reviewed_probabilities
from undercount.link.clerical import review_summary
from undercount.link.cluster import constrained_clusters
from undercount.link.outputs import check_distinct_lists, check_output_folder
from undercount.link.overlap import list_overlaps
from undercount.link.pipeline import link_records, person_covariates, settings_for
from undercount.link.settings import LinkSettings
from undercount.pipeline.estimate import Comparison, configured_estimator, estimate
from undercount.pipeline.registry import EstimateOptions, build_estimator, estimate_options_problem
from undercount.pipeline.store import StageRecord, Store, frame_hash
from undercount.strata import StratifiedEstimator, StratifiedResult, bin_ages
from undercount.tables.build import capture_histories
from undercount.uncertainty.families import FAMILIES_DISAGREE_CODE
from undercount.uncertainty.imputation import ImputationResult, MultipleImputation
from undercount.uncertainty.linkage import LinkageAveraging

__all__ = [
    "STAGES",
    "Project",
    "RunSummary",
    "Stage",
    "StageContext",
    "StageOutput",
    "run_project",
]


def _version() -> str:
    try:
        return metadata.version("undercount")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def _digest(obj: Any) -> str:
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, default=str, separators=(",", ":")).encode()
    ).hexdigest()


# ------------------------------------------------------------------------------ progress
class Progress:
    """Rich progress bars with ETA, or nothing (quiet runs, notebooks, tests)."""

    def __init__(self, enabled: bool = True, console: Any = None) -> None:
        self.enabled = enabled
        self._progress = None
        if enabled:
            self.console = console or Console(stderr=True)
            self._progress = RichProgress(
                SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                MofNCompleteColumn(), TextColumn("elapsed"), TimeElapsedColumn(),
                TextColumn("ETA"), TimeRemainingColumn(), console=self.console,
                transient=False,
            )
        else:
            self.console = None

    def __enter__(self) -> Progress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    @contextlib.contextmanager
    def task(self, description: str, total: float | None) -> Iterator[Callable[[float], None]]:
        """A bar for one step; yields ``advance(k)``."""
        if self._progress is None:
            yield lambda k=1: None
            return
        tid = self._progress.add_task(description, total=total)
        try:
            yield lambda k=1: self._progress.advance(tid, k)
        finally:
            if total is not None:
                self._progress.update(tid, completed=total)

    def print(self, text: str) -> None:
        if self._progress is not None:
            self._progress.console.print(text, highlight=False)


# ------------------------------------------------------------------------------ stages
@dataclass
class StageOutput:
    """What a stage returns; the runner writes it in one transaction."""

    output_hash: str
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    estimates: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    artifacts: list[tuple[str, str, str]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageContext:
    config: ProjectConfig
    store: Store
    progress: Progress
    upstream: dict[str, str]
    memo: dict[str, Any]
    run_id: str

    def frame(self, table: str) -> pd.DataFrame:
        """A table produced by an earlier stage, as the store holds it.

        Stages always read their inputs back from the store, never from the producing
        stage's memory, so a resumed run computes from exactly what a fresh run computes
        from (a round trip through the store can change dtypes and missing-value markers).
        """
        if table in self.memo:
            return self.memo[table]
        frame = self.store.read_frame(table)
        self.memo[table] = frame
        return frame


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[StageContext], StageOutput]
    settings: Callable[[ProjectConfig], Any]
    reads: tuple[str, ...] = ()
    outputs_present: Callable[[StageContext, StageRecord], bool] | None = None


def _raw_name(name: str) -> str:
    return f"raw__{name}"


# ---- ingest
def _ingest_settings(cfg: ProjectConfig) -> Any:

    check_distinct_lists(cfg.lists, source=str(cfg.path))
    if cfg.capture_histories is not None:
        ch = cfg.capture_histories
        return {"capture_histories": {"file": file_sha256(ch.file)}}
    return {"lists": [
        {"name": s.name, "sha256": file_sha256(s.file), "format": s.format,
         "id_column": s.id_column, "columns": s.columns, "covariates": list(s.covariates),
         "sheet": s.sheet}
        for s in cfg.lists
    ]}


def _ingest(ctx: StageContext) -> StageOutput:
    cfg = ctx.config
    frames: dict[str, pd.DataFrame] = {}
    if cfg.capture_histories is not None:
        with ctx.progress.task("ingest: capture histories", 1) as advance:
            frame = read_frame(cfg.capture_histories.file)
            advance(1)
        frames[_raw_name("capture_histories")] = _as_text(frame)
    else:
        with ctx.progress.task("ingest: reading lists", len(cfg.lists)) as advance:
            for spec in cfg.lists:
                frames[_raw_name(spec.name)] = _as_text(read_list(spec))
                advance(1)
    old = [t for t in ctx.store.tables() if t.startswith("raw__") and t not in frames]
    return StageOutput(
        output_hash=_digest({k: frame_hash(v) for k, v in sorted(frames.items())}),
        frames=frames, drop=tuple(old),
        summary={"rows": {k: len(v) for k, v in frames.items()}},
    )


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every value as text (missing as NULL): the raw records exactly as read."""
    out = frame.copy()
    for c in out.columns:
        out[c] = pd.Series([None if _missing(v) else str(v) for v in out[c]],
                           index=out.index, dtype=object)
    out.columns = [str(c) for c in out.columns]
    return out


# ---- standardise
def _standardise(ctx: StageContext) -> StageOutput:
    specs = ctx.config.lists
    with ctx.progress.task("standardise: names, dates, IDs", 1) as advance:
        frames = [ctx.frame(_raw_name(s.name)) for s in specs]
        std = standardise_lists(frames, specs)
        advance(1)
    return StageOutput(output_hash=frame_hash(std), frames={"standardised": std},
                       summary={"records": len(std), "standardiser": standardiser_name()})


# ---- link
def _link_settings(cfg: ProjectConfig) -> Any:
    return {"link": cfg.link.to_dict(), "seed": cfg.seed, "lists": cfg.list_names}


def _link(ctx: StageContext) -> StageOutput:
    """Train, score and cluster; with clerical-review labels in the store, labelled matches
    are must-links and labelled non-matches cannot-links (see :mod:`undercount.review`).

    The trained model is kept in the store with the key of everything training reads (the
    link settings and the standardised records); when only the labels changed, the stage
    reuses it and re-scores and re-clusters without training again.
    """
    cfg = ctx.config
    lk = cfg.link
    std = ctx.memo.get("standardised")
    if std is None:
        std = fix_dtypes(ctx.store.read_frame("standardised"))
    must, cannot = _label_constraints(ctx.store, std)
    core_key = _digest({"link": _link_settings(cfg), "standardise": ctx.upstream.get("standardise"),
                        "undercount": _version()})
    with ctx.progress.task("link: train, score pairs, cluster", 1) as advance:
        settings = settings_for(std, lk, n_lists=len(cfg.lists), seed=cfg.seed)
        stored = _stored_link_core(ctx.store)
        if stored is not None and stored.get("key") == core_key:
            settings = LinkSettings.from_json(stored["settings"])
        tmp = cfg.output / ".duckdb_link_tmp"
        try:
            records, settings, edges, report = link_records(
                std, lists=cfg.list_names, settings=settings, backend=lk.backend,
                threads=lk.threads, memory_limit=lk.memory_limit, temp_directory=str(tmp),
                must_link=must, cannot_link_pairs=cannot, candidates=True,
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        advance(1)
    candidates = report.pop("candidates")
    frames = {"clusters": records, "pairs": edges, "review_pairs": candidates}
    n_labels = len(must) + len(cannot)
    if n_labels:
        # The machine's own linkage, for the error rates and N-hat without review.
        valid = std["national_id"].where(std["id_valid"].fillna(False).astype(bool), None)
        plain = constrained_clusters(
            len(std), candidates[candidates["match_probability"] >= settings.threshold],
            national_id=valid if "national_id" in settings.cannot_link else None,
            sex=std["sex"] if "sex" in settings.cannot_link else None)
        frames["clusters_unreviewed"] = pd.DataFrame(
            {"uid": std["uid"].to_numpy(), "cluster_id": plain.cluster})
    settings_json = settings.to_json() if _accepts_no_path(settings.to_json) else None
    return StageOutput(
        output_hash=_digest([frame_hash(records), frame_hash(edges)]),
        frames=frames,
        drop=() if n_labels else ("clusters_unreviewed",),
        results={"link_settings": settings_json or settings,
                 "link_core": {"key": core_key, "settings": settings.to_json()}},
        summary={"records": len(records), "clusters": int(records["cluster_id"].nunique()),
                 "pairs": len(edges), "candidates": len(candidates),
                 "must_link": len(must), "cannot_link": len(cannot),
                 "timings": report.get("timings", {})},
    )


def _stored_link_core(store: Store) -> dict[str, Any] | None:
    try:
        return store.result("link_core")
    except InputError:
        return None


def _label_constraints(store: Store, std: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Labelled matches and non-matches as uid pairs of the current records.

    Labels name their records by list and record id (uids can change when inputs change);
    labels whose records are gone are ignored.
    """
    empty = np.zeros((0, 2), dtype=np.int64)
    if not store.exists():
        return empty, empty
    latest = store.latest_labels()
    latest = latest[latest["label"].isin(["match", "non-match"])]
    if latest.empty:
        return empty, empty
    uid = {(str(a), str(b)): int(u) for a, b, u in
           zip(std["list"], std["record_id"], std["uid"], strict=True)}
    pairs = []
    for row in latest.itertuples(index=False):
        a = uid.get((str(row.list_l), str(row.record_l)))
        b = uid.get((str(row.list_r), str(row.record_r)))
        if a is not None and b is not None and a != b:
            pairs.append((min(a, b), max(a, b), row.label == "match"))
    arr = np.array([(a, b) for a, b, _ in pairs], dtype=np.int64).reshape(-1, 2)
    is_match = np.array([m for _, _, m in pairs], dtype=bool)
    return arr[is_match], arr[~is_match]


def _accepts_no_path(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    return all(p.default is not inspect.Parameter.empty for p in params)


# ---- tabulate
def _tabulate_settings(cfg: ProjectConfig) -> Any:
    ch = None
    if cfg.capture_histories is not None:
        # Content, not paths: the raw file's content is in ingest's output hash.
        ch = {"lists": cfg.capture_histories.lists, "strata": cfg.capture_histories.strata}
    return {"lists": cfg.list_names, "strata": asdict(cfg.strata), "ch": ch}


def _tabulate(ctx: StageContext) -> StageOutput:
    cfg = ctx.config
    lists = list(cfg.list_names)
    with ctx.progress.task("tabulate: capture histories", 1) as advance:
        if cfg.capture_histories is not None:
            raw = ctx.frame(_raw_name("capture_histories"))
            keep = [*lists, *cfg.capture_histories.strata]
            persons = raw[keep].copy()
            # Validate the 0/1 columns with the table's own checks (names row and column).
            table = CaptureTable.from_individuals(
                persons, lists=lists, covariates=list(cfg.capture_histories.strata),
                source=str(cfg.capture_histories.file))
            for name in lists:
                persons[name] = pd.to_numeric(persons[name]).astype(np.int64)
            del table
        else:
            records = ctx.memo.get("clusters")
            if records is None:
                records = ctx.store.read_frame("clusters")
            covariates = person_covariates(cfg, records)
            persons = capture_histories(records, lists=lists, covariates=covariates)
        persons = _derive_strata(persons, cfg)
        advance(1)
    strata = list(cfg.strata.columns)
    agg_cols = [*lists, *strata]
    cells = (persons[agg_cols].astype({c: "string" for c in strata})
             .value_counts(dropna=False).rename("count").reset_index()
             .sort_values(agg_cols, ignore_index=True))
    return StageOutput(
        output_hash=frame_hash(persons),
        frames={"capture_histories": persons, "capture_table": cells},
        summary={"people": len(persons), "cells": len(cells)},
    )


def _derive_strata(persons: pd.DataFrame, cfg: ProjectConfig) -> pd.DataFrame:
    out = persons.copy()
    for name, (column, edges) in cfg.strata.bins.items():
        out[name] = bin_ages(pd.to_numeric(out[column], errors="coerce"), list(edges))
    for col in cfg.strata.columns:
        out[col] = pd.Series([None if _missing(v) else str(v) for v in out[col]],
                             index=out.index, dtype=object)
    return out


# ---- estimate
def _estimate_settings(cfg: ProjectConfig) -> Any:
    return {"estimate": asdict(cfg.estimate), "strata": asdict(cfg.strata),
            "lists": cfg.list_names}


def _estimate(ctx: StageContext) -> StageOutput:
    cfg = ctx.config
    spec = cfg.estimate
    lists = list(cfg.list_names)
    persons = ctx.frame("capture_histories")
    strata = list(cfg.strata.columns)
    table = CaptureTable.from_individuals(persons[lists], lists=lists,
                                          source=f"{cfg.name}: capture histories")
    agg = table.aggregate()
    steps = 1 + (spec.sensitivity and spec.method != "all") + bool(strata)
    diagnostics: list[Diagnostic] = []
    stratified = None
    with ctx.progress.task("estimate", steps) as advance, warnings.catch_warnings(
        record=True
    ) as caught:
        warnings.simplefilter("always", UndercountWarning)
        main = estimate(agg, seed=spec.seed, method=spec.method, **spec.options)
        advance(1)
        comparison = None
        if isinstance(main, Comparison):
            comparison, main = main, main.results[0]
        elif spec.sensitivity:
            level = spec.options.get("level", 0.95)
            # bootstrap = 0 opts out of the default log-linear bootstrap here too.
            off = {"bootstrap": 0} if spec.options.get("bootstrap") == 0 else {}
            comparison = _with_members(
                estimate(agg, seed=spec.seed, method="all", level=level, **off), main)
            advance(1)
        if strata:
            stratified = _stratified(persons, lists, strata, cfg, diagnostics)
            advance(1)
        averaged = _linkage_averaged(ctx, agg) if spec.linkage_draws else None
    for w in caught:
        if issubclass(w.category, UndercountWarning):
            diagnostics.append(Diagnostic("warning", str(w.message), "warning"))
    main = _slim(main)
    stratified = _slim(stratified) if stratified is not None else None
    if comparison is not None and main.families is not None:
        # The report's sensitivity section compares every family: the default's own
        # cheaper check would say the same twice, with other numbers.
        main = dataclasses.replace(main, families=None, diagnostics=tuple(
            d for d in main.diagnostics if d.code != FAMILIES_DISAGREE_CODE))
    if comparison is not None:
        comparison = dataclasses.replace(
            comparison, results=tuple(_slim(r) for r in comparison.results))
    averaged = _slim(averaged) if averaged is not None else None
    headline = main
    if stratified is not None and spec.headline == "stratified":
        headline = stratified
    if averaged is not None and spec.headline == "linkage":
        headline = averaged
    results = {"headline": headline, "overall": main, "comparison": comparison,
               "stratified": stratified, "linkage": averaged, "diagnostics": diagnostics}
    rows = [_estimate_row("headline", "headline", headline), _estimate_row("overall", "overall",
                                                                          main)]
    if averaged is not None:
        rows.append(_estimate_row("linkage", "linkage-averaging", averaged))
    if comparison is not None:
        rows += [_estimate_row("sensitivity", r.method, r) for r in comparison.results]
    if stratified is not None:
        rows.append(_estimate_row("stratified", "total", stratified))
        rows += [_estimate_row("stratum", label, r)
                 for label, r in getattr(_strata_of(stratified), "strata", {}).items()]
    ctx.memo["results"] = results
    return StageOutput(
        output_hash=_digest([r["result"] for r in rows]),
        estimates=rows, results=results,
        summary={"estimate": headline.estimate, "interval": headline.interval.to_list(),
                 "method": headline.method, "model": headline.model},
    )


def _linkage_averaged(ctx: StageContext, table: CaptureTable) -> MSEResult:
    """N-hat averaged over ``[estimate] linkage_draws`` plausible linkages.

    The linkages are drawn from every scored candidate pair (``review_pairs``) under the
    linkage's cannot-link rules (:class:`~undercount.uncertainty.linkage.LinkageAveraging`),
    and the project's estimator (``[estimate]`` method and options; log-linear under
    ``method = "all"``) is fitted to each. With clerical-review labels the probabilities
    are first those of :func:`~undercount.link.calibrate.reviewed_probabilities`: calibrated
    on the design sample's labels with their design weights, and each reviewed pair fixed
    to its label.
    """
    cfg = ctx.config
    spec = cfg.estimate
    pairs = ctx.frame("review_pairs").copy()
    records = fix_dtypes(ctx.frame("standardised")).sort_values("uid", ignore_index=True)
    notes = []
    latest = ctx.store.latest_labels()
    given = latest[latest["label"].isin(["match", "non-match"])]
    if len(given):
        key = pd.Series(np.arange(len(pairs)), index=[
            f"{a}-{b}" for a, b in zip(pairs["uid_l"], pairs["uid_r"], strict=True)])
        at = key.reindex(given["pair_id"]).to_numpy(dtype=float)
        kept = ~np.isnan(at)  # a labelled pair that is no longer a candidate drops out
        weight = np.full(len(given), np.nan)
        if "review_design" in ctx.store.tables():
            design = ctx.frame("review_design").set_index("pair_id")["weight"]
            weight = design.reindex(given["pair_id"]).to_numpy(dtype=float)
        y = (given["label"] == "match").to_numpy(dtype=float)
        pairs["match_probability"] = reviewed_probabilities(
            pairs["match_probability"].to_numpy(dtype=float), at[kept].astype(np.int64),
            y[kept], weight[kept])
        notes.append(Diagnostic(
            "linkage_reviewed",
            f"match probabilities calibrated on {int((~np.isnan(weight[kept])).sum())} "
            f"design-sample labels (isotonic, design-weighted); {int(kept.sum())} reviewed "
            "pairs fixed to their labels", "info"))
    method = spec.method if spec.method != "all" else "loglinear"
    estimator = configured_estimator(table, method=method, **spec.options)
    res = LinkageAveraging(estimator=estimator, n_draws=spec.linkage_draws).fit(
        pairs, records, lists=list(cfg.list_names), rng=np.random.default_rng(spec.seed))
    return dataclasses.replace(res, diagnostics=(*res.diagnostics, *notes))


def _with_members(comparison: Comparison, main: MSEResult) -> Comparison:
    """``comparison`` with each family the default weighed (its ``fits``) in place of the
    same family configured alike, so the report shows one fit of each: the families' random
    starts (the latent classes' EM) come from other streams under ``--method all``, and
    where the likelihood has several maxima the two fits could differ."""
    fits = getattr(main, "fits", None)
    if fits is None:
        return comparison

    def key(r: MSEResult) -> tuple[str, str]:
        return r.method, json.dumps(r.settings, sort_keys=True, default=str)

    own = {key(r): r for r in fits.results}
    return dataclasses.replace(comparison, results=tuple(
        own.get(key(r), r) for r in comparison.results))


def _slim(result: MSEResult) -> MSEResult:
    """What the store keeps of a result: the typed result with its draws reduced to N.

    Draws may be large (a dga posterior over a grid of tens of millions of values of N,
    full MCMC traces); the report needs only the result's fields and the draws of N, so the
    store stays small and loads fast. Results inside it (a bootstrap's base fit, the strata
    of a stratified total, the first imputation) are slimmed too. (The store keeps the
    objects rather than ``from_dict(to_dict())``: the JSON does not carry the diagnostics'
    codes and info-level diagnostics, which the report lists.)
    """
    changes: dict[str, Any] = {"draws": slim_draws(result.draws)}
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if isinstance(value, MSEResult):
            changes[f.name] = _slim(value)
        elif isinstance(value, dict) and value and all(
            isinstance(v, MSEResult) for v in value.values()
        ):
            changes[f.name] = {k: _slim(v) for k, v in value.items()}
    return dataclasses.replace(result, **changes)


def _strata_of(result: MSEResult | None) -> StratifiedResult | None:
    """The stratified result behind a stratified total (the first imputation's when the
    strata were imputed), for its per-stratum results and how the total was formed."""
    if isinstance(result, ImputationResult):
        result = result.first
    return result if isinstance(result, StratifiedResult) else None


def _stratified(persons, lists, strata, cfg, diagnostics):
    spec = cfg.estimate
    missing = persons[strata].isna().any(axis=1)
    impute = bool(missing.any()) and cfg.strata.missing == "impute"
    if missing.any() and not impute:
        if cfg.strata.missing == "error":
            counts = {c: int(persons[c].isna().sum()) for c in strata}
            raise InputError(
                f"{cfg.path}: {int(missing.sum())} people have a missing stratum value "
                f"({counts}); impute them, or set [strata] missing = \"drop\" to leave them out"
            )
        diagnostics.append(Diagnostic(
            "strata_dropped",
            f"{int(missing.sum()):,} people with a missing value of {', '.join(strata)} are "
            "left out of the stratified estimate, which therefore covers only the people "
            "with complete strata; dropping them biases the stratified total when they sit "
            "disproportionately on some lists",
            "warning"))
    keep = persons.loc[persons.index if impute else ~missing, [*lists, *strata]].copy()
    for c in strata:
        keep[c] = keep[c].astype("string")
    table = CaptureTable.from_individuals(keep, lists=lists, covariates=strata,
                                          source=f"{cfg.name}: strata")
    method = spec.method if spec.method != "all" else "loglinear"
    opts = EstimateOptions(method=method, **spec.options)
    # The joint bootstrap resamples as --strata's does (the augmented resample by default).
    kind = opts.resampling
    if opts.parametric:
        raise ConfigError(
            f"{cfg.path}: [estimate] resample = \"{kind}\" does not apply to the "
            "stratified total: its joint bootstrap resamples each stratum's people "
            "(augmented or nonparametric)")
    est = StratifiedEstimator(estimator=build_estimator(opts), strata=tuple(strata),
                              replicates=spec.replicates,
                              level=spec.options.get("level", 0.95), on_failure="skip",
                              kind=kind, n_jobs=1)
    if impute:
        est = MultipleImputation(estimator=est, columns=tuple(strata),
                                 imputations=cfg.strata.imputations,
                                 level=spec.options.get("level", 0.95))
    result = est.fit(table, rng=np.random.default_rng(spec.seed))
    prov = {"settings": {"stratified": True, "method": method, **spec.options,
                         "replicates": spec.replicates, "strata": strata},
            "seed": spec.seed, "versions": package_versions()}
    return dataclasses.replace(result, provenance=prov)


def _estimate_row(kind: str, label: str, r: MSEResult) -> dict[str, Any]:
    def num(x: float) -> float | None:
        return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)

    d = r.to_dict()
    return {"kind": kind, "label": label, "method": r.method, "model": r.model,
            "estimate": num(r.estimate), "lower": num(r.interval.lower),
            "upper": num(r.interval.upper), "level": r.interval.level,
            "interval_method": r.interval.method, "n_observed": int(r.n_observed),
            "result": d, "provenance": r.provenance or {}}


# ---- report
def _report_settings(cfg: ProjectConfig) -> Any:
    return {"report": asdict(cfg.report), "reported": cfg.estimate.reported,
            "reported_label": cfg.estimate.reported_label, "name": cfg.name,
            "strata": list(cfg.strata.columns)}


def report_paths(cfg: ProjectConfig) -> tuple[Path, Path | None]:
    return cfg.output / "report.html", (cfg.output / "report.pdf" if cfg.report.pdf else None)


def _report(ctx: StageContext, *, redact: bool | None = None, html_path: Path | None = None,
            pdf_path: Path | bool | None = None) -> StageOutput:
    cfg = ctx.config
    default_html, default_pdf = report_paths(cfg)
    html_path = html_path or default_html
    pdf_target = default_pdf if pdf_path is None else (None if pdf_path is False else pdf_path)
    with ctx.progress.task("report: HTML" + (" and PDF" if pdf_target else ""),
                           2 if pdf_target else 1) as advance:
        report = build_project_report(ctx, redact=cfg.report.redact if redact is None else redact)
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(report.html, encoding="utf-8")
        advance(1)
        artifacts = [("html", str(html_path), file_sha256(html_path))]
        if pdf_target:
            # undercount.report draws with matplotlib (~0.5 s to import): only when the
            # report stage runs, not on a rerun that skips it.
            from undercount.report.pdf import html_to_pdf

            html_to_pdf(report.print_html, pdf_target)
            artifacts.append(("pdf", str(pdf_target), file_sha256(pdf_target)))
            advance(1)
    return StageOutput(output_hash=artifacts[0][2], artifacts=artifacts,
                       summary={"html": str(html_path),
                                "pdf": str(pdf_target) if pdf_target else None,
                                "sentence": report.headline["sentence"]})


def _report_present(ctx: StageContext, rec: StageRecord) -> bool:
    html_path, pdf_path = report_paths(ctx.config)
    for path in (html_path, pdf_path):
        if path is not None and not path.is_file():
            return False
    return html_path.is_file() and file_sha256(html_path) == rec.output_hash


def build_project_report(ctx: StageContext, *, redact: bool) -> Any:
    """The report for a project, from what the earlier stages stored."""
    # matplotlib and jinja2 (~0.5 s to import): only when a report is built.
    from undercount.report import build_report

    cfg = ctx.config
    results = ctx.memo.get("results")
    if results is None:
        results = {k: ctx.store.result(k) for k in
                   ("headline", "overall", "comparison", "stratified", "linkage", "diagnostics")}
    persons = ctx.frame("capture_histories")
    lists = list(cfg.list_names)
    table = CaptureTable.from_individuals(persons[lists], lists=lists, source=cfg.name)
    stratified = results["stratified"]
    sensitive, samples = _identifying(ctx)
    stage_hashes = {r.stage: r.input_hash[:16] for r in ctx.store.stages()}
    stage_hashes.update({k: v[:16] for k, v in ctx.upstream.items() if k == "report"})
    failures = {}
    strata_note = ""
    by_stratum = _strata_of(stratified)
    if stratified is not None:
        failures = {d.message.split(" could not")[0].removeprefix("stratum "): d.message
                    for d in stratified.diagnostics if d.code == "stratum_failed"}
        how = by_stratum.total_method if by_stratum is not None else stratified.interval.method
        strata_note = (
            f"Each stratum is estimated separately ({stratified.method}); the total's interval "
            f"comes from {how}, not from adding the strata's bounds.")
    observed = {}
    if by_stratum is not None:
        for label, r in by_stratum.strata.items():
            observed[label] = r.n_observed
    return build_report(
        results["headline"],
        table=table,
        comparison=results["comparison"],
        strata=by_stratum.strata if by_stratum is not None else None,
        strata_total=stratified,
        strata_failures=failures,
        strata_observed=observed,
        strata_columns=list(cfg.strata.columns),
        strata_note=strata_note,
        reported=cfg.estimate.reported,
        reported_label=cfg.estimate.reported_label,
        title=cfg.report.title or cfg.name,
        subtitle=cfg.report.subtitle,
        subject=cfg.report.subject,
        provenance={"project file": f"{cfg.path.name} sha256 {file_sha256(cfg.path)}",
                    "stage input hashes": stage_hashes},
        diagnostics=[*results.get("diagnostics", []),
                     *(stratified.diagnostics if stratified is not None
                       and results["headline"] is not stratified else ()),
                     *(("lists", "warning", w) for w in list_warnings(ctx))],
        records=samples,
        sensitive=sensitive,
        redact=redact,
        review=_review_report(ctx, results),
    )


def list_warnings(ctx: StageContext) -> list[str]:
    """Lists that repeat one another (same records, or the same people after linkage), each
    warning naming both lists (:func:`undercount.link.overlap.list_overlaps`)."""

    cfg = ctx.config
    records = ctx.frame("clusters") if cfg.linked else None
    return list_overlaps(records, ctx.frame("capture_histories"), cfg.list_names)


def _review_report(ctx: StageContext, results: Mapping[str, Any]) -> dict[str, Any] | None:
    """The report's "Linkage review" section: labels by band, calibration, the machine
    linkage's error rates, and N-hat with and without the review (None without labels).

    N-hat without the review re-fits the project's ``[estimate]`` method (not the
    sensitivity families or strata) on the capture histories of the machine's own
    clustering, so the two numbers differ only by what the labels changed.
    """
    store = ctx.store
    tables = set(store.tables())
    if not {"labels", "review_design", "review_strata", "review_pairs"} <= tables:
        return None
    latest = store.latest_labels()
    if latest.empty:
        return None
    cand = ctx.frame("review_pairs")
    prob = pd.Series(cand["match_probability"].to_numpy(),
                     index=[f"{a}-{b}" for a, b in zip(cand["uid_l"], cand["uid_r"],
                                                       strict=True)])
    design = ctx.frame("review_design").copy()
    design["probability"] = prob.reindex(design["pair_id"]).to_numpy()
    clusters = ctx.frame("clusters")
    machine = (ctx.frame("clusters_unreviewed") if "clusters_unreviewed" in tables
               else clusters[["uid", "cluster_id"]])
    cl = machine.set_index("uid")["cluster_id"]
    linked = pd.Series(cl.reindex(design["uid_l"]).to_numpy()
                       == cl.reindex(design["uid_r"]).to_numpy(), index=design["pair_id"])
    summary = review_summary(design, ctx.frame("review_strata"), latest, linked)
    with_review = results["overall"]
    without = with_review
    if "clusters_unreviewed" in tables:
        cfg = ctx.config
        lists = list(cfg.list_names)
        records = clusters.copy()
        records["cluster_id"] = cl.reindex(records["uid"]).to_numpy()
        persons = capture_histories(records, lists=lists,
                                    covariates=person_covariates(cfg, records))
        table = CaptureTable.from_individuals(persons[lists], lists=lists,
                                              source=f"{cfg.name}: machine linkage")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndercountWarning)
            fitted = estimate(table.aggregate(), seed=cfg.estimate.seed,
                              method=cfg.estimate.method, **cfg.estimate.options)
        without = fitted.results[0] if isinstance(fitted, Comparison) else fitted
    summary["estimates"] = [
        {"which": which, "estimate": float(r.estimate), "lower": float(r.interval.lower),
         "upper": float(r.interval.upper), "n_observed": int(r.n_observed),
         "method": r.method}
        for which, r in (("without review", without), ("with review", with_review),
                         ("with review, over plausible linkages", results.get("linkage")))
        if r is not None]
    summary["constraints"] = {
        "must_link": int((latest["label"] == "match").sum()),
        "cannot_link": int((latest["label"] == "non-match").sum())}
    return summary


def _identifying(ctx: StageContext) -> tuple[list[str], dict[str, pd.DataFrame]]:
    """Every name/ID value of the inputs, and a few records per input for the sample."""
    cfg = ctx.config
    sensitive: list[str] = []
    samples: dict[str, pd.DataFrame] = {}
    for source, cols in cfg.identifying_columns().items():
        raw = ctx.frame(_raw_name(source))
        for c in cols:
            if c in raw.columns:
                sensitive += [str(v) for v in raw[c].dropna().unique()]
        samples[source] = raw.head(5)
    return sensitive, samples


STAGES: tuple[Stage, ...] = (
    Stage("ingest", _ingest, _ingest_settings),
    # The columns are part of the key: a store standardised before a column was added
    # (last_key, given_variants, ...) is standardised again, not read without it.
    Stage("standardise", _standardise,
          lambda cfg: {"standardiser": "undercount.names", "columns": list(STD_COLUMNS)},
          ("ingest",)),
    Stage("link", _link, _link_settings, ("standardise",)),
    Stage("tabulate", _tabulate, _tabulate_settings, ("link", "ingest")),
    Stage("estimate", _estimate, _estimate_settings, ("tabulate",)),
    Stage("report", _report, _report_settings, ("estimate", "tabulate", "ingest"),
          outputs_present=_report_present),
)


#: Stages whose cache key includes the clerical-review labels.
_LABEL_STAGES = ("link", "report")


def _labels_key(store: Store) -> str:
    if not store.exists():
        return ""
    try:
        return store.labels_hash()
    except InputError:  # a schema-1 store: no labels yet
        return ""


# ------------------------------------------------------------------------------ running
@dataclass(frozen=True)
class StageRun:
    stage: str
    action: str  # "ran" | "cached"
    input_hash: str
    output_hash: str
    seconds: float
    summary: dict[str, Any]


@dataclass(frozen=True)
class RunSummary:
    """What one ``run`` did, stage by stage."""

    project: str
    store: Path
    stages: tuple[StageRun, ...]

    def ran(self) -> list[str]:
        return [s.stage for s in self.stages if s.action == "ran"]

    def cached(self) -> list[str]:
        return [s.stage for s in self.stages if s.action == "cached"]

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(s.stage)}</td><td>{s.action}</td>"
            f"<td><code>{s.input_hash[:16]}</code></td><td>{s.seconds:.1f} s</td></tr>"
            for s in self.stages
        )
        return (f"<div><b>{html.escape(self.project)}</b> ({html.escape(str(self.store))})"
                "<table><tr><th>stage</th><th>action</th><th>hash</th><th>time</th></tr>"
                f"{rows}</table></div>")

    def __str__(self) -> str:
        return "\n".join(f"{s.stage:<12} {s.action:<7} {s.input_hash[:16]}  {s.seconds:7.1f} s"
                         for s in self.stages)


class Project:
    """A project file and its store: the Python twin of ``undercount run / status / report``.

    >>> p = Project("project.toml")          # doctest: +SKIP
    >>> p.run()                              # every stage, cached    # doctest: +SKIP
    >>> p.run(until="tabulate")              # stop after a stage     # doctest: +SKIP
    >>> p.results()["headline"]              # an MSEResult            # doctest: +SKIP
    >>> p.report(redact=True)                # a Report (renders in notebooks) # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, check_inputs: bool = True) -> None:
        self.config = load_project(
            path, check_inputs=check_inputs, check_estimate=estimate_options_problem
        )
        self.store = Store(self.config.store_path)
        #: The stage running now (None between runs): where an interrupt landed.
        self.current_stage: str | None = None

    @property
    def stages(self) -> tuple[Stage, ...]:
        if self.config.linked:
            return STAGES
        return tuple(s for s in STAGES if s.name not in ("standardise", "link"))

    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    def _key(self, stage: Stage, upstream: Mapping[str, str]) -> str:
        key = {
            "stage": stage.name,
            "undercount": _version(),
            "settings": stage.settings(self.config),
            "inputs": {r: upstream[r] for r in stage.reads if r in upstream},
        }
        if stage.name in _LABEL_STAGES:
            # Clerical-review labels are an input of clustering and of the report's review
            # section: new labels rerun link (re-clustering, no retraining) and what follows.
            key["labels"] = _labels_key(self.store)
        if stage.name == "estimate" and self.config.estimate.linkage_draws:
            # Averaging over linkages reads the scored pairs and the labels, not only the
            # capture table.
            key["inputs"]["link"] = upstream.get("link")
            key["labels"] = _labels_key(self.store)
        return _digest(key)

    def run(
        self,
        *,
        until: str | None = None,
        force: Sequence[str] = (),
        progress: bool = False,
        console: Any = None,
        on_stage: Callable[[str], None] | None = None,
    ) -> RunSummary:
        """Run every stage (up to ``until``), skipping those whose cache key is unchanged.

        ``on_stage`` is called with each stage's name before it starts (cached or not).

        If this run created the output folder, bad input (an InputError or ConfigError, such
        as bad values found while standardising) before the link stage completed removes it
        again, so bad input leaves nothing behind (the stages before linkage rerun in
        seconds); an interrupt or any other exception removes it only if no stage completed.
        Otherwise completed stages stay in the store and the next run resumes after them.
        """


        names = self.stage_names()
        for n in [until, *force]:
            if n is not None and n not in names:
                raise ConfigError(f"unknown stage {n!r}; stages are {', '.join(names)}")
        check_output_folder(self.config.output, source=str(self.config.path))
        created = not self.config.output.exists()
        done: list[StageRun] = []
        try:
            return self._run(until, force, progress, console, on_stage, done)
        except BaseException as exc:
            cheap = ("ingest", "standardise")
            bad_input = isinstance(exc, InputError | ConfigError)  # not an interrupt or a crash
            keep = [s for s in done if s.action == "ran"
                    and not (bad_input and s.stage in cheap)]
            if created and not keep:
                # Only a folder this run created, holding nothing worth resuming from.
                shutil.rmtree(self.config.output, ignore_errors=True)
            raise
        finally:
            self.current_stage = None

    def _run(self, until: str | None, force: Sequence[str], progress: bool, console: Any,
             on_stage: Callable[[str], None] | None, done: list[StageRun]) -> RunSummary:
        run_id = uuid.uuid4().hex[:12]
        upstream: dict[str, str] = {}
        memo: dict[str, Any] = {}
        version = _version()
        with Progress(progress, console) as bar:
            for stage in self.stages:
                self.current_stage = stage.name
                if on_stage is not None:
                    on_stage(stage.name)
                key = self._key(stage, upstream)
                ctx = StageContext(self.config, self.store, bar, upstream, memo, run_id)
                rec = self.store.stage(stage.name)
                fresh = (rec is not None and rec.status == "done" and rec.input_hash == key
                         and stage.name not in force
                         and (stage.outputs_present is None or stage.outputs_present(ctx, rec)))
                if fresh:
                    assert rec is not None
                    self.store.log_skip(stage.name, rec, run_id)
                    upstream[stage.name] = rec.output_hash
                    done.append(StageRun(stage.name, "cached", key, rec.output_hash, 0.0,
                                         rec.summary))
                    bar.print(f"[green]✓[/green] {stage.name:<11} cached  {key[:16]}")
                else:
                    self.store.mark_running(stage.name, key, run_id, version)
                    t0 = time.perf_counter()
                    out = stage.run(ctx)
                    self.store.commit_stage(
                        stage.name, input_hash=key, output_hash=out.output_hash, run_id=run_id,
                        version=version, started=t0, frames=out.frames, drop=out.drop,
                        estimates=out.estimates, results=out.results,
                        artifacts=out.artifacts, summary=out.summary)
                    seconds = time.perf_counter() - t0
                    upstream[stage.name] = out.output_hash
                    done.append(StageRun(stage.name, "ran", key, out.output_hash, seconds,
                                         out.summary))
                    bar.print(f"[green]✓[/green] {stage.name:<11} done    {key[:16]}  "
                              f"{seconds:.1f} s")
                if stage.name == until:
                    break
        return RunSummary(self.config.name, self.store.path, tuple(done))

    def status(self) -> list[dict[str, Any]]:
        """Each stage: whether it is done, and whether its recorded hash is still current."""
        records = {r.stage: r for r in self.store.stages()}
        upstream: dict[str, str] = {}
        out = []
        stale_above = False
        for stage in self.stages:
            rec = records.get(stage.name)
            key = self._key(stage, upstream) if not stale_above else None
            if rec is None:
                state = "not run"
            elif rec.status != "done":
                state = "interrupted" if rec.status == "running" else rec.status
            elif key is not None and rec.input_hash == key:
                state = "up to date"
            else:
                state = "outdated"
            if state == "up to date":
                upstream[stage.name] = rec.output_hash
            else:
                stale_above = True
            out.append({
                "stage": stage.name, "state": state,
                "input_hash": rec.input_hash if rec else "",
                "output_hash": rec.output_hash if rec else "",
                "finished_at": rec.finished_at if rec else None,
                "seconds": rec.seconds if rec else None,
                "summary": rec.summary if rec else {},
            })
        return out

    def results(self) -> dict[str, Any]:
        """The stored results of the estimate stage (``headline``, ``overall``, ...)."""
        rec = self.store.stage("estimate")
        if rec is None or rec.status != "done":
            raise InputError(f"{self.config.path}: the estimate stage has not run yet")
        return {k: self.store.result(k) for k in
                ("headline", "overall", "comparison", "stratified", "diagnostics")}

    def list_warnings(self) -> list[str]:
        """Lists that repeat one another, from the store (empty before ``tabulate`` ran);
        the report shows the same warnings."""
        rec = self.store.stage("tabulate")
        if rec is None or rec.status != "done":
            return []
        return list_warnings(StageContext(self.config, self.store, Progress(False), {}, {},
                                          "warnings"))

    def report(
        self, *, redact: bool | None = None, html_path: str | Path | None = None,
        pdf_path: str | Path | None = None,
    ) -> Any:
        """Build the report from the store (the estimate stage must have run).

        With ``html_path``/``pdf_path`` the files are written as well.
        """
        rec = self.store.stage("estimate")
        if rec is None or rec.status != "done":
            raise InputError(
                f"{self.config.path}: nothing to report yet; run `undercount run` first")
        ctx = StageContext(self.config, self.store, Progress(False), {}, {}, "report")
        report = build_project_report(
            ctx, redact=self.config.report.redact if redact is None else redact)
        if html_path is not None or pdf_path is not None:
            report.write(html_path or self.config.output / "report.html", pdf_path)
        return report

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{s['stage']}</td><td>{s['state']}</td>"
            f"<td><code>{s['input_hash'][:16]}</code></td></tr>" for s in self.status())
        return (f"<div><b>{html.escape(self.config.name)}</b>"
                "<table><tr><th>stage</th><th>state</th><th>hash</th></tr>"
                f"{rows}</table></div>")


def run_project(path: str | Path, **kwargs: Any) -> RunSummary:
    """Load a project file and run it (keyword arguments as :meth:`Project.run`)."""
    return Project(path).run(**kwargs)
