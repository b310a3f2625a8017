"""The battery's tables and plots: summary, Markdown, replicate files of several runs.

:func:`summarise` turns the runner's rows into bias, RMSE, coverage and width per design and
family; :func:`load_replicates` joins the ``replicates.csv`` parts of one battery (run in
pieces, or with one family rerun); :func:`write_outputs` writes the tables and the plots
(drawn by :mod:`undercount.report.plots`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from undercount.errors import ConfigError
from undercount.report.plots import battery_coverage_plot, battery_estimates_plot
from undercount.validate.families import FAMILIES, LINKAGE_FAMILIES

__all__ = ["load_replicates", "summarise", "summary_markdown", "write_outputs"]


def summarise(results: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Bias, RMSE, coverage, median width and failure counts per (design, family).

    ``coverage`` is over replicates with an interval (``ok``); ``coverage_all`` counts each
    ``failed``/``error`` replicate as a miss; ``coverage_se`` is the binomial Monte Carlo
    standard error of ``coverage``. Bias and RMSE are relative to the truth.
    """
    out = []
    for (design, family), g in results.groupby(["design", "family"], sort=False):
        ok = g[g["status"] == "ok"]
        truth = float(g["truth"].iloc[0])
        n_ok = len(ok)
        n_fail = int((g["status"] == "failed").sum())
        n_err = int((g["status"] == "error").sum())
        n_na = int((g["status"] == "n/a").sum())
        covered = (ok["lower"] <= truth) & (truth <= ok["upper"])
        width = ok["upper"] - ok["lower"]
        row = {
            "design": design,
            "family": family,
            "truth": int(truth),
            "replicates": len(g),
            "ok": n_ok,
            "failed": n_fail,
            "errors": n_err,
            "not_applicable": n_na,
            "mean_estimate": float(ok["estimate"].mean()) if n_ok else math.nan,
            "rel_bias": float((ok["estimate"].mean() - truth) / truth) if n_ok else math.nan,
            "rel_rmse": float(np.sqrt(np.mean((ok["estimate"] - truth) ** 2)) / truth)
            if n_ok else math.nan,
            "coverage": float(covered.mean()) if n_ok else math.nan,
            "coverage_se": float(math.sqrt(covered.mean() * (1 - covered.mean()) / n_ok))
            if n_ok else math.nan,
            "coverage_all": float(covered.sum() / (n_ok + n_fail + n_err))
            if n_ok + n_fail + n_err else math.nan,
            "median_width": float(np.median(width)) if n_ok else math.nan,
            "unbounded": int(np.sum(~np.isfinite(ok["upper"]))),
            "seconds_per_fit": float(g["seconds"].mean()),
        }
        out.append(row)
    return pd.DataFrame(out)


def _fmt(x: float, pct: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return f"{100 * x:.1f}%" if pct else f"{x:,.0f}"


def summary_markdown(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table."""
    head = (
        "| design | family | N | R | ok | failed | n/a | mean N̂ | rel. bias | rel. RMSE "
        "| coverage (±MC s.e.) | coverage incl. failures | median width |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for row in summary.itertuples(index=False):
        if row.ok == 0 and row.failed == 0 and row.errors == 0:
            lines.append(
                f"| {row.design} | {row.family} | {row.truth:,} | {row.replicates} | – | – | "
                f"{row.not_applicable} | n/a | | | | | |"
            )
            continue
        cov = _fmt(row.coverage, True)
        if not math.isnan(row.coverage_se):
            cov += f" (±{100 * row.coverage_se:.1f})"
        failed = row.failed + row.errors
        lines.append(
            f"| {row.design} | {row.family} | {row.truth:,} | {row.replicates} | {row.ok} | "
            f"{failed} | {row.not_applicable} | {_fmt(row.mean_estimate)} | "
            f"{_fmt(row.rel_bias, True)} | {_fmt(row.rel_rmse, True)} | {cov} | "
            f"{_fmt(row.coverage_all, True)} | {_fmt(row.median_width)} |"
        )
    return head + "\n".join(lines) + "\n"


_KEY = ["design", "family", "replicate"]


def _read_parts(paths: Sequence[str | os.PathLike[str]], what: str) -> pd.DataFrame:
    frames = [pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in paths]
    frame = pd.concat(frames, ignore_index=True)
    for col in ("estimate", "lower", "upper"):
        frame[col] = pd.to_numeric(frame[col].replace({"inf": math.inf}), errors="coerce")
    dup = frame.duplicated(_KEY)
    if dup.any():
        raise ConfigError(f"{int(dup.sum())} (design, family, replicate) rows appear twice "
                          f"in the {what}")
    return frame


def load_replicates(
    paths: Sequence[str | os.PathLike[str]],
    supersede: Sequence[str | os.PathLike[str]] = (),
) -> pd.DataFrame:
    """Concatenate ``replicates.csv`` files of several runs (parts of one battery).

    Raises :class:`ConfigError` when two files hold the same (design, family, replicate):
    parts must not overlap. Rows of the ``supersede`` files (e.g. one family rerun with a
    newer version; the replicate's streams do not depend on what else runs) replace the
    rows with the same (design, family, replicate); each of them must replace one, so
    that superseding never adds replicates that the parts did not have.
    """
    frame = _read_parts(paths, "parts")
    if supersede:
        new = _read_parts(supersede, "superseding files")
        old_keys = pd.MultiIndex.from_frame(frame[_KEY])
        new_keys = pd.MultiIndex.from_frame(new[_KEY])
        missing = ~new_keys.isin(old_keys)
        if missing.any():
            first = new.loc[missing, _KEY].iloc[0].to_dict()
            raise ConfigError(f"{int(missing.sum())} superseding row(s) replace no row of "
                              f"the parts, e.g. {first}")
        frame = pd.concat([frame[~old_keys.isin(new_keys)], new], ignore_index=True)
    frame["message"] = frame["message"].astype(object).where(frame["message"].notna(), "")
    order = {f: i for i, f in enumerate([*FAMILIES, *LINKAGE_FAMILIES])}
    frame["_order"] = frame["family"].map(order).fillna(len(order))
    frame = frame.sort_values(["design", "_order", "replicate"], kind="stable",
                              ignore_index=True)
    return frame.drop(columns="_order")


def write_outputs(
    results: pd.DataFrame, out: str | os.PathLike[str], *, command: str = ""
) -> dict[str, Path]:
    """Write ``replicates.csv``, ``summary.csv``, ``summary.md`` and the plots to ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    summary = summarise(results)
    paths = {
        "replicates": folder / "replicates.csv",
        "summary_csv": folder / "summary.csv",
        "summary_md": folder / "summary.md",
        "coverage_png": folder / "coverage.png",
        "estimates_png": folder / "estimates.png",
    }
    results.drop(columns=["traceback"], errors="ignore").to_csv(paths["replicates"], index=False)
    summary.to_csv(paths["summary_csv"], index=False)
    text = summary_markdown(summary)
    if command:
        text = f"Command: `{command}`\n\n" + text
    failures = results[results["status"].isin(["failed", "error"])]
    if len(failures):
        text += "\nFailures (first message per design and family):\n\n"
        for (d, f), g in failures.groupby(["design", "family"], sort=False):
            text += f"- {d} / {f}: {len(g)} × {g['message'].iloc[0]}\n"
    paths["summary_md"].write_text(text, encoding="utf-8")

    battery_coverage_plot(summary).savefig(paths["coverage_png"], dpi=120)
    battery_estimates_plot(results).savefig(paths["estimates_png"], dpi=120)
    return paths
