"""LogLinearEstimator against Rcapture, SparseMSE, MultipleSystemsEstimation and recomputed
reference values (shared/data/mse/REFERENCE.md)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from undercount import datasets
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, MLENotFoundError, NotIdentifiableError
from undercount.models.loglinear import LogLinearEstimator, LogLinearResult

REL = 1e-4


def approx(x: float, rel: float = REL):
    return pytest.approx(x, rel=rel)


@pytest.fixture(scope="module")
def kosovo() -> CaptureTable:
    return datasets.load("kosovo")


# --- Kosovo -------------------------------------------------------------------------------
def test_kosovo_bic(kosovo: CaptureTable) -> None:
    res = LogLinearEstimator(select="bic", interval="wald").fit(kosovo)
    assert isinstance(res, LogLinearResult)
    assert res.model == "[123,14,34]"
    assert res.estimate == approx(10356.5, 1e-5)
    assert res.interval.lower == approx(9005.0, 1e-4)
    assert res.interval.upper == approx(12104.8, 1e-4)
    assert len(res.models) == 113 and len(res.candidates) == 113
    assert all(m.status == "ok" for m in res.models)


def test_kosovo_aic(kosovo: CaptureTable) -> None:
    res = LogLinearEstimator(select="aic").fit(kosovo)
    assert res.model == "[123,134]"
    assert res.estimate == approx(12741.0, 1e-5)


def test_kosovo_independence_profile_matches_rcapture(kosovo: CaptureTable) -> None:
    res = LogLinearEstimator(model="[1,2,3,4]").fit(kosovo)
    assert res.estimate == approx(7394.6, 1e-5)
    assert res.profile_mle == approx(7392.9, 1e-4)
    assert res.interval.lower == approx(7147.7, 1e-4)
    assert res.interval.upper == approx(7656.2, 1e-4)
    assert res.interval.method == "profile"


def test_kosovo_all_two_way_profile(kosovo: CaptureTable) -> None:
    res = LogLinearEstimator(model="[12,13,14,23,24,34]").fit(kosovo)
    assert res.estimate == approx(14402.5, 1e-5)
    assert res.interval.lower == approx(12523.3, 1e-4)
    assert res.interval.upper == approx(16667.9, 1e-4)


def test_kosovo_stepwise_matches_sparsemse(kosovo: CaptureTable) -> None:
    res = LogLinearEstimator(select="stepwise").fit(kosovo)
    assert res.estimate == approx(14341.66, 1e-6)
    assert [p["term"] for p in res.stepwise_path] == [
        "ABA:OSCE", "OSCE:HRW", "EXH:OSCE", "EXH:ABA", "EXH:HRW"]
    res_w = LogLinearEstimator(select="stepwise", interval="wald").fit(kosovo)
    assert res_w.interval.lower == approx(12541.3, 1e-4)
    assert res_w.interval.upper == approx(16540.2, 1e-4)


def test_kosovo_average(kosovo: CaptureTable) -> None:
    res = LogLinearEstimator(select="average").fit(kosovo)
    assert res.model == "model average"
    assert res.estimate == approx(14016, 1e-4)  # research helper's AIC-weighted average
    weights = [m.weight for m in res.models if m.usable]
    assert sum(weights) == approx(1.0, 1e-12)
    assert res.interval.lower < res.estimate < res.interval.upper
    assert res.interval.method.startswith("model-averaged")


def test_params_and_bse_named_by_term(kosovo: CaptureTable) -> None:
    res = LogLinearEstimator(model="[EXH:ABA, OSCE, HRW]").fit(kosovo)
    assert list(res.params.index) == ["(Intercept)", "EXH", "ABA", "OSCE", "HRW", "EXH:ABA"]
    assert res.estimate == approx(kosovo.n_observed + math.exp(res.params["(Intercept)"]))
    assert (res.bse > 0).all()
    assert res.model == "[12,3,4]"


# --- Korea (MultipleSystemsEstimation user guide) ------------------------------------------
@pytest.mark.parametrize(
    ("spec", "n_hat", "bic"),
    [
        ("[12,23]", 157.1667, 57.14081),
        ("[12,3]", 268.7778, 58.96860),
        ("[13,23]", 123.4630, 91.89711),
        ("[23,1]", 126.1944, 138.06368),
        ("[13,2]", 126.9394, 155.16018),
        ("[1,2,3]", 141.9926, 184.14431),
    ],
)
def test_korea_models(spec: str, n_hat: float, bic: float) -> None:
    res = LogLinearEstimator(model=spec).fit(datasets.load("korea"))
    assert res.model == spec
    assert res.estimate == approx(n_hat, 1e-6)
    assert res.bic == approx(bic, 1e-6)


def test_korea_selection() -> None:
    korea = datasets.load("korea")
    res = LogLinearEstimator(select="bic").fit(korea)
    assert res.model == "[12,23]"
    assert sum(m.usable for m in res.models) == 6
    bad = {m.model: m.status for m in res.models if not m.usable}
    assert bad == {"[12,13]": "mle_not_found", "[12,13,23]": "mle_not_found"}
    step = LogLinearEstimator(select="stepwise").fit(korea)
    assert step.model == "[12,3]"
    assert step.estimate == approx(268.7778, 1e-6)


def test_korea_fixed_nonexistent_model_raises_naming_cells() -> None:
    with pytest.raises(MLENotFoundError) as err:
        LogLinearEstimator(model="[12,13]").fit(datasets.load("korea"))
    assert "011" in str(err.value) and "[12,13]" in str(err.value)
    assert err.value.cells == ["011"]


# --- SparseMSE stepwise --------------------------------------------------------------------
def test_uk_2013_stepwise() -> None:
    res = LogLinearEstimator(select="stepwise", interval="wald").fit(datasets.load("uk_2013"))
    assert res.estimate == approx(11417.99, 1e-6)
    assert [p["term"] for p in res.stepwise_path] == [
        "PF:NCA", "LA:NG", "NG:GP", "LA:PF", "PF:GP", "GO:GP", "NG:GO"]
    assert res.deviance == approx(22.99, 1e-3)
    assert res.df == 49
    # SparseMSE's AIC is glm's: full Poisson log-likelihood, k = intercept + terms
    assert res.aic == approx(162.7, 1e-3)
    assert res.interval.lower == approx(9977.28, 1e-4)
    assert res.interval.upper == approx(13145.66, 1e-4)


def test_uk_2013_5_stepwise() -> None:
    res = LogLinearEstimator(select="stepwise").fit(datasets.load("uk_2013_5"))
    assert res.estimate == approx(11312.99, 1e-6)
    assert [p["term"] for p in res.stepwise_path] == [
        "LA:NG", "NG:GP", "PFNCA:GP", "LA:PFNCA", "GO:GP", "NG:GO"]
    assert res.deviance == approx(16.35, 1e-3)
    assert res.df == 19
    assert res.aic == approx(127.6, 1e-3)


@pytest.mark.parametrize(
    ("name", "n_hat", "terms"),
    [
        ("hiv_rome", 11124.58, []),
        ("my5", 609.89, ["L4:L5", "L1:L3"]),
        ("artificial_3", 539.09, []),
    ],
)
def test_stepwise_other_tables(name: str, n_hat: float, terms: list[str]) -> None:
    res = LogLinearEstimator(select="stepwise").fit(datasets.load(name))
    assert res.estimate == approx(n_hat, 1e-5)
    assert [p["term"] for p in res.stepwise_path] == terms


def test_artificial_3_main_effects_coefficients() -> None:
    res = LogLinearEstimator(model="[1,2,3]", interval="wald").fit(datasets.load("artificial_3"))
    np.testing.assert_allclose(res.params.to_numpy(), [6.094, -2.372, -2.637, -3.256], atol=6e-4)
    assert res.deviance == approx(8.873, 1e-3)
    assert res.aic == approx(36.15, 1e-3)
    assert res.interval.lower == approx(278.65, 1e-4)
    assert res.interval.upper == approx(1170.89, 1e-4)


# --- spina bifida, Gaza --------------------------------------------------------------------
def test_spina_bifida() -> None:
    table = datasets.load("spina_bifida_my")
    bic = LogLinearEstimator(select="bic").fit(table)
    assert (bic.model, bic.estimate) == ("[12,3]", approx(730.93, 1e-5))
    aic = LogLinearEstimator(select="aic").fit(table)
    assert (aic.model, aic.estimate) == ("[12,23]", approx(758.32, 1e-5))


def test_gaza() -> None:
    table = datasets.load("gaza_lancet_2025")
    ind = LogLinearEstimator(model="[1,2,3]").fit(table)
    assert ind.estimate == approx(66749.8, 1e-5)
    sat = LogLinearEstimator(model="[12,13,23]", interval="wald").fit(table)
    assert sat.estimate == approx(64696.1, 1e-5)
    assert sat.interval.lower == approx(58327, 1e-4)
    assert sat.interval.upper == approx(72461, 1e-4)
    assert sat.aic == approx(78.33, 1e-4)


# --- non-overlapping lists and degenerate tables -------------------------------------------
def test_non_overlap_fix_and_exclude() -> None:
    table = datasets.load("artificial_3")
    fixed = LogLinearEstimator(model="[13,23]", interval="wald").fit(table)
    rec = fixed.models[0]
    assert rec.status == "ok_zero_cells"
    assert "011" in rec.reason and "101" in rec.reason and "111" in rec.reason
    assert fixed.removed_cells == ["011", "101", "111"]
    assert fixed.params["A:C"] == -math.inf and math.isnan(fixed.bse["A:C"])
    assert any(d.code == "non_overlapping_lists" for d in fixed.diagnostics)
    # saturated on the four remaining cells: N0 = n100 * n010 / n110
    assert fixed.estimate == approx(96 + 40 * 30 / 6, 1e-9)
    with pytest.raises(MLENotFoundError, match="excluded"):
        LogLinearEstimator(model="[13,23]", non_overlap="exclude").fit(table)
    res = LogLinearEstimator(select="bic", non_overlap="exclude").fit(table)
    statuses = {m.model: m.status for m in res.models}
    assert statuses["[13,23]"] == "excluded" and statuses["[12,13,23]"] == "excluded"
    assert statuses["[12,3]"] == "mle_not_found"


def test_three_lists_that_never_overlap() -> None:
    """No overlaps at all: even independence has no finite MLE (N is unbounded)."""
    table = CaptureTable.from_mapping({"100": 30, "010": 20, "001": 10})
    with pytest.raises(MLENotFoundError) as err:
        LogLinearEstimator(select="bic").fit(table)
    msg = str(err.value)
    assert "every one of the 8 models" in msg
    assert "[1,2,3]: mle_not_found" in msg and "011, 101, 110, 111" in msg
    assert "[12,13,23]: not_identifiable" in msg
    with pytest.raises(MLENotFoundError, match=r"\[1,2,3\]"):
        LogLinearEstimator(select="stepwise").fit(table)
    with pytest.raises(MLENotFoundError, match="excluded"):
        LogLinearEstimator(model="[12,3]", non_overlap="exclude").fit(table)


def test_table_where_every_model_fails() -> None:
    # No list overlaps another: every model either has no finite MLE or is not identifiable.
    with pytest.raises(MLENotFoundError) as err:
        LogLinearEstimator(select="average").fit(
            CaptureTable.from_mapping({"100": 10, "010": 5, "001": 7})
        )
    assert "every one of the 8 models" in str(err.value)


def test_not_identifiable_raises() -> None:
    with pytest.raises(NotIdentifiableError, match=r"\[12,13,23\]"):
        LogLinearEstimator(model="[12,13,23]").fit(datasets.load("artificial_3"))


def test_two_lists_refused() -> None:
    table = CaptureTable.from_mapping({"10": 30, "01": 20, "11": 10})
    with pytest.raises(ConfigError, match="two-list"):
        LogLinearEstimator().fit(table)


def test_six_lists_refuse_exhaustive_search() -> None:
    with pytest.raises(ConfigError, match="stepwise"):
        LogLinearEstimator(select="bic").fit(datasets.load("uk_2013"))


@pytest.mark.parametrize(
    "kwargs",
    [{"select": "best"}, {"interval": "exact"}, {"level": 1.5}, {"pthresh": -0.1},
     {"max_order": 0}, {"weights": "dic"}, {"non_overlap": "drop"}],
)
def test_bad_parameters(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        LogLinearEstimator(**kwargs)


def test_bad_model_spec_names_problem(kosovo: CaptureTable) -> None:
    with pytest.raises(ConfigError, match=r"\[12,FOO\].*unknown list 'FOO'"):
        LogLinearEstimator(model="[12,FOO]").fit(kosovo)


# --- contract ------------------------------------------------------------------------------
def test_no_mutation_and_reproducible(kosovo: CaptureTable) -> None:
    est = LogLinearEstimator(select="bic")
    before_params, before_counts = est.get_params(), kosovo.counts.copy()
    a, b = est.fit(kosovo), est.fit(kosovo)
    assert est.get_params() == before_params
    np.testing.assert_array_equal(kosovo.counts, before_counts)
    assert a == b
    assert a.candidates.equals(b.candidates)


def test_summary_and_json(kosovo: CaptureTable) -> None:
    res = LogLinearEstimator(select="stepwise").fit(kosovo)
    text = str(res)
    assert "loglinear" in text and "[12,13,14,23,34]" in text
    data = json.loads(json.dumps(res.to_dict()))
    assert data["settings"]["select"] == "stepwise"
    assert data["coefficients"]["EXH:ABA"] == pytest.approx(res.params["EXH:ABA"])
    assert any("highest-order interaction" in a for a in res.assumptions)
    assert set(res.candidates.columns) >= {
        "model", "estimate", "deviance", "df", "aic", "bic", "status", "reason"}


def test_kosovo_max_order_2(kosovo: CaptureTable) -> None:
    res = LogLinearEstimator(select="bic", max_order=2, interval="wald").fit(kosovo)
    assert res.model == "[12,13,14,23,34]"
    assert res.estimate == approx(14341.7, 1e-5)
    assert len(res.models) == 64
