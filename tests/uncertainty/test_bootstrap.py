import math

import numpy as np
import pytest

from undercount import CaptureTable, ConfigError
from undercount.uncertainty.bootstrap import (
    Bootstrap,
    bca_interval,
    jackknife_acceleration,
    quantile_type8,
)

from ._toy import Independence


def test_quantile_type8_matches_r():
    # R: quantile(1:10, c(0.025, 0.25, 0.5, 0.975), type = 8)
    got = quantile_type8(np.arange(1, 11), [0.025, 0.25, 0.5, 0.975])
    assert got == pytest.approx([1.0, 2.916667, 5.5, 10.0], abs=1e-6)


def test_quantile_type8_between_infinite_replicates_is_infinite():
    # Replicates without a finite estimate are +inf; a quantile among them is +inf (it was
    # NaN from inf - inf, and one NaN draw made a pooled default's interval NaN).
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, np.inf, np.inf, np.inf])
    got = quantile_type8(x, [0.5, 0.72, 0.9, 0.97])
    assert got[0] == pytest.approx(5.5)
    assert np.all(got[1:] == math.inf)


def test_bca_reduces_to_percentile_without_bias_or_acceleration():
    rng = np.random.default_rng(1)
    reps = rng.normal(100, 10, 20001)
    lo, hi, z0 = bca_interval(reps, float(np.median(reps)), 0.0, 0.95)
    assert z0 == pytest.approx(0, abs=0.02)
    assert lo == pytest.approx(100 - 19.6, abs=0.6)
    assert hi == pytest.approx(100 + 19.6, abs=0.6)


def test_jackknife_acceleration_sign_and_zero():
    counts = np.array([10, 10, 10])
    assert jackknife_acceleration(counts, np.array([5.0, 5.0, 5.0])) == 0.0
    # One low outlier among the leave-one-out values gives a positively skewed distribution.
    assert jackknife_acceleration(counts, np.array([5.0, 5.0, 2.0])) > 0


TABLE = CaptureTable.from_mapping(
    {"100": 300, "010": 250, "001": 200, "110": 60, "101": 50, "011": 40, "111": 10},
    lists=["A", "B", "C"],
)


def test_bootstrap_is_seeded_and_parallel_invariant():
    a = Bootstrap(estimator=Independence(), replicates=200, n_jobs=1).fit(
        TABLE, rng=np.random.default_rng(7))
    b = Bootstrap(estimator=Independence(), replicates=200, n_jobs=2).fit(
        TABLE, rng=np.random.default_rng(7))
    assert np.array_equal(a.replicates, b.replicates)
    assert a.interval == b.interval
    assert a.interval.lower < a.estimate < a.interval.upper
    assert a.n_replicates == 200
    assert a.interval.method == "bootstrap bca"


def test_bootstrap_percentile_close_to_wald_for_a_well_fitting_model():
    res = Bootstrap(estimator=Independence(), replicates=1000, interval="percentile").fit(
        TABLE, rng=np.random.default_rng(3))
    wald = Independence().fit(TABLE).interval
    # Monte Carlo error of a 2.5% quantile from 1,000 replicates is about 1-2% of N here.
    assert res.interval.lower == pytest.approx(wald.lower, rel=0.03)
    assert res.interval.upper == pytest.approx(wald.upper, rel=0.03)


def test_bootstrap_refuses_bad_configuration():
    with pytest.raises(ConfigError, match="too few"):
        Bootstrap(estimator=Independence(), replicates=5)
    with pytest.raises(ConfigError, match="interval="):
        Bootstrap(estimator=Independence(), interval="basic")
    with pytest.raises(ConfigError, match="stochastic"):
        Bootstrap(estimator=Independence()).fit(TABLE)
