"""CLI commands ``link`` and ``evaluate-linkage``; :func:`register` adds them to the app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from undercount.cli._common import out as _out
from undercount.cli._common import user_errors

__all__ = ["register"]



def link(
    project: Annotated[Path, typer.Argument(help="Project TOML file (lists, columns, options).")],
) -> None:
    """Link the project's lists into people and write records and capture histories."""
    from undercount.link.pipeline import link_project

    with user_errors():
        result = link_project(project)
    rep = result.report
    t = rep["timings"]
    _out.print(
        f"linked {rep['n_records']:,} records from {len(result.lists)} list(s) into "
        f"{rep['n_clusters']:,} people ({rep['n_edges']:,} links at p >= "
        f"{result.settings.threshold}; {rep['n_refused']:,} refused by cannot-link rules)"
    )
    _out.print(
        f"{rep['n_suspicious']:,} suspicious cluster(s) listed in suspicious_clusters.csv; "
        f"standardiser: {rep['standardiser']}"
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
    _out.print(f"written to {result.output}")


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
        _out.print(ev.summary(), highlight=False)
        if table is not None:
            _out.print("precision and recall over thresholds (pairwise, re-clustered):",
                       highlight=False)
            for r in table.itertuples():
                _out.print(
                    f"  p >= {r.threshold:<7g} precision {r.precision:.4f}  "
                    f"recall {r.recall:.4f}  F1 {r.f1:.4f}  clusters {r.n_clusters:,}",
                    highlight=False,
                )
            _out.print(f"curve written to {path}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``link`` and ``evaluate-linkage`` to ``app``."""
    app.command("link")(link)
    app.command("evaluate-linkage")(evaluate_linkage_cmd)
