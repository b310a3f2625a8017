"""The two ways of calling the fitting kernels, and the all-cells-positive existence shortcut.

A single analysis of a small table runs the kernels as plain Python (no numba start-up); a
bootstrap or a large table runs them compiled. Both must give the same numbers bit for bit
(which one runs depends on what the process fitted before, and a result must not), and the
shortcut must give the verdict of Fienberg & Rinaldo's LP.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from undercount import datasets
from undercount.core.table import CaptureTable, patterns_from_codes
from undercount.models.loglinear import _fast
from undercount.models.loglinear._design import all_hierarchical_models
from undercount.models.loglinear.existence import check_existence, fienberg_rinaldo_lp
from undercount.models.loglinear.select import (
    LogLinearFit,
    LogLinearProblem,
    select_by_criterion,
    stepwise,
)

SRC = Path(__file__).resolve().parents[3] / "src"


def _table(J: int, full: np.ndarray) -> CaptureTable:
    codes = np.flatnonzero(full)
    return CaptureTable(lists=tuple(f"L{j}" for j in range(J)),
                        patterns=patterns_from_codes(codes, J), counts=full[codes])


def _random_tables(J: int, seed: int) -> list[np.ndarray]:
    """Tables with every cell positive and tables with zero cells (small samples)."""
    rng = np.random.default_rng(seed)
    out = []
    for size, concentration in ((5000, 2.0), (5000, 2.0), (40, 0.5), (25, 0.5)):
        row = rng.multinomial(size, rng.dirichlet(np.full(2**J - 1, concentration)))
        out.append(np.concatenate([[0], row]))
    return out


@pytest.mark.parametrize("J", [3, 4, 5])
def test_all_cells_shortcut_gives_the_lp_verdict(J: int) -> None:
    """``all_cells=True`` (no rank, no LP when every cell is positive) against the LP and the
    full rank computation, on tables with and without zero cells."""
    models = all_hierarchical_models(J, 2 if J == 5 else None)
    rng = np.random.default_rng(J)
    if len(models) > 120:
        models = [models[i] for i in rng.choice(len(models), 120, replace=False)]
    rank = _fast.kernels("compiled").column_rank
    seen = {True: 0, False: 0}
    for full in _random_tables(J, seed=10 + J):
        y = full[1:].astype(float)
        all_positive = bool((y > 0).all())
        seen[all_positive] += 1
        codes = np.arange(1, 2**J)
        for model in models:
            terms = np.array((0, *model))
            X = ((codes[:, None] & terms[None, :]) == terms[None, :]).astype(float)
            short = check_existence(X, y, all_cells=True)
            full_check = check_existence(X, y)
            assert short.code == full_check.code, (J, model, y.tolist())
            assert short.exists == (fienberg_rinaldo_lp(X, y) > 1e-9), (J, model)
            if all_positive:
                assert short.method == "all cells positive"
                # The identifiability half: every such design has full column rank.
                assert rank(X, 1e-8) == X.shape[1], (J, model)
    assert seen[True] and seen[False]


def _same(fp: LogLinearFit, fc: LogLinearFit) -> None:
    assert (fp.spec, fp.status, fp.reason) == (fc.spec, fc.status, fc.reason)
    if fp.usable:
        for name in ("beta", "mu", "cov"):
            assert np.array_equal(getattr(fp, name), getattr(fc, name)), (fp.spec, name)
        assert (fp.estimate, fp.loglik, fp.deviance, fp.aic, fp.bic) == (
            fc.estimate, fc.loglik, fc.deviance, fc.aic, fc.bic), fp.spec


@pytest.mark.parametrize(
    "name", ["kosovo", "korea", "artificial_3", "hiv_rome", "spina_bifida_my", "uk_2013_5"]
)
def test_python_and_compiled_kernels_give_the_same_bits(name: str) -> None:
    table = datasets.load(name)
    runs = {}
    for engine in ("python", "compiled"):
        problem = LogLinearProblem(table, engine=engine)
        assert problem.engine == engine
        sw = stepwise(problem)
        fits = [problem.fit(m) for m in all_hierarchical_models(problem.J, 2)[:150]]
        runs[engine] = [*sw.fits, *fits]
    for fp, fc in zip(runs["python"], runs["compiled"], strict=True):
        _same(fp, fc)


def test_sparse_tables_give_the_same_bits_both_ways() -> None:
    """Zero cells, removed cells and failed existence checks take the same course."""
    statuses: set[str] = set()
    for J in (3, 4):
        for full in _random_tables(J, seed=J)[2:]:
            table = _table(J, full)
            if table.degeneracies():
                continue
            a = select_by_criterion(LogLinearProblem(table, engine="python"), "aic")[1]
            b = select_by_criterion(LogLinearProblem(table, engine="compiled"), "aic")[1]
            for fp, fc in zip(a, b, strict=True):
                _same(fp, fc)
                statuses.add(fp.status)
    assert {"ok", "mle_not_found"} <= statuses


def test_choose_uses_python_for_a_few_small_fits_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fast, "_python_calls", 0)
    assert _fast.choose(15) == "python"
    assert _fast.choose(31) == "compiled"  # five lists: compiled from the start
    problem = LogLinearProblem(datasets.load("kosovo"))
    assert problem.engine == "python"
    select_by_criterion(problem, "bic")
    assert _fast._python_calls == 2 * 113  # one existence check and one fit per model
    monkeypatch.setattr(_fast, "_python_calls", _fast.PYTHON_CALL_BUDGET)
    assert _fast.choose(15) == "compiled"
    assert LogLinearProblem(datasets.load("kosovo")).engine == "compiled"


def test_one_small_analysis_loads_neither_numba_nor_scipy_optimize_until_needed() -> None:
    code = (
        "import sys\n"
        "from undercount import datasets\n"
        "from undercount.models.loglinear import LogLinearEstimator\n"
        "r = LogLinearEstimator(select='bic', interval='wald').fit(datasets.load('kosovo'))\n"
        "print(round(r.estimate, 6), 'numba' in sys.modules, 'scipy.optimize' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    assert math.isclose(float(out[0]), 10356.5, abs_tol=0.05)
    assert out[1:] == ["False", "False"]
