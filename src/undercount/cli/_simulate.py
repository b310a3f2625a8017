"""``undercount simulate``: write simulated lists with known truth and a project file."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from undercount.cli._common import exit_code
from undercount.errors import ConfigError, UndercountError

if TYPE_CHECKING:
    from undercount.simulate import SimulatedList

__all__ = ["load_list_specs", "register"]


def load_list_specs(path: Path) -> tuple[list[SimulatedList], dict[str, Any]]:
    """Read list specifications from a TOML or JSON file.

    The file holds ``[[lists]]`` tables with the fields of
    :class:`undercount.simulate.SimulatedList` (``name``, ``rate``, ``effects``, ``latent``,
    ``depends_on``, ``script``, ``fields``, and a ``noise`` table with the fields of
    :class:`undercount.simulate.NoiseSpec`), and optionally a ``[simulation]`` table with
    ``people`` and ``mean_group_size``. Returns ``(specs, simulation_options)``.
    """
    if not path.is_file():
        raise ConfigError(f"--lists {path}: neither a number of lists nor a spec file")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: could not be read as a list spec file: {exc}") from exc
    entries = data.get("lists")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: no [[lists]] entries")
    options = dict(data.get("simulation", {}))
    unknown = sorted(set(options) - {"people", "mean_group_size"})
    if unknown:
        raise ConfigError(f"{path}: unknown [simulation] key(s) {unknown}; "
                          "allowed: people, mean_group_size")
    # Imported here: the simulator is not needed to start the CLI.
    from undercount.simulate import SimulatedList

    return [SimulatedList.from_dict(e) for e in entries], options


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to ``app``."""

    @app.command("simulate")
    def simulate(
        out: Annotated[Path, typer.Option("--out", help="Output folder.")],
        people: Annotated[
            int | None, typer.Option("--people", help="Population size N (default 10000).")
        ] = None,
        lists: Annotated[
            str,
            typer.Option(
                "--lists",
                help="Number of lists in the default scenario (2-8), or a TOML/JSON file of "
                "[[lists]] specifications.",
            ),
        ] = "3",
        seed: Annotated[
            int | None,
            typer.Option("--seed", min=0,
                         help="Random seed, 0 or more (default: fresh entropy, printed)."),
        ] = None,
        mean_group_size: Annotated[
            float | None,
            typer.Option("--mean-group-size", help="Mean sibling-group size (default 1.5)."),
        ] = None,
        overwrite: Annotated[
            bool, typer.Option("--overwrite", help="Replace a non-empty --out folder.")
        ] = False,
    ) -> None:
        """Simulate victim lists of a known population: lists/*.csv, truth.csv,
        population.csv and project.toml."""
        try:
            options: dict[str, Any] = {}
            if lists.strip().isdigit():
                specs: Any = int(lists)
            else:
                specs, options = load_list_specs(Path(lists))
            n = people if people is not None else int(options.get("people", 10_000))
            group = (mean_group_size if mean_group_size is not None
                     else float(options.get("mean_group_size", 1.5)))
            if out.exists() and not out.is_dir():
                raise ConfigError(f"--out {out}: exists and is not a folder")
            if out.exists() and any(out.iterdir()) and not overwrite:
                raise ConfigError(
                    f"--out {out}: folder is not empty; pass --overwrite to replace it"
                )
            if seed is None:
                seed_used = int(np.random.SeedSequence().entropy % (2**63))
            else:
                seed_used = seed
            from undercount.simulate import simulate_lists

            sim = simulate_lists(
                n_people=n, lists=specs, rng=np.random.default_rng(seed_used),
                mean_group_size=group, seed=seed_used,
            )
            sim.write(out, overwrite=overwrite)
        except UndercountError as exc:
            typer.echo(f"{type(exc).__name__}: {exc}", err=True)
            raise typer.Exit(exit_code(exc)) from None
        sizes = ", ".join(f"{k} {len(v):,}" for k, v in sim.lists.items())
        observed = int(sim.population[list(sim.list_names)].to_numpy().any(axis=1).sum())
        typer.echo(f"N = {n:,} people; observed {observed:,}; records: {sizes}")
        typer.echo(f"seed {seed_used}; wrote {out}")
