"""Benchmark of the latent-class (LCMCR) Gibbs sampler on Kosovo against R's LCMCR.

Run: ``.venv/bin/python benchmarks/bench_lcmcr.py [--cores 2] [--chains 4]``

Prints
  * the numba compile time of the first call, cold (empty cache directory) and warm
    (``cache=True`` on disk), each in a fresh interpreter;
  * microseconds per Gibbs iteration of one chain (Kosovo, K = 10);
  * the bulk effective sample size of N per second of wall-clock time, over all chains,
    for the default estimator run in parallel on ``--cores`` threads;
  * R's LCMCR run side by side when ``Rscript`` and LCMCR are installed
    (``benchmarks/peers/lcmcr.R``: one chain, K = 10, a = b = 0.25, the same burn-in,
    iterations and thinning as ours, bulk ESS of N from coda), and the ratios of our ESS
    of N per second to its, one chain against one chain and with our default chains;
  * otherwise LCMCR's stored figures, marked "stored figure, not measured now", and a
    projection from them (below).

Without LCMCR the projection is: with ``collapsed_moves=0, label_swaps=False,
hmc_steps=0`` our sampler runs LCMCR's algorithm (same blocks, same conditionals, same
order), so LCMCR's effective sample size per iteration is estimated by running that
configuration, and its ESS per second as (that ESS per iteration per chain) / 12.7 us, the
stored per-iteration time of LCMCR 0.4.14 on Kosovo (issue 17, R 4.2.2, 2-core machine,
2026-12-05). Our default adds the partially collapsed moves on the unobserved, the label
swaps and the HMC move on (lambda, pi) from their marginal posterior, which change both the
cost per iteration and the ESS per iteration; both are measured. Burn-in is charged to our
wall-clock time. Bulk ESS from one run has a relative Monte Carlo error of roughly 10-15%
at these lengths; ``--repeats`` averages several seeds. The plain sweep's ESS per iteration
is overestimated by short runs (its slowest directions are not yet visible; 4 chains x
1,000,000 iterations gave 0.00116), so the projection is generous to LCMCR.

Timings on a shared machine are noisy: other processes compete for the same cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import peers

#: Stored: LCMCR 0.4.14 on Kosovo, K = 10, one chain (issue 17, R 4.2.2, 2-core machine,
#: 2026-12-05; the 15 us of 2026-11-28 was from the project's build machine).
LCMCR_US_PER_ITER = 12.7
TARGET_RATIO = 5.0


def _first_call_seconds(cache_dir: str) -> float:
    code = textwrap.dedent(
        """
        import time, numpy as np
        t0 = time.perf_counter()
        from undercount import datasets
        from undercount.models.latent_class import _kernels
        from undercount.models.latent_class.estimator import _cells, _initial_values
        x, c = _cells(datasets.load("kosovo"))
        g = np.random.default_rng(0)
        lam, lnu, al, n0 = _initial_values(g, x, c, 10)
        t1 = time.perf_counter()
        _kernels.run_chain(g, x, c, .25, .25, np.ones(4), np.ones(4), -1, 1, 2, 1, 1,
                         lam, lnu, al, n0, 1, True, True, 12)
        print(time.perf_counter() - t1)
        """
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2, help="threads running chains")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--iters", type=int, default=200_000, help="iterations per chain")
    parser.add_argument("--repeats", type=int, default=2, help="seeds averaged for the ESS")
    args = parser.parse_args()

    from undercount import datasets
    from undercount.models.latent_class import LatentClassEstimator, _kernels
    from undercount.models.latent_class.estimator import _cells, _initial_values

    print(f"machine: {os.cpu_count()} logical CPUs, load average "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())} (shared machine: timings noisy)")

    with tempfile.TemporaryDirectory() as cold:
        t_cold = _first_call_seconds(cold)
        t_warm = _first_call_seconds(cold)
    print(f"first call, cold numba cache : {t_cold:6.2f} s (compile)")
    print(f"first call, warm numba cache : {t_warm:6.2f} s (load from cache=True)")

    table = datasets.load("kosovo")
    x, c = _cells(table)
    ones = np.ones(table.n_lists)
    n_single = 200_000
    us_cpu: dict[int, float] = {}
    hmc_steps = LatentClassEstimator.hmc_steps
    for moves in (0, 1):
        g = np.random.default_rng(args.seed)
        lam, lnu, al, n0 = _initial_values(g, x, c, 10)
        _kernels.run_chain(g, x, c, .25, .25, ones, ones, -1, 10, 10, 10, 1, lam, lnu, al, n0,
                         moves, True, bool(moves), moves * hmc_steps)
        best = best_cpu = np.inf
        for _ in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            _kernels.run_chain(g, x, c, .25, .25, ones, ones, -1, 500, 1_000, n_single, 1,
                             lam, lnu, al, n0, moves, True, bool(moves), moves * hmc_steps)
            best = min(best, (time.perf_counter() - t0) / (n_single + 1_000))
            best_cpu = min(best_cpu, (time.process_time() - c0) / (n_single + 1_000))
        us_cpu[moves] = best_cpu * 1e6
        label = "default" if moves else "plain Gibbs"
        print(f"one chain, {label}: {best * 1e6:6.2f} us per iteration wall, "
              f"{best_cpu * 1e6:6.2f} us CPU (best of 3; LCMCR {LCMCR_US_PER_ITER} us, stored)")

    def ess_run(moves: int) -> tuple[float, float, float, object]:
        """Mean bulk ESS of N, mean wall time and ESS per iteration per chain."""
        est = LatentClassEstimator(chains=args.chains, iterations=args.iters, n_jobs=args.cores,
                                   collapsed_moves=moves, label_swaps=bool(moves),
                                   hmc_steps=moves * hmc_steps)
        est.fit(table, rng=np.random.default_rng(1))  # threads and ArviZ imported
        ess = wall = 0.0
        res = None
        for r in range(args.repeats):
            t0 = time.perf_counter()
            res = est.fit(table, rng=np.random.default_rng(args.seed + r))
            wall += time.perf_counter() - t0
            ess += res.convergence["N"]["ess_bulk"]
        ess /= args.repeats
        wall /= args.repeats
        total_iter = args.chains * (est.iterations + est.burn_in)
        label = "default" if moves else "plain Gibbs"
        print(f"estimator, {label}: {args.chains} chains x ({est.burn_in:,} "
              f"burn-in + {est.iterations:,}) iterations on {args.cores} threads, "
              f"{args.repeats} seed(s)")
        conv = res.convergence["N"]
        print(f"  wall time                  : {wall:6.2f} s  "
              f"({wall / total_iter * 1e6 * args.cores:.2f} us per iteration per core)")
        print(f"  N (last seed): median {res.estimate:,.0f}, 95% [{res.interval.lower:,.0f}, "
              f"{res.interval.upper:,.0f}], R-hat {conv['rhat']:.4f}")
        print(f"  mean bulk ESS of N         : {ess:8.0f}   per second {ess / wall:8.1f}")
        return ess, wall, ess / (args.chains * est.iterations), res

    _, _, plain_per_iter, _ = ess_run(0)
    ess, wall, ours_per_iter, _ = ess_run(1)
    ours = ess / wall
    if peers.available("LCMCR"):
        _side_by_side(table, args, ours)
        return
    peers.print_stored("LCMCR")
    print(f"projection from the stored {LCMCR_US_PER_ITER} us per iteration "
          f"[{peers.NOT_MEASURED}]:")
    lcmcr = plain_per_iter / (LCMCR_US_PER_ITER * 1e-6)
    print(f"ESS per iteration per chain: plain Gibbs (LCMCR's algorithm) {plain_per_iter:.5f}, "
          f"default sampler {ours_per_iter:.5f} "
          f"({ours_per_iter / plain_per_iter:.2f}x)")
    print(f"LCMCR reference ESS/s      : {lcmcr:8.1f} (plain-Gibbs ESS per iteration / "
          f"{LCMCR_US_PER_ITER} us)")
    print(f"ours (default), ESS/s      : {ours:8.1f} (wall clock, all chains, "
          f"{args.cores} threads)")
    ratio = ours / lcmcr
    print(f"ratio to LCMCR (projected) : {ratio:6.2f}x  (target >= {TARGET_RATIO:.0f}x)")
    idle = args.cores * (LCMCR_US_PER_ITER / us_cpu[1]) * (ours_per_iter / plain_per_iter)
    print(f"projection on {args.cores} idle cores  : {idle:6.2f}x (CPU time per iteration "
          "of one chain, times cores, times the ESS-per-iteration gain)")

def _side_by_side(table, args, ours_default: float) -> None:
    """LCMCR and our sampler, one chain each with the same settings, then our default."""
    from undercount.models.latent_class import LatentClassEstimator

    one = LatentClassEstimator(chains=1, iterations=args.iters, n_jobs=1)
    r = peers.run("lcmcr.R", peers.dataset_csv("kosovo"), one.burn_in,
                  args.iters // one.thin, one.thin, args.seed)
    lcmcr = float(r["ess"]) / float(r["seconds"])
    print(f"LCMCR {r['version']} (measured now), one chain, {one.burn_in:,} burn-in + "
          f"{args.iters:,} iterations, thin {one.thin}: {float(r['seconds']):.2f} s, "
          f"{float(r['us_per_iteration']):.2f} us per iteration, ESS of N {float(r['ess']):.0f}"
          f", {lcmcr:.1f} per second; N median {float(r['median']):,.0f} 95% "
          f"[{float(r['lower']):,.0f}, {float(r['upper']):,.0f}]")
    ess = wall = 0.0
    for k in range(args.repeats):
        t0 = time.perf_counter()
        res = one.fit(table, rng=np.random.default_rng(args.seed + k))
        wall += time.perf_counter() - t0
        ess += res.convergence["N"]["ess_bulk"]
    ours_one = ess / wall
    print(f"undercount, one chain, same settings: {ours_one:.1f} ESS of N per second; N "
          f"median {res.estimate:,.0f} 95% [{res.interval.lower:,.0f}, "
          f"{res.interval.upper:,.0f}]")
    print(f"ratio to LCMCR, one chain each          : {ours_one / lcmcr:6.2f}x")
    print(f"ratio to LCMCR, our default ({args.chains} chains, {args.cores} threads): "
          f"{ours_default / lcmcr:6.2f}x  (target >= {TARGET_RATIO:.0f}x)")


if __name__ == "__main__":
    main()
