"""``undercount review`` and ``undercount labels export / import``: clerical review.

See ``docs/review.md``. The commands load the review package only when they run, so that
``undercount --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from undercount.cli._common import err, out, user_errors

__all__ = ["register"]


def review(
    project: Annotated[Path, typer.Argument(
        help="The project file (TOML), after `undercount run`.")],
    port: Annotated[int, typer.Option(help="Port (0: a free one).")] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback only unless "
                                           "--allow-remote).")] = "127.0.0.1",
    allow_remote: Annotated[bool, typer.Option(
        "--allow-remote", help="Allow a non-loopback --host (warns: records are shown).")] = False,
    reviewer: Annotated[str | None, typer.Option(help="Your name, stored with each label.")] = None,
    no_open: Annotated[bool, typer.Option("--no-open", help="Do not open a browser.")] = False,
    sample: Annotated[int, typer.Option(help="Pairs in the stratified design sample.")] = 200,
) -> None:
    """Label uncertain pairs in the browser; the first line printed is the page's address."""
    # Heavy imports (the store, Starlette, uvicorn) only when the command runs.
    from undercount.review.server import check_host, serve
    from undercount.review.session import DesignOptions, ReviewSession

    with user_errors():
        check_host(host, allow_remote)
        session = ReviewSession(project, design=DesignOptions(n_design=sample))
    try:
        with user_errors():
            serve(session, host=host, port=port, allow_remote=allow_remote, reviewer=reviewer,
                  open_browser=not no_open, stdout=sys.stdout)
    except KeyboardInterrupt:
        pass
    err.print("review server stopped; labels are in the store", highlight=False)


def labels_export(
    project: Annotated[Path, typer.Argument(help="The project file (TOML).")],
    out_file: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
) -> None:
    """Write every label ever given (the full history) to a CSV file."""
    from undercount.io.project import load_project
    from undercount.pipeline.store import Store
    from undercount.review.labels import agreement, export_labels

    with user_errors():
        cfg = load_project(project, check_inputs=False)
        store = Store(cfg.store_path)
        n = export_labels(store, out_file)
        kappas = agreement(store)
    out.print(f"wrote {n:,} label(s) to {out_file}", highlight=False)
    _print_kappa(kappas)


def labels_import(
    project: Annotated[Path, typer.Argument(help="The project file (TOML).")],
    file: Annotated[Path, typer.Argument(help="CSV with list_l, record_l, list_r, record_r, "
                                              "label (and reviewer, note).")],
    reviewer: Annotated[str | None, typer.Option(help="Reviewer for rows without one.")] = None,
) -> None:
    """Append labels given elsewhere (checked whole first: a bad row stores nothing)."""
    from undercount.review.labels import agreement, import_labels
    from undercount.review.session import ReviewSession

    with user_errors():
        session = ReviewSession(project)
        n = import_labels(session, file, reviewer=reviewer)
        kappas = agreement(session.store)
    out.print(f"imported {n:,} label(s) from {file}", highlight=False)
    _print_kappa(kappas)


def _print_kappa(kappas: list[dict]) -> None:
    for k in kappas:
        a, b = k["reviewers"]
        out.print(f"agreement {a} / {b}: Cohen's kappa {k['kappa']:.3f} on {k['pairs']} "
                  "pair(s) both labelled", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``review`` and ``labels export / import`` to ``app``."""
    app.command("review")(review)
    labels = typer.Typer(help="Clerical-review labels: export and import (CSV).",
                         no_args_is_help=True)
    labels.command("export")(labels_export)
    labels.command("import")(labels_import)
    app.add_typer(labels, name="labels")
