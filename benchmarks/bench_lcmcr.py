"""Benchmark of the latent-class (LCMCR) Gibbs sampler against R's LCMCR, side by side.

Run: ``PYTHONPATH=src:benchmarks python benchmarks/bench_lcmcr.py [--table kosovo|uk_2013]
[--cores 2] [--chains 4] [--iters 200000] [--repeats 2] [--peer-only]``

Prints
  * the numba compile time of the first call, cold (empty cache directory) and warm
    (``cache=True`` on disk), each in a fresh interpreter;
  * microseconds per Gibbs iteration of one chain (K = 10), plain Gibbs and default;
  * when ``Rscript`` and LCMCR are installed, R's LCMCR run side by side
    (``benchmarks/peers/lcmcr.R``): one chain, K = 10, a = b = 0.25, the same warm-up,
    burn-in, iterations and thinning as ours, ``--repeats`` seeds. Both sides' ESS of N is
    ArviZ's bulk ESS of the kept draws (LCMCR's are read back from R; coda's ESS is printed
    for reference), per second of wall-clock time including LCMCR's set-up and our result
    building; the three runs of a seed follow one another. Printed: our one chain against
    LCMCR's, our default (``--chains`` chains on ``--cores`` threads) against LCMCR's one
    chain, each per wall-clock second and per CPU-second; with ``--repeats`` > 1 also the
    seeds' one-chain runs taken as chains of one fit (R-hat and bulk ESS across them, which
    see modes a single chain misses); and whether the posterior means of N agree within
    Monte Carlo error (difference under 3 Monte Carlo standard errors, each
    sd / sqrt(bulk ESS), with several seeds the ESS across them);
  * otherwise LCMCR's stored figures, marked "stored figure, not measured now", our ESS of
    N per second for plain Gibbs and the default, and a projection from the stored figures
    (below).

Without LCMCR the projection is: with ``collapsed_moves=0, label_swaps=False,
hmc_steps=0`` our sampler runs LCMCR's algorithm (same blocks, same conditionals, same
order), so LCMCR's effective sample size per iteration is estimated by running that
configuration, and its ESS per second as (that ESS per iteration per chain) / 14.1 us, the
stored CPU time per iteration of LCMCR 0.4.14 on Kosovo (measured side by side by this
benchmark, 2026-12-05, R 4.2.2, a shared 2-core machine at load 9-10). Our default adds
the partially collapsed moves on the unobserved, the label swaps and the HMC move on
(lambda, pi) from their marginal posterior, which each chain keeps only where its burn-in
trial finds that it pays (``adaptive_hmc``); they change both the cost per iteration and
the ESS per iteration; both are measured. Burn-in is charged to our
wall-clock time. Bulk ESS from one run has a relative Monte Carlo error of roughly 10-15%
at these lengths; ``--repeats`` averages several seeds. The plain sweep's ESS per iteration
is overestimated by short runs (its slowest directions are not yet visible; 4 chains x
1,000,000 iterations gave 0.00116), so the projection is generous to LCMCR.

Timings on a shared machine are noisy: other processes compete for the same cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import peers

from undercount.core.draws import import_arviz, n_draws

#: Stored: LCMCR 0.4.14 on Kosovo, K = 10, one chain, CPU seconds per iteration (2.96 s CPU
#: for 210,000 iterations; 28.2 us wall at load 9-10), measured side by side 2026-12-05 on a
#: shared 2-core machine with R 4.2.2 (benchmarks/peers/README.md).
LCMCR_US_PER_ITER = 14.1
TARGET_RATIO = 15.0  # issue 17, item 5


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
    parser.add_argument("--table", default="kosovo", choices=("kosovo", "uk_2013"),
                        help="shipped table (uk_2013: the six UK 2013 lists)")
    parser.add_argument("--peer-only", action="store_true",
                        help="with LCMCR installed, only the side-by-side comparison")
    args = parser.parse_args()

    from undercount import datasets
    from undercount.models.latent_class import LatentClassEstimator, _kernels
    from undercount.models.latent_class.estimator import _cells, _initial_values

    print(f"machine: {os.cpu_count()} logical CPUs, load average "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())} (shared machine: timings noisy)")

    table = datasets.load(args.table)
    if args.peer_only and peers.available("LCMCR"):
        _side_by_side(table, args)
        return

    with tempfile.TemporaryDirectory() as cold:
        t_cold = _first_call_seconds(cold)
        t_warm = _first_call_seconds(cold)
    print(f"first call, cold numba cache : {t_cold:6.2f} s (compile)")
    print(f"first call, warm numba cache : {t_warm:6.2f} s (load from cache=True)")

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
        # The kernel alone runs no HMC trial: "with HMC" is the sweep where a chain keeps it.
        label = "with HMC" if moves else "plain Gibbs"
        print(f"one chain, {label}: {best * 1e6:6.2f} us per iteration wall, "
              f"{best_cpu * 1e6:6.2f} us CPU (best of 3)")

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

    if peers.available("LCMCR"):
        _side_by_side(table, args)
        return
    if args.table != "kosovo":
        peers.print_stored("LCMCR")
        print(f"no projection for {args.table}: the stored per-iteration time is Kosovo's")
        return
    _, _, plain_per_iter, _ = ess_run(0)
    ess, wall, ours_per_iter, _ = ess_run(1)
    ours = ess / wall
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

def _ess_bulk(draws: np.ndarray) -> float:
    """ArviZ's bulk ESS of one chain's draws: the estimator our results report."""
    az = import_arviz()
    return float(az.ess(np.asarray(draws, dtype=float)[None, :], method="bulk"))


def _side_by_side(table, args) -> None:
    """LCMCR and our sampler, one chain each with the same settings, then our default.

    For each of ``--repeats`` seeds LCMCR, our one chain and our default run one after the
    other (so that a change in the machine's load falls on all three). Both sides' ESS of N
    is ArviZ's bulk ESS of the kept draws (LCMCR's are written by ``lcmcr.R`` and read
    back); ESS and times are averaged over the seeds. Coda's ESS of LCMCR's draws is
    printed beside it for reference.
    """
    from undercount.models.latent_class import LatentClassEstimator

    # ArviZ warns "shape validation failed" for one chain, through a logger of its own.
    import_arviz()._log.setLevel(logging.ERROR)
    one = LatentClassEstimator(chains=1, iterations=args.iters, n_jobs=1)
    default = LatentClassEstimator(chains=args.chains, iterations=args.iters,
                                   n_jobs=args.cores)
    for est in (one, default):  # threads, ArviZ and the numba cache loaded
        est.fit(table, rng=np.random.default_rng(1))
    # lcmCR() runs 500 warm-up sweeps before lcmCR_PostSampl()'s burn-in; our burn_in
    # counts its 500 warm-up sweeps, so LCMCR's burn-in argument is ours less 500.
    burnin = max(one.burn_in - 500, 0)
    csv = peers.dataset_csv(args.table)
    runs: dict[str, dict[str, list]] = {
        side: {"ess": [], "wall": [], "cpu": [], "draws": [], "coda": []}
        for side in ("lcmcr", "one", "default")
    }
    version = ""
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeats):
            path = os.path.join(tmp, f"n{k}.txt")
            r = peers.run("lcmcr.R", csv, burnin, args.iters // one.thin, one.thin,
                          args.seed + k, path)
            version = r["version"]
            draws = np.loadtxt(path)
            lc = runs["lcmcr"]
            lc["draws"].append(draws)
            lc["ess"].append(_ess_bulk(draws))
            lc["wall"].append(float(r["seconds"]))
            lc["cpu"].append(float(r["cpu_seconds"]))
            lc["coda"].append(float(r["ess"]))
            for side, est in (("one", one), ("default", default)):
                t0, c0 = time.perf_counter(), time.process_time()
                res = est.fit(table, rng=np.random.default_rng(args.seed + k))
                runs[side]["wall"].append(time.perf_counter() - t0)
                runs[side]["cpu"].append(time.process_time() - c0)
                runs[side]["ess"].append(res.convergence["N"]["ess_bulk"])
                runs[side]["draws"].append(n_draws(res))
    m = {side: {key: float(np.mean(v)) for key, v in d.items() if key != "draws" and v}
         for side, d in runs.items()}
    per_s = {side: v["ess"] / v["wall"] for side, v in m.items()}
    per_cpu = {side: v["ess"] / v["cpu"] for side, v in m.items()}
    us = 1e6 * m["lcmcr"]["wall"] / (500 + burnin + args.iters)
    print(f"same settings: 500 warm-up + {burnin:,} burn-in + {args.iters:,} iterations, "
          f"thin {one.thin}, K = 10; {args.repeats} seed(s), run in turn; means over the seeds")
    print(f"LCMCR {version} (measured now), one chain : {m['lcmcr']['wall']:6.2f} s wall, "
          f"{m['lcmcr']['cpu']:6.2f} s CPU ({us:.2f} us per iteration), bulk ESS of N "
          f"{m['lcmcr']['ess']:6.0f} (coda {m['lcmcr']['coda']:.0f}), "
          f"{per_s['lcmcr']:7.1f} per second")
    print(f"undercount, one chain             : {m['one']['wall']:6.2f} s wall, "
          f"{m['one']['cpu']:6.2f} s CPU, bulk ESS of N {m['one']['ess']:6.0f}, "
          f"{per_s['one']:7.1f} per second")
    print(f"undercount default, {args.chains} chains, {args.cores} threads: "
          f"{m['default']['wall']:6.2f} s wall, {m['default']['cpu']:6.2f} s CPU, bulk ESS of "
          f"N {m['default']['ess']:6.0f}, {per_s['default']:7.1f} per second")

    az = import_arviz()
    # A single chain's ESS cannot see a mode it has not visited: with several seeds their
    # one-chain runs, taken as chains of one fit, give R-hat and a bulk ESS that can
    # (Vehtari et al. 2021); the Monte Carlo error of the posterior mean then uses it.
    multi: dict[str, tuple[float, float]] = {}
    if args.repeats > 1:
        for side in ("lcmcr", "one"):
            chains = np.stack(runs[side]["draws"])
            multi[side] = (float(az.ess(chains, method="bulk")), float(az.rhat(chains)))

    def summary(label: str, side: str) -> tuple[float, float]:
        d, ess = runs[side]["draws"], runs[side]["ess"]
        pooled = np.concatenate(d)
        lo, med, hi = np.quantile(pooled, [0.025, 0.5, 0.975])
        mean = float(np.mean([x.mean() for x in d]))
        if side in multi:  # sd / sqrt(bulk ESS across the seeds' chains)
            se = float(np.std(pooled) / np.sqrt(multi[side][0]))
        else:  # the mean of the seeds' means, each sd / sqrt(its bulk ESS)
            se = float(np.sqrt(sum(np.var(x) / e for x, e in zip(d, ess, strict=True))))
            se /= len(d)
        print(f"  {label:28s}: mean {mean:9,.1f} (MC s.e. {se:5.1f}), median {med:,.0f}, "
              f"95% [{lo:,.0f}, {hi:,.0f}]")
        return mean, se

    print(f"posterior of N on {args.table} (draws pooled over the seeds):")
    m_l, se_l = summary(f"LCMCR {version}", "lcmcr")
    for label, side in (("one chain", "one"), (f"{args.chains} chains", "default")):
        mean, se = summary(f"undercount, {label}", side)
        z = (mean - m_l) / np.hypot(se, se_l)
        verdict = "agree within Monte Carlo error" if abs(z) < 3 else "DIFFER"
        print(f"    LCMCR vs undercount {label}: difference {mean - m_l:+,.1f} = {z:+.2f} "
              f"Monte Carlo s.e.: {verdict}")
    if multi:
        pooled_s = {}
        for side, (ess, rhat) in multi.items():
            pooled_s[side] = ess / float(np.sum(runs[side]["wall"]))
            label = f"LCMCR {version}" if side == "lcmcr" else "undercount"
            note = "" if rhat < 1.01 else "  (R-hat >= 1.01: not converged, ESS unreliable)"
            print(f"  {label:16s} {args.repeats} one-chain runs as {args.repeats} chains: "
                  f"R-hat {rhat:.4f}, bulk ESS of N {ess:6.0f}, {pooled_s[side]:7.1f} per "
                  f"second{note}")
        print(f"ratio, the seeds' one-chain runs taken as chains: "
              f"{pooled_s['one'] / pooled_s['lcmcr']:6.2f}x wall clock")
    print(f"ratio of ESS of N per second to LCMCR's, one chain each: "
          f"{per_s['one'] / per_s['lcmcr']:6.2f}x wall clock, "
          f"{per_cpu['one'] / per_cpu['lcmcr']:6.2f}x per CPU-second")
    print(f"ratio, our default ({args.chains} chains, {args.cores} threads) to LCMCR's one "
          f"chain: {per_s['default'] / per_s['lcmcr']:6.2f}x wall clock, "
          f"{per_cpu['default'] / per_cpu['lcmcr']:6.2f}x per CPU-second  "
          f"(target >= {TARGET_RATIO:.0f}x)")


if __name__ == "__main__":
    main()
