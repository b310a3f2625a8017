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


#: Where the figures below were measured (benchmarks/peers/README.md has the full tables).
MACHINE = "one shared 2-core machine, Debian 12, R 4.2.2, nice -n 10"

#: The peers' figures as measured side by side, quoted only when the peer cannot run here.
STORED: dict[str, list[Stored]] = {
    "LCMCR": [
        Stored("LCMCR 0.4.14 against undercount's sampler, Kosovo, K = 10, 500 + 9,500 "
               "burn-in + 200,000 iterations, thin 10, 4 seeds, ArviZ bulk ESS of N per "
               "second: one chain each 12.09x wall clock (10.62x per CPU-second); our default "
               "(4 chains, 2 threads) 13.14x (11.22x); the seeds' runs as chains 14.43x; "
               "posterior means 10,730.4 (LCMCR) and 10,686.6 agree within Monte Carlo error",
               "2026-12-05", f"{MACHINE}, load average 9.3-10.3",
               "bench_lcmcr.py --table kosovo --peer-only --repeats 4"),
        Stored("LCMCR 0.4.14 against undercount's sampler, UK 2013 (6 lists), same settings: "
               "one chain each 5.27x wall clock (4.97x per CPU-second); our default 5.01x "
               "(4.39x); the seeds' runs as chains 62.56x, LCMCR's 4 chains not converged "
               "(R-hat 1.0267, so its single-chain ESS overstates its mixing); posterior means "
               "22,901.5 (LCMCR) and 23,627.1, 2.35 Monte Carlo s.e. apart",
               "2026-12-05", f"{MACHINE}, load average 10.3 falling to 5.9",
               "bench_lcmcr.py --table uk_2013 --peer-only --repeats 4"),
        Stored("LCMCR 0.4.14 against undercount's sampler, same settings, 2 seeds, on a "
               "quiet machine: Kosovo one chain each 10.66x wall clock, our default (4 chains, "
               "2 threads) 24.17x wall clock (12.33x per CPU-second); UK 2013 one chain each "
               "4.29x, our default 7.76x (3.92x per CPU-second), LCMCR's R-hat across the 2 "
               "seeds 1.006; posterior means agree within Monte Carlo error on both",
               "2026-12-05", f"{MACHINE}, load average 0.3-1.0",
               "bench_lcmcr.py --table kosovo|uk_2013 --repeats 2"),
    ],
    "SparseMSE": [
        Stored("SparseMSE 2.0.1 estimatepopulation(nboot = 1000, method = 'stepwise') against "
               "Bootstrap(LogLinearEstimator(select='stepwise'), replicates=1000) through the "
               "Python API: uk_2013 215.8 s against 0.28 s (778.2x), uk_2013_5 87.0 s against "
               "0.17 s (505.0x); point estimates and BCa accelerations identical, intervals "
               "within our Monte Carlo spread", "2026-12-05", f"{MACHINE}, load average 5.9",
               "bench_bootstrap.py"),
    ],
    "dga": [
        Stored("dga 2.0.2 bma.cr against GraphicalEstimator (same grid 0..5n, delta 2^-J, "
               "1/N prior), best of 3: identical quantiles and mean; kosovo 0.044 s each "
               "(1.0x), uk_2013_5 dga 0.361 s, undercount 0.796 s (0.5x: dga twice as fast)",
               "2026-12-05", f"{MACHINE}, load average 5.9", "bench_dga.py"),
        Stored("dga 2.0.2 bma.cr against GraphicalEstimator, as above, on a quiet machine: "
               "kosovo dga 0.045 s, undercount 0.019 s (2.4x); uk_2013_5 dga 0.384 s, "
               "undercount 0.275 s (1.4x); identical quantiles and mean",
               "2026-12-05", f"{MACHINE}, load average 0.7-1.0", "bench_dga.py"),
    ],
    "Rcapture": [
        Stored("Rcapture 1.4-4 against HeterogeneityEstimator, mean of 20: the ten models' "
               "fits (closedp.t against interval='wald') 1.5x (hiv_rome), 6.2x (kosovo), 1.6x "
               "(uk_2013_5); with the ten profile intervals (closedpCI.t) 4.2x, 8.3x, 4.4x; "
               "chosen model, estimate and interval identical",
               "2026-12-05", f"{MACHINE}, load average 5.3", "bench_rcapture.py"),
        Stored("Rcapture 1.4-4 against HeterogeneityEstimator, as above, on a quiet machine: "
               "fits 1.6x (hiv_rome), 7.1x (kosovo), 1.5x (uk_2013_5); with the profile "
               "intervals 4.6x, 9.6x, 4.4x; chosen model, estimate and interval identical",
               "2026-12-05", f"{MACHINE}, load average about 1", "bench_rcapture.py"),
    ],
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
