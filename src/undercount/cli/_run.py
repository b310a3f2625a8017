"""``undercount run / status / report``: the project pipeline on the command line.

Each command is one call into :class:`undercount.pipeline.runner.Project`; errors in the
project file are reported (file, key, column) before any stage starts.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from undercount.cli._common import err, out, user_errors
from undercount.cli._interrupt import interruptible
from undercount.errors import UndercountWarning

__all__ = ["register"]

_out = out


def run(
    project: Annotated[Path, typer.Argument(help="The project file (TOML).")],
    until: Annotated[
        str | None, typer.Option(help="Stop after this stage (ingest, ..., report).")
    ] = None,
    force: Annotated[
        list[str] | None, typer.Option(help="Rerun this stage even if cached (repeatable).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Run every stage of a project (ingest → … → report), skipping cached ones.

    Ctrl-C or SIGTERM stops it with exit status 130 or 143 and one line; the stages already
    completed are kept in the store, and the next run resumes after them.
    """
    # The pipeline (linkage, estimators, report) loads on use, not for `undercount --help`.
    from undercount.pipeline.runner import Project

    with (
        user_errors(),
        interruptible("completed stages are kept") as intr,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always", UndercountWarning)
        p = Project(project)
        summary = p.run(until=until, force=tuple(force or ()), progress=progress,
                        console=err, on_stage=intr.enter)
        repeats = p.list_warnings()
    for w in caught:
        if issubclass(w.category, UndercountWarning):
            err.print(f"[bold yellow]warning[/bold yellow]: {escape(str(w.message))}",
                      highlight=False)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    for message in repeats:
        err.print(f"[bold yellow]warning[/bold yellow]: {escape(message)}", highlight=False)
    report = next((s for s in summary.stages if s.stage == "report"), None)
    if report is not None:
        sentence = report.summary.get("sentence")
        if sentence:
            _out.print(str(sentence), markup=False, highlight=False)
        _out.print(f"Report: {report.summary.get('html')}", markup=False, highlight=False)
        if report.summary.get("pdf"):
            _out.print(f"PDF:    {report.summary.get('pdf')}", markup=False, highlight=False)
    _out.print(f"Store:  {summary.store}", markup=False, highlight=False)


def status(
    project: Annotated[Path, typer.Argument(help="The project file (TOML).")],
) -> None:
    """Show which stages have run, with each stage's hash."""
    # The pipeline (linkage, estimators, report) loads on use, not for `undercount --help`.
    from undercount.pipeline.runner import Project

    with user_errors():
        p = Project(project, check_inputs=False)
        rows = p.status()
    t = Table(title=Text(f"{p.config.name}: {p.store.path}"))
    for col in ("stage", "state", "input hash", "output hash", "finished (UTC)", "time"):
        t.add_column(col)
    colors = {"up to date": "green", "outdated": "yellow", "interrupted": "red"}
    for r in rows:
        color = colors.get(r["state"], "dim")
        t.add_row(
            r["stage"], f"[{color}]{r['state']}[/{color}]", r["input_hash"][:16],
            r["output_hash"][:16],
            r["finished_at"].strftime("%Y-%m-%d %H:%M:%S") if r["finished_at"] else "",
            f"{r['seconds']:.1f} s" if r["seconds"] is not None else "",
        )
    _out.print(t)


def report(
    project: Annotated[Path, typer.Argument(help="The project file (TOML).")],
    html: Annotated[Path | None, typer.Option(help="Write the HTML here.")] = None,
    pdf: Annotated[Path | None, typer.Option(help="Also print a PDF here.")] = None,
    redact: Annotated[
        bool | None,
        typer.Option("--redact/--no-redact", help="Leave out names and IDs (default: [report])."),
    ] = None,
) -> None:
    """Render the report of a project from its store (after `undercount run`)."""
    # The pipeline (linkage, estimators, report) loads on use, not for `undercount --help`.
    from undercount.pipeline.runner import Project

    with user_errors():
        p = Project(project, check_inputs=False)
        html_path = html or p.config.output / "report.html"
        rep = p.report(redact=redact, html_path=html_path, pdf_path=pdf)
    _out.print(str(rep.headline["sentence"]), markup=False, highlight=False)
    _out.print(f"Report: {html_path}", markup=False, highlight=False)
    if pdf:
        _out.print(f"PDF:    {pdf}", markup=False, highlight=False)
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add ``run``, ``status`` and ``report`` to the ``undercount`` app."""
    app.command("run")(run)
    app.command("status")(status)
    app.command("report")(report)
