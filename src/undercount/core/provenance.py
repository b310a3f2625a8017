"""Provenance: what produced a result (versions, settings, seeds, input hashes)."""

from __future__ import annotations

import hashlib
import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["Provenance", "file_sha256", "package_versions"]

_PACKAGES = ("undercount", "numpy", "scipy", "pandas", "numba", "arviz", "xarray")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Provenance:
    """Everything needed to rerun a result. No wall-clock time, so equal runs compare equal."""

    settings: dict[str, Any]
    seed: int | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=package_versions)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
