"""``--seed -1`` is a clean usage error everywhere, never a traceback (issue 16)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from undercount.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["estimate", "kosovo", "--seed", "-1"], 3,
         "seed = -1: must be a non-negative whole number"),
        (["simulate", "--out", "{tmp}/sim", "--people", "50", "--seed", "-1"], 2,
         "Invalid value for '--seed'"),
        (["validate", "--seed", "-1", "--out", "{tmp}/val"], 2, "Invalid value for '--seed'"),
    ],
)
def test_negative_seed(tmp_path, args, code, message):
    res = runner.invoke(app, [a.format(tmp=tmp_path) for a in args])
    assert res.exit_code == code, res.output
    assert message in res.output
    assert "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == []  # nothing written
