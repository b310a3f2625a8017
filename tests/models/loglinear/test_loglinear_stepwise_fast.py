"""The compiled stepwise point estimate (the bootstrap's inner loop) against the full search.

``stepwise_estimate`` must return exactly what ``stepwise(LogLinearProblem(table))`` selects
and estimates, or None where it leaves the answer to the full search. Checked on bootstrap
resamples of the benchmark tables (full size, where SparseMSE's bootstrap draws them) and on
sparse resamples (a twentieth of the people), which reach zero margins, fixed terms, failed
existence checks, near-ties of p-values and the fall-back cases.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from undercount import datasets
from undercount.core.table import CaptureTable, patterns_from_codes
from undercount.errors import EstimationError, InputError
from undercount.models.loglinear import LogLinearEstimator
from undercount.models.loglinear.select import LogLinearProblem, stepwise, stepwise_estimate

SETTINGS = [(0.02, "fix"), (0.02, "exclude"), (0.2, "fix"), (1.0, "fix"), (0.0, "fix")]


def _table(lists: tuple[str, ...], full: np.ndarray) -> CaptureTable:
    codes = np.flatnonzero(full)
    return CaptureTable(
        lists=lists, patterns=patterns_from_codes(codes, len(lists)), counts=full[codes]
    )


def _reference(table: CaptureTable, pthresh: float, non_overlap: str) -> float | None:
    try:
        fit = stepwise(LogLinearProblem(table, non_overlap), pthresh).fit  # type: ignore[arg-type]
    except (EstimationError, InputError):
        return None
    return fit.estimate if fit.usable else None


def _resamples(name: str, n_each: int, seed: int) -> tuple[tuple[str, ...], list[np.ndarray]]:
    table = datasets.load(name)
    full = table.full_counts()
    n = int(full.sum())
    rng = np.random.default_rng(seed)
    out = []
    for size in (n, max(n // 20, 30)):
        for row in rng.multinomial(size, full[1:] / n, size=n_each):
            out.append(np.concatenate([[0], row]))
    return table.lists, out


def _compare(name: str, n_each: int, seed: int) -> tuple[int, int]:
    lists, draws = _resamples(name, n_each, seed)
    fast_n = fallback_n = 0
    for pthresh, non_overlap in SETTINGS:
        for full in draws:
            table = _table(lists, full)
            if table.degeneracies():
                continue
            fast = stepwise_estimate(full, len(lists), pthresh, non_overlap)  # type: ignore[arg-type]
            if fast is None:
                fallback_n += 1
                continue
            ref = _reference(table, pthresh, non_overlap)
            assert ref is not None, (name, pthresh, non_overlap, full.tolist())
            assert fast == pytest.approx(ref, rel=1e-9), (name, pthresh, full.tolist())
            fast_n += 1
    return fast_n, fallback_n


@pytest.mark.parametrize(
    ("name", "n_each"),
    [("uk_2013", 12), ("uk_2013_5", 12), ("kosovo", 12), ("korea", 20), ("artificial_3", 20)],
)
def test_fast_stepwise_equals_full_search(name: str, n_each: int) -> None:
    fast_n, _ = _compare(name, n_each, seed=20240501)
    assert fast_n > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["uk_2013", "uk_2013_5", "kosovo", "korea", "artificial_3"])
def test_fast_stepwise_equals_full_search_many(name: str) -> None:
    fast_n, fallback_n = _compare(name, 150, seed=11)
    assert fast_n > fallback_n


@pytest.mark.parametrize("name", ["uk_2013", "uk_2013_5"])
def test_benchmark_tables_never_fall_back(name: str) -> None:
    # The bootstrap's own resamples of these tables are all answered by the compiled path.
    lists, draws = _resamples(name, 100, seed=1234)
    for full in draws[:100]:
        assert stepwise_estimate(full, len(lists)) is not None


def test_point_estimate_matches_fit_on_published_tables() -> None:
    est = LogLinearEstimator(select="stepwise")
    for name in ["uk_2013", "uk_2013_5", "kosovo", "korea", "artificial_3"]:
        table = datasets.load(name)
        fast = stepwise_estimate(table.full_counts(), table.n_lists)
        assert fast is not None
        assert fast == est.fit(table).estimate
        assert est.point_estimate(table) == fast


def test_point_estimate_cells_matches_point_estimate() -> None:
    table = datasets.load("kosovo")
    for est in [LogLinearEstimator(select="stepwise"), LogLinearEstimator(select="bic")]:
        assert est._point_estimate_cells(table.lists, table.full_counts()) == pytest.approx(
            est.point_estimate(table), rel=1e-12
        )


def test_fall_back_cases_return_none() -> None:
    # An empty list: the full search raises InputError, so the fast path must not answer.
    full = np.zeros(8, dtype=np.int64)
    full[[4, 2, 6]] = [10, 5, 3]
    assert stepwise_estimate(full, 3) is None
    with pytest.raises(InputError):
        LogLinearEstimator(select="stepwise").point_estimate(_table(("A", "B", "C"), full))
    # Two lists: not a log-linear problem for the compiled search.
    assert stepwise_estimate(np.array([0, 5, 6, 2]), 2) is None


def test_lists_that_never_overlap_fix_and_exclude() -> None:
    # A and B never overlap: with "fix" the A:B interaction may be added at minus infinity.
    cells = {"100": 40, "010": 30, "001": 20, "101": 6, "011": 9}
    table = CaptureTable.from_mapping(cells, lists=["A", "B", "C"])
    for pthresh in (0.02, 0.5, 1.0):
        for non_overlap in ("fix", "exclude"):
            fast = stepwise_estimate(table.full_counts(), 3, pthresh, non_overlap)
            ref = _reference(table, pthresh, non_overlap)
            if fast is not None:
                assert ref is not None and math.isclose(fast, ref, rel_tol=1e-12)
