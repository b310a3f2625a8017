"""Chain-to-chain spread of the latent-class sampler's quantiles of N on Kosovo.

Run: ``.venv/bin/python benchmarks/lcm_chain_spread.py [--chains 16] [--iters 50000]``

The Kosovo reference tests (``tests/models/latent_class/test_lcm_reference.py``) need the
Monte Carlo standard error of a posterior quantile of N. ArviZ's quantile MCSE is too
optimistic in the tails for a slowly mixing chain, so the tests use the standard deviation
of the quantiles across independent chains, measured here: ``--chains`` chains of
``--iters`` iterations each (after the estimator's burn-in, from dispersed starts and
independent seeds), for the default sampler and, with ``--plain``, for LCMCR's plain
Gibbs sweep. Prints the per-chain quantiles' standard deviations and the pooled quantiles.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

PROBS = (0.025, 0.5, 0.975)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=16)
    parser.add_argument("--iters", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=500)
    parser.add_argument("--plain", action="store_true", help="LCMCR's plain Gibbs sweep")
    args = parser.parse_args()

    from undercount import datasets
    from undercount.models.latent_class import LatentClassEstimator

    extra = {"collapsed_moves": 0, "label_swaps": False, "hmc_steps": 0} if args.plain else {}
    est = LatentClassEstimator(chains=args.chains, iterations=args.iters, **extra)
    t0 = time.perf_counter()
    res = est.fit(datasets.load("kosovo"), rng=np.random.default_rng(args.seed))
    wall = time.perf_counter() - t0
    draws = res.draws.posterior["N"].values
    per_chain = np.quantile(draws, PROBS, axis=1)  # (quantile, chain)
    pooled = np.quantile(draws.ravel(), PROBS)
    label = "plain Gibbs (LCMCR)" if args.plain else "default"
    print(f"{label}: {args.chains} chains x {args.iters:,} iterations "
          f"(burn-in {est.burn_in:,}, thin {est.thin}), seed {args.seed}, {wall:.0f} s")
    for p, row, q in zip(PROBS, per_chain, pooled, strict=True):
        print(f"  q{p:<6} chain-to-chain sd {row.std(ddof=1):7.1f}   pooled {q:9.1f}")
    print(f"  mean {draws.mean():.1f}; bulk ESS of N {res.ess['bulk']:.0f}; "
          f"R-hat {res.rhat:.4f}")


if __name__ == "__main__":
    main()
