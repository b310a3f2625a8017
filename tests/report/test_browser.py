"""The report rendered by headless Chromium: DOM numbers, a screenshot, PDF pages."""

from __future__ import annotations

import subprocess
from pathlib import Path

from undercount.report import build_report
from undercount.report.pdf import dump_dom, html_to_pdf, screenshot

from .test_render import REPORTED, headline_attrs


def test_chromium_renders_the_headline(gaza_result, chromium, tmp_path):
    table, res = gaza_result
    report = build_report(res, table=table, reported=REPORTED, title="Gaza (test)")
    html_file = report.write(tmp_path / "report.html")
    dom = dump_dom(Path(html_file))
    a = headline_attrs(dom)
    assert float(a["data-estimate"]) == res.estimate
    assert float(a["data-lower"]) == res.interval.lower
    assert float(a["data-upper"]) == res.interval.upper
    assert f'<strong id="headline-estimate">{res.estimate:,.0f}</strong>' in dom
    assert "29,271" in dom
    png = screenshot(Path(html_file), tmp_path / "report.png", width=1200, height=1600)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_pdf_pages_render_to_png(gaza_result, chromium, pdftoppm, tmp_path):
    table, res = gaza_result
    report = build_report(res, table=table, reported=REPORTED, comparison=[res])
    pdf = tmp_path / "report.pdf"
    report.write(tmp_path / "report.html", pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run([pdftoppm, "-r", "40", "-png", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    assert all(p.stat().st_size > 2_000 for p in pages)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=False).stdout
    if text:  # pdftotext ships with pdftoppm; the headline must be real text in the PDF
        assert f"{res.estimate:,.0f}" in text


def test_html_text_to_pdf(chromium, tmp_path):
    out = html_to_pdf("<html><body><p>hello</p></body></html>", tmp_path / "x.pdf")
    assert out.read_bytes()[:5] == b"%PDF-"
