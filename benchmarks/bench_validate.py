"""Benchmark of the simulation battery (`undercount validate`).

Runs the battery for the chosen designs and replicates, prints the mean seconds per fit of
each family and design, and projects the wall-clock time of the full battery against the
acceptance budget (2 hours on a 2-core machine). The full battery is

    undercount validate --replicates 100 --seed 2024 --jobs 2 --out docs/validation/full

Usage::

    .venv/bin/python benchmarks/bench_validate.py                 # R=2 over every design
    .venv/bin/python benchmarks/bench_validate.py --replicates 100 --jobs 2 --out DIR

Timings on a shared machine are noisy; the projection assumes the measured per-fit costs.
"""

from __future__ import annotations

import argparse
import time

from undercount.validate import DESIGNS, run_battery, summarise, write_outputs

BUDGET_S = 2 * 3600.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--designs", default=",".join(DESIGNS))
    ap.add_argument("--families", default=None)
    ap.add_argument("--replicates", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--full-replicates", type=int, default=100)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    designs = args.designs.split(",")
    families = args.families.split(",") if args.families else None
    t0 = time.perf_counter()
    res = run_battery(designs, families, replicates=args.replicates, seed=args.seed,
                      jobs=args.jobs)
    wall = time.perf_counter() - t0
    per = res.groupby(["design", "family"], sort=False)["seconds"].mean().unstack()
    print(per.round(3).to_string())
    cpu_per_rep = res.groupby("design")["seconds"].sum() / args.replicates
    print("\nseconds of fitting per replicate, by design:")
    print(cpu_per_rep.round(2).to_string())
    projected = cpu_per_rep.sum() * args.full_replicates / max(1, args.jobs)
    print(f"\nwall {wall:.1f} s for R={args.replicates}; projected full battery "
          f"(R={args.full_replicates}, jobs={args.jobs}): {projected / 60:.1f} min; "
          f"ratio to the 2 h budget: {projected / BUDGET_S:.2f}")
    if args.out:
        write_outputs(res, args.out)
        print(summarise(res).to_string())


if __name__ == "__main__":
    main()
