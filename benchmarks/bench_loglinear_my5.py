"""Benchmark: check and fit every hierarchical log-linear model of my5 (5 lists, order <= 3).

Prints the number of models, the wall time and its ratio to the 2-second target, then the
time of one stepwise selection (SparseMSE's algorithm) on the six-list UK 2013 table, whose
bootstrap (1,000 re-selections) must beat SparseMSE's 191 s by 50x (< ~4 ms per selection).

Run: ``.venv/bin/python benchmarks/bench_loglinear_my5.py``. Timings are wall-clock on the
current machine and noisy when other work shares it.
"""

from __future__ import annotations

import time

from undercount import datasets
from undercount.models.loglinear._design import all_hierarchical_models
from undercount.models.loglinear.select import LogLinearProblem, select_by_criterion, stepwise

TARGET_S = 2.0
SPARSEMSE_BOOT_S = 191.0


def main() -> None:
    my5 = datasets.load("my5")
    # Compile / warm the numba kernel outside the timing.
    LogLinearProblem(my5).fit(all_hierarchical_models(5, 1)[0])

    best = []
    for _ in range(3):
        t0 = time.perf_counter()
        problem = LogLinearProblem(my5)
        winner, fits = select_by_criterion(problem, "bic", max_order=3)
        best.append(time.perf_counter() - t0)
    dt = min(best)
    statuses: dict[str, int] = {}
    for f in fits:
        statuses[f.status] = statuses.get(f.status, 0) + 1
    print(f"my5: {len(fits)} hierarchical models (max order 3), statuses {statuses}")
    print(f"my5: BIC-best {winner.spec} N = {winner.estimate:,.2f}")
    print(f"my5: check + fit all models: {dt:.3f} s (best of 3); ratio to {TARGET_S:.0f} s "
          f"target: {dt / TARGET_S:.2f}")

    uk = datasets.load("uk_2013")
    stepwise(LogLinearProblem(uk))
    reps = 50
    t0 = time.perf_counter()
    for _ in range(reps):
        res = stepwise(LogLinearProblem(uk))
    per = (time.perf_counter() - t0) / reps
    print(f"uk_2013 stepwise: {res.fit.spec} N = {res.fit.estimate:,.2f}; "
          f"{per * 1000:.2f} ms per selection; x1000 = {per * 1000:.2f} s vs SparseMSE "
          f"{SPARSEMSE_BOOT_S:.0f} s (speed-up {SPARSEMSE_BOOT_S / (per * 1000):.0f}x)")


if __name__ == "__main__":
    main()
