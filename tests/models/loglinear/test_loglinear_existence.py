"""Existence (Fienberg-Rinaldo) and identifiability checks, SparseMSE checkident codes."""

from __future__ import annotations

import numpy as np
import pytest

from undercount import datasets
from undercount.models.loglinear._design import all_hierarchical_models, parse_model
from undercount.models.loglinear.existence import check_existence, fienberg_rinaldo_lp
from undercount.models.loglinear.select import LogLinearProblem


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        # SparseMSE checkident / MultipleSystemsEstimation check_extended_MLE docs
        ("[12,13,23]", 2),
        ("[12,3]", 1),
        ("[13,23]", 0),
        ("[12,13]", 1),
        ("[12,23]", 1),
        ("[1,2,3]", 0),
        ("[13,2]", 0),
        ("[23,1]", 0),
    ],
)
def test_artificial_3_codes(spec: str, code: int) -> None:
    problem = LogLinearProblem(datasets.load("artificial_3"))
    assert problem.check(parse_model(spec, problem.lists))[0] == code


def test_korea_models_with_12_and_13_do_not_exist() -> None:
    problem = LogLinearProblem(datasets.load("korea"))
    for model in all_hierarchical_models(3):
        fit = problem.fit(model)
        both = {0b110, 0b101} <= set(model)  # b:c and b:d
        assert (fit.status == "mle_not_found") == both, fit.spec
        if both:
            assert "011" in fit.reason


@pytest.mark.parametrize("name", ["korea", "artificial_3", "my5", "hiv_rome", "uk_2013_5"])
def test_fast_path_agrees_with_full_lp(name: str) -> None:
    """The reduced check equals SparseMSE's LP on every model (max order 2 for 5 lists)."""
    problem = LogLinearProblem(datasets.load(name))
    J = problem.J
    models = all_hierarchical_models(J, 2 if J == 5 else None)
    rng = np.random.default_rng(1)
    if len(models) > 150:
        models = [models[i] for i in rng.choice(len(models), 150, replace=False)]
    for model in models:
        keep, terms, _ = problem._reduce(model)
        X, y = problem.design(terms, keep), problem.y[keep]
        fast = check_existence(X, y)
        lp_exists = fienberg_rinaldo_lp(X, y) > 1e-9
        assert fast.exists == lp_exists, (name, problem.spec(model))


def test_lp_on_positive_table_is_positive() -> None:
    problem = LogLinearProblem(datasets.load("kosovo"))
    X = problem.design(parse_model("[12,13,14,23,24,34]", problem.lists))
    assert fienberg_rinaldo_lp(X, problem.y) > 0
    assert check_existence(X, problem.y).code == 0
