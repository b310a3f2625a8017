"""The review page in real headless Chromium (Playwright pointed at the system browser).

Skipped, with the reason, when Playwright or a Chromium binary is missing
(``scripts/setup.sh --test`` installs both).
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from undercount.pipeline.runner import Project
from undercount.pipeline.store import Store

from .test_server import _start

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                               "(pip install -e '.[dev]')")


def _chromium() -> str | None:
    for cand in (os.environ.get("UNDERCOUNT_CHROMIUM"), "/usr/lib/chromium/chromium",
                 shutil.which("chromium"), shutil.which("chromium-browser"),
                 shutil.which("google-chrome")):
        if cand and Path(cand).is_file():
            return cand
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary "
                                "(scripts/install_browser.sh installs Debian's chromium)")


def test_label_20_pairs_reload_undo_rtl_and_report(project):
    proc, url = _start(project)
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1366, "height": 768})  # a laptop
            page.goto(url)
            assert "token=" not in page.url  # exchanged for the HttpOnly cookie
            assert page.evaluate("document.cookie") == ""  # not readable by scripts
            page.wait_for_selector("body[data-ready='1']")
            given = []
            for i in range(20):
                pid = page.inner_text("#pair-id")
                key = "m" if i % 3 == 0 else "n"
                page.keyboard.press(key)
                page.wait_for_function(
                    "t => document.getElementById('status').textContent.startsWith(t)"
                    " && document.body.dataset.busy !== '1'", arg=f"saved: {pid}")
                given.append((pid, "match" if key == "m" else "non-match"))
            page.reload()
            page.wait_for_selector("body[data-ready='1']")
            assert page.inner_text("#counts").startswith("20 of ")
            # the first labelled pair still shows its label
            for _ in range(25):
                if page.inner_text("#pair-id") == given[0][0]:
                    break
                page.keyboard.press("ArrowLeft")
                page.wait_for_timeout(100)
            page.wait_for_function("t => document.getElementById('current').textContent === t",
                                   arg=given[0][1])
            # undo the last label: keyboard z
            page.keyboard.press("z")
            page.wait_for_function(
                "() => document.getElementById('status').textContent.startsWith('undone')"
                " && document.body.dataset.busy !== '1'")
            assert page.inner_text("#counts").startswith("19 of ")
            # Arabic renders right-to-left, Latin left-to-right (move with the arrow keys to a
            # pair that shows both)
            arabic: list[str] = []
            latin: list[str] = []
            for _ in range(40):
                directions = page.evaluate("""() => [...document.querySelectorAll('td.value')]
                    .map(td => [td.textContent, getComputedStyle(td).direction])""")
                arabic = [d for t, d in directions if any("\u0600" <= c <= "\u06ff" for c in t)]
                latin = [d for t, d in directions if t.isascii() and any(c.isalpha() for c in t)]
                if arabic and latin:
                    break
                before = page.inner_text("#pair-id")
                page.keyboard.press("ArrowRight")
                page.wait_for_function("t => document.getElementById('pair-id').textContent"
                                       " !== t", arg=before)
            assert arabic and set(arabic) == {"rtl"}
            assert latin and set(latin) == {"ltr"}
            browser.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    latest = Store(project.parent / "linked" / "project.duckdb").latest_labels()
    expected = dict(given[:-1])
    assert dict(zip(latest["pair_id"], latest["label"], strict=True)) == expected
    Project(project).run()
    html = (project.parent / "linked" / "report.html").read_text()
    assert 'id="review"' in html and "Linkage review" in html
