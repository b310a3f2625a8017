"""Rcapture's closed-population family against R's Rcapture, side by side when installed.

Run: ``PYTHONPATH=src python benchmarks/bench_rcapture.py [--repeats 20]``

Rcapture's ``closedp.t(X, dfreq = TRUE)`` fits M0, Mt, Mh (Chao, Poisson, Darroch, Gamma)
and the Mth models at once (``benchmarks/peers/rcapture.R``); undercount's
``HeterogeneityEstimator()`` fits the same models, selects by AIC and adds the selected
model's profile interval (work Rcapture's ``closedpCI.t`` would do in a second call, so the
comparison is generous to Rcapture). Times are the mean of ``--repeats`` fits with the data
loaded; the ratio printed is Rcapture's time over ours. Without Rscript and Rcapture the
stored figure is printed instead (there is none yet for Rcapture).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import peers

from undercount import datasets
from undercount.models.heterogeneity import HeterogeneityEstimator

TABLES = ("hiv_rome", "kosovo", "uk_2013_5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"load average {', '.join(f'{v:.1f}' for v in os.getloadavg())} "
          "(shared machine: timings noisy)")
    run_peer = peers.available("Rcapture")
    est = HeterogeneityEstimator()
    for name in TABLES:
        table = datasets.load(name)
        res = est.fit(table, rng=np.random.default_rng(0))  # warm-up
        t0 = time.perf_counter()
        for _ in range(args.repeats):
            res = est.fit(table, rng=np.random.default_rng(0))
        ours = (time.perf_counter() - t0) / args.repeats
        print(f"{name:10s} undercount: {ours * 1e3:9.2f} ms  {res.model} "
              f"N {res.estimate:,.1f}")
        if run_peer:
            r = peers.run("rcapture.R", peers.dataset_csv(name), args.repeats)
            sec = float(r["seconds"])
            print(f"{name:10s} Rcapture {r['version']}: {sec * 1e3:9.2f} ms  {r['best']} "
                  f"N {float(r['abundance']):,.1f}  (measured now)")
            print(f"{name:10s} ratio Rcapture / undercount: {sec / ours:6.1f}x")
    if not run_peer:
        peers.print_stored("Rcapture")


if __name__ == "__main__":
    main()
