"""Decomposable-graph model averaging against R's dga, side by side when dga is installed.

Run: ``PYTHONPATH=src python benchmarks/bench_dga.py [--repeats 3]``

Both sides compute the exact posterior of N over all decomposable graphs on the same fixed
grid (N_missing = 0..5 n), prior p(N) proportional to 1/N, hyper-Dirichlet mass
delta = 2^-J: undercount's ``GraphicalEstimator(n_missing=(0, 5n), delta=2**-J)`` and dga's
``bma.cr`` (``benchmarks/peers/dga.R``). Times are of the fit alone (data loaded, best of
``--repeats`` on both sides), and the ratio printed is dga's time over ours. The posterior
quantiles and mean must agree; the benchmark prints whether they do. Without Rscript and dga
the stored figure is printed instead, marked as not measured now.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import peers

from undercount import datasets
from undercount.models.graphical import GraphicalEstimator

TABLES = ("kosovo", "uk_2013_5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {', '.join(f'{v:.1f}' for v in os.getloadavg())} "
          "(shared machine: timings noisy)")
    run_peer = peers.available("dga")
    for name in TABLES:
        table = datasets.load(name)
        delta = 2.0 ** -table.n_lists
        nmax = 5 * table.n_observed
        est = GraphicalEstimator(delta=delta, n_missing=(0, nmax))
        est.fit(table, rng=np.random.default_rng(0))  # imports and numba cache loaded
        best = np.inf
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            res = est.fit(table, rng=np.random.default_rng(0))
            best = min(best, time.perf_counter() - t0)
        print(f"{name:10s} undercount: {best:8.3f} s  median {res.estimate:,.0f} "
              f"95% [{res.interval.lower:,.0f}, {res.interval.upper:,.0f}]")
        if run_peer:
            r = peers.run("dga.R", peers.dataset_csv(name), delta, nmax, args.repeats)
            sec = float(r["seconds"])
            print(f"{name:10s} dga {r['version']}: {sec:8.3f} s  median {float(r['median']):,.0f} "
                  f"95% [{float(r['lower']):,.0f}, {float(r['upper']):,.0f}]  "
                  f"(measured now)")
            peer = (int(r["lower"]), int(r["median"]), int(r["upper"]))
            mine = (round(res.interval.lower), round(res.estimate), round(res.interval.upper))
            mean = float(r["mean"])
            same = peer == mine and abs(mean - res.mean) <= 1e-6 * mean
            print(f"{name:10s} posterior mean dga {mean:,.3f}, undercount {res.mean:,.3f}; "
                  f"quantiles and mean {'agree' if same else 'DIFFER'}")
            print(f"{name:10s} ratio dga / undercount: {sec / best:6.1f}x")
    if not run_peer:
        peers.print_stored("dga")


if __name__ == "__main__":
    main()
