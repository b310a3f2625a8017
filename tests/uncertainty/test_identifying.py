"""The identifying-assumption sensitivity (Aleshin-Guendel, Sadinle & Wakefield 2024)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import undercount as uc
from undercount.core.result import Interval, MSEResult
from undercount.models.loglinear import LogLinearEstimator
from undercount.uncertainty.identifying import (
    assumption_sensitivity,
    identifying_summary,
    implied_interaction,
    unobserved_without_interaction,
)


def _table(counts: dict[str, int], lists: tuple[str, ...]) -> uc.CaptureTable:
    patterns = np.array([[int(c) for c in p] for p in counts])
    return uc.CaptureTable(patterns=patterns, counts=np.array(list(counts.values())),
                           lists=lists)


def test_lincoln_petersen_implies_no_interaction():
    # Two lists: m00 = n10 n01 / n11 is the independence (zero log odds ratio) assumption.
    t = _table({"11": 40, "10": 60, "01": 100}, ("a", "b"))
    assert implied_interaction(t, 200 + 60 * 100 / 40) == pytest.approx(0.0, abs=1e-12)
    # Twice as many unobserved is a log odds ratio of +log 2 (positive dependence).
    assert implied_interaction(t, 200 + 2 * 60 * 100 / 40) == pytest.approx(math.log(2))


def test_no_three_way_model_implies_zero_three_way_interaction():
    # [12,13,23] is saturated on the 7 observed cells, so its fitted cells are the counts
    # and its m0 is exactly the zero three-way interaction extrapolation.
    t = uc.datasets.load("spina_bifida_my")
    fit = LogLinearEstimator(model="[12,13,23]").fit(t)
    assert implied_interaction(t, fit.estimate) == pytest.approx(0.0, abs=1e-8)
    # ... and a factor r on the unobserved moves it by (-1)^3 log r.
    row = assumption_sensitivity(fit, [2.0])[0]
    assert row.interaction_shift == pytest.approx(-math.log(2))
    assert implied_interaction(t, row.estimate) == pytest.approx(-math.log(2), abs=1e-8)


def test_empty_pattern_or_nothing_unobserved_has_no_implied_interaction():
    t = _table({"11": 40, "10": 60, "01": 0}, ("a", "b"))
    assert implied_interaction(t, 150) is None
    t = _table({"11": 40, "10": 60, "01": 10}, ("a", "b"))
    assert implied_interaction(t, 110) is None


def test_factors_scale_the_unobserved_and_both_interval_ends():
    res = MSEResult(method="m", model="x", estimate=1500.0,
                    interval=Interval(1200.0, 2000.0, 0.95, "profile"), n_observed=1000,
                    lists=("a", "b", "c"))
    rows = assumption_sensitivity(res, [0.5, 1.0, 2.0])
    assert [r.estimate for r in rows] == [1250.0, 1500.0, 2000.0]
    assert (rows[0].interval.lower, rows[0].interval.upper) == (1100.0, 1500.0)
    assert (rows[2].interval.lower, rows[2].interval.upper) == (1400.0, 3000.0)
    assert rows[1].interaction_shift == 0.0
    # with three lists the shift's sign flips: the factor 1 still shifts by +0.0, not -0.0
    assert math.copysign(1.0, rows[1].interaction_shift) == 1.0
    with pytest.raises(ValueError, match="positive"):
        assumption_sensitivity(res, [0.0])


def test_estimate_json_carries_the_block_and_round_trips():
    res = uc.estimate("kosovo", bootstrap=0)
    block = res.to_dict()["identifying_assumption"]
    assert block["interaction_order"] == 4
    assert [r["factor"] for r in block["rows"]][3] == 1.0
    assert block["rows"][3]["estimate"] == pytest.approx(res.estimate)
    again = type(res).from_dict(res.to_dict())
    assert again.to_dict() == res.to_dict()
    assert identifying_summary(res, uc.datasets.load("kosovo"))["rows"] == block["rows"]


def _hoi_offset_estimate(table: uc.CaptureTable, xi: float) -> float:
    """Aleshin-Guendel et al.'s ``get_N_hoi_freq`` (their applications/helper_functions.R):
    the model with every interaction of order < K, fitted to the observed cells with an
    offset ``(-1)^(1 - K mod 2) log xi`` on the all-lists cell; N = n + exp(intercept).
    That model is saturated on the observed cells, so its fit solves X beta = log n - offset
    exactly (corner coding), without their glm."""
    from itertools import combinations

    k = table.n_lists
    full = table.full_counts().astype(float)
    cells = [tuple((c >> (k - 1 - j)) & 1 for j in range(k)) for c in range(1, 2**k)]
    terms = [()] + [t for order in range(1, k) for t in combinations(range(k), order)]
    x = np.array([[float(all(cell[j] for j in t)) for t in terms] for cell in cells])
    offset = np.zeros(len(cells))
    offset[-1] = (-1.0) ** (1 - k % 2) * math.log(xi)  # the last cell is all ones
    beta = np.linalg.solve(x, np.log(full[1:]) - offset)
    return table.n_observed + math.exp(beta[0])


@pytest.mark.parametrize("xi", [1 / 2, 2 / 3, 1.0, 3 / 2, 2.0])
def test_kosovo_sensitivity_reproduces_aleshin_guendel_et_al(xi):
    # Their Kosovo sensitivity analysis (Section 5.4 / Appendix E.3): xi from 1/2 to 2
    # divides the unobserved count, i.e. our factor on it is 1 / xi.
    table = uc.datasets.load("kosovo")
    fit = LogLinearEstimator(model="[123,124,134,234]").fit(table)
    row = assumption_sensitivity(fit, [1 / xi])[0]
    assert row.estimate == pytest.approx(_hoi_offset_estimate(table, xi), rel=1e-9)
    assert implied_interaction(table, row.estimate) == pytest.approx(-math.log(xi), abs=1e-8)


def test_the_unobserved_count_without_the_top_interaction_is_the_saturated_fit():
    # [12,13,23] on three lists: its m0 is the zero three-way extrapolation of the counts.
    t = uc.datasets.load("spina_bifida_my")
    fit = LogLinearEstimator(model="[12,13,23]").fit(t)
    m0 = unobserved_without_interaction(np.asarray(t.full_counts(), dtype=float))
    assert t.n_observed + m0 == pytest.approx(fit.estimate, rel=1e-9)
    assert implied_interaction(t, t.n_observed + m0) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_independent_lists_have_no_top_interaction(k):
    # Independent lists are a log-linear population without any interaction, so the
    # identity returns their own unobserved share.
    p = np.linspace(0.2, 0.6, k)
    on = (np.arange(2**k)[:, None] >> np.arange(k - 1, -1, -1)) & 1
    cells = np.prod(np.where(on == 1, p, 1 - p), axis=1)
    assert unobserved_without_interaction(cells) == pytest.approx(cells[0], rel=1e-12)
    # Scaling the observed cells by c scales the answer by c: counts or probabilities.
    scaled = np.concatenate([[0.0], 7.5 * cells[1:]])
    assert unobserved_without_interaction(scaled) == pytest.approx(7.5 * cells[0])


def test_the_top_interaction_identity_refuses_bad_cells():
    with pytest.raises(ValueError, match="2\\^K cells"):
        unobserved_without_interaction(np.ones(6))
    with pytest.raises(ValueError, match="positive expected count"):
        unobserved_without_interaction(np.array([0.0, 1.0, 0.0, 2.0]))
