"""One battery over every estimator family (in the spirit of scikit-learn's common checks).

Each family must: give identical results for the same seed; leave the estimator and the
table untouched; refuse degenerate tables with a typed error; render a summary; produce a
JSON-serialisable ``to_dict()`` with the CLI's contract keys that ``from_dict`` rebuilds;
return its own result class; and, where it has draws, expose them as ``result.draws``,
read by ``n_draws``.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from undercount import CaptureTable, UndercountError, datasets
from undercount.core.draws import n_draws
from undercount.core.result import MSEResult, result_from_dict
from undercount.models.graphical import GraphicalEstimator, GraphicalResult
from undercount.models.heterogeneity import HeterogeneityEstimator, HeterogeneityResult
from undercount.models.latent_class import LatentClassEstimator, LatentClassResult
from undercount.models.loglinear import LogLinearEstimator, LogLinearResult
from undercount.models.twolist import (
    ChapmanEstimator,
    LincolnPetersenEstimator,
    TwoListResult,
)
from undercount.strata import StratifiedEstimator, StratifiedResult
from undercount.uncertainty.bootstrap import Bootstrap, BootstrapResult
from undercount.uncertainty.imputation import ImputationResult, MultipleImputation

THREE = datasets.load("spina_bifida_my")
TWO = THREE.select_lists(["L1", "L2"])


def _with_covariate(missing: float) -> CaptureTable:
    """Spina bifida with an artificial covariate ``part``, a share of it missing."""
    people = THREE.to_frame()
    people = people.loc[people.index.repeat(people.pop("count"))].reset_index(drop=True)
    rng = np.random.default_rng(1)
    part = np.where(rng.random(len(people)) < 0.5, "a", "b").astype(object)
    part[rng.random(len(people)) < missing] = None
    return CaptureTable.from_individuals(people.assign(part=part), lists=list(THREE.lists),
                                         covariates=["part"], source="spina bifida by part")


STRATIFIED = StratifiedEstimator(estimator=LogLinearEstimator(), strata=("part",),
                                 replicates=40, n_jobs=1)

FAMILIES = {
    "loglinear": (LogLinearEstimator(), THREE),
    "loglinear-stepwise": (LogLinearEstimator(select="stepwise"), THREE),
    "loglinear-average": (LogLinearEstimator(select="average"), THREE),
    "heterogeneity": (HeterogeneityEstimator(), THREE),
    "chapman": (ChapmanEstimator(), TWO),
    "lincoln-petersen": (LincolnPetersenEstimator(), TWO),
    "lcm": (LatentClassEstimator(chains=2, iterations=3000, burn_in=1000, thin=2, n_jobs=1),
            THREE),
    "dga": (GraphicalEstimator(), THREE),
    "bootstrap": (Bootstrap(estimator=LogLinearEstimator(), replicates=40, n_jobs=1), THREE),
    "stratified": (STRATIFIED, _with_covariate(0.0)),
    "imputation": (MultipleImputation(estimator=STRATIFIED, columns=("part",), imputations=2),
                   _with_covariate(0.1)),
}

#: The result class each family returns, and whether it has draws of N (``n_draws``
#: without an rng; dga's exact posterior is sampled with one).
RESULTS = {
    "loglinear": (LogLinearResult, False),
    "loglinear-stepwise": (LogLinearResult, False),
    "loglinear-average": (LogLinearResult, False),
    "heterogeneity": (HeterogeneityResult, False),
    "chapman": (TwoListResult, False),
    "lincoln-petersen": (TwoListResult, False),
    "lcm": (LatentClassResult, True),
    "dga": (GraphicalResult, False),
    "bootstrap": (BootstrapResult, True),
    "stratified": (StratifiedResult, True),
    "imputation": (ImputationResult, True),
}

CONTRACT = {"n_observed", "estimate", "interval", "level", "method", "model", "lists",
            "models", "warnings"}


@pytest.fixture(params=sorted(FAMILIES), ids=sorted(FAMILIES))
def family(request):
    return FAMILIES[request.param]


@pytest.fixture(params=sorted(FAMILIES), ids=sorted(FAMILIES))
def named_family(request):
    return request.param, *FAMILIES[request.param]


def fit(estimator, table, seed=0):
    return estimator.fit(table, rng=np.random.default_rng(seed))


def test_same_seed_same_result(family):
    estimator, table = family
    a, b = fit(estimator, table), fit(estimator, table)
    assert a.to_dict() == b.to_dict()


def test_estimator_and_table_untouched(family):
    estimator, table = family
    before_params = copy.deepcopy(estimator.get_params())
    before_counts = table.full_counts().copy()
    fit(estimator, table)
    assert estimator.get_params() == before_params
    assert np.array_equal(table.full_counts(), before_counts)


def test_summary_and_json(family):
    estimator, table = family
    res = fit(estimator, table)
    d = res.to_dict()
    assert CONTRACT <= set(d)
    json.dumps(d, allow_nan=False)
    text = res.summary().as_text()
    assert res.method in text
    assert "<table>" in res.summary().as_html()
    assert res.n_observed == table.n_observed
    assert res.interval.lower <= res.estimate <= res.interval.upper
    assert res.estimate >= res.n_observed


def test_one_pattern_table_is_refused(family):
    estimator, table = family
    # Reading such a file is refused; a stratum split from a good table can still be like
    # this, so the estimators must refuse it too.
    one = CaptureTable(lists=table.lists, patterns=np.ones((1, table.n_lists)),
                       counts=np.array([10]), source="one-pattern")
    with pytest.raises(UndercountError, match="one-pattern"):
        fit(estimator, one)


def test_lists_that_never_overlap_get_a_diagnostic_or_error(family):
    estimator, table = family
    J = table.n_lists
    cells = {("0" * j + "1" + "0" * (J - j - 1)): 10 + j for j in range(J)}
    disjoint = CaptureTable.from_mapping(cells, lists=list(table.lists), source="disjoint")
    try:
        res = fit(estimator, disjoint)
    except UndercountError:
        return
    assert res.warnings, "an estimate from lists that never overlap must carry a warning"


@pytest.mark.parametrize("estimator", [
    GraphicalEstimator(),
    LatentClassEstimator(chains=2, iterations=3000, burn_in=1000, thin=2, n_jobs=1),
], ids=["dga", "lcm"])
def test_stratified_sums_bayesian_draws_of_any_family(estimator):
    # spina bifida split into two artificial halves, as if by a covariate
    frame = THREE.to_frame()
    half = frame.assign(count=frame["count"] // 2, part="a")
    rest = frame.assign(count=frame["count"] - frame["count"] // 2, part="b")
    table = CaptureTable.from_frame(pd.concat([half, rest]), lists=list(THREE.lists),
                                    covariates=["part"])
    res = StratifiedEstimator(estimator=estimator, strata=("part",)).fit(
        table, rng=np.random.default_rng(0))
    assert res.interval.method == "summed posterior draws"
    assert set(res.strata) == {"part=a", "part=b"}
    total = sum(r.estimate for r in res.strata.values())
    assert res.estimate == pytest.approx(total, rel=0.02)


def test_typed_result_round_trips_through_to_dict(named_family):
    name, estimator, table = named_family
    res = fit(estimator, table)
    cls, _ = RESULTS[name]
    assert type(res) is cls and isinstance(res, MSEResult)
    d = res.to_dict()
    assert "settings" in d and "params" not in d
    assert type(res).from_dict(d).to_dict() == d
    # Nested results (a stratum, a bootstrap's base fit) are rebuilt from the JSON alone.
    assert result_from_dict(json.loads(json.dumps(d))).to_dict() == d
    assert res.extra == {}  # what other modules read is a named field


def test_draws_in_one_container(named_family):
    name, estimator, table = named_family
    res = fit(estimator, table)
    _, has_draws = RESULTS[name]
    draws = n_draws(res)
    if not has_draws:
        assert draws is None
        return
    assert res.draws is not None and "N" in next(
        res.draws[g] for g in res.draws.groups() if "N" in res.draws[g])
    assert draws.ndim == 1 and draws.size >= 40
    finite = draws[np.isfinite(draws)]
    assert np.all(finite >= res.n_observed)
    assert res.interval.lower <= np.median(finite) <= res.interval.upper


def test_dga_posterior_grid_is_sampled_with_an_rng():
    res = fit(GraphicalEstimator(), THREE)
    grid = res.draws.posterior_grid
    assert grid["probability"].sum() == pytest.approx(1.0)
    assert grid.attrs["median"] == res.estimate
    a = n_draws(res, rng=np.random.default_rng(3), size=500)
    b = res.sample(500, rng=np.random.default_rng(3))
    assert np.array_equal(a, b)
    assert n_draws(res, rng=np.random.default_rng(3), posterior_only=True) is not None


@pytest.mark.parametrize("name", ["chapman", "lcm", "dga", "bootstrap", "stratified",
                                  "imputation"])
def test_conf_int_at_the_fitted_level_is_the_interval(name):
    estimator, table = FAMILIES[name]
    res = fit(estimator, table)
    iv = res.conf_int(res.interval.level)
    assert (iv.lower, iv.upper) == pytest.approx((res.interval.lower, res.interval.upper),
                                                 rel=1e-12)
    narrow = res.conf_int(0.5)
    assert iv.lower <= narrow.lower <= narrow.upper <= iv.upper


def test_profile_families_have_no_conf_int_at_another_level():
    res = fit(LogLinearEstimator(), THREE)
    with pytest.raises(NotImplementedError):
        res.conf_int(0.9)
