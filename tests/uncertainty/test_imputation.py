import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from undercount import CaptureTable
from undercount.strata import StratifiedEstimator
from undercount.uncertainty.imputation import (
    ChainedForestImputer,
    HotDeckImputer,
    MultipleImputation,
    rubin_pool,
)

from ._toy import Independence, NormalPosterior


def test_rubin_pool_on_a_known_toy():
    # Three imputations, n = 100: Q = log(10), log(20), log(30); U = 0.01 each.
    res = rubin_pool([110, 120, 130], [0.01, 0.01, 0.01], 100)
    q = np.log([10, 20, 30])
    qbar, b = q.mean(), q.var(ddof=1)
    t = 0.01 + (1 + 1 / 3) * b
    r = (1 + 1 / 3) * b / 0.01
    df = 2 * (1 + 1 / r) ** 2
    assert res.estimate == pytest.approx(100 + math.exp(qbar))
    assert res.between == pytest.approx(b) and res.total == pytest.approx(t)
    assert res.df == pytest.approx(df)
    half = stats.t.ppf(0.975, df) * math.sqrt(t)
    assert res.interval.lower == pytest.approx(100 + math.exp(qbar - half))
    assert res.interval.upper == pytest.approx(100 + math.exp(qbar + half))
    assert res.fmi == pytest.approx((r + 2 / (df + 3)) / (r + 1))


def test_rubin_pool_without_between_variance_is_the_complete_data_interval():
    res = rubin_pool([150, 150], [0.04, 0.04], 100)
    assert res.fmi == 0.0
    assert res.interval.lower == pytest.approx(100 + 50 * math.exp(-1.959964 * 0.2))


def frame_with_missing(rng, n=3000):
    caught = rng.random((n, 3)) < np.array([0.5, 0.4, 0.3])
    caught = caught[caught.any(axis=1)].astype(int)
    sex = np.where(rng.random(len(caught)) < 0.6, "m", "f").astype(object)
    age = rng.integers(0, 90, len(caught)).astype(float)
    sex[rng.random(len(caught)) < 0.05] = None
    age[(caught[:, 2] == 1) & (rng.random(len(caught)) < 0.3)] = np.nan
    return pd.DataFrame({"A": caught[:, 0], "B": caught[:, 1], "C": caught[:, 2],
                         "sex": sex, "age": age})


@pytest.mark.parametrize("imputer", [HotDeckImputer(), ChainedForestImputer(n_trees=5,
                                                                            max_iter=2)])
def test_imputers_fill_every_gap_without_touching_observed(imputer):
    rng = np.random.default_rng(0)
    df = frame_with_missing(rng, 1500)
    before = df.copy()
    out = imputer.impute(df, ["A", "B", "C"], ["sex", "age"], np.random.default_rng(1))
    pd.testing.assert_frame_equal(df, before)
    assert not out[["sex", "age"]].isna().any().any()
    observed = before["age"].notna()
    assert (out.loc[observed, "age"] == before.loc[observed, "age"]).all()
    assert set(out["sex"]) <= {"m", "f"}
    again = imputer.impute(df, ["A", "B", "C"], ["sex", "age"], np.random.default_rng(1))
    pd.testing.assert_frame_equal(out, again)


def test_multiple_imputation_pools_and_reports_fmi():
    rng = np.random.default_rng(4)
    df = frame_with_missing(rng, 4000)
    table = CaptureTable.from_individuals(df[["A", "B", "C", "sex"]], lists=["A", "B", "C"])
    strat = StratifiedEstimator(estimator=Independence(), strata=("sex",), replicates=200,
                                n_jobs=1)
    res = MultipleImputation(estimator=strat, columns=("sex",), imputations=5).fit(
        table, rng=np.random.default_rng(9))
    assert res.imputations == 5 and res.pooling == "rubin"
    assert 0 <= res.fmi <= 1
    assert res.interval.lower < res.estimate < res.interval.upper
    bayes = MultipleImputation(
        estimator=StratifiedEstimator(estimator=NormalPosterior(), strata=("sex",)),
        columns=("sex",), imputations=3,
    ).fit(table, rng=np.random.default_rng(9))
    assert bayes.pooling == "pooled-draws"
    assert bayes.estimate == pytest.approx(2000, abs=20)


def test_hotdeck_handles_pandas_string_na():
    df = pd.DataFrame({"A": [1, 0, 1, 1, 0], "B": [0, 1, 1, 0, 1],
                       "sex": pd.array(["f", "m", None, "f", "m"], dtype="string"),
                       "age": pd.array(["0-14", None, "15-29", "0-14", "15-29"],
                                       dtype="string")})
    out = HotDeckImputer().impute(df, ["A", "B"], ["sex", "age"], np.random.default_rng(0))
    assert not out[["sex", "age"]].isna().any().any()
