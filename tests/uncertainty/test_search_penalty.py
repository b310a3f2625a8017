"""What a log-linear search spends: the covariance penalty the family check adds to its AIC."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from undercount.core.result import Interval, MSEResult
from undercount.core.table import CaptureTable, patterns_from_codes
from undercount.models.loglinear import LogLinearEstimator
from undercount.pipeline.estimate import estimate
from undercount.uncertainty.bootstrap import Bootstrap
from undercount.uncertainty.crossfamily import conditional_fit
from undercount.uncertainty.families import family_spread, label, supported_reach
from undercount.uncertainty.search_penalty import (
    SearchPenalty,
    effective_parameters,
    is_stepwise_search,
    search_penalty,
    search_procedure,
)


def _independent(rates: tuple[float, ...], n: int, seed: int) -> CaptureTable:
    rng = np.random.default_rng(seed)
    J = len(rates)
    caught = rng.random((n, J)) < np.array(rates)
    codes = caught.astype(np.int64) @ (1 << np.arange(J - 1, -1, -1))
    full = np.bincount(codes, minlength=2**J)
    seen = np.flatnonzero(full[1:]) + 1
    return CaptureTable(lists=tuple("ABCDEFGH"[:J]), patterns=patterns_from_codes(seen, J),
                        counts=full[seen], source="independent")


#: Eight sparse independent lists, as in the battery's sparse8 design (rates .03-.10).
SPARSE8 = (0.03, 0.05, 0.07, 0.10, 0.04, 0.06, 0.08, 0.05)


@pytest.fixture(scope="module")
def sparse() -> CaptureTable:
    return _independent(SPARSE8, 2_000, 8)


@pytest.fixture(scope="module")
def searched(sparse: CaptureTable) -> MSEResult:
    # the default's log-linear member beyond 5 lists (few replicates: only its fit matters)
    return Bootstrap(estimator=LogLinearEstimator(select="stepwise"), replicates=20).fit(
        sparse, rng=np.random.default_rng(1))


def test_a_fixed_model_spends_the_parameters_it_has():
    table = _independent((0.3, 0.25, 0.35, 0.2), 2_000, 11)
    fixed = LogLinearEstimator(model="[1,2,3,4]", interval="wald")
    df, failed = effective_parameters(fixed, table, np.random.default_rng(3))
    # 4 main effects on the conditional likelihood; Monte Carlo sd about 0.3 at 400
    assert failed == 0
    assert df == pytest.approx(4.0, abs=1.2)
    # the same stream gives the same answer, on one worker or several
    assert effective_parameters(fixed, table, np.random.default_rng(3), n_jobs=1)[0] == df


def test_a_stepwise_search_on_sparse_lists_spends_more_than_it_keeps(sparse, searched):
    kept = conditional_fit(searched, sparse)[1]
    pen = search_penalty(searched, sparse, kept, np.random.default_rng(5))
    assert isinstance(pen, SearchPenalty)
    assert pen.family == label(searched) and pen.kept == kept and pen.failed == 0
    # 28 pairwise interactions tried at the first step alone
    assert pen.df > kept + 3
    assert pen.extra == pytest.approx(2 * (pen.df - kept))
    assert pen.to_dict()["aic_added"] == pen.extra


def test_only_a_search_has_a_penalty(sparse):
    fixed = LogLinearEstimator(model="[1,2,3,4,5,6,7,8]").fit(sparse)
    assert not is_stepwise_search(fixed)
    assert search_penalty(fixed, sparse, 8, np.random.default_rng(5)) is None
    other = MSEResult(method="logitnormal", model="m", estimate=1.0, interval=Interval(1, 2),
                      n_observed=1, lists=sparse.lists)
    assert search_penalty(other, sparse, 1, np.random.default_rng(5)) is None
    # Monte Carlo error never makes a search cheaper than the model it kept
    assert SearchPenalty("f", 9, 8.7, 400, 0).extra == 0.0


def test_the_procedure_is_the_one_the_bootstrap_reruns():
    table = _independent((0.3, 0.25, 0.35, 0.2), 2_000, 11)
    boot = Bootstrap(estimator=LogLinearEstimator(select="bic"), replicates=20, ntop=10).fit(
        table, rng=np.random.default_rng(1))
    restricted = search_procedure(boot, table)
    assert restricted.interval == "wald" and len(restricted.candidates) == 10
    # a stratum of the stratified default: a plain fit, its bootstrap's ntop given
    plain = LogLinearEstimator(select="bic").fit(table)
    assert search_procedure(plain, table).candidates is None
    assert search_procedure(plain, table, ntop=10).candidates == restricted.candidates


def test_the_check_counts_the_search_where_it_can_change_the_answer(sparse, searched):
    lo, hi = searched.interval.lower, searched.interval.upper
    wide = MSEResult(method="logitnormal", model="Mth-Normal", estimate=hi,
                     interval=Interval(lo, hi + 2 * (hi - lo)), n_observed=sparse.n_observed,
                     lists=sparse.lists)
    aic = {label(searched): 1000.0, label(wide): 1005.0}
    # the AIC as given: 5 above, no support
    assert supported_reach(searched, [wide], aic) == ((), None)
    reach, pen = supported_reach(searched, [wide], aic, table=sparse,
                                 rng=np.random.default_rng(5))
    assert pen is not None and pen.extra > 5
    assert [(r.label, r.delta_aic) for r in reach] == [(label(wide), 0.0)]
    spread = dataclasses.replace(family_spread([searched, wide]), reach=reach, search=pen)
    assert f"the {pen.df:.1f} parameters the log-linear search spent" in spread.warning()
    assert spread.to_dict()["search_penalty"]["df"] == pen.df
    # nothing reaches that far without support: no resampling at all
    near = dataclasses.replace(wide, interval=Interval(lo, hi))
    assert supported_reach(searched, [near], aic, table=sparse,
                           rng=np.random.default_rng(5)) == ((), None)


def test_the_default_reports_the_penalty_it_used():
    # the battery's sparse8 design, replicate 6: the stepwise model kept one pairwise
    # interaction, 5.6 AIC ahead of the logit-normal model. Weighed on the parameters it
    # kept, the default was that model's bootstrap, 1,393 to 1,877, and missed the truth
    # (2,000); counting the search, the logit-normal model takes the weight.
    from undercount.validate.designs import TABLE_DESIGNS
    from undercount.validate.families import _seed
    from undercount.validate.runner import _key, _rng

    table = TABLE_DESIGNS["sparse8"].sample(_rng(2024, _key("sparse8"), 6, 0))
    res = estimate(table, seed=_seed(_rng(2024, _key("sparse8"), 6, 1, _key("default"))))
    pen = res.families["search_penalty"]
    assert pen["kept"] == 9 and pen["df"] > 12
    # the family check reads the penalty the weights counted
    assert res.families["spread"]["search_penalty"] == pen
    assert res.families["weights"]["logitnormal: Mth-Normal"] > 0.99
    assert res.interval.lower < 2_000 < res.interval.upper


def test_beyond_five_lists_the_weights_count_the_stepwise_search(sparse, searched):
    from undercount.uncertainty.crossfamily import cross_family, information_criterion

    assert is_stepwise_search(searched)
    out = cross_family(searched, sparse, np.random.default_rng(9))
    pen = out.search
    assert isinstance(pen, SearchPenalty) and pen.family == label(searched)
    assert pen.kept == conditional_fit(searched, sparse)[1] and pen.extra > 5
    for rule in ("aic", "bic"):
        plain = information_criterion(searched, sparse, rule)
        assert getattr(out, rule)[label(searched)] == pytest.approx(plain + pen.extra)
    assert out.block()["search_penalty"] == pen.to_dict()
    assert f"counts the {pen.df:.1f} parameters it spent" in out.note().message
    # drawn from its own child of the generator: the same seed, the same penalty
    again = cross_family(searched, sparse, np.random.default_rng(9))
    assert again.search == pen and again.weights == out.weights


def test_up_to_five_lists_the_weights_count_the_parameters_kept():
    from undercount.uncertainty.crossfamily import cross_family, information_criterion

    table = _independent((0.3, 0.25, 0.35, 0.2), 2_000, 11)
    boot = Bootstrap(estimator=LogLinearEstimator(select="bic"), replicates=20, ntop=10).fit(
        table, rng=np.random.default_rng(1))
    assert not is_stepwise_search(boot)
    out = cross_family(boot, table, np.random.default_rng(9))
    assert out.search is None and out.block()["search_penalty"] is None
    assert out.bic[label(boot)] == information_criterion(boot, table, "bic")
    assert "parameters it spent" not in out.note().message


def test_the_check_reads_the_penalty_the_weights_counted(sparse, searched, monkeypatch):
    lo, hi = searched.interval.lower, searched.interval.upper
    wide = MSEResult(method="logitnormal", model="Mth-Normal", estimate=hi,
                     interval=Interval(lo, hi + 2 * (hi - lo)), n_observed=sparse.n_observed,
                     lists=sparse.lists)
    counted = SearchPenalty(label(searched), 8, 12.0, 400, 0)
    # the weights' AIC counts the search already: 1000 + 8 against the wide family's 1005
    aic = {label(searched): 1008.0, label(wide): 1005.0}

    def no_second_draw(*args, **kwargs):
        raise AssertionError("the penalty was drawn again")

    monkeypatch.setattr("undercount.uncertainty.families.search_penalty", no_second_draw)
    reach, pen = supported_reach(searched, [wide], aic, table=sparse,
                                 rng=np.random.default_rng(5), counted=counted)
    assert pen is counted
    assert [(r.label, r.delta_aic) for r in reach] == [(label(wide), 0.0)]
    # without support even so: nothing reached, and still no second draw
    far_off = {label(searched): 1008.0, label(wide): 1015.0}
    assert supported_reach(searched, [wide], far_off, table=sparse,
                           rng=np.random.default_rng(5), counted=counted) == ((), counted)


def test_a_counted_penalty_leaves_the_search_its_own_support(sparse, searched):
    # a pooled default narrower than its log-linear member: the member reaches beyond it,
    # and the penalty counted in the weights must not take the member's own support away
    lo, hi = searched.interval.lower, searched.interval.upper
    pooled = MSEResult(method="families", model="pooled", estimate=searched.estimate,
                       interval=Interval(lo, lo + (hi - lo) / 3), n_observed=sparse.n_observed,
                       lists=sparse.lists)
    counted = SearchPenalty(label(searched), 8, 12.0, 400, 0)
    aic = {label(searched): 1008.0, "lcm-ml: 2 classes": 1004.0}
    reach, pen = supported_reach(pooled, [searched], aic, counted=counted)
    assert pen is counted
    assert [(r.label, r.delta_aic) for r in reach] == [(label(searched), 0.0)]


def test_a_penalty_that_fails_is_said_and_the_weights_count_the_parameters_kept(
        sparse, searched, monkeypatch):
    from undercount.errors import EstimationError
    from undercount.uncertainty.crossfamily import cross_family, information_criterion

    def fails(*args, **kwargs):
        raise EstimationError("no resample could be fitted\nmore detail")

    monkeypatch.setattr("undercount.uncertainty.crossfamily.search_penalty", fails)
    out = cross_family(searched, sparse, np.random.default_rng(9))
    assert out.search is None
    assert out.bic[label(searched)] == information_criterion(searched, sparse, "bic")
    assert (f"{label(searched)} (search penalty)",
            "no resample could be fitted; its weight counts the parameters its model kept"
            ) in out.failures
    monkeypatch.setattr("undercount.uncertainty.crossfamily.search_penalty",
                        lambda *a, **k: None)
    out = cross_family(searched, sparse, np.random.default_rng(9))
    assert out.search is None and any(
        "fewer than half its resamples" in why for _, why in out.failures)


def test_the_default_lists_a_failed_penalty_with_the_families_failures(monkeypatch):
    from undercount.errors import EstimationError

    def fails(*args, **kwargs):
        raise EstimationError("no resample could be fitted")

    monkeypatch.setattr("undercount.uncertainty.crossfamily.search_penalty", fails)
    res = estimate("hare", seed=1)
    assert res.families["search_penalty"] is None
    (failed,) = [f for f in res.families["failures"] if "(search penalty)" in f["method"]]
    assert failed["reason"].startswith("no resample could be fitted")
