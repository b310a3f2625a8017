"""Is each of sim1's misses a miss of the latent-class profile likelihood itself, or of its
maximisation? An experiment for docs/validation.md ("sim1 and uk5_bic with 100 more
replicates, the current default"), not a package feature.

For each replicate the committed default missed (0-99, ``default-augmented``), it draws the
design's table from the battery's own stream, fits ``FiniteClassEstimator()`` (the
default's latent-class member, which carries all of its weight on sim1), and evaluates the
profile log-likelihood at the true N = 2,000 twice: warm-started from the MLE as the
estimator's own search does, and as the best of 30 L-BFGS runs from random class
parameters. The likelihood-ratio statistic 2 [l_p(N-hat) - l_p(2,000)] above 3.84 means
the truth lies outside the 95% profile interval, whichever maximum is found.

    python profile_at_truth.py > profile_at_truth.txt
"""

import math

import numpy as np
from scipy import optimize, special

from undercount.models.latent_class.finite import (
    FiniteClassEstimator,
    _ClassProfile,
    _observed,
    fit_finite_classes,
)
from undercount.validate.runner import DESIGNS, _key, _rng

MISSES = (1, 9, 12, 58, 62, 80, 91, 97)

design = DESIGNS["sim1"]
print("replicate classes estimate interval LR_warm LR_best_of_30")
for r in MISSES:
    table = design.sample(_rng(2024, _key("sim1"), r, 0)).aggregate()
    res = FiniteClassEstimator().fit(table, rng=np.random.default_rng(r))
    omega, counts = _observed(table)
    n = counts.sum()
    k = res.classes
    prof = _ClassProfile(omega, counts, fit_finite_classes(table, k, np.random.default_rng(r)))
    l_hat = prof(math.log(res.estimate - n))
    unseen = design.truth - n
    prof.reset()
    best = warm = prof(math.log(unseen))
    rng = np.random.default_rng(0)
    for _ in range(30):
        theta = np.concatenate([rng.normal(0, 1, k - 1), rng.normal(-1, 1.5, k * table.n_lists)])
        fit = optimize.minimize(prof._neg, theta, args=(unseen,), jac=True, method="L-BFGS-B",
                                bounds=prof.bounds,
                                options={"maxiter": 5000, "ftol": 1e-14, "gtol": 1e-9})
        best = max(best, -fit.fun + special.gammaln(n + unseen + 1) - special.gammaln(unseen + 1))
    iv = res.interval
    print(f"{r} {k} {res.estimate:.0f} {iv.lower:.0f}-{iv.upper:.0f} "
          f"{2 * (l_hat - warm):.2f} {2 * (l_hat - best):.2f}")
