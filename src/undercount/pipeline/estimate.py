"""``estimate``: the Python twin of ``undercount estimate``.

Loads a capture table from a shipped dataset name or a file, builds the estimator from the
same options the CLI takes, fits it with a seeded generator, and stamps provenance (package
versions, settings, seed, input hash) on the result.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from undercount import datasets
from undercount.core.choices import (
    BootstrapResampling,
    DgaPrior,
    ImputerName,
    IntervalChoice,
    Method,
    Recipe,
    Select,
)
from undercount.core.estimator import Estimator
from undercount.core.parallel import beside
from undercount.core.provenance import Provenance, file_sha256
from undercount.core.result import Diagnostic, MSEResult
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, EstimationError, InputError
from undercount.io.readers import excel_sheet, read_table
from undercount.pipeline.registry import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_BOOTSTRAP_RESAMPLING,
    DEFAULT_NTOP,
    MAX_LISTS_ALL_MODELS,
    EstimateOptions,
    applicable_methods,
    build_estimator,
    build_recipe,
    defaults_applied,
    resolve_options,
    wrap_estimator,
)
from undercount.uncertainty.covariates import DEFAULT_STRATIFIED, covariate_check, default_strata
from undercount.uncertainty.crossfamily import cross_family, default_family_steps
from undercount.uncertainty.families import (
    FamilySpread,
    default_family_check,
    family_spread,
    stratified_family_check,
)
from undercount.uncertainty.identifying import identifying_summary
from undercount.uncertainty.reported import compare_reported

__all__ = ["Comparison", "configured_estimator", "estimate", "load_table"]


def load_table(
    source: str | Path | CaptureTable,
    *,
    lists: Sequence[str] | None = None,
    count_column: str = "count",
    individual: bool = False,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> tuple[CaptureTable, dict[str, str]]:
    """Resolve a dataset name, a file path or a table; return it with its input hashes.

    ``sheet`` (an Excel sheet name or 0-based index) and ``encoding`` (of a CSV file) are
    passed to :func:`~undercount.io.readers.read_table`.
    """
    if isinstance(source, CaptureTable):
        table = source
        hashes = {"<table>": table.sha256()}
    elif isinstance(source, str) and not Path(source).exists() and datasets.is_dataset(source):
        table = datasets.load(source)
        hashes = {f"dataset:{table.source}": table.sha256()}
    else:
        path = Path(source)
        if path.is_dir() and (path / "capture_table.json").exists():
            table = _read_linked(path)
        else:
            table = read_table(
                path, lists=lists, count_column=count_column, individual=individual,
                sheet=sheet, encoding=encoding,
            )
        hashes = {str(path): file_sha256(path) if path.is_file() else table.sha256()}
        return (table.select_lists(lists) if lists and not individual else table), hashes
    if lists:
        table = table.select_lists(lists)
    return table, hashes


def _read_linked(folder: Path) -> CaptureTable:
    """Read the capture-history output of ``undercount link``."""
    meta = json.loads((folder / "capture_table.json").read_text())
    frame = pd.read_parquet(folder / meta.get("file", "capture_histories.parquet"))
    return CaptureTable.from_individuals(
        frame, lists=meta["lists"], covariates=meta.get("covariates"), source=str(folder)
    )


@dataclass(frozen=True)
class Comparison:
    """Several families fitted to one table, side by side (``--method all``)."""

    results: tuple[MSEResult, ...]
    failures: tuple[tuple[str, str], ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def spread(self) -> FamilySpread:
        """How far apart the identified families are (:mod:`undercount.uncertainty.families`)."""
        return family_spread(self.results)

    @property
    def warnings(self) -> list[str]:
        """``model families disagree`` when they do (the families' own warnings stay theirs)."""
        w = self.spread.warning()
        return [w] if w else []

    def to_dict(self) -> dict[str, Any]:
        first = self.results[0] if self.results else None
        return {
            "method": "all",
            "n_observed": first.n_observed if first else None,
            "lists": list(first.lists) if first else [],
            "results": [{**r.to_dict(), "identified": r.identified} for r in self.results],
            "failures": [{"method": m, "reason": why} for m, why in self.failures],
            "spread": self.spread.to_dict(),
            "warnings": self.warnings,
            "provenance": self.provenance,
        }


def estimate(
    source: str | Path | CaptureTable,
    *,
    lists: Sequence[str] | str | None = None,
    count_column: str = "count",
    individual: bool = False,
    method: Method = "loglinear",
    select: Select | None = None,
    model: str | None = None,
    interval: IntervalChoice | None = None,
    level: float = 0.95,
    max_order: int | None = None,
    chains: int | None = None,
    iterations: int | None = None,
    burn_in: int | None = None,
    delta: float | None = None,
    prior: DgaPrior | None = None,
    prior_params: tuple[float, float] | None = None,
    bootstrap: int | None = None,
    ntop: int | None = None,
    resample: BootstrapResampling | None = None,
    strata: Sequence[str] | str | None = None,
    imputations: int | None = None,
    imputer: ImputerName | None = None,
    reported: float | None = None,
    recipe: Recipe | None = None,
    seed: int | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> MSEResult | Comparison:
    """Estimate N for a dataset name, a file or a :class:`CaptureTable`.

    The Python twin of ``undercount estimate``: every keyword is the CLI option of the same
    name (``--burn-in`` is ``burn_in``), with the same default and meaning, so
    ``estimate("kosovo", seed=1)`` is ``undercount estimate kosovo --seed 1`` and its
    ``to_dict()`` is that command's ``--format json`` output. ``lists`` and ``strata`` take a
    sequence of column names or, as on the command line, one comma-separated string.
    ``bootstrap=N`` asks for N bootstrap replicates (the estimators'
    ``Bootstrap(replicates=N)``; with ``strata``, the joint bootstrap's replicates);
    ``bootstrap=0`` turns the bootstrap off; ``resample`` is how its replicates are drawn
    (``Bootstrap(kind=...)``; the default bootstrap's is ``"parametric-aic"`` on 3 to 5
    lists, ``"augmented"`` otherwise). The options are checked by
    :class:`~undercount.pipeline.registry.EstimateOptions`.
    A stochastic method run without a seed draws one from the operating system and records
    it, so every result can be reproduced; a seed given is always recorded. ``sheet`` names
    the sheet of an Excel file (recorded in the provenance's settings as ``input_sheet``) and
    ``encoding`` the text encoding of a CSV file (default UTF-8).

    Pairs of lists that are identical or nested
    (:func:`~undercount.core.table.list_overlaps`) are warnings in the result's
    ``diagnostics``.

    A log-linear analysis that leaves the interval open (no ``model``, ``select`` unset or
    ``"bic"``, no ``interval`` of its own, no ``bootstrap``, ``strata`` or ``recipe``) gets
    the package default on tables of 3 or more lists: the BIC-best model (forward stepwise
    beyond 5 lists), with a percentile interval from 1,000 bootstrap replicates that re-run
    the selection (BIC among the 10 best models; the whole stepwise search beyond 5 lists).
    ``docs/validation.md`` shows how often it covers the truth in every simulated design.
    When a covariate of the table changes its answer, the default estimates within the
    covariate's groups (:func:`~undercount.uncertainty.covariates.default_strata`).
    Otherwise the default weighs that log-linear bootstrap against the logit-normal and
    finite latent-class families by BIC on the observed histories
    (:func:`~undercount.uncertainty.crossfamily.cross_family`): the result is the one
    family left above the weight floor, or their mixture; the JSON's ``families`` has each
    family's ``aic`` and ``bic``, the ``rule`` and the ``weights``. It is stochastic, so the seed
    matters; ``bootstrap=0`` or ``interval="profile"`` gives the conditional profile interval.
    The defaults filled in are the result's ``defaults`` and are in its provenance. See
    :func:`~undercount.pipeline.registry.resolve_options` for the rules.
    """
    opts = EstimateOptions(
        method=method, select=select, model=model, interval=interval, level=level,
        max_order=max_order, chains=chains, iterations=iterations, burn_in=burn_in,
        delta=delta, prior=prior,
        prior_params=tuple(prior_params) if prior_params is not None else None,
        bootstrap=bootstrap, ntop=ntop, resample=resample, strata=_names(strata),
        imputations=imputations, imputer=imputer, reported=reported, recipe=recipe,
    )
    lists = _names(lists)
    seed_given = seed is not None
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
    ):
        raise ConfigError(f"seed = {seed!r}: must be a non-negative whole number (0, 1, 2, ...)")
    table, hashes = load_table(
        source, lists=lists, count_column=count_column, individual=individual,
        sheet=sheet, encoding=encoding,
    )
    input_sheet = _sheet_read(source, sheet)
    overlaps = table.list_overlaps()
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    if opts.recipe is not None and opts.method == "all":
        raise ConfigError("--recipe runs one published method; it cannot be combined with "
                          "--method all")
    methods = applicable_methods(table) if opts.method == "all" else [opts.method]
    results: list[MSEResult] = []
    failures: list[tuple[str, str]] = []
    for method in methods:
        defaults: dict[str, Any] = {}
        if opts.recipe is not None:
            estimator = build_recipe(opts)
        else:
            family_opts = opts if opts.method != "all" else _family_options(opts, method)
            try:
                resolved = resolve_options(family_opts, table)
            except ConfigError as exc:
                # Under --method all a family whose options do not apply to this table
                # (--select bic on more than 5 lists) is a failed row, not the end of it.
                if opts.method != "all":
                    raise
                failures.append((method, str(exc)))
                continue
            estimator, defaults = _configured(family_opts, resolved, method, table)
        rng = np.random.default_rng(seed)
        check_seed, cross_seed = np.random.SeedSequence(seed).spawn(2)
        check_rng, cross_rng = np.random.default_rng(check_seed), np.random.default_rng(cross_seed)
        steps, assemble = [], None
        if "bootstrap" in defaults and opts.method != "all" and not table.has_covariates:
            # The default's other families do not depend on its log-linear fit, so a second
            # core fits them meanwhile, each from its own stream as below (a table with
            # covariates may be stratified, and its families are then fitted per stratum).
            steps, assemble = default_family_steps(table, cross_rng, check_rng,
                                                   level=opts.level)
        try:
            res, done = beside(partial(estimator.fit, table, rng=rng), steps)
        except EstimationError as exc:
            if opts.method != "all":
                raise
            failures.append((method, str(exc)))
            continue
        covariates, covariate_warnings = (
            covariate_check(res, table) if not opts.strata else (None, ()))
        if covariate_warnings and "bootstrap" in defaults:
            # The default stratifies by covariates that change its answer (module docstring
            # of undercount.uncertainty.covariates); the pooled answer stays in `covariates`.
            stratified = _stratified_default(family_opts, table, covariates, res, seed)
            if isinstance(stratified, Diagnostic):
                covariate_warnings = (*covariate_warnings, stratified)
            elif stratified is not None:
                estimator, res, defaults, covariate_warnings = stratified
        families, family_warnings = None, ()
        if "bootstrap" in defaults and "strata" not in defaults and opts.method != "all":
            # The default weighs the log-linear, logit-normal and latent-class families by
            # BIC (undercount.uncertainty.crossfamily), then says when the cheap families
            # disagree with it or one with AIC support reaches well beyond it (--method all
            # compares them all already).
            fitted, checked = assemble(done) if assemble is not None else (None, None)
            cross = cross_family(res, table, cross_rng, level=opts.level, fitted=fitted)
            res = dataclasses.replace(
                cross.result, diagnostics=(*cross.result.diagnostics, cross.note()))
            defaults["families"] = cross.rule
            families, family_warnings = default_family_check(
                res, table, check_rng,
                fitted=[f for f in cross.fits if f is not cross.result], aic=cross.aic,
                checked=checked, search=cross.search)
            families = {**families, **cross.block(),
                        "failures": [*families["failures"], *cross.unfitted()]}
        elif "strata" in defaults and opts.method != "all":
            # The stratified default weighs no other family: compare them within each
            # stratum instead (undercount.uncertainty.families.stratified_family_check).
            families, family_warnings = stratified_family_check(
                res, table, defaults["strata"], check_rng, level=opts.level)
        settings = {"method": method, "recipe": opts.recipe, **_settings(estimator)}
        if defaults:
            settings["defaults"] = defaults
        if input_sheet is not None:
            settings["input_sheet"] = input_sheet
        stochastic = getattr(type(estimator), "stochastic", True)
        prov = Provenance(
            settings=settings,
            # A seed the user gave is recorded even when nothing random ran, so the
            # provenance says what was asked for.
            seed=seed if (stochastic or seed_given) else None,
            inputs=hashes,
        )
        results.append(dataclasses.replace(
            res,
            diagnostics=(*overlaps, *res.diagnostics, *covariate_warnings, *family_warnings),
            covariates=covariates,
            families=families if families is not None else res.families,
            defaults=defaults or None,
            provenance=prov.to_dict(),
            reported=(None if opts.reported is None else
                      compare_reported(res.estimate, res.interval, opts.reported).to_dict()),
            input_notes=(*res.input_notes, *table.notes),
            identifying=identifying_summary(res, table),
        ))
    if opts.method != "all":
        return results[0]
    if not results:
        raise EstimationError(
            "no method could estimate this table: "
            + "; ".join(f"{m}: {why}" for m, why in failures)
        )
    return Comparison(
        results=tuple(results),
        failures=tuple(failures),
        provenance=Provenance(settings=dataclasses.asdict(opts), seed=seed, inputs=hashes)
        .to_dict(),
    )


def _configured(
    given: EstimateOptions, resolved: EstimateOptions, method: str, table: CaptureTable
) -> tuple[Estimator, dict[str, Any]]:
    """The estimator for one family, and the package defaults it was given."""
    defaults = defaults_applied(given, resolved)
    # The default bootstrap runs its replicates in this process, as the validation
    # battery did: with the top 10 models they cost a second or two, less than the
    # model search, and a process pool forked from a process that already runs
    # threads (DuckDB under `undercount run`, a notebook) can crash its workers.
    estimator = wrap_estimator(build_estimator(resolved, method), resolved, table,
                               n_jobs=1 if "bootstrap" in defaults else None)
    return estimator, defaults


def _stratified_default(
    given: EstimateOptions, table: CaptureTable, block: dict[str, Any] | None,
    pooled: MSEResult, seed: int,
) -> tuple[Estimator, MSEResult, dict[str, Any], tuple[Diagnostic, ...]] | Diagnostic | None:
    """The default within the groups of the covariates that change its answer.

    Exactly ``estimate(table, strata=columns, ntop=10, seed=seed)``: the BIC-best model in
    each group, totalled, with the joint bootstrap re-selecting among each group's 10 best
    models (on more than 5 lists ``select="stepwise"``, the whole search re-run). Returns the
    estimator, its result, the defaults filled in and the diagnostic saying so; None when no
    covariate qualifies (:func:`~undercount.uncertainty.covariates.default_strata`); when
    the stratified fit fails, only the diagnostic saying why (the pooled result is kept).
    """
    columns = default_strata(block, table)
    if not columns:
        return None
    if table.n_lists > MAX_LISTS_ALL_MODELS:
        # Stepwise selection, re-run whole in each replicate: no top models to restrict to.
        select, ntop, flags = "stepwise", None, "--select stepwise"
    else:
        select = "bic"
        ntop = given.ntop if given.ntop is not None else DEFAULT_NTOP
        flags = f"--ntop {ntop}"
    # The pooled analysis named by its options: the resample the package chose, if not
    # the one --bootstrap N alone gets.
    pooled_resample = resolve_options(given, table).resample
    pooled_flags = flags + (f" --resample {pooled_resample}"
                            if given.resample is None
                            and pooled_resample != DEFAULT_BOOTSTRAP_RESAMPLING else "")
    # The joint bootstrap over strata has no parametric resample (EstimateOptions refuses
    # it beside strata): that choice stays with the pooled fit.
    resample = None if given.parametric else given.resample
    strat = dataclasses.replace(given, strata=columns, select=select, ntop=ntop, interval=None,
                                resample=resample)
    estimator, _ = _configured(strat, resolve_options(strat, table), "loglinear", table)
    names = ", ".join(columns)
    lo, hi = pooled.interval.lower, pooled.interval.upper
    try:
        res = estimator.fit(table, rng=np.random.default_rng(seed))
    except (EstimationError, InputError) as exc:
        return Diagnostic(
            DEFAULT_STRATIFIED,
            f"capture depends on {names}, but the default could not be estimated within its "
            f"groups ({str(exc).splitlines()[0]}); the pooled answer is kept",
        )
    note = Diagnostic(
        DEFAULT_STRATIFIED,
        f"capture depends on {names}, so this default estimated N separately for each "
        f"value of {names} and totals them (the joint bootstrap re-selects each group's "
        "model); "
        f"pooled over {names} the default gave {pooled.estimate:,.0f} ({lo:,.0f}-{hi:,.0f}). "
        f"The pooled analysis: --bootstrap {DEFAULT_BOOTSTRAP} {pooled_flags}; this one: "
        f"--strata {','.join(columns)} {flags}."
        + (f" --interval {given.interval} does not apply to the total over groups, which is "
           "the joint bootstrap's percentile interval."
           if given.interval not in (None, "percentile") else ""),
    )
    defaults = {"select": select, "strata": list(columns),
                **({"ntop": ntop} if ntop is not None else {}),
                "bootstrap": DEFAULT_BOOTSTRAP,
                **({} if given.interval else {"interval": "percentile"}),
                **({} if resample else {"resample": DEFAULT_BOOTSTRAP_RESAMPLING})}
    return estimator, res, defaults, (note,)


def configured_estimator(
    table: CaptureTable, *, method: str = "loglinear", **options: Any
) -> Estimator:
    """The estimator that ``estimate(table, method=method, **options)`` fits, unfitted (one
    family, not ``"all"`` or a recipe): for wrappers that fit it many times, such as
    :class:`~undercount.uncertainty.linkage.LinkageAveraging` in ``undercount run``."""
    given = EstimateOptions(method=method, **options)
    return _configured(given, resolve_options(given, table), method, table)[0]


def _sheet_read(source: object, sheet: str | int | None) -> str | None:
    """The name of the Excel sheet an input file was read from; None for other inputs."""
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() in (".xlsx", ".xls") \
            and Path(source).is_file():
        return excel_sheet(source, sheet)[0]
    return None


def _names(value: Sequence[str] | str | None) -> tuple[str, ...] | None:
    """Column names given as a sequence or, as on the command line, ``"a,b"``."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")
    names = tuple(v.strip() for v in value if v.strip())
    return names or None


def _settings(estimator: Any) -> dict[str, Any]:
    get = getattr(estimator, "get_params", None)
    return get() if get is not None else dataclasses.asdict(estimator)


_FAMILY_FIELDS = {
    "loglinear": ("select", "model", "interval", "max_order"),
    "heterogeneity": ("interval",),
    "logitnormal": (),
    "lcm-ml": (),
    "chapman": ("interval",),
    "lincoln-petersen": ("interval",),
    "lcm": ("chains", "iterations", "burn_in"),
    "dga": ("delta", "prior", "prior_params"),
}


def _family_options(opts: EstimateOptions, method: str) -> EstimateOptions:
    """Under ``--method all`` each family gets only the options that apply to it."""
    keep = {name: getattr(opts, name) for name in _FAMILY_FIELDS[method]}
    if method == "loglinear" and keep.get("select") not in (None, "aic", "bic", "stepwise",
                                                             "average"):
        keep.pop("select")
    shared = {k: getattr(opts, k) for k in ("bootstrap", "strata", "imputations", "imputer",
                                            "reported")}
    if method == "loglinear":
        shared["ntop"] = opts.ntop  # only log-linear selection can be restricted to top models
    shared["resample"] = opts.resample
    if method in ("lcm", "dga", "logitnormal", "lcm-ml"):
        shared["bootstrap"] = shared["resample"] = None
    return EstimateOptions(method=method, level=opts.level, **keep, **shared)
