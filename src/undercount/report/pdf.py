"""Headless Chromium: print the HTML report to PDF, take screenshots, dump the rendered DOM.

Chromium is found on ``PATH`` (``chromium``, ``chromium-browser``, ``google-chrome``,
``google-chrome-stable``) or through the ``UNDERCOUNT_CHROMIUM`` environment variable. Every
call uses a fresh, throw-away profile and turns off the browser's own network traffic
(updates, sync, QUIC), so printing a report never touches the network. On Debian/Ubuntu,
``scripts/install_browser.sh`` installs it (``apt-get install chromium``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from undercount.errors import UndercountError

__all__ = [
    "BrowserNotFoundError",
    "dump_dom",
    "find_chromium",
    "html_to_pdf",
    "screenshot",
]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

_FLAGS = (
    "--headless",
    "--no-sandbox",  # running as root in containers and CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--run-all-compositor-stages-before-draw",
)


class BrowserNotFoundError(UndercountError, RuntimeError):
    """Headless Chromium is needed (PDF, screenshots) but cannot be found."""


def find_chromium() -> str:
    """Path of a Chromium/Chrome executable, or raise :class:`BrowserNotFoundError`."""
    env = os.environ.get("UNDERCOUNT_CHROMIUM")
    if env:
        if Path(env).is_file() and os.access(env, os.X_OK):
            return env
        raise BrowserNotFoundError(
            f"UNDERCOUNT_CHROMIUM={env!r} is not an executable file"
        )
    for name in _NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserNotFoundError(
        "the PDF report needs headless Chromium, and none was found on PATH (looked for "
        f"{', '.join(_NAMES)}). Install it (Debian/Ubuntu: `apt-get install chromium`, or run "
        "scripts/install_browser.sh), point UNDERCOUNT_CHROMIUM at the executable, or set "
        "`pdf = false` under [report]."
    )


def _run(args: Sequence[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    exe = find_chromium()
    with tempfile.TemporaryDirectory(prefix="undercount-chromium-") as profile:
        cmd = [exe, *_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise UndercountError(
                f"headless Chromium did not finish within {timeout:.0f} s: {' '.join(cmd)}"
            ) from exc
    return proc


def _as_file(source: str | Path, tmp: Path) -> Path:
    """An HTML file for Chromium to open: the path itself, or HTML text written to ``tmp``."""
    if isinstance(source, Path):
        if not source.is_file():
            raise UndercountError(f"{source}: HTML file not found")
        return source.resolve()
    text = str(source)
    if text.lstrip().startswith("<"):
        path = tmp / "report.html"
        path.write_text(text, encoding="utf-8")
        return path
    path = Path(text)
    if not path.is_file():
        raise UndercountError(f"{path}: HTML file not found")
    return path.resolve()


def html_to_pdf(source: str | Path, pdf_path: str | Path, *, timeout: float = 120) -> Path:
    """Print an HTML file (a :class:`~pathlib.Path`) or HTML text to PDF with Chromium.

    Page size and margins come from the report's ``@page`` CSS rule; Chromium's own header
    and footer (date, file URL) are turned off.
    """
    pdf_path = Path(pdf_path).resolve()
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="undercount-pdf-") as tmp:
        html_file = _as_file(source, Path(tmp))
        out = Path(tmp) / "out.pdf"
        proc = _run(
            [
                "--no-pdf-header-footer",
                "--print-to-pdf-no-header",
                f"--print-to-pdf={out}",
                html_file.as_uri(),
            ],
            timeout=timeout,
        )
        if not out.is_file() or out.stat().st_size == 0:
            raise UndercountError(
                f"headless Chromium produced no PDF (exit {proc.returncode}): "
                f"{proc.stderr.strip()[-800:]}"
            )
        shutil.move(str(out), pdf_path)
    return pdf_path


def screenshot(
    source: str | Path, png_path: str | Path, *, width: int = 1200, height: int = 1600,
    timeout: float = 120,
) -> Path:
    """Render an HTML file or text in headless Chromium and save a PNG of the window."""
    png_path = Path(png_path).resolve()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="undercount-shot-") as tmp:
        html_file = _as_file(source, Path(tmp))
        out = Path(tmp) / "shot.png"
        proc = _run(
            [f"--window-size={width},{height}", f"--screenshot={out}", html_file.as_uri()],
            timeout=timeout,
        )
        if not out.is_file():
            raise UndercountError(
                f"headless Chromium produced no screenshot (exit {proc.returncode}): "
                f"{proc.stderr.strip()[-800:]}"
            )
        shutil.move(str(out), png_path)
    return png_path


def dump_dom(source: str | Path, *, timeout: float = 120) -> str:
    """The DOM as Chromium renders it (``--dump-dom``), serialised to HTML text."""
    with tempfile.TemporaryDirectory(prefix="undercount-dom-") as tmp:
        html_file = _as_file(source, Path(tmp))
        proc = _run(["--dump-dom", html_file.as_uri()], timeout=timeout)
    if proc.returncode != 0 or "<html" not in proc.stdout:
        raise UndercountError(
            f"headless Chromium could not render the page (exit {proc.returncode}): "
            f"{proc.stderr.strip()[-800:]}"
        )
    return proc.stdout
