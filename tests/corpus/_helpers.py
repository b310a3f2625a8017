"""Shared by the malformed-input corpora: snapshots of a folder (to show that no input was
changed and no output was left behind) and the CLI runner."""

from __future__ import annotations

import hashlib
from pathlib import Path

from typer.testing import CliRunner

__all__ = ["RUNNER", "snapshot"]

RUNNER = CliRunner()


def snapshot(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (folders as ``"<dir>"``)."""
    out: dict[str, str] = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = "<dir>" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out
