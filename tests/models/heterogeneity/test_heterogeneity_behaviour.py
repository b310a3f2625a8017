"""Designs, diagnostics, degenerate tables and the estimator contract."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from undercount import datasets
from undercount.core.result import result_from_dict
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, MLENotFoundError, NotIdentifiableError
from undercount.models.heterogeneity import (
    MODELS,
    HeterogeneityEstimator,
    build_design,
    fit_model,
)
from undercount.models.twolist import LincolnPetersenEstimator


def test_models_constant():
    assert MODELS == (
        "M0", "Mt", "Mh-Chao", "Mh-Poisson2", "Mh-Darroch", "Mh-Gamma3.5",
        "Mth-Chao", "Mth-Poisson2", "Mth-Darroch", "Mth-Gamma3.5",
    )


def test_design_columns_by_hand():
    # t = 4, history codes 1..15, first list most significant: code 7 = "0111" (k = 3),
    # code 15 = "1111" (k = 4).
    d = build_design("Mth-Chao", 4, ("a", "b", "c", "d"))
    assert d.names == ("intercept", "beta_a", "beta_b", "beta_c", "beta_d", "eta3", "eta4")
    assert d.n_base == 5
    np.testing.assert_array_equal(d.X[6], [1, 0, 1, 1, 1, 1, 0])  # eta3 = k-2, eta4 = k-3
    np.testing.assert_array_equal(d.X[14], [1, 1, 1, 1, 1, 2, 1])
    np.testing.assert_array_equal(d.X[0], [1, 0, 0, 0, 1, 0, 0])
    k = np.array([1.0, 2.0, 3.0, 4.0])
    rows = [0, 2, 6, 14]  # histories with k = 1, 2, 3, 4
    np.testing.assert_allclose(build_design("Mh-Poisson2", 4).X[rows, 2], 2**k - 1)
    np.testing.assert_allclose(build_design("Mh-Darroch", 4).X[rows, 2], k**2 / 2)
    np.testing.assert_allclose(build_design("Mh-Gamma3.5", 4).X[rows, 2], -np.log(1 + k / 3.5))
    np.testing.assert_array_equal(build_design("M0", 4).X[rows, 1], k)
    assert build_design("Mh-Chao", 6).X.shape == (63, 6)  # intercept, beta, eta3..eta6


def test_result_contract_and_json():
    table = datasets.load("hare")
    est = HeterogeneityEstimator()
    res = est.fit(table)
    assert est == HeterogeneityEstimator()  # fit never mutates the estimator
    assert res.method == "heterogeneity"
    assert res.n_observed == 68
    assert len(res.models) == 10
    assert all(m.extra["se"] > 0 for m in res.models)
    assert any("independent" in a for a in res.assumptions)
    assert any("vary between people" in a for a in res.assumptions)
    json.dumps(res.to_dict())
    assert "Mth-Poisson2" in str(res)


@pytest.mark.parametrize("model", ["M0", "Mt"])
def test_m0_mt_assumptions(model):
    res = HeterogeneityEstimator(model=model).fit(datasets.load("hiv_rome"))
    assert res.model == model
    assert len(res.models) == 1
    text = " ".join(res.assumptions)
    assert "independent" in text
    if model == "M0":
        assert "same probability of appearing on each list" in text


def test_bad_parameters():
    with pytest.raises(ConfigError, match="model"):
        HeterogeneityEstimator(model="Mh-Normal")
    with pytest.raises(ConfigError, match="select"):
        HeterogeneityEstimator(select="dic")
    with pytest.raises(ConfigError, match="interval"):
        HeterogeneityEstimator(interval="bootstrap")
    with pytest.raises(ConfigError, match="level"):
        HeterogeneityEstimator(level=95)


def test_level_changes_interval():
    table = datasets.load("hiv_rome")
    r95 = HeterogeneityEstimator(model="Mt").fit(table)
    r80 = HeterogeneityEstimator(model="Mt", level=0.8).fit(table)
    assert r80.interval.level == 0.8
    assert r95.interval.lower < r80.interval.lower < r80.estimate < r80.interval.upper
    assert r80.interval.upper < r95.interval.upper


def test_two_lists_fits_m0_mt_only():
    table = CaptureTable.from_mapping({"10": 80, "01": 60, "11": 20}, lists=("A", "B"))
    res = HeterogeneityEstimator().fit(table)
    status = {m.model: m.status for m in res.models}
    assert status["M0"] == status["Mt"] == "ok"
    assert all(status[m] == "not_identifiable" for m in MODELS[2:])
    assert "heterogeneity.two_lists" in {d.code for d in res.diagnostics}
    # Two-list Mt is saturated (df 0) and equals Lincoln-Petersen: 100 * 80 / 20.
    mt = next(m for m in res.models if m.model == "Mt")
    assert mt.df == 0
    assert mt.estimate == pytest.approx(400.0, rel=1e-10)
    assert mt.estimate == pytest.approx(LincolnPetersenEstimator().fit(table).estimate, rel=1e-10)
    with pytest.raises(NotIdentifiableError, match="at least three lists"):
        HeterogeneityEstimator(model="Mth-Chao").fit(table)


def test_isolated_list_warns():
    # C shares no record with A or B.
    table = CaptureTable.from_mapping(
        {"100": 40, "010": 30, "110": 10, "001": 25}, lists=("A", "B", "C")
    )
    res = HeterogeneityEstimator().fit(table)
    iso = [d for d in res.diagnostics if d.code == "heterogeneity.isolated_list"]
    assert len(iso) == 1 and "'C'" in iso[0].message and iso[0].severity == "warning"
    # The parametric heterogeneity models saturate the k = 3 cell (111), which is empty:
    # their MLE does not exist and they are kept out of selection, with the cell named.
    bad = {m.model: m for m in res.models if m.status == "mle_not_found"}
    assert set(bad) == {f"{b}-{h}" for b in ("Mh", "Mth") for h in ("Poisson2", "Darroch",
                                                                     "Gamma3.5")}
    assert all("111" in m.reason and m.estimate is None for m in bad.values())
    assert res.model in ("M0", "Mt", "Mh-Chao", "Mth-Chao")


def test_no_overlap_raises_mle_not_found():
    table = CaptureTable.from_mapping({"100": 40, "010": 30, "001": 25})
    with pytest.raises(MLENotFoundError) as info:
        HeterogeneityEstimator().fit(table)
    assert set(info.value.cells) == {"011", "101", "110", "111"}
    with pytest.raises(MLENotFoundError):
        HeterogeneityEstimator(model="Mt").fit(
            CaptureTable.from_mapping({"10": 40, "01": 30})
        )


def test_negative_tau_flagged():
    # Fewer people on all three lists than independence predicts: under-dispersion, so the
    # Poisson2/Darroch/Gamma heterogeneity parameters are negative.
    table = CaptureTable.from_mapping(
        {"100": 50, "010": 50, "001": 50, "110": 40, "101": 40, "011": 40, "111": 1}
    )
    res = HeterogeneityEstimator().fit(table)
    flagged = {d.message.split(":")[0] for d in res.diagnostics
               if d.code == "heterogeneity.negative_tau"}
    assert flagged == {f"{b}-{h}" for b in ("Mh", "Mth") for h in ("Poisson2", "Darroch",
                                                                   "Gamma3.5")}
    rec = next(m for m in res.models if m.model == "Mh-Darroch")
    assert rec.extra["heterogeneity_params"]["tau"] < 0
    assert "negative" in rec.reason


def test_fit_model_bias_and_se_formula():
    table = datasets.load("hiv_rome")
    mf = fit_model("Mt", table)
    n0 = mf.fit.n0
    assert mf.se == pytest.approx(math.sqrt(n0 + n0**2 * mf.fit.cov[0, 0]), rel=1e-12)
    # Second-order bias is small relative to N for Mt on HIV (no large-bias flag).
    assert abs(mf.bias) < 0.1 * mf.estimate
    assert not [d for d in mf.diagnostics if d.code == "heterogeneity.large_bias"]


def test_models_tied_on_aic_are_named_and_the_first_is_reported():
    # On three lists the four Mth models all reproduce the observed counts: their AICs agree
    # to about 1e-13, and which one the last digits favoured changed between machines.
    res = HeterogeneityEstimator().fit(datasets.load("gaza_lancet_2025"))
    assert res.model == "Mth-Chao"
    assert res.estimate == pytest.approx(68574.8, abs=0.1)
    (tie,) = [d for d in res.diagnostics if d.code == "heterogeneity.tie"]
    assert tie.severity == "warning"
    assert "Mth-Chao, Mth-Poisson2, Mth-Darroch and Mth-Gamma3.5" in tie.message
    assert "68,574.8 to 123,343.9" in tie.message
    # The range is the family's answer: kept on the result and in its JSON.
    tied = res.tied_models
    assert tied["models"] == ["Mth-Chao", "Mth-Poisson2", "Mth-Darroch", "Mth-Gamma3.5"]
    assert tied["estimates"] == pytest.approx([68574.8, 123343.9], abs=0.1)
    records = [m for m in res.models if m.model in tied["models"]]
    assert tied["interval"] == [min(m.interval.lower for m in records),
                                max(m.interval.upper for m in records)]
    again = result_from_dict(json.loads(json.dumps(res.to_dict())))
    assert again.tied_models == json.loads(json.dumps(tied))
    # Where one model is best, nothing is said.
    hare = HeterogeneityEstimator().fit(datasets.load("hare"))
    assert not [d for d in hare.diagnostics if d.code == "heterogeneity.tie"]
    assert hare.tied_models is None and "tied" not in hare.to_dict()


def test_a_bootstrap_of_tied_models_keeps_their_range():
    from undercount.uncertainty.bootstrap import Bootstrap

    table = datasets.load("korea")
    base = HeterogeneityEstimator().fit(table)
    boot = Bootstrap(estimator=HeterogeneityEstimator(), replicates=40, interval="percentile",
                     n_jobs=1).fit(table, rng=np.random.default_rng(1))
    assert base.tied_models is not None and boot.tied_models == base.tied_models
    again = result_from_dict(json.loads(json.dumps(boot.to_dict())))
    assert again.tied_models == json.loads(json.dumps(base.tied_models))
