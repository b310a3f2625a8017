"""Rcapture's closed-population family against R's Rcapture, side by side when installed.

Run: ``PYTHONPATH=src python benchmarks/bench_rcapture.py [--repeats 20]``

Two comparisons, each doing the same work on both sides (``benchmarks/peers/rcapture.R``):

* the ten models' fits: Rcapture's ``closedp.t(X, dfreq = TRUE)`` (M0, Mt, Mh and Mth with
  the Chao, Poisson2, Darroch and Gamma3.5 forms, plus Mb and Mbh, which undercount does not
  fit: generous to undercount by two small models) against undercount's
  ``HeterogeneityEstimator(interval="wald")``;
* undercount's default ``HeterogeneityEstimator()``, which also computes the multinomial
  profile-likelihood interval of every usable model, against ``closedp.t`` followed by
  ``closedpCI.t`` for each of the ten models.

Times are the mean of ``--repeats`` fits with the data loaded (R's from inside R, without
its start-up); the ratios printed are Rcapture's time over ours. Both sides choose by AIC;
the chosen model, its estimate and its profile interval must agree, and the benchmark prints
whether they do. Without Rscript and Rcapture the stored figure is printed instead.
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
    wald = HeterogeneityEstimator(interval="wald")
    for name in TABLES:
        table = datasets.load(name)
        ours = {}
        for label, e in (("wald", wald), ("profile", est)):
            res = e.fit(table, rng=np.random.default_rng(0))  # warm-up
            t0 = time.perf_counter()
            for _ in range(args.repeats):
                res = e.fit(table, rng=np.random.default_rng(0))
            ours[label] = (time.perf_counter() - t0) / args.repeats
        print(f"{name:10s} undercount: {ours['wald'] * 1e3:9.2f} ms ten fits, "
              f"{ours['profile'] * 1e3:9.2f} ms with the ten profile intervals; {res.model} "
              f"N {res.estimate:,.1f} [{res.interval.lower:,.1f}, {res.interval.upper:,.1f}]")
        if run_peer:
            r = peers.run("rcapture.R", peers.dataset_csv(name), args.repeats)
            fits, cis = float(r["seconds"]), float(r["seconds_ci"])
            print(f"{name:10s} Rcapture {r['version']}: {fits * 1e3:9.2f} ms closedp.t, "
                  f"{(fits + cis) * 1e3:9.2f} ms with the ten closedpCI.t; {r['best']} "
                  f"N {float(r['abundance']):,.1f} [{float(r['lower']):,.1f}, "
                  f"{float(r['upper']):,.1f}]  (measured now)")
            peer = (float(r["abundance"]), float(r["lower"]), float(r["upper"]))
            mine = (res.estimate, res.interval.lower, res.interval.upper)
            # closedpCI.t's uniroot stops at tol = 1e-4 on N; 0.05 people is well above that.
            same = (r["best"].replace(" (LB)", "").replace(" ", "-") == res.model
                    and abs(peer[0] - mine[0]) <= 1e-6 * peer[0]
                    and all(abs(p - m) <= 0.05 for p, m in zip(peer[1:], mine[1:], strict=True)))
            print(f"{name:10s} model, estimate and interval {'agree' if same else 'DIFFER'}")
            print(f"{name:10s} ratio Rcapture / undercount: {fits / ours['wald']:6.1f}x fits, "
                  f"{(fits + cis) / ours['profile']:6.1f}x with the intervals")
    if not run_peer:
        peers.print_stored("Rcapture")


if __name__ == "__main__":
    main()
