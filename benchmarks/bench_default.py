"""Wall time of the default on a 5-list table, on two cores and held to one.

Issue 15 asks that the default (``undercount estimate TABLE`` with no options) run in under
15 s on a 5-list table on 2 cores. The default fits the log-linear bootstrap here and its
other families (logit-normal, latent classes by EM, the check's heterogeneity, short LCMCR
run and dga) on a second core meanwhile (:func:`undercount.core.parallel.beside`). This
prints, for ``undercount estimate uk_2013_5 --seed S``:

* the median wall time on all the machine's cores and under ``taskset -c 0`` (one core,
  where every family is fitted in this process, one after another), interleaved, with the
  1-minute load average;
* their ratio, and whether the 2-core median is under the issue's 15 s;
* the two runs' estimate lines, which must be identical (a result may not depend on where
  its families were fitted).

Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_default.py --runs 5

``--src OTHER/src`` times another source tree (e.g. ``git archive`` of an earlier commit).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

import bench_startup

LIMIT_S = 15.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--table", default="uk_2013_5")
    ap.add_argument("--src", type=Path, default=bench_startup.SRC)
    args = ap.parse_args()
    bench_startup.SRC = args.src.resolve()
    taskset = shutil.which("taskset")
    if taskset is None:
        raise SystemExit("taskset (util-linux) is needed to hold a run to one core")
    cmd = [*bench_startup._cli(), "estimate", args.table, "--seed", str(args.seed)]
    commands = {"all cores": cmd, "one core (taskset -c 0)": [taskset, "-c", "0", *cmd]}
    print(f"python {sys.version.split()[0]}, {len(os.sched_getaffinity(0))} cores, "
          f"{args.runs} runs each, interleaved; source {bench_startup.SRC}")
    for c in commands.values():  # warm the numba cache and the OS file cache
        bench_startup._run(c)
    walls: dict[str, list[float]] = {n: [] for n in commands}
    loads: dict[str, list[float]] = {n: [] for n in commands}
    lines: dict[str, set[str]] = {n: set() for n in commands}
    for _ in range(args.runs):
        for name, c in commands.items():
            wall, load, out = bench_startup._run(c)
            walls[name].append(wall)
            loads[name].append(load)
            lines[name].add(next((" ".join(x.split()) for x in out.splitlines()
                                  if "Estimate N" in x), ""))
    med = {n: statistics.median(w) for n, w in walls.items()}
    print(f"\n`undercount estimate {args.table} --seed {args.seed}`: wall time (median; "
          "min-max) and 1-minute load average during the runs")
    for name in commands:
        print(f"  {name:26s} {med[name]:6.2f} s  ({min(walls[name]):.2f}-"
              f"{max(walls[name]):.2f})  load {statistics.mean(loads[name]):.1f}")
    both = med["all cores"]
    print(f"\n  one core / all cores: {med['one core (taskset -c 0)'] / both:5.2f}")
    print(f"  all cores under {LIMIT_S:g} s: {'yes' if both < LIMIT_S else 'NO'}")
    results = set().union(*lines.values())
    print(f"  results identical on one core and all: {'yes' if len(results) == 1 else 'NO'}")
    for line in sorted(results):
        print(f"    {line}")


if __name__ == "__main__":
    main()
