"""Small estimators for testing the uncertainty machinery independently of the families."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from undercount.core.draws import make_draws
from undercount.core.estimator import Estimator
from undercount.core.result import Interval, MSEResult
from undercount.models.loglinear._irls import fit_poisson, wald_interval


def independence_design(J: int) -> np.ndarray:
    codes = np.arange(1, 2**J)
    bits = (codes[:, None] >> np.arange(J - 1, -1, -1)) & 1
    return np.column_stack([np.ones(len(codes)), bits]).astype(float)


@dataclass(frozen=True, kw_only=True)
class Independence(Estimator):
    """Log-linear independence model with a Wald-log interval."""

    method: ClassVar[str] = "toy-independence"

    def _fit(self, table, *, rng):
        X = independence_design(table.n_lists)
        y = table.full_counts()[1:].astype(float)
        fit = fit_poisson(X, y)
        lo, hi = wald_interval(fit, table.n_observed)
        return MSEResult(
            method=self.method, model="[1,2,...]", estimate=table.n_observed + fit.n0,
            interval=Interval(lo, hi, 0.95, "wald"), n_observed=table.n_observed,
            lists=table.lists,
        )


@dataclass(frozen=True, kw_only=True)
class NormalPosterior(Estimator):
    """A fake Bayesian estimator: N ~ Normal(mean, sd) draws, whatever the table."""

    method: ClassVar[str] = "toy-bayes"
    stochastic: ClassVar[bool] = True
    mean: float = 1000.0
    sd: float = 50.0
    n_draws: int = 4000

    def _fit(self, table, *, rng):
        draws = rng.normal(self.mean, self.sd, size=self.n_draws)
        lo, hi = np.quantile(draws, [0.025, 0.975])
        return MSEResult(
            method=self.method, model="normal", estimate=float(np.median(draws)),
            interval=Interval(float(lo), float(hi), 0.95, "posterior"),
            n_observed=table.n_observed, lists=table.lists,
            draws=make_draws({"N": draws.reshape(1, -1)}),
        )


@dataclass(frozen=True, kw_only=True)
class SometimesNoEstimate(Estimator):
    """N-hat = 1.5 n, or none (+inf) where cell 100 (full_counts()[4]) has more than
    ``above`` people: on a table with 300 there, resampled, about one replicate in thirteen
    at ``above=320``."""

    method: ClassVar[str] = "toy-none"
    above: int = 320

    def _fit(self, table, *, rng):
        n = table.n_observed
        est = math.inf if table.full_counts()[4] > self.above else 1.5 * n
        return MSEResult(method=self.method, model="-", estimate=est,
                         interval=Interval(n, 2.0 * n, 0.95, "none"), n_observed=n,
                         lists=table.lists)

