"""Figures for the report, drawn with matplotlib and embedded as inline SVG.

Every function takes plain numbers (not result objects) and returns an SVG string, so the
figures can be tested and reused without the report. Text is drawn as paths, so the SVG needs no
fonts and no network resource; the figures print crisply in the PDF. Figures are built as
bare :class:`~matplotlib.figure.Figure` objects, without pyplot, so rendering a report never
changes the caller's matplotlib backend or global state (safe in notebooks and threads).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "IntervalRow",
    "assumption_plot",
    "battery_coverage_plot",
    "battery_estimates_plot",
    "calibration_plot",
    "draws_plot",
    "fits_range",
    "forest_plot",
    "plot_threshold_sensitivity",
    "to_svg",
    "upset_plot",
]

_INK = "#1f2937"
_ACCENT = "#1d4ed8"
_MUTED = "#9ca3af"
_REPORTED = "#b91c1c"


@dataclass(frozen=True)
class IntervalRow:
    """One row of a forest plot: a label, a point estimate and its interval. A row with a
    ``span`` (the estimates of models the data cannot choose among) draws that range as a
    bar and no point."""

    label: str
    estimate: float
    lower: float
    upper: float
    emphasis: bool = False
    span: tuple[float, float] | None = None


def to_svg(fig: Figure) -> str:
    """Serialise a figure to an inline ``<svg>`` element (no XML prolog) and close it."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "undercount"}):
        # No date metadata, so equal inputs give byte-identical reports.
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=_INK, labelsize=9)


def _thousands(ax: Axes, axis: str = "x") -> None:
    fmt = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def upset_plot(
    lists: Sequence[str], cells: Mapping[str, int], *, max_intersections: int = 40
) -> str:
    """An UpSet plot of the observed capture patterns (Lex et al. 2014).

    Parameters
    ----------
    lists : sequence of str
        List names, in the order of the pattern strings.
    cells : mapping
        ``{"101": count}`` over observed patterns.
    max_intersections : int
        Show at most this many patterns (the largest); with many lists the rest are summed in
        the caption, not dropped silently.

    References
    ----------
    Lex, A., Gehlenborg, N., Strobelt, H., Vuillemot, R. and Pfister, H. (2014). UpSet:
    visualization of intersecting sets. *IEEE TVCG* 20(12):1983–1992.
    doi:10.1109/TVCG.2014.2346248
    """
    items = sorted(((p, int(c)) for p, c in cells.items() if int(c) > 0),
                   key=lambda pc: (-pc[1], pc[0]))
    shown = items[:max_intersections]
    hidden = items[max_intersections:]
    j = len(lists)
    sizes = [sum(c for p, c in items if p[k] == "1") for k in range(j)]
    k = len(shown)

    width = max(6.0, min(11.5, 3.6 + 0.32 * k))
    height = 2.6 + 0.32 * j
    fig = Figure(figsize=(width, height))
    name_width = 0.09 * max(len(str(n)) for n in lists) + 0.2
    grid = fig.add_gridspec(2, 3, width_ratios=[1.1, name_width, max(2.0, 0.32 * k)],
                            height_ratios=[2.2, 0.32 * j + 0.2], wspace=0.02, hspace=0.05)
    ax_bar = fig.add_subplot(grid[0, 2])
    ax_dot = fig.add_subplot(grid[1, 2], sharex=ax_bar)
    ax_set = fig.add_subplot(grid[1, 0], sharey=ax_dot)
    ax_names = fig.add_subplot(grid[1, 1], sharey=ax_dot)

    x = np.arange(k)
    counts = [c for _, c in shown]
    ax_bar.bar(x, counts, color=_INK, width=0.65)
    top = max(counts) if counts else 1
    for xi, c in zip(x, counts, strict=True):
        ax_bar.text(xi, c + top * 0.02, f"{c:,}", ha="center", va="bottom", fontsize=7,
                    rotation=90 if k > 10 else 0, color=_INK)
    ax_bar.set_ylim(0, top * (1.35 if k > 10 else 1.15))
    ax_bar.set_ylabel("people with\nthis pattern", fontsize=9)
    _style(ax_bar)
    _thousands(ax_bar, "y")
    ax_bar.tick_params(axis="x", bottom=False, labelbottom=False)

    ys = np.arange(j)[::-1]
    for xi, (pattern, _) in zip(x, shown, strict=True):
        on = [ys[m] for m in range(j) if pattern[m] == "1"]
        ax_dot.scatter([xi] * j, ys, s=36, color="#e5e7eb", zorder=1)
        ax_dot.scatter([xi] * len(on), on, s=36, color=_INK, zorder=2)
        if len(on) > 1:
            ax_dot.plot([xi, xi], [min(on), max(on)], color=_INK, lw=1.6, zorder=2)
    ax_dot.set_xlim(-0.6, k - 0.4)
    ax_dot.set_ylim(-0.6, j - 0.4)
    ax_dot.axis("off")

    for y, name in zip(ys, lists, strict=True):
        ax_names.text(0.5, y, str(name), ha="center", va="center", fontsize=9, color=_INK)
    ax_names.axis("off")

    ax_set.barh(ys, sizes, color=_ACCENT, height=0.55)
    ax_set.invert_xaxis()
    ax_set.tick_params(axis="y", left=False, labelleft=False)
    ax_set.set_xlabel("list size", fontsize=9)
    _style(ax_set)
    ax_set.spines["left"].set_visible(False)
    _thousands(ax_set)
    ax_set.tick_params(axis="x", labelsize=7, labelrotation=30)
    for ax in (fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])):
        ax.axis("off")
    if hidden:
        fig.text(0.99, 0.01, f"{len(hidden)} smaller patterns ({sum(c for _, c in hidden):,} "
                 "people) not shown", ha="right", fontsize=8, color=_MUTED)
    return to_svg(fig)


def forest_plot(
    rows: Sequence[IntervalRow], *, reference: float | None = None,
    reference_label: str = "", xlabel: str = "estimated total (N)",
) -> str:
    """Point estimates with intervals, one row each (strata, or models in a sensitivity table).

    Rows with ``emphasis`` (a total) are drawn as diamonds in a panel of their own, on their
    own scale, so that a total many times larger than its strata does not squash them.
    Unbounded upper sides are drawn as an arrow to the edge of the plot, never clipped
    silently. A row with a ``span`` shows the range of its tied models' estimates as a
    thick bar in place of a point.
    """
    parts = [[r for r in rows if not r.emphasis], [r for r in rows if r.emphasis]]
    parts = [p for p in parts if p]
    heights = [0.5 + 0.36 * len(p) for p in parts]
    fig = Figure(figsize=(7.5, 0.5 + sum(heights)))
    axes = fig.subplots(len(parts), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, part in zip(axes[:, 0], parts, strict=True):
        _forest_panel(ax, part, reference, reference_label)
    axes[-1, 0].set_xlabel(xlabel, fontsize=9)
    fig.tight_layout()
    return to_svg(fig)


def _forest_panel(ax: Axes, rows: Sequence[IntervalRow], reference: float | None,
                  reference_label: str) -> None:
    n = len(rows)
    finite = [v for r in rows for v in (r.lower, r.upper, r.estimate, *(r.span or ()))
              if math.isfinite(v)]
    if reference is not None:
        finite.append(reference)
    xmax = max(finite) * 1.08 if finite else 1.0
    xmin = min(0.0, min(finite) if finite else 0.0)
    ys = np.arange(n)[::-1]
    for y, r in zip(ys, rows, strict=True):
        color = _INK if r.emphasis else _ACCENT
        hi = r.upper if math.isfinite(r.upper) else xmax
        ax.plot([r.lower, hi], [y, y], color=color, lw=2.2 if r.emphasis else 1.6)
        if not math.isfinite(r.upper):
            ax.annotate("", xy=(xmax, y), xytext=(xmax * 0.97, y),
                        arrowprops={"arrowstyle": "->", "color": color})
        if r.span is not None:
            ax.plot(list(r.span), [y, y], color=color, lw=6, solid_capstyle="butt", alpha=0.6)
            continue
        ax.plot([r.estimate], [y], marker="D" if r.emphasis else "o", ms=8 if r.emphasis else 5,
                color=color)
    if reference is not None:
        ax.axvline(reference, color=_REPORTED, lw=1, ls="--")
        ax.text(reference, n - 0.4, f" {reference_label}", color=_REPORTED, fontsize=8,
                va="bottom")
    ax.set_yticks(ys)
    ax.set_yticklabels([r.label for r in rows], fontsize=9)
    for tick, r in zip(ax.get_yticklabels(), rows, strict=True):
        if r.emphasis:
            tick.set_fontweight("bold")
    ax.set_ylim(-0.7, n - 0.3 + (0.5 if reference is not None else 0))
    ax.set_xlim(xmin, xmax)
    ax.grid(axis="x", color="#eeeeee")
    _style(ax)
    _thousands(ax)


def draws_plot(
    draws: np.ndarray, *, estimate: float | None = None, lower: float | None = None,
    upper: float | None = None, reported: float | None = None, label: str = "N",
    title: str = "",
) -> str:
    """Histogram of posterior draws or bootstrap replicates of N, with the interval marked."""
    values = np.asarray(draws, dtype=float).ravel()
    values = values[np.isfinite(values)]
    fig = Figure(figsize=(7.5, 2.8))
    ax = fig.subplots()
    bins = min(80, max(10, int(np.sqrt(values.size))))
    ax.hist(values, bins=bins, color=_ACCENT, alpha=0.75, edgecolor="white", linewidth=0.3)
    if lower is not None and upper is not None and math.isfinite(lower) and math.isfinite(upper):
        ax.axvspan(lower, upper, color=_ACCENT, alpha=0.08)
    if estimate is not None:
        ax.axvline(estimate, color=_INK, lw=1.5)
    if reported is not None and fits_range(reported, values):
        ax.axvline(reported, color=_REPORTED, lw=1, ls="--")
    ax.set_xlabel(label, fontsize=9)
    ax.set_ylabel("draws", fontsize=9)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    _style(ax)
    _thousands(ax)
    return to_svg(fig)


def fits_range(x: float, values: np.ndarray) -> bool:
    """Whether a reference line at ``x`` fits the histogram's range without squashing it."""
    if values.size == 0:
        return False
    lo, hi = float(values.min()), float(values.max())
    pad = 0.25 * (hi - lo)
    return lo - pad <= x <= hi + pad


def assumption_plot(
    factors: Sequence[float], estimates: Sequence[float], lower: Sequence[float],
    upper: Sequence[float], *, n_observed: float, reference: float | None = None,
    reference_label: str = "",
) -> str:
    """N-hat and its interval against the factor on the unobserved count (log scale)."""
    fig = Figure(figsize=(6.5, 3.2))
    ax = fig.add_subplot()
    x = np.asarray(factors, dtype=float)
    hi = np.asarray(upper, dtype=float)
    ax.fill_between(x, lower, np.where(np.isfinite(hi), hi, np.nan), color=_ACCENT, alpha=0.15,
                    lw=0, label="interval")
    ax.plot(x, estimates, "o-", color=_ACCENT, ms=4, label="estimate")
    ax.axvline(1.0, color=_MUTED, lw=0.8, ls=":")
    ax.axhline(n_observed, color=_MUTED, lw=1, ls="--", label="named on the lists")
    if reference is not None:
        ax.axhline(reference, color=_REPORTED, lw=1, ls="--", label=reference_label or "reported")
    ax.set_xscale("log")
    ax.set_xticks(x)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.2g}"))
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel("people on no list, times what the model assumes", fontsize=9)
    ax.set_ylabel("N", fontsize=9)
    _thousands(ax, "y")
    _style(ax)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return to_svg(fig)


def plot_threshold_sensitivity(
    frame: pd.DataFrame, path: str | os.PathLike[str], *, truth: float | None = None
) -> None:
    """Plot :func:`undercount.uncertainty.linkage.threshold_sensitivity`'s table (estimate,
    interval and n observed against the match threshold) to an image file ``path``."""
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ok = frame[frame["status"] == "ok"]
    upper = ok["upper"].where(np.isfinite(ok["upper"]), np.nan)
    ax.fill_between(ok["threshold"], ok["lower"], upper, alpha=0.25, label="95% interval")
    ax.plot(ok["threshold"], ok["estimate"], "o-", label="estimate")
    ax.plot(frame["threshold"], frame["n_observed"], "s--", color="grey", label="n observed")
    if truth is not None:
        ax.axhline(truth, color="k", lw=1, label="truth")
    ax.set_xlabel("match threshold")
    ax.set_ylabel("N")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def battery_coverage_plot(summary: pd.DataFrame, *, level: float = 0.95) -> Figure:
    """The simulation battery's coverage: one bar per design and family.

    ``summary`` is :func:`undercount.validate.summarise`'s table (``design``, ``family``,
    ``coverage``). The nominal ``level`` is drawn dashed, and 0.93 dotted: the coverage below
    which a 95% interval is flagged as too narrow.
    """
    designs = list(dict.fromkeys(summary["design"]))
    fams = list(dict.fromkeys(summary["family"]))
    fig = Figure(figsize=(max(6, 1.4 * len(designs)), 4))
    ax = fig.subplots()
    width = 0.8 / max(1, len(fams))
    for i, f in enumerate(fams):
        s = summary[summary["family"] == f].set_index("design").reindex(designs)
        ax.bar(np.arange(len(designs)) + i * width, s["coverage"].fillna(0), width, label=f)
    ax.axhline(level, color="k", lw=1, ls="--")
    ax.axhline(0.93, color="r", lw=1, ls=":")
    ax.set_xticks(np.arange(len(designs)) + 0.4 - width / 2, designs, rotation=20)
    ax.set_ylabel(f"coverage of the {level:.0%} interval")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    return fig


def battery_estimates_plot(results: pd.DataFrame) -> Figure:
    """The simulation battery's estimates: per design, a box of ``log2(N̂ / N)`` per family.

    ``results`` is the battery's replicate table (``design``, ``family``, ``status``,
    ``estimate``, ``truth``); only replicates with ``status == "ok"`` are drawn. Designs
    and families appear in the order of their first row.
    """
    designs = list(dict.fromkeys(results["design"]))
    fams = list(dict.fromkeys(results["family"]))
    ncol = min(5, len(designs))
    nrow = -(-len(designs) // ncol)
    fig = Figure(figsize=(3.2 * ncol, 3.6 * nrow))
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for ax in axes.ravel()[len(designs):]:
        ax.set_visible(False)
    for ax, d in zip(axes.ravel(), designs, strict=False):
        g = results[(results["design"] == d) & (results["status"] == "ok")]
        data = [np.log2(g[g["family"] == f]["estimate"] / g["truth"].iloc[0]) if len(g) else []
                for f in fams]
        ax.boxplot([np.asarray(x) for x in data], showfliers=False)
        ax.set_xticks(np.arange(1, len(fams) + 1), fams, rotation=60, fontsize=7)
        ax.axhline(0, color="k", lw=1)
        ax.set_title(d, fontsize=9)
    for row in axes:
        row[0].set_ylabel("log2(N̂ / N)")
    fig.tight_layout()
    return fig


def calibration_plot(
    grid: Sequence[float], calibrated: Sequence[float], points: Sequence[Mapping[str, Any]],
) -> str:
    """Reliability diagram of clerical review: the model's match probability against the
    share of labelled pairs that are matches (one point per band, area by labels), with the
    fitted calibration curve and the diagonal of perfect calibration."""
    fig = Figure(figsize=(4.8, 3.6))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="#999999", lw=1, ls=":")
    ax.plot(grid, calibrated, color=_ACCENT, lw=1.5, drawstyle="steps-post")
    if points:
        x = [p["probability"] for p in points]
        y = [p["observed"] for p in points]
        n = np.array([p["n"] for p in points], dtype=float)
        ax.scatter(x, y, s=12 + 60 * n / max(n.max(), 1), color=_INK, zorder=3)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("model's match probability", fontsize=9)
    ax.set_ylabel("labelled a match", fontsize=9)
    _style(ax)
    return to_svg(fig)
