"""Bootstrap with stepwise re-selection: time for 1,000 replicates against SparseMSE 2.0.1.

Run with ``PYTHONPATH=src python benchmarks/bench_bootstrap.py [--replicates 1000]``.

When ``Rscript`` and SparseMSE are installed, SparseMSE's
``estimatepopulation(nboot = 1000, method = "stepwise")`` runs side by side on the same
tables (``benchmarks/peers/sparsemse.R``) and the printed ratio is its time over ours, both
measured now, with whether the point estimates and BCa accelerations agree and where
SparseMSE's interval falls in our interval's Monte Carlo spread over ``--spread`` seeds.
Otherwise the stored SparseMSE times are used, and every ratio that uses them is marked
"stored figure, not measured now": 215.8 s on the UK six-list table and 87.0 s on the
five-list table (measured side by side 2026-12-05, a shared 2-core machine at load 5-6,
R 4.2.2; benchmarks/peers/README.md).

``--single`` also times the replicates' re-selection alone in this process (ms per replicate,
wall and CPU: less sensitive to other processes than the parallel end-to-end time);
``--profile`` adds a cProfile listing of that loop. Timings on a shared machine are noisy:
the load average is printed with them.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time

import numpy as np
import peers

from undercount import datasets
from undercount.models.loglinear import LogLinearEstimator
from undercount.uncertainty.bootstrap import Bootstrap, _run_chunk

#: Stored: SparseMSE 2.0.1, nboot = 1000, measured side by side 2026-12-05 (a shared 2-core
#: machine at load 5-6, R 4.2.2; benchmarks/peers/README.md).
SPARSEMSE_SECONDS = {"uk_2013": 215.8, "uk_2013_5": 87.0}


def _single(est: LogLinearEstimator, name: str, replicates: int, profile: bool) -> None:
    """Re-selection on the bootstrap's own resamples, one process, no pool or interval."""
    table = datasets.load(name)
    observed = table.full_counts()[1:]
    n = int(observed.sum())
    draws = np.random.default_rng(1234).multinomial(n, observed / n, size=replicates)
    codes = np.arange(1, 2**table.n_lists)
    args = (est, table.lists, codes, draws)
    t0, c0 = time.perf_counter(), time.process_time()
    _run_chunk(args)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"{name:10s} single process: {1e3 * wall / replicates:.3f} ms/replicate wall, "
        f"{1e3 * cpu / replicates:.3f} ms CPU"
    )
    if profile:
        prof = cProfile.Profile()
        prof.runcall(_run_chunk, args)
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--single", action="store_true",
                        help="also time re-selection alone in one process (ms/replicate)")
    parser.add_argument("--profile", action="store_true",
                        help="with --single: print a cProfile listing of that loop")
    parser.add_argument("--spread", type=int, default=10,
                        help="seeds of ours giving the Monte Carlo spread of the interval")
    args = parser.parse_args()
    est = LogLinearEstimator(select="stepwise")
    # Warm up: numba compilation and process start-up are not part of the steady state.
    Bootstrap(estimator=est, replicates=40, n_jobs=1).fit(
        datasets.load("kosovo"), rng=np.random.default_rng(0))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"cores available: {len(os.sched_getaffinity(0))}; replicates: {args.replicates}; "
          f"load average: {load}")
    run_peer = peers.available("SparseMSE")
    if not run_peer:
        peers.print_stored("SparseMSE")
    for name, ref in SPARSEMSE_SECONDS.items():
        table = datasets.load(name)
        t0 = time.perf_counter()
        res = Bootstrap(estimator=est, replicates=args.replicates, n_jobs=args.jobs).fit(
            table, rng=np.random.default_rng(1234))
        dt = time.perf_counter() - t0
        if run_peer:
            r = peers.run("sparsemse.R", peers.dataset_csv(name), args.replicates, 1234)
            ref_s, how = float(r["seconds"]), f"measured now, SparseMSE {r['version']}"
            peer_est, ahat = float(r["estimate"]), float(r["ahat"])
            same = (abs(peer_est - res.estimate) <= 1e-6 * peer_est
                    and abs(ahat - res.acceleration) <= 1e-6 * abs(ahat))
            print(f"{name:10s} SparseMSE: {ref_s:.1f} s, N={peer_est:,.1f} "
                  f"BCa95=[{float(r['lower']):,.0f}, {float(r['upper']):,.0f}], acceleration "
                  f"{ahat:.8f}, z0 {float(r['z0']):.3f}")
            print(f"{name:10s} undercount: acceleration {res.acceleration:.8f}, z0 "
                  f"{res.bias_correction:.3f}; point estimate and acceleration "
                  f"{'agree' if same else 'DIFFER'} (|difference| "
                  f"{abs(peer_est - res.estimate):.2g}); z0 and the intervals come from "
                  "different random resamples and agree only within Monte Carlo error")
            # Monte Carlo spread of our interval's ends over seeds, one process.
            ivs = [Bootstrap(estimator=est, replicates=args.replicates, n_jobs=1).fit(
                table, rng=np.random.default_rng(seed)).interval for seed in range(args.spread)]
            ends = np.array([(iv.lower, iv.upper) for iv in ivs])
            mean, sd = ends.mean(axis=0), ends.std(axis=0, ddof=1)
            z = (np.array([float(r["lower"]), float(r["upper"])]) - mean) / sd
            print(f"{name:10s} undercount over {args.spread} seeds: lower {mean[0]:,.0f} "
                  f"(sd {sd[0]:,.0f}), upper {mean[1]:,.0f} (sd {sd[1]:,.0f}); SparseMSE's "
                  f"ends at {z[0]:+.1f} and {z[1]:+.1f} sd: "
                  f"{'within' if np.all(np.abs(z) < 3) else 'OUTSIDE'} Monte Carlo error")
        else:
            ref_s = ref * args.replicates / 1000
            how = f"{peers.NOT_MEASURED}: 2026-12-05, {peers.MACHINE}"
        print(
            f"{name:10s} N={res.estimate:,.1f} BCa95=[{res.interval.lower:,.0f}, "
            f"{res.interval.upper:,.0f}]  {dt:6.2f} s  SparseMSE {ref_s:6.1f} s  "
            f"speed-up {ref_s / dt:5.1f}x (target 50x) [{how}]"
        )
    if args.single or args.profile:
        for name in SPARSEMSE_SECONDS:
            _single(est, name, args.replicates, args.profile)


if __name__ == "__main__":
    main()
