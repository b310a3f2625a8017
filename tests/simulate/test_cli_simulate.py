"""``undercount simulate`` through Typer's test runner."""

from __future__ import annotations

import tomllib

import typer
from typer.testing import CliRunner

from undercount.cli._simulate import register

runner = CliRunner()


def app() -> typer.Typer:
    a = typer.Typer()
    register(a)

    @a.callback()
    def main() -> None:  # keeps "simulate" a subcommand
        pass

    return a


def test_writes_files_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "sim"
    args = ["simulate", "--people", "500", "--lists", "3", "--seed", "42", "--out", str(out)]
    result = runner.invoke(app(), args)
    assert result.exit_code == 0, result.output
    assert "seed 42" in result.output
    for name in ("hospital", "family", "media"):
        assert (out / "lists" / f"{name}.csv").exists()
    for name in ("truth.csv", "population.csv", "project.toml"):
        assert (out / name).exists()
    doc = tomllib.loads((out / "project.toml").read_text())
    assert doc["project"]["seed"] == 42
    before = (out / "truth.csv").read_bytes()

    again = runner.invoke(app(), args)
    assert again.exit_code == 3  # ConfigError
    assert "--overwrite" in again.output
    assert (out / "truth.csv").read_bytes() == before

    args[args.index("42")] = "43"
    replaced = runner.invoke(app(), [*args, "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert (out / "truth.csv").read_bytes() != before


def test_spec_file(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(
        '[simulation]\npeople = 300\n\n'
        '[[lists]]\nname = "a"\nrate = 0.5\nscript = "both"\n'
        '[lists.effects]\nfemale = 0.5\n'
        '[lists.noise]\nlam_alef = 1.0\n\n'
        '[[lists]]\nname = "b"\nrate = 0.4\nfields = ["sex", "age"]\n'
        '[lists.depends_on]\na = 0.5\n',
        encoding="utf-8",
    )
    out = tmp_path / "o"
    result = runner.invoke(app(), ["simulate", "--lists", str(spec), "--seed", "1",
                                   "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "N = 300" in result.output
    doc = tomllib.loads((out / "project.toml").read_text())
    assert [x["name"] for x in doc["lists"]] == ["a", "b"]
    assert doc["lists"][1]["columns"] == {"name_ar": "name", "sex": "sex", "age": "age"}


def test_bad_spec_is_a_config_error(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('[[lists]]\nname = "a"\nrate = 3\n', encoding="utf-8")
    result = runner.invoke(app(), ["simulate", "--lists", str(spec), "--out",
                                   str(tmp_path / "o")])
    assert result.exit_code == 3
    assert "rate" in result.output
    assert not (tmp_path / "o").exists()
