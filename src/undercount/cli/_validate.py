"""``undercount validate``: the simulation battery (do the intervals cover the truth?)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from undercount.cli._common import error_text, exit_code
from undercount.errors import UndercountError

__all__ = ["register"]


def _split(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def register(app: typer.Typer) -> None:
    """Add the ``validate`` command to ``app``."""

    @app.command("validate")
    def validate(
        out: Annotated[Path, typer.Option("--out", help="Output folder for tables and plots.")],
        designs: Annotated[
            str | None,
            typer.Option(help="Designs, comma-separated (default: all table-level designs)."),
        ] = None,
        families: Annotated[
            str | None,
            typer.Option(help="Estimator families, comma-separated (default: all six)."),
        ] = None,
        replicates: Annotated[int, typer.Option(help="Replicates R per design.")] = 100,
        seed: Annotated[int, typer.Option(min=0, help="Master seed, 0 or more.")] = 0,
        first_replicate: Annotated[
            int, typer.Option(help="Number of the first replicate (to extend or split a run).")
        ] = 0,
        jobs: Annotated[int, typer.Option(help="Worker processes.")] = 1,
        bootstrap_replicates: Annotated[
            int, typer.Option(help="Replicates of the bootstrap family.")
        ] = 1000,
        linkage_draws: Annotated[
            int, typer.Option(help="Plausible linkages per replicate (linkavg-* families).")
        ] = 20,
        combine: Annotated[
            str | None,
            typer.Option(help="Only tabulate: replicates.csv files of earlier runs, "
                              "comma-separated (the parts of one battery)."),
        ] = None,
        supersede: Annotated[
            str | None,
            typer.Option(help="With --combine: replicates.csv files whose rows replace the "
                              "parts' rows for the same design, family and replicate (a "
                              "family rerun with a newer version)."),
        ] = None,
        list_designs: Annotated[
            bool, typer.Option("--list", help="List the designs and families and exit.")
        ] = False,
    ) -> None:
        """Run the simulation battery: bias, RMSE, coverage and width per design and family."""
        # Imported on use: the battery loads every estimator family and the linkage
        # pipeline, which the rest of the CLI (and ``undercount --help``) should not wait for.
        from undercount.validate import (
            DESIGNS,
            FAMILIES,
            LINKAGE_FAMILIES,
            BatteryOptions,
            describe_linkage_family,
            load_replicates,
            run_battery,
            summarise,
            summary_markdown,
            write_outputs,
        )

        console = Console(stderr=True, emoji=False)
        if list_designs:
            for name, d in DESIGNS.items():
                typer.echo(f"design  {name:12s} {d.description}")
            for name, (desc, _) in FAMILIES.items():
                typer.echo(f"family  {name:12s} {desc}")
            for name in LINKAGE_FAMILIES:
                typer.echo(f"family  {name:22s} {describe_linkage_family(name)}")
            return
        command = "undercount " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        if supersede and not combine:
            console.print("[bold red]ConfigError[/bold red]: --supersede needs --combine")
            raise typer.Exit(2)
        if combine:
            try:
                results = load_replicates(_split(combine) or [], _split(supersede) or [])
            except UndercountError as exc:
                console.print(error_text(exc), highlight=False)
                raise typer.Exit(exit_code(exc)) from None
            paths = write_outputs(results, out, command=command)
            typer.echo(summary_markdown(summarise(results)))
            typer.echo(f"Written: {', '.join(str(p) for p in paths.values())}")
            return
        try:
            options = BatteryOptions(
                bootstrap_replicates=bootstrap_replicates, linkage_draws=linkage_draws
            )

            def progress(done: int, total: int) -> None:
                if done == total or done % max(1, total // 20) == 0:
                    console.print(f"{done}/{total} replicates", highlight=False)

            results = run_battery(
                _split(designs),
                _split(families),
                replicates=replicates,
                seed=seed,
                jobs=jobs,
                first_replicate=first_replicate,
                options=options,
                progress=progress,
            )
        except UndercountError as exc:
            console.print(error_text(exc), highlight=False)
            raise typer.Exit(exit_code(exc)) from None
        paths = write_outputs(results, out, command=command)
        typer.echo(summary_markdown(summarise(results)))
        typer.echo(f"Written: {', '.join(str(p) for p in paths.values())}")
