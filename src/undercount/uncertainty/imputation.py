"""Multiple imputation of missing stratification covariates, and pooling across imputations.

Stratifying by a covariate that is missing for some records (age, sex, month) needs those
records placed in strata. Dropping them biases N down (they are disproportionately on some
lists: in the Gaza data almost every record without an age is a social-media-only record,
the very cell that drives the estimate). Multiple imputation places them at random, ``m``
times, from a model of the covariate given the capture pattern and the other covariates, and
the variation between imputations enters the interval.

Imputers
--------
*Hot-deck within capture pattern* (:class:`HotDeckImputer`): each record's missing values
are copied from a donor drawn at random among records with the same capture pattern whose
values are observed and who agree on the record's observed covariates (falling back to the
same capture pattern only, then to everyone, with a note).

*Chained equations with random forests* (:class:`ChainedForestImputer`): van Buuren's MICE
with the random-forest method of Doove, van Buuren & Dusseldorp (2014), as used by the 2025
Lancet Gaza study (``mice`` ``method = "rf"``): variables are visited in turn; for each, a
forest is grown on a bootstrap sample of the records where it is observed, with the capture
pattern and the other covariates as predictors, and each missing value is replaced by the
observed value of a random donor sharing a leaf with it in a randomly chosen tree. The
cycle is repeated ``max_iter`` times from a hot-deck start.

Pooling
-------
*Bayesian estimators*: the posterior draws of the total from each imputation are pooled
(concatenated), which integrates over the imputation model.

*Frequentist estimators*: Rubin's rules on ``Q = log(N - n)``. With per-imputation
estimates ``Q_i`` and variances ``U_i`` (from the joint bootstrap of each imputed data
set), ``Qbar = mean Q_i``, ``Ubar = mean U_i``, ``B = var(Q_i)``,
``T = Ubar + (1 + 1/m) B``; the interval is ``n + exp(Qbar +- t_nu sqrt(T))`` with
Rubin's degrees of freedom ``nu = (m - 1)(1 + 1/r)^2``, ``r = (1 + 1/m) B / Ubar``. The
fraction of missing information is ``gamma = (r + 2/(nu + 3)) / (r + 1)``. A pooled
bootstrap (concatenating every imputation's replicates) is offered as an alternative.

References
----------
.. [1] Rubin, D. B. (1987). Multiple Imputation for Nonresponse in Surveys. Wiley.
   doi:10.1002/9780470316696
.. [2] van Buuren, S. and Groothuis-Oudshoorn, K. (2011). mice: Multivariate imputation by
   chained equations in R. Journal of Statistical Software 45(3). doi:10.18637/jss.v045.i03
.. [3] Doove, L. L., van Buuren, S. and Dusseldorp, E. (2014). Recursive partitioning for
   missing data imputation in the presence of interaction effects. Computational Statistics
   & Data Analysis 72:92-104. doi:10.1016/j.csda.2013.10.025
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Protocol

import numpy as np
import pandas as pd
from scipy import stats

from undercount.core.choices import ImputerName
from undercount.core.constraints import AtLeast, Open
from undercount.core.draws import group_draws, n_draws
from undercount.core.estimator import Estimator
from undercount.core.result import (
    Diagnostic,
    Interval,
    MSEResult,
    common_kwargs,
    result_from_dict,
)
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, InputError
from undercount.uncertainty.bootstrap import quantile_type8

__all__ = [
    "ChainedForestImputer",
    "HotDeckImputer",
    "ImputationResult",
    "Imputer",
    "MultipleImputation",
    "RubinPooled",
    "rubin_pool",
]


class Imputer(Protocol):
    def impute(
        self, frame: pd.DataFrame, lists: Sequence[str], columns: Sequence[str],
        rng: np.random.Generator,
    ) -> pd.DataFrame: ...


def _pattern_keys(frame: pd.DataFrame, lists: Sequence[str]) -> np.ndarray:
    bits = frame[list(lists)].to_numpy(dtype=np.int64)
    return bits @ (1 << np.arange(len(lists) - 1, -1, -1))


@dataclass(frozen=True)
class HotDeckImputer:
    """Random hot-deck within capture pattern (see the module docstring)."""

    name: ClassVar[str] = "hotdeck"

    def impute(self, frame, lists, columns, rng):
        out = frame.copy()
        pattern = _pattern_keys(frame, lists)
        values = {c: frame[c].to_numpy(dtype=object) for c in columns}
        missing = frame[list(columns)].isna().to_numpy()
        complete = ~missing.any(axis=1)
        # Records that share a capture pattern, a missingness pattern and their observed
        # values share a donor pool: draw their donors together.
        groups: dict[tuple, list[int]] = {}
        for i in np.flatnonzero(missing.any(axis=1)):
            key = (int(pattern[i]), tuple(missing[i]),
                   tuple(values[c][i] for c, m in zip(columns, missing[i], strict=True) if not m))
            groups.setdefault(key, []).append(int(i))
        for (pat, miss, _), rows in groups.items():
            pool = complete & (pattern == pat)
            for c, m in zip(columns, miss, strict=True):
                if not m:
                    same = frame[c].eq(values[c][rows[0]]).fillna(False)
                    agree = pool & same.to_numpy(dtype=bool)
                    if agree.any():
                        pool = agree
            if not pool.any():
                pool = complete
            donors = rng.choice(np.flatnonzero(pool), size=len(rows), replace=True)
            for c, m in zip(columns, miss, strict=True):
                if m:
                    col = out.columns.get_loc(c)
                    out.iloc[rows, col] = frame[c].to_numpy()[donors]
        return out


@dataclass(frozen=True)
class ChainedForestImputer:
    """MICE with random-forest donors (mice's ``rf`` method; see the module docstring)."""

    name: ClassVar[str] = "chained-forest"
    n_trees: int = 10
    max_iter: int = 5
    min_samples_leaf: int = 5

    def impute(self, frame, lists, columns, rng):
        # scikit-learn is heavy (seconds to import): only for this imputer.
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        cur = HotDeckImputer().impute(frame, lists, columns, rng)
        missing = {c: frame[c].isna().to_numpy() for c in columns}
        targets = [c for c in columns if missing[c].any()]
        numeric = {c: pd.api.types.is_numeric_dtype(frame[c].dropna()) for c in columns}
        for _ in range(self.max_iter):
            for c in targets:
                X = self._design(cur, lists, [o for o in columns if o != c], numeric)
                obs = ~missing[c]
                boot = rng.choice(np.flatnonzero(obs), size=int(obs.sum()), replace=True)
                y = cur[c].to_numpy()
                seed = int(rng.integers(2**31 - 1))
                if numeric[c]:
                    model = RandomForestRegressor(
                        n_estimators=self.n_trees, min_samples_leaf=self.min_samples_leaf,
                        random_state=seed, n_jobs=1,
                    )
                    model.fit(X[boot], y[boot].astype(float))
                else:
                    model = RandomForestClassifier(
                        n_estimators=self.n_trees, min_samples_leaf=self.min_samples_leaf,
                        random_state=seed, n_jobs=1,
                    )
                    model.fit(X[boot], y[boot].astype(str))
                leaves_obs = model.apply(X[boot])
                miss_idx = np.flatnonzero(missing[c])
                leaves_mis = model.apply(X[miss_idx])
                trees = rng.integers(self.n_trees, size=len(miss_idx))
                new = np.empty(len(miss_idx), dtype=object)
                for k, t in enumerate(trees):
                    donors = boot[leaves_obs[:, t] == leaves_mis[k, t]]
                    new[k] = y[rng.choice(donors)] if len(donors) else y[rng.choice(boot)]
                col = cur[c].to_numpy(dtype=object).copy()
                col[miss_idx] = new
                cur[c] = pd.Series(col, index=cur.index).astype(frame[c].dtype)
        return cur

    @staticmethod
    def _design(frame, lists, others, numeric) -> np.ndarray:
        parts = [frame[list(lists)].to_numpy(dtype=float)]
        for c in others:
            if numeric[c]:
                parts.append(frame[[c]].to_numpy(dtype=float))
            else:
                parts.append(pd.get_dummies(frame[c].astype(str)).to_numpy(dtype=float))
        return np.column_stack(parts)


_IMPUTERS = {"hotdeck": HotDeckImputer, "chained-forest": ChainedForestImputer}


@dataclass(frozen=True)
class RubinPooled:
    estimate: float
    interval: Interval
    within: float
    between: float
    total: float
    df: float
    fmi: float


def rubin_pool(
    estimates: Sequence[float], variances: Sequence[float], n_observed: int, level: float = 0.95
) -> RubinPooled:
    """Rubin's rules on ``Q = log(N - n)`` (see the module docstring)."""
    est = np.asarray(estimates, dtype=float)
    var = np.asarray(variances, dtype=float)
    m = len(est)
    if m < 2:
        raise ConfigError("Rubin's rules need at least 2 imputations")
    if np.any(est <= n_observed):
        raise ConfigError("every imputation's estimate must exceed the observed n")
    q = np.log(est - n_observed)
    qbar = float(q.mean())
    ubar = float(var.mean())
    b = float(q.var(ddof=1))
    t = ubar + (1 + 1 / m) * b
    if b == 0:
        df, r = math.inf, 0.0
    else:
        r = (1 + 1 / m) * b / ubar if ubar > 0 else math.inf
        df = (m - 1) * (1 + 1 / r) ** 2 if math.isfinite(r) else m - 1
    fmi = (r + 2 / (df + 3)) / (r + 1) if math.isfinite(df) and math.isfinite(r) else (
        0.0 if b == 0 else 1.0
    )
    tq = stats.t.ppf(0.5 + level / 2, df) if math.isfinite(df) else stats.norm.ppf(0.5 + level / 2)
    half = tq * math.sqrt(t)
    return RubinPooled(
        estimate=n_observed + math.exp(qbar),
        interval=Interval(
            n_observed + math.exp(qbar - half), n_observed + math.exp(qbar + half), level,
            "Rubin's rules on log(N - n)",
        ),
        within=ubar,
        between=b,
        total=t,
        df=df,
        fmi=fmi,
    )


def individual_frame(table: CaptureTable) -> pd.DataFrame:
    """One row per person (rows of a table with covariates, repeated by count)."""
    base = table.to_frame()
    counts = base.pop("count").to_numpy()
    return base.loc[base.index.repeat(counts)].reset_index(drop=True)


@dataclass(frozen=True, kw_only=True, eq=False)
class ImputationResult(MSEResult):
    """N pooled over multiple imputations.

    The common fields other than the estimate, interval, method, settings and diagnostics
    are the first imputation's (``first``), whose family fields also make up the JSON
    (for a stratified estimator: its strata), followed by ``"imputation"``.

    Attributes
    ----------
    first : MSEResult
        The estimator's result on the first imputed data set.
    imputations : int
        m, the number of imputations.
    imputer, pooling : str
        The imputer, and ``"rubin"`` or ``"pooled-draws"``.
    records_with_missing : int
        Records with a missing value in a column imputed.
    per_imputation : tuple of float
        Each imputation's estimate.
    fmi : float
        Fraction of missing information.
    df, within, between : float, optional
        Rubin's degrees of freedom and within/between-imputation variances of
        ``log(N - n)`` (Rubin pooling only).

    ``draws`` has every imputation's draws of N in an ``imputation`` group (see
    :mod:`undercount.core.draws`). :meth:`conf_int` gives the interval at another level
    (pooled draws: their quantiles; Rubin: the same t interval on ``log(N - n)``).
    """

    first: MSEResult
    imputations: int
    imputer: str
    pooling: str
    records_with_missing: int
    per_imputation: tuple[float, ...]
    fmi: float
    df: float | None = None
    within: float | None = None
    between: float | None = None

    methods: ClassVar[tuple[str, ...]] = ("imputation",)

    def family_data(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "imputations": self.imputations,
            "imputer": self.imputer,
            "pooling": self.pooling,
            "records_with_missing": self.records_with_missing,
            "per_imputation": list(self.per_imputation),
        }
        if self.pooling == "rubin":
            info.update(fmi=self.fmi, df=self.df, within=self.within, between=self.between)
        else:
            info["fmi"] = self.fmi
        return {**self.first.family_data(), **self.first.extra, "imputation": info}

    def tail_data(self) -> dict[str, Any]:
        return self.first.tail_data()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImputationResult:
        d = dict(data)
        info = d.pop("imputation")
        first = result_from_dict({**d, "method": d["method"].removesuffix(
            " + multiple imputation")})
        return cls(
            **common_kwargs(dict(data)),
            first=first,
            imputations=info["imputations"],
            imputer=info["imputer"],
            pooling=info["pooling"],
            records_with_missing=info["records_with_missing"],
            per_imputation=tuple(info["per_imputation"]),
            fmi=info["fmi"],
            df=info.get("df"),
            within=info.get("within"),
            between=info.get("between"),
        )

    def conf_int(self, level: float) -> Interval:
        """The pooled interval at ``level``."""
        if self.pooling == "rubin":
            assert self.within is not None and self.between is not None and self.df is not None
            n = self.n_observed
            qbar = math.log(self.estimate - n)
            total = self.within + (1 + 1 / self.imputations) * self.between
            tq = (stats.t.ppf(0.5 + level / 2, self.df) if math.isfinite(self.df)
                  else stats.norm.ppf(0.5 + level / 2))
            half = tq * math.sqrt(total)
            return Interval(n + math.exp(qbar - half), n + math.exp(qbar + half), level,
                            self.interval.method)
        pooled = n_draws(self)
        if pooled is None:
            raise ValueError("this result carries no draws (a stored copy?)")
        lo, hi = quantile_type8(pooled, [(1 - level) / 2, (1 + level) / 2])
        return Interval(float(lo), float(hi), level, self.interval.method)


@dataclass(frozen=True, kw_only=True)
class MultipleImputation(Estimator):
    """Impute missing stratum covariates ``imputations`` times, estimate each, and pool.

    Parameters
    ----------
    estimator : Estimator
        Usually a :class:`~undercount.strata.StratifiedEstimator`; any estimator whose results
        carry draws of N (``result.draws``: a stratified total, posterior draws) can be
        pooled.
    columns : tuple of str
        Covariates to impute (the stratum columns).
    imputations : int
        Number of imputations, Rubin's *m* (default 20; the CLI's ``--imputations``).
    imputer : {"hotdeck", "chained-forest"}
    pooling : {"auto", "rubin", "pooled-draws"}
        ``auto``: pooled draws for Bayesian estimators, Rubin's rules for frequentist ones.
    """

    method: ClassVar[str] = "multiple-imputation"
    stochastic: ClassVar[bool] = True

    estimator: Estimator
    columns: tuple[str, ...]
    imputations: Annotated[int, AtLeast(2)] = 20
    imputer: ImputerName = "hotdeck"
    pooling: Literal["auto", "rubin", "pooled-draws"] = "auto"
    level: Annotated[float, Open(0, 1)] = 0.95

    def fit(self, table: CaptureTable, *, rng: np.random.Generator | None = None) -> MSEResult:
        if rng is None:
            raise ConfigError("MultipleImputation is stochastic: pass rng=default_rng(seed)")
        if not table.has_covariates:
            raise InputError(f"{table.source}: nothing to impute (no covariate columns)")
        return self._fit(table, rng=rng)

    def _fit(self, table: CaptureTable, *, rng: np.random.Generator | None) -> MSEResult:
        assert rng is not None
        frame = individual_frame(table)
        unknown = [c for c in self.columns if c not in frame.columns]
        if unknown:
            raise InputError(f"{table.source}: columns to impute not found: {unknown}")
        n_missing = int(frame[list(self.columns)].isna().any(axis=1).sum())
        imputer = _IMPUTERS[self.imputer]()
        results = []
        for stream in rng.spawn(self.imputations):
            imp_rng, fit_rng = stream.spawn(2)
            imputed = imputer.impute(frame, table.lists, self.columns, imp_rng)
            t = CaptureTable.from_individuals(
                imputed, lists=list(table.lists),
                covariates=[c for c in imputed.columns if c not in table.lists],
                source=table.source,
            )
            results.append(self.estimator.fit(t, rng=fit_rng))
        draws = [_total_draws(r) for r in results]
        n = table.n_observed
        bayes = all(n_draws(r, posterior_only=True) is not None for r in results)
        pooling = self.pooling if self.pooling != "auto" else ("pooled-draws" if bayes else "rubin")
        rubin: dict[str, float] = {}
        if pooling == "rubin":
            variances = []
            for d in draws:
                finite = d[np.isfinite(d) & (d > n)]
                variances.append(float(np.var(np.log(finite - n), ddof=1)))
            pooled = rubin_pool([r.estimate for r in results], variances, n, self.level)
            estimate, interval = pooled.estimate, pooled.interval
            fmi = pooled.fmi
            rubin = {"df": pooled.df, "within": pooled.within, "between": pooled.between}
            all_draws = np.concatenate(draws)
        else:
            all_draws = np.concatenate(draws)
            estimate = float(np.median(all_draws))
            lo, hi = quantile_type8(all_draws, [(1 - self.level) / 2, (1 + self.level) / 2])
            interval = Interval(float(lo), float(hi), self.level, "pooled draws over imputations")
            within = float(np.mean([np.var(d, ddof=1) for d in draws]))
            between = float(np.var([np.mean(d) for d in draws], ddof=1))
            tot = within + (1 + 1 / self.imputations) * between
            fmi = (1 + 1 / self.imputations) * between / tot if tot > 0 else 0.0
        first = results[0]
        which = np.repeat(np.arange(self.imputations), [len(d) for d in draws])
        return ImputationResult(
            method=f"{first.method} + multiple imputation",
            model=first.model,
            estimate=float(estimate),
            interval=interval,
            n_observed=first.n_observed,
            lists=first.lists,
            models=first.models,
            diagnostics=(
                *first.diagnostics,
                Diagnostic(
                    "imputed",
                    f"{n_missing} records had missing {', '.join(self.columns)}; imputed "
                    f"{self.imputations} times ({self.imputer}); fraction of missing "
                    f"information {fmi:.2f}",
                    "info",
                ),
            ),
            settings={**self.get_params(), "estimator": type(self.estimator).__name__},
            assumptions=first.assumptions,
            draws=group_draws(
                "imputation",
                {"N": (("draw",), all_draws), "imputation": (("draw",), which),
                 "estimate": (("m",), [r.estimate for r in results])},
                attrs={"posterior": pooling == "pooled-draws" and bayes, "pooling": pooling},
            ),
            first=first,
            imputations=self.imputations,
            imputer=self.imputer,
            pooling=pooling,
            records_with_missing=n_missing,
            per_imputation=tuple(r.estimate for r in results),
            fmi=fmi,
            **rubin,
        )


def _total_draws(result: MSEResult) -> np.ndarray:
    draws = n_draws(result)
    if draws is not None:
        return draws
    raise ConfigError(
        f"the {result.method} result has neither bootstrap totals nor posterior draws to pool"
    )
