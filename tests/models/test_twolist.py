"""Lincoln-Petersen and Chapman: hand-computed numbers and degenerate tables.

n1 = 100, n2 = 80, m = 20 (n = 160):
  LP       N = 100*80/20 = 400;  var = 100*80*80*60/20^3 = 4800.
  Chapman  N = 101*81/21 - 1 = 8181/21 - 1 = 388.571428...;
           var = 101*81*80*60/(21^2*22) = 39,268,800/9,702 = 4,047.4953...
  Log interval (Chao 1987), z = 1.959964:
     LP:      f0 = 240, C = exp(z*sqrt(log(1 + 4800/240^2)))
     Chapman: f0 = 228.5714, C = exp(z*sqrt(log(1 + 4047.4953/228.5714^2))) = 1.708108...
              -> [160 + 228.5714/C, 160 + 228.5714*C] = [293.816, 550.425]
     LP:      C = 1.741087 -> [297.845, 577.861]; Wald 400 -+ z*69.282 = [264.210, 535.790]
"""

from __future__ import annotations

import math

import pytest

from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, MLENotFoundError
from undercount.models.twolist import (
    ChapmanEstimator,
    LincolnPetersenEstimator,
    chapman,
    lincoln_petersen,
)

Z = 1.959963984540054


@pytest.fixture
def table():
    return CaptureTable.from_mapping({"10": 80, "01": 60, "11": 20}, lists=("A", "B"))


def test_point_estimates_by_hand():
    assert lincoln_petersen(100, 80, 20) == (400.0, 4800.0)
    n_hat, var = chapman(100, 80, 20)
    assert n_hat == pytest.approx(8181 / 21 - 1, rel=1e-14)
    assert n_hat == pytest.approx(388.5714285714, abs=1e-9)
    assert var == pytest.approx(39_268_800 / 9_702, rel=1e-14)
    assert var == pytest.approx(4047.495362, abs=1e-6)


def test_chapman_log_interval(table):
    res = ChapmanEstimator().fit(table)
    assert res.method == "chapman"
    assert res.interval.method == "log"
    assert res.estimate == pytest.approx(388.5714285714, abs=1e-9)
    assert res.se == pytest.approx(math.sqrt(39_268_800 / 9_702), rel=1e-14)
    assert (res.n1, res.n2, res.m) == (100, 80, 20)
    f0 = 8181 / 21 - 1 - 160
    c = math.exp(Z * math.sqrt(math.log(1 + (39_268_800 / 9_702) / f0**2)))
    assert c == pytest.approx(1.708108, abs=5e-7)
    assert res.interval.lower == pytest.approx(160 + f0 / c, rel=1e-12)
    assert res.interval.upper == pytest.approx(160 + f0 * c, rel=1e-12)
    assert res.interval.lower == pytest.approx(293.816, abs=5e-4)
    assert res.interval.upper == pytest.approx(550.425, abs=5e-4)
    assert res.diagnostics == ()


def test_lp_intervals(table):
    res = LincolnPetersenEstimator().fit(table)
    assert res.method == "lincoln-petersen"
    assert res.estimate == 400.0
    c = math.exp(Z * math.sqrt(math.log(1 + 4800 / 240**2)))
    assert res.interval.lower == pytest.approx(160 + 240 / c, rel=1e-12)
    assert res.interval.upper == pytest.approx(160 + 240 * c, rel=1e-12)
    wald = LincolnPetersenEstimator(interval="wald").fit(table)
    assert wald.interval.method == "wald"
    assert wald.interval.lower == pytest.approx(400 - Z * math.sqrt(4800), rel=1e-12)
    assert wald.interval.upper == pytest.approx(400 + Z * math.sqrt(4800), rel=1e-12)
    assert wald.interval.lower == pytest.approx(264.210, abs=5e-4)
    assert res.interval.lower == pytest.approx(297.845, abs=5e-4)
    assert res.interval.upper == pytest.approx(577.861, abs=5e-4)


def test_assumptions_state_independence(table):
    for est in (ChapmanEstimator(), LincolnPetersenEstimator()):
        text = " ".join(est.fit(table).assumptions)
        assert "independent" in text
        assert "homogeneous" in text
        assert "biased downwards" in text


def test_m_zero():
    table = CaptureTable.from_mapping({"10": 80, "01": 60})
    with pytest.raises(MLENotFoundError) as info:
        LincolnPetersenEstimator().fit(table)
    assert info.value.cells == ["11"]
    res = ChapmanEstimator().fit(table)
    assert res.estimate == pytest.approx(81 * 61 - 1)
    loud = [d for d in res.diagnostics if d.code == "twolist.no_overlap"]
    assert len(loud) == 1 and loud[0].severity == "error"
    assert "Do not report" in loud[0].message
    assert res.warnings


def test_small_overlap_and_wald_below_n():
    table = CaptureTable.from_mapping({"10": 30, "01": 40, "11": 2})
    res = ChapmanEstimator(interval="wald").fit(table)
    codes = {d.code for d in res.diagnostics}
    assert "twolist.small_overlap" in codes
    assert "twolist.wald_below_n" in codes
    assert res.interval.lower == table.n_observed
    log = ChapmanEstimator().fit(table)
    assert log.interval.lower > table.n_observed


def test_more_than_two_lists_is_config_error():
    table = CaptureTable.from_mapping({"100": 3, "011": 4, "111": 2})
    with pytest.raises(ConfigError, match="select_lists"):
        ChapmanEstimator().fit(table)
    with pytest.raises(ConfigError, match="log-linear"):
        LincolnPetersenEstimator().fit(table)


def test_bad_parameters():
    with pytest.raises(ConfigError, match="interval"):
        ChapmanEstimator(interval="profile")
    with pytest.raises(ConfigError, match="level"):
        ChapmanEstimator(level=1.5)
