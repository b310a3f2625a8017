"""Bootstrap with stepwise re-selection: time for 1,000 replicates against SparseMSE 2.0.1.

Reference (issue 4): SparseMSE's ``estimatepopulation(nboot = 1000)`` takes 191 s on the UK
six-list table and 82 s on the five-list table on this machine class. Target: at least 50x
faster. Run with ``.venv/bin/python benchmarks/bench_bootstrap.py [--replicates 1000]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from undercount import datasets
from undercount.models.loglinear import LogLinearEstimator
from undercount.uncertainty.bootstrap import Bootstrap

SPARSEMSE_SECONDS = {"uk_2013": 191.0, "uk_2013_5": 82.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    est = LogLinearEstimator(select="stepwise")
    # Warm up: numba compilation and process start-up are not part of the steady state.
    Bootstrap(estimator=est, n_replicates=40, n_jobs=1).fit(
        datasets.load("kosovo"), rng=np.random.default_rng(0))
    print(f"cores available: {len(os.sched_getaffinity(0))}; replicates: {args.replicates}")
    for name, ref in SPARSEMSE_SECONDS.items():
        table = datasets.load(name)
        t0 = time.perf_counter()
        res = Bootstrap(estimator=est, n_replicates=args.replicates, n_jobs=args.jobs).fit(
            table, rng=np.random.default_rng(1234))
        dt = time.perf_counter() - t0
        ref_scaled = ref * args.replicates / 1000
        print(
            f"{name:10s} N={res.estimate:,.1f} BCa95=[{res.interval.lower:,.0f}, "
            f"{res.interval.upper:,.0f}]  {dt:6.2f} s  SparseMSE {ref_scaled:6.1f} s  "
            f"speed-up {ref_scaled / dt:5.1f}x (target 50x)"
        )


if __name__ == "__main__":
    main()
