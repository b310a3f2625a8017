"""Stratified estimation: one estimate per stratum, and a total with honest uncertainty.

The total over strata is the sum of the stratum totals, ``N = sum_s N_s``. Its interval is
**never** the sum of the stratum bounds: that sum is the interval of a total whose strata
all sit at their extremes together, which is far wider than the real uncertainty for
independent strata, and is not an interval of any stated level. Instead:

* for Bayesian estimators, the posterior draws of the strata are summed draw by draw (the
  strata are independent a posteriori, having independent data and priors), and the total's
  interval is the equal-tailed interval of the summed draws;
* for frequentist estimators, a joint bootstrap resamples every stratum in each replicate
  (``Multinomial(n_s, n_sw / n_s)``), re-runs the estimator (and its model selection) in
  every stratum, and sums; the total's interval is the percentile interval of the summed
  replicates.

Per-stratum diagnostics flag sparse strata (few records, empty overlaps, zero cells,
models without a finite MLE), and :func:`merge_suggestions` proposes which strata to merge.
"""

from undercount.strata.binning import bin_ages, bin_dates
from undercount.strata.estimator import (
    StratifiedEstimator,
    StratifiedResult,
    StratumReport,
    merge_suggestions,
    sum_draws,
)

__all__ = [
    "StratifiedEstimator",
    "StratifiedResult",
    "StratumReport",
    "bin_ages",
    "bin_dates",
    "merge_suggestions",
    "sum_draws",
]
