"""Render an estimate as one self-contained HTML report (and, through Chromium, a PDF).

The report is built from result objects only (:class:`~undercount.core.result.MSEResult`, a
``Comparison`` across families, per-stratum results), so a notebook can render any result and
the ``run`` pipeline renders from what it stored. The file embeds its CSS and its figures
(inline SVG); it loads nothing from the network.

Headline
    "An estimated N (95% interval L–U) <subject>; the lists together name n people; the
    reported figure R is U% (U1–U2%) below the estimate", with the numbers at full precision
    in ``data-`` attributes of ``<section id="headline">`` so tests (and readers' tools) can
    check them against the result.

Redaction
    ``redact=True`` leaves out the record-level sample and replaces every value given in
    ``sensitive`` (names, IDs) wherever it occurs in a text field by ``[redacted]``. After
    rendering, the visible text and attributes are checked once more; a report that still holds
    a sensitive value is never written (:class:`RedactionError`).
"""

from __future__ import annotations

import html as _html
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from undercount.core.draws import n_draws
from undercount.core.result import SHARED_ASSUMPTIONS, Diagnostic, Interval, MSEResult, json_number
from undercount.core.table import CaptureTable
from undercount.errors import UndercountError
from undercount.report import plots
from undercount.report.pdf import html_to_pdf
from undercount.uncertainty import compare_reported
from undercount.uncertainty.families import (
    FAMILIES_DISAGREE_CODE,
    family_extent,
    family_spread,
)
from undercount.uncertainty.identifying import identifying_summary

__all__ = [
    "RedactionError",
    "Report",
    "build_report",
    "draws_of",
    "render_report",
    "write_report",
]

REDACTED = "[redacted]"


class RedactionError(UndercountError):
    """A redacted report would still contain a name or ID; nothing was written."""


def _version() -> str:
    try:
        return metadata.version("undercount")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


# ----------------------------------------------------------------------------- formatting
def _count(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "unbounded" if x is not None and x > 0 else "–"
    return f"{x:,.0f}"


def _num(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "∞"
    return f"{x:,.{digits}f}"


def _pct(x: float) -> str:
    if not math.isfinite(x):
        return "–"
    return f"{x * 100:.0f}%"


def _pct1(x: float) -> str:
    if not math.isfinite(x):
        return "–"
    return f"{x * 100:.1f}%"


def _interval_text(iv: Interval | None) -> str:
    if iv is None:
        return "–"
    return f"{_count(iv.lower)}–{_count(iv.upper)}"


def _attr(x: float | None) -> str:
    """Full-precision number for a data- attribute ("inf" for an unbounded side)."""
    if x is None:
        return ""
    if math.isinf(x):
        return "inf"
    return repr(float(x))


# ----------------------------------------------------------------------------- redaction
class _Scrubber:
    """Replace sensitive values in text.

    Only values that cannot be confused with the report's own text are checked: strings of
    3 or more characters with a non-digit, or digit strings of 7 or more (an ID number). Short
    numeric row numbers cannot be told apart from counts; the report never prints record-level
    data when redacting, so they have no way in.
    """

    def __init__(self, values: Iterable[Any]) -> None:
        tokens = set()
        for v in values:
            if v is None:
                continue
            if isinstance(v, float) and math.isnan(v):
                continue
            s = str(v).strip()
            if self.checkable(s):
                tokens.add(s)
        self.tokens = sorted(tokens, key=len, reverse=True)

    @staticmethod
    def checkable(s: str) -> bool:
        if s.isdigit():
            return len(s) >= 7
        return len(s) >= 3

    def __call__(self, text: str) -> str:
        for tok in self.tokens:
            if tok in text:
                text = text.replace(tok, REDACTED)
        return text

    def found(self, text: str) -> list[str]:
        return [tok for tok in self.tokens if tok in text]

    def deep(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, Mapping):
            return {self(str(k)): self.deep(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return type(obj)(self.deep(v) for v in obj) if isinstance(obj, list) else tuple(
                self.deep(v) for v in obj
            )
        return obj


def _identity(text: str) -> str:
    return text


_SVG = re.compile(r"<svg.*?</svg>", re.S)


# ----------------------------------------------------------------------------- draws
def draws_of(result: MSEResult) -> np.ndarray | None:
    """The finite draws of N to plot for a result, or None (fewer than 10, or none).

    They are :func:`undercount.core.draws.n_draws` of the result: posterior draws, bootstrap
    replicates, a stratified or pooled total, a linkage mixture. An exact posterior on a
    grid (dga) has no stored draws and is not plotted.
    """
    arr = n_draws(result)
    if arr is None:
        return None
    arr = arr[np.isfinite(arr)]
    return arr if arr.size >= 10 else None


# ----------------------------------------------------------------------------- the report
@dataclass(frozen=True)
class Report:
    """A rendered report: the HTML text and the headline numbers it states.

    ``_repr_html_`` shows the report in a notebook inside an isolated frame.
    """

    html: str
    headline: dict[str, Any]
    redacted: bool = False
    print_html: str = ""

    def write(self, html_path: str | Path, pdf_path: str | Path | None = None) -> Path:
        """Write the HTML (and the PDF through headless Chromium) and return the HTML path."""
        html_path = Path(html_path)
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(self.html, encoding="utf-8")
        if pdf_path is not None:
            html_to_pdf(self.print_html or self.html, pdf_path)
        return html_path

    def _repr_html_(self) -> str:
        doc = _html.escape(self.html, quote=True)
        return (
            f'<iframe srcdoc="{doc}" style="width:100%;height:720px;border:1px solid #ddd" '
            'sandbox=""></iframe>'
        )

    def __str__(self) -> str:
        return self.headline.get("sentence", "")


def build_report(
    result: MSEResult,
    *,
    table: CaptureTable | None = None,
    comparison: Any = None,
    strata: Mapping[str, MSEResult] | None = None,
    strata_total: MSEResult | None = None,
    strata_failures: Mapping[str, str] | None = None,
    strata_observed: Mapping[str, int] | None = None,
    strata_columns: Sequence[str] = (),
    strata_note: str = "",
    reported: float | None = None,
    reported_label: str = "the reported figure",
    title: str = "Multiple systems estimate",
    subtitle: str = "",
    subject: str = "people in total",
    provenance: Mapping[str, Any] | None = None,
    diagnostics: Iterable[Diagnostic | tuple[str, str, str]] = (),
    records: Mapping[str, Any] | None = None,
    sensitive: Iterable[Any] = (),
    redact: bool = False,
    review: Mapping[str, Any] | None = None,
) -> Report:
    """Build the report for one headline result.

    Parameters
    ----------
    result : MSEResult
        The headline estimate (the total).
    table : CaptureTable, optional
        The capture table the estimate came from; gives the UpSet plot and list coverage.
    comparison : Comparison or sequence of MSEResult, optional
        The same table estimated by several families (``estimate(..., method="all")``), for
        the sensitivity section.
    strata : mapping of str to MSEResult, optional
        Per-stratum estimates for the forest plot; ``strata_total`` is drawn as the total and
        ``strata_failures`` lists strata that could not be estimated, with the reason.
    reported : float, optional
        An officially reported figure to compare with (undercount ``1 - R/N``).
    provenance : mapping, optional
        Run provenance (project file hash, stage hashes) added to the result's own.
    diagnostics : iterable
        Further diagnostics (``Diagnostic`` or ``(source, severity, message)``).
    records : mapping of str to DataFrame, optional
        A few input records per input, shown in an unredacted report only.
    sensitive : iterable
        Names and IDs that must not appear when ``redact`` is true.
    redact : bool
        Leave out record-level data and scrub ``sensitive`` values.
    review : mapping, optional
        The clerical review's summary
        (:func:`undercount.link.clerical.review_summary` plus ``estimates``, N-hat with
        and without the review), for the "Linkage review" section.
    """
    scrub = _Scrubber(sensitive) if redact else None
    clean = scrub if scrub is not None else _identity

    h = _headline(result, reported, reported_label, subject)
    context: dict[str, Any] = {
        "version": _version(),
        "title": clean(title),
        "subtitle": clean(subtitle),
        "subject": clean(subject),
        "reported_label": clean(reported_label),
        "redacted": redact,
        "h": h,
        "overlaps": _overlaps(table, result) if table is not None else None,
        "main": _main_section(result),
        "strata": _strata_section(
            strata, strata_total, strata_failures or {}, strata_observed or {},
            strata_columns, strata_note, clean,
        ) if strata else None,
        "distributions": _distributions(result, comparison, reported),
        "sensitivity": _sensitivity(comparison, reported, reported_label),
        "identifying": _identifying(result, table, reported, reported_label),
        "diagnostics": _diagnostics(result, comparison, strata, table, diagnostics, clean),
        "assumptions": [clean(a) for a in _assumptions(result)],
        "records": None if redact else _records(records),
        "provenance": _provenance(result, provenance, clean),
        "review": _review_section(review) if review else None,
    }
    context["disagreement"] = _headline_disagreement(result, context["sensitivity"])
    if scrub is not None:
        context["main"] = scrub.deep(context["main"])
        context["sensitivity"] = scrub.deep(context["sensitivity"])
        context["disagreement"] = scrub.deep(context["disagreement"])
    html_text = _render(context, print_mode=False)
    print_text = _render(context, print_mode=True)
    if scrub is not None:
        visible = _SVG.sub("", html_text)
        leaked = scrub.found(visible)
        if leaked:
            raise RedactionError(
                f"the redacted report would still contain {len(leaked)} sensitive value(s); "
                "nothing was written"
            )
    return Report(html=html_text, headline=h, redacted=redact, print_html=print_text)


def render_report(result: MSEResult, **kwargs: Any) -> str:
    """The report's HTML text; keyword arguments as :func:`build_report`."""
    return build_report(result, **kwargs).html


def write_report(
    result: MSEResult,
    *,
    html_path: str | Path,
    pdf_path: str | Path | None = None,
    redact: bool = False,
    **kwargs: Any,
) -> Report:
    """Render and write the report (HTML, and PDF when ``pdf_path`` is given)."""
    report = build_report(result, redact=redact, **kwargs)
    report.write(html_path, pdf_path)
    return report


def _render(context: dict[str, Any], *, print_mode: bool) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("undercount.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**context, print_mode=print_mode)


# ----------------------------------------------------------------------------- sections
def _review_section(review: Mapping[str, Any]) -> dict[str, Any]:
    """Numbers of the "Linkage review" section, formatted (labels carry no identifiers)."""
    def pct(x: float | None) -> str:
        return "–" if x is None or not math.isfinite(x) else f"{x:.1%}"

    rates = []
    for r in (review.get("error_rates") or {}).values():
        rates.append({"name": r["name"], "estimate": pct(r["estimate"]),
                      "interval": f"{pct(r['lower'])}–{pct(r['upper'])}",
                      "labelled": f"{r['labelled']:,}", "value": _attr(r["estimate"])})
    bands = [{**b, "range": f"{b['lower']:.1f} to {b['upper']:.1f}",
              "pairs": f"{b['pairs']:,}"} for b in review["bands"]]
    estimates = [{"which": e["which"], "estimate": _count(e["estimate"]),
                  "interval": f"{_count(e['lower'])}–{_count(e['upper'])}",
                  "n_observed": f"{e['n_observed']:,}", "method": e["method"],
                  "value": _attr(e["estimate"])} for e in review.get("estimates", [])]
    cal = review.get("calibration")
    return {
        "bands": bands, "rates": rates, "estimates": estimates,
        "labelled": f"{review['labelled']:,}", "decisive": f"{review['decisive_design']:,}",
        "purposive": f"{review['purposive']:,}",
        "constraints": review.get("constraints", {"must_link": 0, "cannot_link": 0}),
        "plot": plots.calibration_plot(cal["grid"], cal["calibrated"], cal["points"])
        if cal else None,
        "method": cal["method"] if cal else None,
    }


def _headline(
    result: MSEResult, reported: float | None, reported_label: str, subject: str
) -> dict[str, Any]:
    iv = result.interval
    n = int(result.n_observed)
    est = float(result.estimate)
    h: dict[str, Any] = {
        "estimate": _attr(est),
        "lower": _attr(iv.lower),
        "upper": _attr(iv.upper),
        "level": _attr(iv.level),
        "n_observed": str(n),
        "estimate_text": _count(est),
        "lower_text": _count(iv.lower),
        "upper_text": _count(iv.upper),
        "level_text": f"{iv.level:.0%}",
        "n_observed_text": f"{n:,}",
        "unlisted_text": "",
        "method": result.method,
        "model": result.model,
        "interval_method": iv.method or "–",
        "reported": None,
        "reported_note": "",
    }
    if est > n:
        h["unlisted_text"] = f"{est - n:,.0f} ({(est - n) / est:.0%})"
    sentence = (
        f"An estimated {h['estimate_text']} {subject} ({h['level_text']} interval "
        f"{h['lower_text']}–{h['upper_text']}); the lists together name {n:,} people"
    )
    if reported is not None:
        cmp = compare_reported(est, iv, reported)
        lo, hi = cmp.undercount_interval.lower, cmp.undercount_interval.upper
        label = reported_label[:1].upper() + reported_label[1:]
        if cmp.undercount >= 0:
            rs = (f"{label} {cmp.reported:,.0f} is {_pct(cmp.undercount)} "
                  f"({_pct(lo)[:-1]}–{_pct(hi)}) below the estimate")
        else:
            rs = (f"{label} {cmp.reported:,.0f} is {_pct(-cmp.undercount)} above the estimate "
                  f"(undercount {_pct(cmp.undercount)}, interval {_pct(lo)} to {_pct(hi)})")
        h.update(
            reported=_attr(cmp.reported),
            reported_text=f"{cmp.reported:,.0f}",
            undercount=_attr(cmp.undercount),
            undercount_lower=_attr(lo),
            undercount_upper=_attr(hi),
            undercount_text=_pct(cmp.undercount),
            undercount_lower_text=_pct(lo),
            undercount_upper_text=_pct(hi),
            reported_sentence=rs,
            reported_note=cmp.note,
        )
        sentence += f"; {rs[:1].lower() + rs[1:]}"
    h["sentence"] = sentence + "."
    return h


def _overlaps(table: CaptureTable, result: MSEResult) -> dict[str, Any]:
    agg = table.aggregate()
    cells = agg.cells()
    sizes = agg.list_sizes
    iv = result.interval
    coverage = []
    for j, name in enumerate(agg.lists):
        only = "".join("1" if k == j else "0" for k in range(agg.n_lists))
        size = sizes[name]
        cov = size / result.estimate if result.estimate > 0 else math.nan
        pct1 = _pct1
        lo = size / iv.upper if iv.upper > 0 and math.isfinite(iv.upper) else 0.0
        hi = size / iv.lower if iv.lower > 0 else math.nan
        coverage.append({
            "list": name,
            "size": f"{size:,}",
            "only": f"{cells.get(only, 0):,}",
            "coverage": pct1(cov),
            "coverage_value": _attr(cov),
            "coverage_range": f"{pct1(lo)}–{pct1(hi)}",
        })
    ordered = sorted(cells.items(), key=lambda kv: kv[0], reverse=True)
    return {
        "upset": plots.upset_plot(agg.lists, cells),
        "n_patterns": len(cells),
        "n_lists": agg.n_lists,
        "lists": list(agg.lists),
        "coverage": coverage,
        "cells": [{"pattern": list(p), "count": f"{c:,}"} for p, c in ordered],
    }


def _main_section(result: MSEResult, top: int = 15) -> dict[str, Any]:
    rows = [(k, v) for k, v in result.summary().rows]
    usable = [m for m in result.models if m.usable]
    key = "aic" if any(m.aic is not None for m in usable) else "bic"
    usable.sort(key=lambda m: getattr(m, key) if getattr(m, key) is not None else math.inf)
    shown = usable[:top] + [m for m in result.models if not m.usable][:top]
    models = [
        {
            "model": m.model,
            "estimate": _num(m.estimate),
            "interval": _interval_text(m.interval),
            "aic": _num(m.aic, 2),
            "bic": _num(m.bic, 2),
            "weight": _num(m.weight, 3) if m.weight is not None else "–",
            "status": m.status + (f": {m.reason}" if m.reason else "")
            + (", selected" if m.model == result.model else ""),
            "usable": m.usable,
        }
        for m in shown
    ]
    hidden = len(result.models) - len(shown)
    return {"rows": rows, "models": models, "models_hidden": hidden if hidden > 0 else 0}


def _strata_section(
    strata: Mapping[str, MSEResult],
    total: MSEResult | None,
    failures: Mapping[str, str],
    observed: Mapping[str, int],
    columns: Sequence[str],
    note: str,
    clean: Any,
) -> dict[str, Any]:
    forest_rows = []
    rows = []
    for label, res in strata.items():
        forest_rows.append(plots.IntervalRow(clean(label), res.estimate, res.interval.lower,
                                             res.interval.upper))
        rows.append({"label": clean(label), "n": f"{res.n_observed:,}",
                     "estimate": _count(res.estimate), "interval": _interval_text(res.interval),
                     "model": clean(f"{res.method}: {res.model}"), "total": False})
    if total is not None:
        forest_rows.append(plots.IntervalRow("Total", total.estimate, total.interval.lower,
                                             total.interval.upper, emphasis=True))
        rows.append({"label": "Total", "n": f"{total.n_observed:,}",
                     "estimate": _count(total.estimate),
                     "interval": _interval_text(total.interval),
                     "model": clean(f"{total.method}: {total.model}"), "total": True})
    return {
        "forest": plots.forest_plot(forest_rows),
        "rows": rows,
        "failures": [{"label": clean(k), "reason": clean(v),
                      "n": f"{observed[k]:,}" if k in observed else "–"}
                     for k, v in failures.items()],
        "columns": clean(", ".join(columns)) or "strata",
        "has_total": total is not None,
        "note": clean(note),
    }


def _comparison_results(comparison: Any) -> tuple[list[MSEResult], list[tuple[str, str]]]:
    if comparison is None:
        return [], []
    if isinstance(comparison, MSEResult):
        return [comparison], []
    results = getattr(comparison, "results", None)
    if results is not None:
        return list(results), list(getattr(comparison, "failures", ()))
    return list(comparison), []


def _distributions(
    result: MSEResult, comparison: Any, reported: float | None
) -> list[dict[str, str]]:
    out = []
    # one figure per fit: the headline is often a family's own fit again (a default that
    # gave one family all the weight, the comparison's member of the same family)
    seen: set[tuple[str, str, float, float, float]] = set()
    for res in [result, *_comparison_results(comparison)[0]]:
        key = (res.method, res.model, res.estimate, res.interval.lower, res.interval.upper)
        if key in seen or not res.identified:
            continue
        seen.add(key)
        draws = draws_of(res)
        if draws is None:
            continue
        kind = "posterior draws" if n_draws(res, posterior_only=True) is not None else "draws"
        out.append({
            "svg": plots.draws_plot(draws, estimate=res.estimate, lower=res.interval.lower,
                                    upper=res.interval.upper, reported=reported,
                                    title=f"{res.method}: {res.model}"),
            "caption": (f"{res.method} ({res.model}): {draws.size:,} {kind} of N; the line is "
                        f"the estimate and the band its {res.interval.level:.0%} interval "
                        f"({res.interval.method})."
                        + (" The dashed line is the reported figure."
                           if reported is not None and plots.fits_range(reported, draws) else "")),
        })
    return out


def _headline_disagreement(result: MSEResult, sensitivity: dict[str, Any] | None) -> str | None:
    """The headline's ``model families disagree``: the headline result's own (the default's
    family check, which also names a supported family reaching beyond its interval), else
    the sensitivity section's comparison."""
    own = [d.message for d in result.diagnostics if d.code == FAMILIES_DISAGREE_CODE]
    if own:
        return own[0]
    return sensitivity["disagreement"] if sensitivity else None


def _sensitivity(comparison: Any, reported: float | None, label: str) -> dict[str, Any] | None:
    results, failures = _comparison_results(comparison)
    if not results:
        return None
    rows = []
    forest = []
    for res in results:
        if not res.identified:
            # A summary the data do not identify is the prior's: never drawn as a point.
            rows.append({"method": res.method, "model": res.model, "estimate": "not identified",
                         "interval": "–", "assumption": res.not_identified_reason})
            continue
        tied = res.tied_models
        if tied:
            # Models the lists cannot choose among: their range, not the one reported.
            low, high, lower, upper = family_extent(res)
            rows.append({
                "method": res.method,
                "model": f"{len(tied['models'])} models tied: {', '.join(tied['models'])}",
                "estimate": f"{_count(low)} to {_count(high)}",
                "interval": _interval_text(Interval(lower, upper, res.interval.level,
                                                    "union")) + " (their intervals together)",
                "assumption": _own_assumption(res),
            })
            forest.append(plots.IntervalRow(f"{res.method}: {len(tied['models'])} tied",
                                            low, lower, upper, span=(low, high)))
            continue
        rows.append({
            "method": res.method,
            "model": res.model,
            "estimate": _count(res.estimate),
            "interval": _interval_text(res.interval) + (
                f" ({res.interval.method})" if res.interval.method else ""),
            "assumption": _own_assumption(res),
        })
        forest.append(plots.IntervalRow(f"{res.method}: {res.model}", res.estimate,
                                        res.interval.lower, res.interval.upper))
    return {
        "rows": rows,
        "failures": [{"method": m, "reason": why} for m, why in failures],
        "forest": (plots.forest_plot(forest, reference=reported, reference_label=label)
                   if forest else ""),
        "disagreement": family_spread(results).warning(),
        "tied": any(r.span is not None for r in forest),
    }


def _own_assumption(res: MSEResult) -> str:
    """The first of a family's assumptions that the other families do not share: what the
    sensitivity table's column names, the assumption its estimate of the unseen rests on."""
    for text in res.assumptions:
        # every family states these alike: they say nothing about how one differs
        if text not in SHARED_ASSUMPTIONS:
            return text
    return res.assumptions[0] if res.assumptions else "–"


def _identifying(
    result: MSEResult, table: CaptureTable | None, reported: float | None, label: str
) -> dict[str, Any] | None:
    block = result.identifying
    if block is None and table is not None:
        # A result built outside `estimate` (a stratified total, say): the same block.
        block = identifying_summary(result, table)
    if not block or not block.get("rows"):
        return None
    rows = block["rows"]
    implied = block.get("implied_interaction")
    return {
        "rows": [{"factor": f"{r['factor']:.3g}", "shift": f"{r['interaction_shift']:+.2f}",
                  "estimate": _count(r["estimate"]),
                  "interval": _interval_text(Interval(
                      r["lower"], math.inf if r["upper"] is None else r["upper"], r["level"]))}
                 for r in rows],
        "order": block["interaction_order"],
        "implied": None if implied is None else f"{implied:+.2f}",
        "plot": plots.assumption_plot(
            [r["factor"] for r in rows], [r["estimate"] for r in rows],
            [r["lower"] for r in rows],
            [math.inf if r["upper"] is None else r["upper"] for r in rows],
            n_observed=result.n_observed, reference=reported, reference_label=label),
    }


def _diagnostics(
    result: MSEResult,
    comparison: Any,
    strata: Mapping[str, MSEResult] | None,
    table: CaptureTable | None,
    extra: Iterable[Diagnostic | tuple[str, str, str]],
    clean: Any,
) -> list[dict[str, str]]:
    items: list[tuple[str, str, str]] = []
    for d in extra:
        if isinstance(d, Diagnostic):
            items.append(("run", d.severity, d.message))
        else:
            items.append((str(d[0]), str(d[1]), str(d[2])))
    if table is not None:
        items += [("input", "info", note) for note in table.notes]
    items += [("estimate", d.severity, d.message) for d in result.diagnostics]
    for note in result.input_notes:
        items.append(("input", "info", str(note)))
    for res in _comparison_results(comparison)[0]:
        items += [(res.method, d.severity, d.message) for d in res.diagnostics]
    for label, res in (strata or {}).items():
        items += [(label, d.severity, d.message) for d in res.diagnostics]
    rank = {"error": 0, "warning": 1, "info": 2}
    merged: dict[tuple[str, str], list[str]] = {}
    for source, sev, msg in sorted(items, key=lambda t: rank.get(t[1], 3)):
        sources = merged.setdefault((sev, msg), [])
        if source not in sources:
            sources.append(source)
    return [
        {"source": clean(", ".join(sources)), "severity": sev, "message": clean(msg)}
        for (sev, msg), sources in merged.items()
    ]


_GENERIC_ASSUMPTIONS = (
    *SHARED_ASSUMPTIONS,
    "The model's structure (which lists depend on which) holds for the people on no list as "
    "well; this cannot be tested from the lists themselves.",
)


def _assumptions(result: MSEResult) -> list[str]:
    return list(result.assumptions) or list(_GENERIC_ASSUMPTIONS)


def _records(records: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
    if not records:
        return None
    blocks = []
    for name, frame in records.items():
        head = frame.head(5)
        blocks.append({
            "name": name,
            "columns": [str(c) for c in head.columns],
            "rows": [["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                      for v in row] for row in head.itertuples(index=False)],
        })
    return blocks


def _provenance(
    result: MSEResult, run: Mapping[str, Any] | None, clean: Any
) -> dict[str, Any]:
    prov: dict[str, Any] = {}
    own = result.provenance
    if isinstance(own, Mapping):
        prov["estimate"] = dict(own)
    if run:
        prov["run"] = dict(run)
    rows: list[tuple[str, str]] = [("undercount", _version())]
    est = prov.get("estimate", {})
    if est:
        rows.append(("seed", str(est.get("seed"))))
        rows.append(("settings", json.dumps(est.get("settings", {}), sort_keys=True,
                                            default=str)))
        for name, digest in (est.get("inputs") or {}).items():
            rows.append((f"input {name}", f"sha256 {digest}"))
        versions = est.get("versions") or {}
        rows.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    else:
        rows.append(("settings", json.dumps(result.settings, sort_keys=True, default=str)))
    for key, value in (run or {}).items():
        if isinstance(value, Mapping):
            for k2, v2 in value.items():
                rows.append((f"{key}: {k2}", str(v2)))
        else:
            rows.append((key, str(value)))
    text = json.dumps(_jsonable(prov), indent=2, sort_keys=True, default=str) if prov else ""
    return {"rows": [(clean(k), clean(v)) for k, v in rows], "json": clean(text)}


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, float):
        return json_number(v)
    if isinstance(v, np.generic):
        return v.item()
    return v
