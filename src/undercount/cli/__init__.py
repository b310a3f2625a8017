"""The ``undercount`` command line (Typer + Rich).

Each command is one library call plus rendering; there is no statistics here. User errors
(:class:`~undercount.errors.UndercountError`) print one clear message, no traceback, and exit
with the code in :data:`undercount.errors.EXIT_CODES`.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import sys
import warnings
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from undercount.cli._common import choice_enum, out, user_errors
from undercount.cli._render import render_payload
from undercount.core import choices as _choices
from undercount.errors import UndercountWarning

__all__ = ["app", "main"]

app = typer.Typer(
    name="undercount",
    help="Multiple systems estimation: how many people are missing from every list.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_out = out


# The choices come from the Literal types the estimators declare (undercount.core.choices),
# so the CLI cannot offer a value an estimator refuses, or miss one it accepts.
Method = choice_enum("Method", _choices.Method)
Select = choice_enum("Select", _choices.Select)
IntervalKind = choice_enum("IntervalKind", _choices.IntervalChoice)
Resampling = choice_enum("Resampling", _choices.Resample)
Recipe = choice_enum("Recipe", _choices.Recipe)
ImputerKind = choice_enum("ImputerKind", _choices.ImputerName)
Prior = choice_enum("Prior", _choices.DgaPrior)


class Format(StrEnum):
    table = "table"
    json = "json"


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _pair(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    parts = _split(value) or []
    try:
        a, b = (float(x) for x in parts)
    except ValueError:
        raise typer.BadParameter(f"expected two numbers a,b; got {value!r}") from None
    return a, b


_ESTIMATE_HELP = (
    "Estimate the total number of people, observed and unobserved.\n\n"
    "Default (no --method, --model, --select, --interval or --bootstrap): three model families "
    "weighted by BIC and pooled into one estimate and interval: the log-linear family (the "
    "BIC-best model on 3 to 5 lists, stepwise selection beyond 5, with 1,000 bootstrap "
    "replicates that re-run the selection), the logit-normal heterogeneity model and latent "
    "classes fitted by maximum likelihood. The result is compared with Rcapture-style "
    "heterogeneity models, a Bayesian latent-class model and, on up to 5 lists, dga; it warns "
    "'model families disagree' when they do, and a table whose covariates change the answer is "
    "stratified by them. docs/validation.md says how this default covers the truth. It is "
    "random: --seed fixes it, and a run without one records the seed it drew. "
    "--bootstrap 0 or --interval profile gives the selected log-linear model's conditional "
    "profile interval alone; --method all shows every family side by side."
)


@app.command(help=_ESTIMATE_HELP)
def estimate(
    source: Annotated[
        str, typer.Argument(help="A shipped dataset name (see `undercount datasets`) or a file.")
    ],
    lists: Annotated[
        str | None, typer.Option(help="List columns, comma-separated (default: all but count).")
    ] = None,
    count_column: Annotated[str, typer.Option(help="Count column of an aggregated table.")] = (
        "count"
    ),
    individual: Annotated[
        bool, typer.Option(help="Each row is one person (needs --lists).")
    ] = False,
    sheet: Annotated[
        str | None,
        typer.Option(help="Excel sheet to read, by name or 0-based number (default: the "
                     "first, with a warning when the workbook has others)."),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="Text encoding of a CSV file, e.g. latin-1 or cp1252 "
                     "(default: UTF-8)."),
    ] = None,
    method: Annotated[Method, typer.Option(help="Estimator family.")] = Method["loglinear"],
    select: Annotated[
        Select | None,
        typer.Option(help="Log-linear model selection (default bic: the best of all "
                     "hierarchical models, for 3 to 5 lists)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="A hierarchical model like [12,13,23], or M0, Mt, Mth-Chao, ..."),
    ] = None,
    interval: Annotated[
        IntervalKind | None,
        typer.Option(help="Interval for frequentist fits. Log-linear default: percentile, from the "
                     "bootstrap with re-selection; bca or smoothed (Efron 2014) read the same "
                     "replicates otherwise; profile or wald give the selected model's "
                     "conditional interval."),
    ] = None,
    level: Annotated[float, typer.Option(help="Interval level.")] = 0.95,
    max_order: Annotated[
        int | None, typer.Option(help="Highest interaction order searched (default J-1).")
    ] = None,
    chains: Annotated[int | None, typer.Option(help="MCMC chains (lcm).")] = None,
    iterations: Annotated[int | None, typer.Option(help="MCMC iterations per chain.")] = None,
    burn_in: Annotated[int | None, typer.Option(help="MCMC burn-in per chain.")] = None,
    delta: Annotated[float | None, typer.Option(help="Hyper-Dirichlet mass (dga).")] = None,
    prior: Annotated[Prior | None, typer.Option(help="Prior on N (dga).")] = None,
    prior_params: Annotated[
        str | None,
        typer.Option(help="Negative-binomial prior parameters a,b (dga --prior negbin)."),
    ] = None,
    bootstrap: Annotated[
        int | None,
        typer.Option(help="Bootstrap replicates, re-running model selection in each. "
                     "Log-linear BIC default: 1000; 0 turns the bootstrap off."),
    ] = None,
    ntop: Annotated[
        int | None,
        typer.Option(help="Restrict bootstrap re-selection (also --strata's joint bootstrap) "
                     "to the top models (log-linear default 10)."),
    ] = None,
    resample: Annotated[
        Resampling | None,
        typer.Option(help="How bootstrap replicates are drawn. parametric-aic (the "
                     "log-linear default on 3 to 5 lists): from the AIC-best model's fit, "
                     "re-selecting by BIC; augmented (the default otherwise): the observed "
                     "people and the estimated unobserved ones, so the number observed "
                     "varies; nonparametric: the observed people only (SparseMSE); "
                     "parametric: from the fitted model."),
    ] = None,
    strata: Annotated[
        str | None, typer.Option(help="Stratum columns, comma-separated (e.g. age_group,sex).")
    ] = None,
    imputations: Annotated[
        int | None, typer.Option(help="Imputations of missing stratum values (default 20).")
    ] = None,
    imputer: Annotated[
        ImputerKind | None, typer.Option(help="How missing stratum values are imputed.")
    ] = None,
    reported: Annotated[
        float | None, typer.Option(help="An official figure to compare with (undercount).")
    ] = None,
    recipe: Annotated[
        Recipe | None, typer.Option(help="Reproduce a published analysis step by step.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for every random step.")] = None,
    format: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Estimate the total number of people, observed and unobserved."""
    # The estimator families (scipy, numba) load on use, not for `undercount --help`.
    from undercount.pipeline.estimate import estimate as run_estimate

    with user_errors(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndercountWarning)
        result = run_estimate(
            source,
            lists=lists,
            count_column=count_column,
            individual=individual,
            seed=seed,
            method=method.value,
            select=select.value if select else None,
            model=model,
            interval=interval.value if interval else None,
            level=level,
            max_order=max_order,
            chains=chains,
            iterations=iterations,
            burn_in=burn_in,
            delta=delta,
            prior=prior.value if prior else None,
            prior_params=_pair(prior_params),
            bootstrap=bootstrap,
            ntop=ntop,
            resample=resample.value if resample else None,
            strata=strata,
            imputations=imputations,
            imputer=imputer.value if imputer else None,
            reported=reported,
            recipe=recipe.value if recipe else None,
            sheet=sheet,
            encoding=encoding,
        )
    payload = result.to_dict()
    extra_warnings = [str(w.message) for w in caught if issubclass(w.category, UndercountWarning)]
    if extra_warnings:
        payload.setdefault("warnings", [])
        payload["warnings"] = [*extra_warnings, *payload["warnings"]]
    if format is Format.json:
        sys.stdout.write(json.dumps(payload, indent=2, allow_nan=False) + "\n")
        return
    render_payload(_out, payload)


@app.command("datasets")
def list_datasets(
    name: Annotated[str | None, typer.Argument(help="Show one dataset in full.")] = None,
) -> None:
    """List the shipped datasets with their citations."""
    from undercount import datasets as _datasets

    with user_errors():
        if name is not None:
            info = _datasets.info(name)
            table = _datasets.load(name)
            _out.print(Text.assemble((info.name, "bold"), ": ", info.description))
            _out.print(f"Lists: {info.lists}", markup=False)
            _out.print(f"Cells: {len(table.counts)}, n = {table.n_observed:,}")
            _out.print(f"Citation: {info.citation}", markup=False)
            _out.print(f"Provenance: {info.provenance}", markup=False)
            return
        t = Table(title="Shipped datasets")
        t.add_column("name")
        t.add_column("description")
        t.add_column("citation")
        for n in _datasets.names():
            info = _datasets.info(n)
            t.add_row(Text(n), Text(info.description), Text(str(info.citation)))
        _out.print(t)


def _register_optional() -> None:
    # Stages that ship their own commands register them here.
    for module in ("_link", "_simulate", "_run", "_validate", "_review"):
        name = f"undercount.cli.{module}"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(app)


_register_optional()


def main() -> None:
    """Console entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
