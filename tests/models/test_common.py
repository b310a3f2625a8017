"""One battery over every estimator family (in the spirit of scikit-learn's common checks).

Each family must: give identical results for the same seed; leave the estimator and the
table untouched; refuse degenerate tables with a typed error; render a summary; and
produce a JSON-serialisable ``to_dict()`` with the CLI's contract keys.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from undercount import CaptureTable, UndercountError, datasets
from undercount.models.graphical import GraphicalEstimator
from undercount.models.heterogeneity import HeterogeneityEstimator
from undercount.models.latent_class import LatentClassEstimator
from undercount.models.loglinear import LogLinearEstimator
from undercount.models.twolist import ChapmanEstimator, LincolnPetersenEstimator
from undercount.strata import StratifiedEstimator
from undercount.uncertainty.bootstrap import Bootstrap

THREE = datasets.load("spina_bifida_my")
TWO = THREE.select_lists(["L1", "L2"])

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
}

CONTRACT = {"n_observed", "estimate", "interval", "level", "method", "model", "lists",
            "models", "warnings"}


@pytest.fixture(params=sorted(FAMILIES), ids=sorted(FAMILIES))
def family(request):
    return FAMILIES[request.param]


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
