"""Run the R peer packages beside undercount's benchmarks, or print their stored figures.

Each benchmark calls :func:`peer` with the R package it compares against. When ``Rscript``
is on the path and ``Rscript -e 'library(PKG)'`` succeeds, the R script of this folder runs
and its ``key=value`` output is returned, measured now. Otherwise the figure stored in
:data:`STORED` is printed, marked ``stored figure, not measured now`` with its date, machine
and source. How to install the peers: ``benchmarks/peers/README.md``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "src" / "undercount" / "datasets" / "data"

NOT_MEASURED = "stored figure, not measured now"


@dataclass(frozen=True)
class Stored:
    """A figure measured once, with where, when and by whom it was measured."""

    text: str
    date: str
    machine: str
    source: str


#: The peers' figures as measured before, quoted only when the peer cannot run here.
STORED: dict[str, list[Stored]] = {
    "LCMCR": [
        Stored("LCMCR 0.4.14, Kosovo, K = 10, one chain: 12.7 us per iteration; undercount's "
               "sampler gave 8.9-9.6x LCMCR's bulk ESS of N per second with one chain, 10x "
               "with the default 4 chains (6x per CPU-second)",
               "2026-12-05", "one 2-core machine, R 4.2.2", "issue 17 (measured side by side)"),
        Stored("LCMCR 0.4.14, Kosovo, K = 10: 1.1 million iterations in 16.5 s (15 us per "
               "iteration)", "2026-11-28", "the project's build machine",
               "benchmarks/bench_lcmcr.py docstring (commit 0cc2299)"),
    ],
    "SparseMSE": [
        Stored("SparseMSE 2.0.1 estimatepopulation(nboot = 1000), stepwise: 191 s on uk_2013 "
               "(6 lists), 82 s on uk_2013_5", "2026-11-28", "the project's build machine",
               "benchmarks/bench_bootstrap.py (commit 86a1b7f, issue 4)"),
        Stored("1,000-replicate stepwise bootstrap: undercount 460-490x SparseMSE 2.0.1 "
               "through the Python API with one process, 11-24x through the CLI (worker "
               "pool and start-up included)", "2026-12-05", "one 2-core machine, R 4.2.2",
               "issue 17 (measured side by side)"),
    ],
    "dga": [
        Stored("dga (bma.cr): identical posteriors; undercount 3-17x faster through the "
               "Python API, the CLI slower than Rscript on Kosovo (start-up)", "2026-12-05",
               "one 2-core machine, R 4.2.2", "issue 17 (measured side by side)"),
    ],
    "Rcapture": [],
}


def rscript() -> str | None:
    return shutil.which("Rscript")


def available(package: str) -> bool:
    """Whether ``Rscript -e 'library(PACKAGE)'`` succeeds here."""
    exe = rscript()
    if exe is None:
        return False
    proc = subprocess.run([exe, "-e", f"suppressMessages(library({package}))"],
                          capture_output=True, text=True)
    return proc.returncode == 0


def why_not(package: str) -> str:
    if rscript() is None:
        return "Rscript is not installed"
    return f"the R package {package} is not installed"


def run(script: str, *args: object, timeout: float = 3600) -> dict[str, str]:
    """Run ``Rscript benchmarks/peers/SCRIPT args...``; its ``key=value`` lines as a dict."""
    exe = rscript()
    assert exe is not None
    proc = subprocess.run([exe, str(HERE / script), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "LC_ALL": "C"})
    if proc.returncode != 0:
        raise RuntimeError(f"Rscript {script} failed ({proc.returncode}):\n{proc.stderr}")
    out = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def print_stored(package: str) -> None:
    """Print the stored figures for ``package``, each marked as not measured now."""
    print(f"{package}: not run ({why_not(package)}; see benchmarks/peers/README.md)")
    figures = STORED.get(package, [])
    if not figures:
        print(f"  no stored figure for {package}: nothing to compare with")
    for f in figures:
        print(f"  [{NOT_MEASURED}: {f.date}, {f.machine}; {f.source}]")
        print(f"    {f.text}")


def dataset_csv(name: str) -> Path:
    """The shipped table ``name`` as the CSV the R scripts read (lists, then ``count``)."""
    return DATA / f"{name}.csv"
