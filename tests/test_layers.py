"""The import-linter contracts in pyproject.toml hold: the layers import one way.

Runs ``lint-imports`` (the executable installed next to this interpreter) on the source
tree and fails with its report, so that the test suite enforces the layering.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    pytest.importorskip("importlinter", reason="import-linter is not installed (dev extra)")
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip(f"import-linter is installed but {exe} is missing")
    env = dict(os.environ)
    # Analyse this checkout's source tree, whatever copy of undercount is installed.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p
    )
    proc = subprocess.run(
        [str(exe), "--no-cache", "--no-logo"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
