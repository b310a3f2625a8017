"""Bootstrap with re-selection against SparseMSE 2.0.1 (1,000 replicates, iseed 1234).

The point estimates and the jackknife acceleration are deterministic and pinned tightly.
The BCa end points are Monte Carlo quantities, and their error is larger than a naive
quantile error because of the strong bias correction on these tables: the estimate sits
below most replicates (z0 = -0.45 to -0.59), so the 95% lower end point is the replicate
quantile at about Phi(z0 + (z0 - 1.96)/(1 + 0.013 (z0 - 1.96))) = 0.1%, roughly the first
order statistic of 1,000. Measured here over 11 seeds on uk_2013: the 95% lower end point
ranged 8,252-9,490 and the upper 13,868-15,196, while the 68% end points varied by under
1% (9,949-10,032 and 12,086-12,154). SparseMSE's figures carry the same error. The
tolerances below are about three of those seed-to-seed standard deviations: 2% for 68%,
5% for 90%, and 12% (lower) / 8% (upper) for 95%.
"""

import numpy as np
import pytest

from undercount import datasets
from undercount.models.loglinear import LogLinearEstimator
from undercount.uncertainty.bootstrap import Bootstrap, bca_interval

CASES = {
    # point, {level: (lower, upper)}, acceleration
    "uk_2013": (11417.99, {0.95: (9266.96, 14306.76), 0.90: (9560.80, 13296.11),
                           0.68: (9940.24, 12070.99)}, -0.0129),
    "uk_2013_5": (11312.99, {0.95: (8784.78, 14700.55)}, -0.0122),
}
TOLERANCE = {0.95: (0.12, 0.08), 0.90: (0.05, 0.05), 0.68: (0.02, 0.02)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_stepwise_bca_matches_sparsemse(name):
    point, intervals, ahat = CASES[name]
    res = Bootstrap(estimator=LogLinearEstimator(select="stepwise"), replicates=1000).fit(
        datasets.load(name), rng=np.random.default_rng(1))
    assert res.estimate == pytest.approx(point, rel=1e-6)
    reps = res.replicates
    a = res.acceleration
    for level, (lo, hi) in intervals.items():
        got_lo, got_hi, _ = bca_interval(reps, res.estimate, a, level)
        tol_lo, tol_hi = TOLERANCE[level]
        assert got_lo == pytest.approx(lo, rel=tol_lo), level
        assert got_hi == pytest.approx(hi, rel=tol_hi), level
    assert (res.interval.lower, res.interval.upper) == pytest.approx(
        bca_interval(reps, res.estimate, a, 0.95)[:2])
    # The jackknife acceleration is deterministic: it must match SparseMSE's to its digits.
    assert res.acceleration == pytest.approx(ahat, abs=5e-5)
    assert res.interval.method == "bootstrap bca"


@pytest.mark.xfail(strict=True, reason=(
    "open discrepancy: on uk_2013_5 our 90% BCa lower end point is 9,436-9,522 over three "
    "seeds against SparseMSE's 9,059.67 (5% apart, ~8 seed-to-seed SDs); the 95% interval "
    "agrees within its Monte Carlo error. Not yet explained; kept visible here."))
def test_uk5_ninety_percent_lower_end_point():
    res = Bootstrap(estimator=LogLinearEstimator(select="stepwise"), replicates=1000).fit(
        datasets.load("uk_2013_5"), rng=np.random.default_rng(1))
    lo, _, _ = bca_interval(res.replicates, res.estimate,
                            res.acceleration, 0.90)
    assert lo == pytest.approx(9059.67, rel=0.05)


def test_ntop_restriction_and_kosovo_bic_reselection():
    # Silverman, Chan & Vincent (2024) Table 2: Kosovo, BIC, ntop = 1 gives a 95% BCa
    # interval of about [9,100, 12,000]; ntop = 10 about [6,900, 18,000] (rounded to 100).
    table = datasets.load("kosovo")
    top1 = Bootstrap(estimator=LogLinearEstimator(select="bic"), replicates=400, ntop=1).fit(
        table, rng=np.random.default_rng(1))
    assert top1.interval.lower == pytest.approx(9100, rel=0.06)
    assert top1.interval.upper == pytest.approx(12000, rel=0.08)
    top10 = Bootstrap(estimator=LogLinearEstimator(select="bic"), replicates=400,
                      ntop=10).fit(table, rng=np.random.default_rng(1))
    assert top10.interval.upper > 15000  # model uncertainty widens the interval a lot


def test_parametric_bootstrap_uses_fitted_cells():
    res = Bootstrap(estimator=LogLinearEstimator(model="[12,13,23]", interval="wald"),
                    replicates=300, kind="parametric", interval="percentile").fit(
        datasets.load("gaza_lancet_2025"), rng=np.random.default_rng(2))
    wald = LogLinearEstimator(model="[12,13,23]", interval="wald").fit(
        datasets.load("gaza_lancet_2025")).interval
    assert res.interval.lower == pytest.approx(wald.lower, rel=0.05)
    assert res.interval.upper == pytest.approx(wald.upper, rel=0.08)
