"""lcm-ml's two-class fit to HIV Rome, with and without 50 EM steps before each start.

Usage (from the repository root, with one BLAS thread):

    git show 35165fd:src/undercount/models/latent_class/finite.py > /tmp/finite_35165fd.py
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python \
        docs/validation/runs/default-lcm-direct/hiv_seeds.py /tmp/finite_35165fd.py

prints, for the module of commit 35165fd (each start moved by 50 EM steps, then L-BFGS-B)
and this checkout's (L-BFGS-B from the start itself): the share of 200 single starts (from
`np.random.default_rng(123)`) that reach each maximum, and the maxima that
`fit_finite_classes` (20 starts) reaches over seeds 0-99, with the seeds that miss the
highest.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import numpy as np

import undercount.models.latent_class.finite as new
from undercount import datasets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "default-lcm-starts"))
from fits import _load  # the previous section's loader of an old module


def main() -> None:
    old = _load(sys.argv[1])
    table = datasets.load("hiv_rome").aggregate()
    omega, counts = new._observed(table)
    J = omega.shape[1]
    share_seen = np.clip(counts @ omega / counts.sum(), 0.01, 0.99)
    for label, em_steps in (("35165fd", 50), ("this checkout", 0)):
        rng = np.random.default_rng(123)
        reached = collections.Counter()
        for _ in range(200):
            shares = rng.dirichlet(np.ones(2))
            probs = np.clip(share_seen[None, :] * rng.uniform(0.2, 1.5, size=(2, J)),
                            0.005, 0.95)
            if em_steps:
                shares, probs = old._em(omega, counts, shares, probs, em_steps)
            run = new._maximise(new._pack(shares, probs), omega, counts, 2, J)
            reached[round(-float(run.fun), 3)] += 1
        print(f"{label}: single starts reaching each maximum (of 200):",
              ", ".join(f"{ll:,.3f} {k}" for ll, k in sorted(reached.items(), reverse=True)))
    for label, module in (("35165fd", old), ("this checkout", new)):
        ends = collections.Counter()
        missed = []
        for seed in range(100):
            fit = module.fit_finite_classes(table, 2, np.random.default_rng(seed))
            ends[(round(fit.conditional_loglik, 3), round(fit.estimate))] += 1
            if fit.conditional_loglik < -3008.906:
                missed.append(seed)
        print(f"{label}: fits over seeds 0-99 (log-likelihood, N):",
              ", ".join(f"{ll:,.3f} / {n:,} x{k}" for (ll, n), k in ends.most_common()),
              "; seeds below -3,008.906:", missed or "none")


if __name__ == "__main__":
    main()
