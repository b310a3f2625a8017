"""``undercount validate`` through Typer's test runner."""

from __future__ import annotations

import pandas as pd
import typer
from typer.testing import CliRunner

from undercount.cli._validate import register
from undercount.validate import DESIGNS, FAMILIES, LINKAGE_FAMILIES, load_replicates

runner = CliRunner()


def app() -> typer.Typer:
    a = typer.Typer()
    register(a)

    @a.callback()
    def main() -> None:  # keeps "validate" a subcommand
        pass

    return a


def test_list_names_every_design_and_family(tmp_path):
    result = runner.invoke(app(), ["validate", "--out", str(tmp_path), "--list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [ln.split()[1] for ln in lines if ln.startswith("design")] == list(DESIGNS)
    assert [ln.split()[1] for ln in lines if ln.startswith("family")] == [
        *FAMILIES, *LINKAGE_FAMILIES]


def test_run_then_combine_gives_the_same_rows(tmp_path):
    run = tmp_path / "run"
    args = ["validate", "--out", str(run), "--designs", "negdep4", "--families",
            "stepwise,rcapture", "--replicates", "2", "--seed", "3"]
    result = runner.invoke(app(), args)
    assert result.exit_code == 0, result.output
    for name in ("replicates.csv", "summary.csv", "summary.md", "coverage.png",
                 "estimates.png"):
        assert (run / name).exists()
    rows = pd.read_csv(run / "replicates.csv")
    assert list(rows["family"]) == ["stepwise", "rcapture", "stepwise", "rcapture"]
    assert (rows["status"] == "ok").all()

    comb = tmp_path / "comb"
    result = runner.invoke(app(), ["validate", "--out", str(comb), "--combine",
                                   str(run / "replicates.csv")])
    assert result.exit_code == 0, result.output
    cols = ["design", "replicate", "family", "estimate", "lower", "upper", "status"]
    pd.testing.assert_frame_equal(load_replicates([comb / "replicates.csv"])[cols],
                                  load_replicates([run / "replicates.csv"])[cols])


def test_supersede_needs_combine_and_overlapping_parts_are_refused(tmp_path):
    result = runner.invoke(app(), ["validate", "--out", str(tmp_path), "--supersede", "x.csv"])
    assert result.exit_code == 2
    assert "--supersede needs --combine" in result.output
    part = tmp_path / "part.csv"
    pd.DataFrame({"design": ["negdep4"], "family": ["stepwise"], "replicate": [0],
                  "truth": [2000], "n_observed": [900], "estimate": [2100.0],
                  "lower": [1900.0], "upper": [2400.0], "status": ["ok"], "message": [""],
                  "seconds": [0.1]}).to_csv(part, index=False)
    result = runner.invoke(app(), ["validate", "--out", str(tmp_path / "o"), "--combine",
                                   f"{part},{part}"])
    assert result.exit_code != 0
    assert "appear twice" in result.output
