"""A small simulated, linked project shared by the review tests (linked once per session;
tests that write labels work on their own copy)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from undercount.cli import app

_FAST = """
[estimate]
method = "loglinear"
sensitivity = false
interval = "profile"

[report]
pdf = false
"""


@pytest.fixture(scope="session")
def linked_project(tmp_path_factory) -> Path:
    """A 300-person, three-list simulated project after `undercount run` (no labels)."""
    folder = tmp_path_factory.mktemp("review") / "sim"
    res = CliRunner().invoke(app, ["simulate", "--out", str(folder), "--people", "300",
                                   "--seed", "5"])
    assert res.exit_code == 0, res.output
    toml = folder / "project.toml"
    text = toml.read_text().replace('[strata]\ncolumns = ["sex"]\n', "")
    toml.write_text(text + _FAST)
    res = CliRunner().invoke(app, ["run", str(toml), "--no-progress"])
    assert res.exit_code == 0, res.output
    return toml


@pytest.fixture
def project(linked_project: Path, tmp_path: Path) -> Path:
    """A private copy of the linked project (its store included)."""
    dest = tmp_path / "sim"
    shutil.copytree(linked_project.parent, dest)
    return dest / "project.toml"


@pytest.fixture
def truth(project: Path):
    import pandas as pd

    t = pd.read_csv(project.parent / "truth.csv", dtype=str)
    return {(a, b): p for a, b, p in zip(t["list"], t["record_id"], t["person_id"],
                                          strict=True)}
