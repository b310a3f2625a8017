"""One battery over every estimator family (in the spirit of scikit-learn's common checks).

Each family must: give identical results for the same seed; leave the estimator and its
input untouched; refuse degenerate tables with a typed error; render a summary; produce a
JSON-serialisable ``to_dict()`` with the CLI's contract keys that ``from_dict`` rebuilds;
return its own result class; and, where it has draws, expose them as ``result.draws``,
read by ``n_draws``. Linkage averaging fits scored record pairs rather than a table, and
the Lancet 2025 recipe needs its stratum columns: they take every check but the two on
degenerate tables.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from undercount import CaptureTable, UndercountError, datasets
from undercount.core.draws import n_draws
from undercount.core.estimator import Estimator
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
from undercount.recipes import Lancet2025
from undercount.recipes.lancet2025 import Lancet2025Result
from undercount.strata import StratifiedEstimator, StratifiedResult
from undercount.uncertainty.bootstrap import Bootstrap, BootstrapResult
from undercount.uncertainty.imputation import ImputationResult, MultipleImputation
from undercount.uncertainty.linkage import LinkageAveraging, LinkageAveragingResult
from undercount.validate.record_designs import LinkageDesign

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


@dataclass(frozen=True)
class ScoredPairs:
    """Linkage averaging's input: records and their scored candidate pairs."""

    records: pd.DataFrame
    pairs: pd.DataFrame
    lists: tuple[str, ...]


def _scored_pairs() -> ScoredPairs:
    """A small calibrated-matcher design (as ``link4`` in the battery, 300 people, 3 lists)."""
    design = LinkageDesign("common", "300 people on 3 lists, calibrated scores", 3,
                           sizes=(300,), probs=((0.3, 0.4, 0.35),), separation=2.0)
    _, records, pairs = design.sample_linkage(np.random.default_rng(3))
    return ScoredPairs(records, pairs, ("L1", "L2", "L3"))


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

#: Families whose input is not any capture table: the checks on degenerate tables skip them.
OTHER_INPUT = {
    "linkage-averaging": (LinkageAveraging(estimator=LogLinearEstimator(), n_draws=8,
                                           draws_per_fit=50), _scored_pairs()),
    "lancet2025": (Lancet2025(imputations=2, imputer="hotdeck"),
                   datasets.load("gaza-lancet-2025")),
}

ALL = {**FAMILIES, **OTHER_INPUT}

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
    "linkage-averaging": (LinkageAveragingResult, True),
    "lancet2025": (Lancet2025Result, False),
}

CONTRACT = {"n_observed", "estimate", "interval", "level", "method", "model", "lists",
            "models", "warnings"}


@pytest.fixture(params=sorted(ALL), ids=sorted(ALL))
def family(request):
    return ALL[request.param]


@pytest.fixture(params=sorted(FAMILIES), ids=sorted(FAMILIES))
def table_family(request):
    return FAMILIES[request.param]


@pytest.fixture(params=sorted(ALL), ids=sorted(ALL))
def named_family(request):
    return request.param, *ALL[request.param]


def fit(estimator, data, seed=0):
    rng = np.random.default_rng(seed)
    if isinstance(data, ScoredPairs):
        return estimator.fit(data.pairs, data.records, lists=data.lists, rng=rng)
    return estimator.fit(data, rng=rng)


def _fewest_observed(res, data) -> int:
    """The fewest people observed: a table's count, or over linkage averaging's linkages."""
    if isinstance(data, ScoredPairs):
        return min(res.n_observed_range)
    return data.n_observed


def test_same_seed_same_result(family):
    estimator, table = family
    a, b = fit(estimator, table), fit(estimator, table)
    assert a.to_dict() == b.to_dict()


def test_estimator_and_table_untouched(family):
    estimator, data = family
    # The recipe and linkage averaging are frozen dataclasses without get_params: compared
    # field by field (the wrapped estimator too).
    before = copy.deepcopy(
        estimator.get_params() if isinstance(estimator, Estimator) else estimator)
    if isinstance(data, ScoredPairs):
        before_data = copy.deepcopy(data)
    else:
        before_counts = data.full_counts().copy()
        before_covariates = None if data.covariates is None else data.covariates.copy()
    fit(estimator, data)
    assert (estimator.get_params() if isinstance(estimator, Estimator) else estimator) == before
    if isinstance(data, ScoredPairs):
        pd.testing.assert_frame_equal(data.pairs, before_data.pairs)
        pd.testing.assert_frame_equal(data.records, before_data.records)
    else:
        assert np.array_equal(data.full_counts(), before_counts)
        if before_covariates is not None:
            pd.testing.assert_frame_equal(data.covariates, before_covariates)


def test_summary_and_json(family):
    estimator, data = family
    res = fit(estimator, data)
    d = res.to_dict()
    assert CONTRACT <= set(d)
    json.dumps(d, allow_nan=False)
    text = res.summary().as_text()
    assert res.method in text
    # whole numbers (degrees of freedom, counts of models) print as whole numbers
    for key, shown in res.summary().rows:
        if isinstance(d.get(key), int) and not isinstance(d.get(key), bool):
            assert shown == f"{d[key]:,}", (key, shown)
    assert "<table>" in res.summary().as_html()
    if isinstance(data, ScoredPairs):
        lo, hi = res.n_observed_range
        assert lo <= res.n_observed <= hi
    else:
        assert res.n_observed == data.n_observed
    assert res.interval.lower <= res.estimate <= res.interval.upper
    assert res.estimate >= res.n_observed


def test_one_pattern_table_is_refused(table_family):
    estimator, table = table_family
    # Reading such a file is refused; a stratum split from a good table can still be like
    # this, so the estimators must refuse it too.
    one = CaptureTable(lists=table.lists, patterns=np.ones((1, table.n_lists)),
                       counts=np.array([10]), source="one-pattern")
    with pytest.raises(UndercountError, match="one-pattern"):
        fit(estimator, one)


def test_lists_that_never_overlap_get_a_diagnostic_or_error(table_family):
    estimator, table = table_family
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
    name, estimator, data = named_family
    res = fit(estimator, data)
    _, has_draws = RESULTS[name]
    draws = n_draws(res)
    if not has_draws:
        assert draws is None
        return
    assert res.draws is not None and "N" in next(
        res.draws[g] for g in res.draws.groups() if "N" in res.draws[g])
    assert draws.ndim == 1 and draws.size >= 40
    finite = draws[np.isfinite(draws)]
    assert np.all(finite >= _fewest_observed(res, data))
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
                                  "imputation", "linkage-averaging"])
def test_conf_int_at_the_fitted_level_is_the_interval(name):
    estimator, table = ALL[name]
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


def test_recipe_interval_has_no_level_to_change():
    # The published method's bounds are summed AIC-averaged stratum bounds: no stated level.
    estimator, table = OTHER_INPUT["lancet2025"]
    res = fit(estimator, table)
    with pytest.raises(NotImplementedError):
        res.conf_int(0.9)
