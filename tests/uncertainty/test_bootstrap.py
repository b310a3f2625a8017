import json
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from undercount import CaptureTable, ConfigError
from undercount.core.estimator import Estimator
from undercount.core.result import Interval, MSEResult, result_from_dict
from undercount.models.loglinear import LogLinearEstimator
from undercount.uncertainty.bootstrap import (
    Bootstrap,
    _fit_world,
    _interval_notes,
    bca_interval,
    jackknife_acceleration,
    quantile_type8,
    smoothed_log_sd,
)

from ._toy import Independence, SometimesNoEstimate


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


@dataclass(frozen=True, kw_only=True)
class _Observed(Estimator):
    """N-hat = 1.5 times the number observed: its replicates give the resamples' sizes."""

    method: ClassVar[str] = "toy-observed"

    def _fit(self, table, *, rng):
        n = table.n_observed
        return MSEResult(method=self.method, model="-", estimate=1.5 * n,
                         interval=Interval(n, 2.0 * n, 0.95, "none"), n_observed=n,
                         lists=table.lists)


def test_augmented_resample_lets_the_number_observed_vary():
    # Nonparametric: Multinomial(n, .) over the observed cells, so every resample has n.
    # Augmented: round(N-hat) = 1.5 n people with the unobserved among them, so the number
    # observed is Binomial(1.5 n, 2/3): mean n, variance n / 3.
    n = TABLE.n_observed
    fixed = Bootstrap(estimator=_Observed(), replicates=2000, interval="percentile").fit(
        TABLE, rng=np.random.default_rng(5))
    assert np.all(fixed.replicates == 1.5 * n) and fixed.kind == "nonparametric"
    aug = Bootstrap(estimator=_Observed(), replicates=2000, interval="percentile",
                    kind="augmented").fit(TABLE, rng=np.random.default_rng(5))
    sizes = aug.replicates / 1.5
    assert aug.kind == "augmented" and np.all(sizes == np.round(sizes))
    assert sizes.mean() == pytest.approx(n, abs=4 * math.sqrt(n / 3 / 2000))
    assert sizes.var(ddof=1) == pytest.approx(n / 3, rel=0.1)  # sd of a variance: ~3%
    assert aug.to_dict()["bootstrap"]["kind"] == "augmented"


def _independent_lists(N, rates, seed):
    cap = np.random.default_rng(seed).random((N, len(rates))) < np.asarray(rates)
    keys, counts = np.unique(cap[cap.any(axis=1)].astype(int), axis=0, return_counts=True)
    return CaptureTable.from_mapping(
        {"".join(map(str, k)): int(c) for k, c in zip(keys, counts, strict=True)},
        lists=["A", "B", "C"])


def test_augmented_percentile_is_as_wide_as_the_profile_interval():
    # Three independent lists that observe two people in three (N = 1,500, the validation
    # design e2e3's rates): holding n fixed leaves out the variance n itself brings, and the
    # nonparametric percentile interval is about a fifth narrower than the independence
    # model's profile interval (192 wide); the augmented one matches it. Across seeds the
    # widths move by about 2%.
    table = _independent_lists(1500, [0.40, 0.30, 0.25], 2024)
    profile = LogLinearEstimator(model="[1,2,3]").fit(table).interval
    width = profile.upper - profile.lower

    def boot(kind):
        iv = Bootstrap(estimator=Independence(), replicates=1000, interval="percentile",
                       kind=kind).fit(table, rng=np.random.default_rng(1)).interval
        return iv.upper - iv.lower

    assert boot("augmented") == pytest.approx(width, rel=0.05)
    assert boot("nonparametric") < 0.88 * width


def _multinomial_resamples(sizes, B, seed):
    sizes = np.asarray(sizes)
    return np.random.default_rng(seed).multinomial(sizes.sum(), sizes / sizes.sum(), size=B)


def test_smoothing_leaves_a_smooth_statistic_alone():
    # For t* linear in the resampled counts, t* = sum_w a_w C*_w, cov(C*_w, t*) =
    # m_w (a_w - a-bar), so Efron's sum_w cov_w^2 / m_w is Var(t*) itself: nothing to smooth.
    sizes = np.array([300, 120, 80, 40, 500])
    a = np.array([0.002, -0.001, 0.004, 0.0, 0.001])
    C = _multinomial_resamples(sizes, 20_000, 1)
    t = 7.0 + C @ a
    centre, sd = smoothed_log_sd(C, sizes, np.exp(t))
    assert centre == pytest.approx(t.mean(), rel=1e-12)
    assert sd == pytest.approx(t.std(), rel=0.02)


def test_smoothing_removes_the_jump_of_a_selection():
    # t* jumps by 0.5 where cell 0's resampled count passes its observed 400 (about half
    # the replicates): sd(t*) = 0.25. The bagged statistic is 0.5 P(C*_0 > c_0), whose
    # derivative at the data is 0.5 phi(0) / sd(C*_0) per unit of c_0, so its sd is about
    # 0.5 phi(0) = 0.20 (Efron 2014, sec. 2): the jump's share of the spread is smoothed.
    sizes = np.array([400, 600])
    C = _multinomial_resamples(sizes, 20_000, 2)
    t = 7.0 + 0.5 * (C[:, 0] > 400)
    _, sd = smoothed_log_sd(C, sizes, np.exp(t))
    assert t.std() == pytest.approx(0.25, rel=0.02)
    assert sd == pytest.approx(0.5 * 0.3989, rel=0.06)


def test_smoothed_interval_of_a_model_without_selection_is_the_percentile_one():
    # No selection: smoothing changes nothing, and on the log scale the interval agrees
    # with the replicates' percentiles to Monte Carlo error (about 1% of N here).
    table = _independent_lists(1500, [0.40, 0.30, 0.25], 2024)
    for kind in ("augmented", "nonparametric"):
        res = Bootstrap(estimator=Independence(), replicates=2000, interval="smoothed",
                        kind=kind).fit(table, rng=np.random.default_rng(4))
        pct = quantile_type8(res.replicates, [0.025, 0.975])
        assert res.interval.method == "bootstrap smoothed"
        assert res.interval.lower == pytest.approx(pct[0], rel=0.01)
        assert res.interval.upper == pytest.approx(pct[1], rel=0.01)
        assert res.smoothed_sd == pytest.approx(np.log(res.replicates).std(), rel=0.05)


def test_smoothed_interval_is_narrower_where_the_model_is_reselected():
    # Kosovo: BIC re-selection among the 10 best models jumps between models whose N
    # differ by up to 2.7 times (7,665 to 20,704); the smoothed sd of log N-hat is below
    # the replicates' own.
    from undercount.datasets import load

    table = load("kosovo")
    boot = Bootstrap(estimator=LogLinearEstimator(select="bic"), replicates=300,
                     interval="smoothed", kind="augmented", ntop=10, n_jobs=1)
    res = boot.fit(table, rng=np.random.default_rng(1))
    assert res.smoothed_sd < 0.95 * np.log(res.replicates).std(ddof=1)
    assert res.interval.lower < res.estimate < res.interval.upper
    # conf_int and the JSON give the same interval from the stored mean and sd.
    assert res.conf_int(0.95) == res.interval
    again = result_from_dict(json.loads(json.dumps(res.to_dict(), allow_nan=False)))
    assert again.interval == res.interval and again.smoothed_sd == res.smoothed_sd
    assert res.to_dict()["bootstrap"]["smoothing"]["log_sd"] == res.smoothed_sd
    narrow = res.conf_int(0.8)
    assert res.interval.lower < narrow.lower < narrow.upper < res.interval.upper


def test_smoothed_interval_needs_an_estimate_in_every_replicate():
    with pytest.raises(ConfigError, match="resample of the people"):
        Bootstrap(estimator=Independence(), interval="smoothed", kind="parametric")
    res = Bootstrap(estimator=SometimesNoEstimate(), replicates=200, interval="smoothed").fit(
        TABLE, rng=np.random.default_rng(3))
    assert res.failed > 0 and res.smoothed_sd is None
    # no smoothed mean: the percentile interval's lower end, and no upper end
    assert res.interval.lower == quantile_type8(res.replicates, 0.025)[0]
    assert math.isinf(res.interval.upper)
    assert any("needs an estimate in every replicate" in w for w in res.warnings)
    # read as a percentile interval, the same replicates lose the smoothed warning
    pct = res.reread("percentile")
    assert pct.interval.method == "bootstrap percentile"
    assert not any("smoothed" in w for w in pct.warnings)


def test_smoothed_interval_says_when_it_excludes_the_estimate_or_has_no_width():
    iv = Interval(900.0, 1100.0, 0.95, "bootstrap smoothed")
    assert _interval_notes("smoothed", iv, 1000.0, (math.log(1000.0), 0.05)) == []
    (note,) = _interval_notes("smoothed", iv, 1200.0, (math.log(1000.0), 0.05))
    assert note.code == "smoothed_interval" and "bagged estimate" in note.message
    (note,) = _interval_notes("smoothed", Interval(1e3, 1e3, 0.95, "x"), 1000.0,
                              (math.log(1000.0), 0.0))
    assert "no width" in note.message


#: Three lists, the first two positively dependent: [12,3] fits, independence does not.
DEPENDENT = CaptureTable.from_mapping(
    {"100": 300, "010": 250, "001": 200, "110": 260, "101": 60, "011": 50, "111": 52},
    lists=["A", "B", "C"])


def test_the_parametric_world_is_the_named_estimators_fit():
    # Replicates drawn from the independence fit and re-fitted by [12,3] centre on [12,3]'s
    # estimate for the independence world's expected table (which has no 12 interaction),
    # not on [12,3]'s own N-hat: the world, not the bootstrapped estimator, makes the data.
    dependence = LogLinearEstimator(model="[12,3]")
    world = LogLinearEstimator(model="[1,2,3]")
    own = Bootstrap(estimator=dependence, replicates=400, interval="percentile",
                    kind="parametric").fit(DEPENDENT, rng=np.random.default_rng(3))
    other = Bootstrap(estimator=dependence, replicates=400, interval="percentile",
                      kind="parametric", world=world).fit(DEPENDENT, rng=np.random.default_rng(3))
    fit = world.fit(DEPENDENT)
    expected = np.asarray(fit.fitted, dtype=float)
    codes = np.arange(1, 8)
    # a log-linear N-hat scales with the table: 1,000 times the world's mean, rounded
    mean_table = CaptureTable.from_mapping(
        {format(c, "03b")[::-1]: round(1000 * expected[c]) for c in codes},
        lists=["A", "B", "C"])
    target = dependence.fit(mean_table).estimate / 1000
    base = dependence.fit(DEPENDENT).estimate
    assert other.estimate == base  # the estimate stays the bootstrapped estimator's
    assert np.median(own.replicates) == pytest.approx(base, rel=0.01)
    assert np.median(other.replicates) == pytest.approx(target, rel=0.01)
    assert abs(target - base) > 0.05 * base
    settings = other.to_dict()["bootstrap"]["settings"]
    assert settings["world"]["estimator"] == "LogLinearEstimator"
    assert settings["world"]["model"] == "[1,2,3]"
    assert own.to_dict()["bootstrap"]["settings"]["world"] is None


def test_an_aic_world_of_a_bic_selection_is_the_aic_searchs_fit():
    # The world is read from the BIC search's records: the AIC-best model and its fit,
    # exactly what a separate search by AIC gives.
    table = CaptureTable.from_mapping(
        {"100": 210, "010": 180, "001": 150, "110": 90, "101": 30, "011": 40, "111": 25},
        lists=["A", "B", "C"])
    base = LogLinearEstimator(select="bic").fit(table)
    world = _fit_world(LogLinearEstimator(select="aic"), table, base)
    searched = LogLinearEstimator(select="aic").fit(table)
    assert world.model == searched.model and world.estimate == searched.estimate
    np.testing.assert_array_equal(world.fitted, searched.fitted)


@dataclass(frozen=True, kw_only=True)
class _Sampled(Independence):
    stochastic: ClassVar[bool] = True


def test_a_world_needs_the_parametric_resample_and_a_deterministic_estimator():
    with pytest.raises(ConfigError, match="world is the parametric resample's"):
        Bootstrap(estimator=Independence(), kind="augmented", world=Independence())
    with pytest.raises(ConfigError, match="deterministic world"):
        Bootstrap(estimator=Independence(), kind="parametric", world=_Sampled())
