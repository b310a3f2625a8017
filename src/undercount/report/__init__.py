"""The report: one self-contained HTML file (and a PDF) explaining an estimate.

>>> from undercount.report import build_report
>>> report = build_report(result, table=table, reported=37877)   # doctest: +SKIP
>>> report.write("report.html", "report.pdf")                    # doctest: +SKIP
"""

from undercount.report.pdf import BrowserNotFoundError, find_chromium, html_to_pdf
from undercount.report.render import (
    RedactionError,
    Report,
    build_report,
    draws_of,
    render_report,
    write_report,
)

__all__ = [
    "BrowserNotFoundError",
    "RedactionError",
    "Report",
    "build_report",
    "draws_of",
    "find_chromium",
    "html_to_pdf",
    "render_report",
    "write_report",
]
