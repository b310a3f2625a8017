"""CLI commands ``link`` and ``evaluate-linkage``; :func:`register` adds them to the app."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from undercount.cli._common import err, user_errors
from undercount.cli._common import out as _out
from undercount.cli._interrupt import interruptible
from undercount.errors import UndercountWarning

__all__ = ["register"]


def link(
    project: Annotated[Path, typer.Argument(help="Project TOML file (lists, columns, options).")],
) -> None:
    """Link the project's lists into people and write records and capture histories.

    Ctrl-C or SIGTERM stops it with exit status 130 or 143 and one line; nothing is written
    (the output folder is replaced only when complete).
    """
    # Linkage (splink, duckdb) loads on use, not for `undercount --help`.
    from undercount.link.pipeline import link_project

    with (
        user_errors(),
        interruptible("nothing was written (the outputs are written only when complete)")
        as intr,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always", UndercountWarning)
        result = link_project(project, on_stage=lambda stage: _stage(intr, stage))
    for w in caught:
        if issubclass(w.category, UndercountWarning):
            err.print(f"[bold yellow]warning[/bold yellow]: {escape(str(w.message))}",
                      highlight=False)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    rep = result.report
    t = rep["timings"]
    _out.print(
        f"linked {rep['n_records']:,} records from {len(result.lists)} list(s) into "
        f"{rep['n_clusters']:,} distinct people ({rep['n_edges']:,} links at p >= "
        f"{result.settings.threshold}; {rep['n_refused']:,} refused by cannot-link rules)"
    )
    _out.print(
        f"{rep['n_suspicious']:,} suspicious cluster(s) listed in suspicious_clusters.csv; "
        f"standardiser: {rep['standardiser']}", markup=False, highlight=False
    )
    for lst, columns in rep.get("coerced", {}).items():
        for col, info in columns.items():
            ex = "; ".join(f"row {r}: {v!r}" for r, v in info["examples"])
            _out.print(
                f"list {lst!r}, column {col!r}: {info['count']:,} bad value(s) made missing "
                f'(on_bad_value = "coerce"), e.g. {ex}',
                highlight=False,
            )
    _out.print(
        "time: " + ", ".join(f"{k} {v:.1f}s" for k, v in t.items()), highlight=False
    )
    _out.print(f"written to {result.output}", markup=False, highlight=False)


def _stage(intr: Any, stage: str) -> None:
    intr.enter(stage)
    err.print(f"stage: {stage}", style="dim", highlight=False)


def evaluate_linkage_cmd(
    linked: Annotated[Path, typer.Argument(help="Output folder of `undercount link`.")],
    truth: Annotated[
        str,
        typer.Option(
            help="Truth: a file with list, record_id, person_id (or record_id/unique_id and "
            "person_id/cluster), or 'febrl' to read the entity from FEBRL record ids."
        ),
    ],
    blocking: Annotated[bool, typer.Option(help="Also measure blocking recall.")] = True,
    estimate: Annotated[
        bool, typer.Option(help="Compare N-hat from true and linked histories.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    curve: Annotated[
        Path | None,
        typer.Option(
            help="Where to write precision and recall over thresholds (CSV); default: "
            "<linked>_threshold_curve.csv beside the output folder."
        ),
    ] = None,
) -> None:
    """Score a linkage against known truth: pairwise, B-cubed, ARI, blocking recall, N-hat."""
    # Linkage and the estimators load on use, not for `undercount --help`.
    from undercount.link.evaluate import load_truth, threshold_curve
    from undercount.link.pipeline import read_linkage
    from undercount.uncertainty.linkage_effect import evaluate_linkage

    with user_errors():
        data = read_linkage(linked)
        labels = load_truth(truth, data["records"])
        settings = data.get("settings")
        ev = evaluate_linkage(
            data["records"],
            labels,
            lists=data["sidecar"]["lists"],
            standardised=data.get("standardised") if blocking else None,
            blocking_rules=settings.blocking_rules if (blocking and settings) else None,
            estimate=estimate,
        )
        if "standardised" in data:  # issue 19: false merges by kind and their effect
            ev = _with_false_merges(ev, data, labels, estimate=estimate)
        table = None
        if "edges" in data:
            table = threshold_curve(
                data["records"], data["edges"], labels, standardised=data.get("standardised"),
                cannot_link=settings.cannot_link if settings else ("national_id", "sex"),
                run_threshold=settings.threshold if settings else None,
            )
            path = curve or linked.parent / f"{linked.name}_threshold_curve.csv"
            table.to_csv(path, index=False)
    if as_json:
        out = ev.to_dict()
        if table is not None:
            out["threshold_curve"] = table.to_dict("records")
        _out.print_json(json.dumps(out, default=str))
    else:
        _out.print(ev.summary(), markup=False, highlight=False)
        if table is not None:
            _out.print("precision and recall over thresholds (pairwise, re-clustered):",
                       highlight=False)
            for r in table.itertuples():
                _out.print(
                    f"  p >= {r.threshold:<7g} precision {r.precision:.4f}  "
                    f"recall {r.recall:.4f}  F1 {r.f1:.4f}  clusters {r.n_clusters:,}",
                    highlight=False,
                )
            _out.print(f"curve written to {path}", markup=False, highlight=False)


def _with_false_merges(ev, data, labels, *, estimate: bool):
    """``ev`` with its false merges by kind (:mod:`undercount.link.relatives`) and, for
    each kind, N-hat from the histories with those merges undone."""
    import dataclasses

    from undercount.link.relatives import (
        FALSE_MERGE_KINDS,
        false_merge_pairs,
        given_name_weights,
        undo_false_merges,
    )
    from undercount.uncertainty.linkage_effect import estimate_effect

    records = data["records"]
    cluster = records["cluster_id"].to_numpy()
    pairs = false_merge_pairs(cluster, labels, data["standardised"])
    counts = pairs["kind"].value_counts()
    fm = {"pairs": {k: int(counts.get(k, 0)) for k in FALSE_MERGE_KINDS}}
    settings = data.get("settings")
    if settings is not None and settings.model:
        fm["given_name_weights"] = given_name_weights(settings.model)
    if estimate:
        lists = data["sidecar"]["lists"]
        undone = {}
        for kind in FALSE_MERGE_KINDS:
            fixed = undo_false_merges(cluster, labels, pairs, (kind,))
            e = estimate_effect(records["list"], fixed, labels, lists)
            if "estimate_linked" in e:
                base = (ev.estimate or {}).get("estimate_linked")
                undone[kind] = {"estimate": e["estimate_linked"], "estimate_linked": base}
        fm["estimate_undone"] = {k: v for k, v in undone.items() if v["estimate_linked"]}
    return dataclasses.replace(ev, false_merges=fm)


def register(app: typer.Typer) -> None:
    """Add ``link`` and ``evaluate-linkage`` to ``app``."""
    app.command("link")(link)
    app.command("evaluate-linkage")(evaluate_linkage_cmd)
