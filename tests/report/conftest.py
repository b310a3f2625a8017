"""Fixtures for the report tests: a real estimate, and headless Chromium when available."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _ensure_browser() -> str | None:
    """Chromium's path, installing it with scripts/install_browser.sh if it is missing."""
    from undercount.report.pdf import BrowserNotFoundError, find_chromium

    try:
        return find_chromium()
    except BrowserNotFoundError:
        pass
    script = ROOT / "scripts" / "install_browser.sh"
    try:
        subprocess.run(["bash", str(script)], check=True, timeout=900,
                       capture_output=True, text=True)
    except (subprocess.SubprocessError, OSError):
        return None
    try:
        return find_chromium()
    except BrowserNotFoundError:
        return None


@pytest.fixture(scope="session")
def chromium() -> str:
    path = _ensure_browser()
    if path is None:
        pytest.skip("headless Chromium is not installed and scripts/install_browser.sh could "
                    "not install it (needs apt-get and root)")
    return path


@pytest.fixture(scope="session")
def pdftoppm(chromium: str) -> str:
    path = shutil.which("pdftoppm")
    if path is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed and could not be installed")
    return path


@pytest.fixture(scope="session")
def gaza_result():
    from undercount.pipeline.estimate import estimate, load_table

    table, _ = load_table("gaza_lancet_2025")
    result = estimate(table, method="loglinear", select="aic", seed=1)
    return table, result
