"""Hierarchical Poisson log-linear multiple-systems estimation for J >= 3 lists.

Model
-----
The counts ``y_w`` of the ``2^J - 1`` observable capture patterns are independent Poisson
with

.. math:: \\log \\mu_w = \\beta_0 + \\sum_{t \\in \\mathcal{M}} \\beta_t \\prod_{j \\in t} w_j ,

for a hierarchical set of terms ``M`` that never contains the J-way interaction. The
unobserved pattern has ``log mu_0 = beta_0``, so ``N-hat = n + exp(beta_0-hat)``
(Fienberg 1972). The identifying assumption is that the highest-order interaction is zero:
the dependence among lists seen in the observed patterns extends to the people on no list.

Every model is checked for existence of the MLE and identifiability before use
(:mod:`.existence`); models are chosen by BIC or AIC over all hierarchical models (J <= 5),
by forward stepwise testing (Chan, Silverman & Vincent 2021), or averaged with AIC/BIC
weights. See :mod:`.select` for the criteria (n in the BIC penalty is the number of people
observed).

References
----------
.. [1] Fienberg, S. E. (1972). The multiple recapture census for closed populations and
   incomplete 2^k contingency tables. Biometrika 59:591-603. doi:10.1093/biomet/59.3.591
.. [2] Bishop, Y. M. M., Fienberg, S. E. and Holland, P. W. (1975). Discrete Multivariate
   Analysis, ch. 6. doi:10.1007/978-0-387-72806-3
.. [3] Chan, L., Silverman, B. W. and Vincent, K. (2021). JASA 116:1297-1310.
   doi:10.1080/01621459.2019.1708748
.. [4] Baillargeon, S. and Rivest, L.-P. (2007). Rcapture. J. Stat. Softw. 19(5).
   doi:10.18637/jss.v019.i05
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd

from undercount.core.choices import ModelInterval, Select
from undercount.core.constraints import AtLeast, Closed, Open
from undercount.core.estimator import Estimator
from undercount.core.result import (
    CLOSED_POPULATION,
    LINKED_WITHOUT_ERROR,
    Diagnostic,
    Interval,
    ModelRecord,
    MSEResult,
)
from undercount.core.table import CaptureTable, patterns_from_codes
from undercount.errors import (
    ConfigError,
    MLENotFoundError,
    NotIdentifiableError,
)
from undercount.models.loglinear._design import parse_model
from undercount.models.loglinear._irls import PoissonFit, poisson_loglik, profile_interval
from undercount.models.loglinear.select import (
    USABLE_STATUSES,
    LogLinearFit,
    LogLinearProblem,
    mixture_interval,
    model_average,
    select_by_criterion,
    stepwise,
    stepwise_estimate,
)

__all__ = ["LogLinearEstimator", "LogLinearResult"]

_ASSUMPTIONS = (
    CLOSED_POPULATION,
    "No highest-order interaction among the lists: the dependence between lists seen among "
    "people on at least one list extends to the people on none of them.",
    LINKED_WITHOUT_ERROR,
)


@dataclass(frozen=True, kw_only=True, eq=False)
class LogLinearResult(MSEResult):
    """Result of :class:`LogLinearEstimator`.

    Besides the :class:`MSEResult` fields:

    params : pandas.Series
        Coefficients of the chosen model indexed by term (``"(Intercept)"``, ``"EXH"``,
        ``"EXH:ABA"``); terms fixed at minus infinity are ``-inf``. Empty for a model
        average. JSON key ``"coefficients"``. (The estimator's settings are in ``settings``.)
    bse : pandas.Series
        Standard errors (NaN for fixed terms).
    candidates : pandas.DataFrame
        Every model considered: model, estimate, deviance, df, aic, bic, status, reason,
        weight.
    selection : str
        How the model was chosen: ``"fixed"``, ``"bic"``, ``"aic"``, ``"stepwise"`` or
        ``"average"``.
    n_models : int
        Models considered.
    stepwise_path : list of dict, optional
        Stepwise selection's steps (``select="stepwise"``).
    weights : str, optional
        The criterion of the averaging weights (a model average).
    top_model : str, optional
        The model with the largest weight (a model average).
    profile_mle : float, optional
        The multinomial MLE the profile interval is centred on.
    aic, bic, deviance, df : optional
        The chosen model's (not for a model average).
    fitted : ndarray, optional
        The chosen model's fitted means of all 2^J cells, the unobserved cell first
        (``N-hat - n``): the parametric bootstrap's cell probabilities.
    removed_cells : list of str, optional
        Cells removed to fix non-overlapping terms at minus infinity.

    The interval at another level needs a refit (the profile likelihood is not kept), so
    :meth:`conf_int` is not available.
    """

    params: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    bse: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    candidates: pd.DataFrame = field(default_factory=pd.DataFrame)
    selection: str = ""
    n_models: int = 0
    stepwise_path: list[dict[str, Any]] | None = None
    weights: str | None = None
    top_model: str | None = None
    profile_mle: float | None = None
    aic: float | None = None
    bic: float | None = None
    deviance: float | None = None
    df: int | None = None
    fitted: np.ndarray | None = None
    removed_cells: list[str] | None = None

    methods: ClassVar[tuple[str, ...]] = ("loglinear",)
    json_fields: ClassVar[tuple[str, ...]] = (
        "stepwise_path", "weights", "top_model", "profile_mle", "aic", "bic", "deviance", "df",
        "fitted", "removed_cells", "selection", "n_models",
    )
    json_optional: ClassVar[frozenset[str]] = frozenset(json_fields) - {"selection",
                                                                         "n_models"}

    def tail_data(self) -> dict[str, Any]:
        return {"coefficients": {
            k: (None if not math.isfinite(v) else float(v)) for k, v in self.params.items()
        }}

    @classmethod
    def family_kwargs(cls, data: dict[str, Any]) -> dict[str, Any]:
        kwargs = super().family_kwargs(data)
        if kwargs.get("fitted") is not None:
            kwargs["fitted"] = np.asarray(kwargs["fitted"], dtype=float)
        coef = data.pop("coefficients", {})
        kwargs["params"] = pd.Series(
            {k: (-math.inf if v is None else v) for k, v in coef.items()}, dtype=float)
        return kwargs

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LogLinearResult):
            return NotImplemented
        return self.to_dict() == other.to_dict() and self.params.equals(other.params)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, kw_only=True)
class LogLinearEstimator(Estimator):
    """Hierarchical log-linear (Poisson) multiple-systems estimator for J >= 3 lists.

    Parameters
    ----------
    model : str, optional
        A fixed model in hierarchical notation (``"[12,13]"``, ``"[EXH:ABA, OSCE]"``); when
        given, ``select`` is ignored and a model whose MLE does not exist raises.
    select : {"bic", "aic", "stepwise", "average"}
        ``"bic"``/``"aic"``: the best of all hierarchical models up to ``max_order``
        (J <= 5; larger tables raise ConfigError pointing to ``"stepwise"``).
        ``"stepwise"``: forward selection of two-list terms with threshold ``pthresh``
        (Chan, Silverman & Vincent 2021; SparseMSE ``estimatepopulation.0``); ``max_order``
        does not apply. ``"average"``: average of all usable models with ``weights``.
    max_order : int, optional
        Highest interaction order considered (default J-1).
    interval : {"profile", "wald"}
        Multinomial profile likelihood (Rcapture ``closedpCI.t``) or Wald on ``log(N-n)``.
        A model average always uses the mixture interval (see :func:`.select.mixture_interval`).
    level : float
        Confidence level.
    pthresh : float
        Stepwise p-value threshold (SparseMSE default 0.02).
    weights : {"aic", "bic"}
        Criterion for the model-averaging weights ``exp(-Delta/2)``.
    non_overlap : {"fix", "exclude"}
        A term whose lists never overlap (zero observed margin) is ``"fix"``-ed at minus
        infinity by removing the cells containing it (SparseMSE; the default) or the model
        is ``"exclude"``-d. Each model's ``status``/``reason`` says which happened.

    Notes
    -----
    ``N-hat = n + exp(beta_0)`` with ``log mu_w = x_w' beta``; AIC ``= -2 log L + 2k``,
    BIC ``= -2 log L + k log n`` with the full Poisson log-likelihood and n the number of
    people observed (Rcapture / MultipleSystemsEstimation convention; e.g. Korea
    ``[12,23]``: BIC 57.14081). Intervals for a selected model are conditional on the
    selection.
    """

    method: ClassVar[str] = "loglinear"
    stochastic: ClassVar[bool] = False

    model: str | None = None
    select: Select = "bic"
    max_order: Annotated[int, AtLeast(1)] | None = None
    interval: ModelInterval = "profile"
    level: Annotated[float, Open(0, 1)] = 0.95
    pthresh: Annotated[float, Closed(0, 1)] = 0.02
    weights: Literal["aic", "bic"] = "aic"
    non_overlap: Literal["fix", "exclude"] = "fix"
    candidates: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model is not None and not isinstance(self.model, str):
            raise ConfigError(f"model={self.model!r} must be a string such as '[12,13]'")
        if self.candidates is not None and self.select not in ("bic", "aic", "average"):
            raise ConfigError("candidates restrict selection over all models; they do not "
                              f"apply to select={self.select!r}")

    # ------------------------------------------------------------------------------
    def _select(self, problem: LogLinearProblem) -> tuple[LogLinearFit | None, list[LogLinearFit]]:
        criterion = self.weights if self.select == "average" else self.select
        if self.candidates is None:
            return select_by_criterion(problem, criterion, self.max_order)
        fits = [problem.fit(parse_model(spec, problem.table.lists)) for spec in self.candidates]
        usable = [f for f in fits if f.usable]
        best = min(usable, key=lambda f: f.criterion(criterion)) if usable else None
        return best, fits

    def point_estimate(self, table: CaptureTable) -> float:
        """N-hat alone, selection included but no interval or records: the inner loop of
        the bootstrap. Raises :class:`EstimationError` when no usable model exists."""
        table = table.aggregate()
        if self.model is None and self.select == "stepwise":
            fast = stepwise_estimate(
                table.full_counts(), table.n_lists, self.pthresh, self.non_overlap
            )
            if fast is not None:
                return fast
        problem = LogLinearProblem(table, non_overlap=self.non_overlap)
        if self.model is not None:
            fit = problem.fit(parse_model(self.model, table.lists))
            _raise_if_unusable(fit, problem)
            return float(fit.estimate)
        if self.select == "stepwise":
            fit = stepwise(problem, self.pthresh).fit
            _raise_if_unusable(fit, problem)
            return float(fit.estimate)
        best, fits = self._select(problem)
        if self.select == "average":
            if not any(f.usable for f in fits):
                _raise_all_failed(fits, problem)
            return float(model_average(fits, self.weights)[0])
        if best is None:
            _raise_all_failed(fits, problem)
        return float(best.estimate)

    def _point_estimate_cells(self, lists: tuple[str, ...], full: np.ndarray) -> float:
        """:meth:`point_estimate` of the table with cell counts ``full`` (length 2^J, indexed
        by cell code, cell 0 empty), without building a table where stepwise selection can
        answer from the counts alone (the bootstrap's inner loop)."""
        if self.model is None and self.select == "stepwise":
            fast = stepwise_estimate(full, len(lists), self.pthresh, self.non_overlap)
            if fast is not None:
                return fast
        codes = np.flatnonzero(full)
        table = CaptureTable(
            lists=lists,
            patterns=patterns_from_codes(codes, len(lists)),
            counts=full[codes],
            source="<bootstrap>",
        )
        return self.point_estimate(table)

    def restrict_to_top(
        self, table: CaptureTable, ntop: int, fitted: MSEResult | None = None
    ) -> LogLinearEstimator:
        """The same estimator, selecting only among the ``ntop`` best models on ``table``
        (Silverman, Chan & Vincent 2024's ``ntop`` bootstrap restriction).

        ``fitted``, this estimator's result on ``table``, supplies the ranking from its
        model records instead of fitting every model again. It is used only when its
        settings and lists match and the best model refitted on ``table`` reproduces its
        record (so a result from another table is not used); otherwise every model is
        refitted. Settings that differ only in choosing by AIC or by BIC match: the same
        search records both criteria for every model, so ``select="aic"`` restricted to
        its best model from a BIC search's result is the AIC-best model without a second
        search (the default bootstrap's world, :mod:`undercount.uncertainty.bootstrap`).
        """
        if self.model is not None or self.select == "stepwise":
            raise ConfigError("ntop applies to selection over all models (select bic, aic or "
                              "average), not to a fixed model or stepwise selection")
        criterion = self.weights if self.select == "average" else self.select
        problem = LogLinearProblem(table.aggregate(), non_overlap=self.non_overlap)
        if (
            isinstance(fitted, LogLinearResult)
            and _same_search(fitted.settings, self.get_params())
            and tuple(fitted.lists) == tuple(table.lists)
            and fitted.n_observed == table.n_observed
        ):
            # The records are in the order the models were fitted, as below, so the stable
            # sort ranks ties exactly as refitting would.
            usable = [m for m in fitted.models if m.status in USABLE_STATUSES]
            ranked = sorted(usable, key=lambda m: m.aic if criterion == "aic" else m.bic)
            if ranked:
                best = problem.fit(parse_model(ranked[0].model, table.lists))
                if best.usable and math.isclose(best.criterion(criterion),
                                                ranked[0].bic if criterion != "aic"
                                                else ranked[0].aic, rel_tol=1e-9, abs_tol=1e-9):
                    return dataclasses.replace(
                        self, candidates=tuple(m.model for m in ranked[:ntop])
                    )
        _, fits = self._select(problem)
        usable_fits = sorted((f for f in fits if f.usable), key=lambda f: f.criterion(criterion))
        return dataclasses.replace(self, candidates=tuple(f.spec for f in usable_fits[:ntop]))

    # ------------------------------------------------------------------------------
    def _fit(self, table: CaptureTable, *, rng: np.random.Generator | None) -> MSEResult:
        J = table.n_lists
        if J < 3:
            raise ConfigError(
                f"log-linear models need at least 3 lists (this table has {J}); for two "
                "lists use the two-list estimators (Lincoln-Petersen / Chapman)"
            )
        problem = LogLinearProblem(table, non_overlap=self.non_overlap)
        diagnostics: list[Diagnostic] = []
        fields: dict[str, Any] = {}
        weights_by_spec: dict[str, float] = {}

        if self.model is not None:
            chosen = problem.fit(parse_model(self.model, table.lists))
            fits = [chosen]
            _raise_if_unusable(chosen, problem)
            how = "fixed"
        elif self.select in ("bic", "aic"):
            chosen, fits = self._select(problem)
            how = self.select
        elif self.select == "stepwise":
            sw = stepwise(problem, self.pthresh)
            chosen, fits = sw.fit, list(sw.fits)
            fields["stepwise_path"] = list(sw.path)
            how = "stepwise"
            if not chosen.usable:
                _raise_if_unusable(chosen, problem)
        else:
            _, fits = self._select(problem)
            chosen = None
            how = "average"
        if how in ("bic", "aic", "average") and not any(f.usable for f in fits):
            _raise_all_failed(fits, problem)

        unusable = [f for f in fits if not f.usable]
        if unusable and how != "fixed":
            counts: dict[str, int] = {}
            for f in unusable:
                counts[f.status] = counts.get(f.status, 0) + 1
            diagnostics.append(Diagnostic(
                "models_not_usable",
                f"{len(unusable)} of {len(fits)} models considered were not used ("
                + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
                + "); see result.models for each reason",
                "info",
            ))
        zero_cell = [f for f in fits if f.status == "ok_zero_cells"]

        if how == "average":
            est, w, usable = model_average(fits, self.weights)
            lo, hi = mixture_interval(problem.n, usable, w, self.level)
            weights_by_spec = {f.spec: float(wi) for f, wi in zip(usable, w, strict=True)}
            interval = Interval(lo, hi, self.level, "model-averaged Wald-log mixture")
            model_label = "model average"
            params = pd.Series(dtype=float)
            bse = pd.Series(dtype=float)
            fields["weights"] = self.weights
            best = usable[int(np.argmax(w))]
            fields["top_model"] = best.spec
            if zero_cell:
                diagnostics.append(_zero_cell_diag(zero_cell[0], averaged=True))
        else:
            assert chosen is not None
            est = chosen.estimate
            interval, prof = self._interval(problem, chosen)
            if prof is not None:
                fields["profile_mle"] = prof
            model_label = chosen.spec
            params, bse = _coefficients(problem, chosen)
            fields.update({
                "aic": chosen.aic, "bic": chosen.bic, "deviance": chosen.deviance,
                "df": chosen.df,
            })
            fitted = np.zeros(2**J)
            fitted[0] = chosen.estimate - problem.n
            kept = np.arange(len(problem.y)) if chosen.keep is None else chosen.keep
            fitted[1 + np.asarray(kept)] = chosen.mu
            fields["fitted"] = fitted
            if chosen.status == "ok_zero_cells":
                diagnostics.append(_zero_cell_diag(chosen, averaged=False))
                fields["removed_cells"] = [
                    problem.cell_label(i) for i in sorted(
                        set(range(len(problem.y))) - set(chosen.keep.tolist())
                    )
                ]
            if not math.isfinite(interval.upper):
                diagnostics.append(Diagnostic(
                    "unbounded_interval",
                    f"the {interval.method} interval's upper bound is unbounded: the data "
                    "do not rule out arbitrarily large populations under this model",
                ))
            if how != "fixed":
                diagnostics.append(Diagnostic(
                    "conditional_interval",
                    "the interval is conditional on the selected model and does not include "
                    "model-selection uncertainty (bootstrap with re-selection for that)",
                    "info",
                ))
        fields["selection"] = how
        fields["n_models"] = len(fits)

        records = tuple(_record(problem, f, self.level, weights_by_spec.get(f.spec))
                        for f in fits)
        candidates = pd.DataFrame([
            {"model": r.model, "estimate": r.estimate, "deviance": r.deviance, "df": r.df,
             "aic": r.aic, "bic": r.bic, "status": r.status, "reason": r.reason,
             "weight": r.weight}
            for r in records
        ])
        return LogLinearResult(
            method=self.method,
            model=model_label,
            estimate=float(est),
            interval=interval,
            n_observed=table.n_observed,
            lists=tuple(table.lists),
            models=records,
            diagnostics=tuple(diagnostics),
            params=params,
            bse=bse,
            candidates=candidates,
            settings=self.get_params(),
            assumptions=_ASSUMPTIONS,
            **fields,
        )

    def _interval(
        self, problem: LogLinearProblem, fit: LogLinearFit
    ) -> tuple[Interval, float | None]:
        if self.interval == "wald":
            lo, hi = problem.wald(fit, self.level)
            return Interval(lo, hi, self.level, "wald-log"), None
        X = problem.design(fit.terms, fit.keep)
        y = problem.y[fit.keep]
        pf = PoissonFit(
            beta=fit.beta, mu=fit.mu, cov=fit.cov, deviance=fit.deviance,
            loglik=poisson_loglik(y, fit.mu), n_params=X.shape[1], converged=True,
            iterations=0,
        )
        prof, lo, hi = profile_interval(X, y, pf, self.level)
        return Interval(lo, hi, self.level, "profile"), prof


def _coefficients(problem: LogLinearProblem, fit: LogLinearFit) -> tuple[pd.Series, pd.Series]:
    names = ["(Intercept)", *problem.term_names(fit.terms)]
    values = list(map(float, fit.beta))
    ses = list(np.sqrt(np.maximum(np.diag(fit.cov), 0.0)))
    for t in fit.fixed_terms:
        names.append(problem.term_names([t])[0])
        values.append(-math.inf)
        ses.append(math.nan)
    order = {t: i for i, t in enumerate(fit.model)}
    all_terms = [None, *fit.terms, *fit.fixed_terms]
    idx = sorted(range(len(names)), key=lambda i: -1 if all_terms[i] is None
                 else order[all_terms[i]])
    return (pd.Series([values[i] for i in idx], index=[names[i] for i in idx], dtype=float),
            pd.Series([ses[i] for i in idx], index=[names[i] for i in idx], dtype=float))


def _record(problem: LogLinearProblem, f: LogLinearFit, level: float,
            weight: float | None) -> ModelRecord:
    if not f.usable:
        return ModelRecord(model=f.spec, estimate=None, n_params=f.n_params,
                           status=f.status, reason=f.reason, weight=weight)
    lo, hi = problem.wald(f, level)
    return ModelRecord(
        model=f.spec, estimate=f.estimate, interval=Interval(lo, hi, level, "wald-log"),
        aic=f.aic, bic=f.bic, deviance=f.deviance, df=f.df, n_params=f.n_params,
        status=f.status, reason=f.reason, weight=weight,
    )


def _zero_cell_diag(f: LogLinearFit, averaged: bool) -> Diagnostic:
    where = "some averaged models" if averaged else f"model {f.spec}"
    return Diagnostic(
        "non_overlapping_lists",
        f"{where}: {f.reason} (Chan, Silverman & Vincent 2021 treatment; "
        "use non_overlap='exclude' to drop such models instead)",
    )


def _raise_if_unusable(f: LogLinearFit, problem: LogLinearProblem) -> None:
    if f.usable:
        return
    if f.status == "not_identifiable":
        raise NotIdentifiableError(f"model {f.spec} is not identifiable on this table: {f.reason}")
    if f.status == "mle_not_found":
        raise MLENotFoundError(
            f"model {f.spec}: the maximum-likelihood estimate does not exist; {f.reason}. "
            "Choose a model without the interactions these zero cells block, or use "
            "select='bic'/'stepwise'",
            cells=list(f.boundary),
        )
    if f.status == "excluded":
        raise MLENotFoundError(f"model {f.spec}: {f.reason}", cells=[])
    raise MLENotFoundError(f"model {f.spec} could not be fitted: {f.reason}")


def _raise_all_failed(fits: list[LogLinearFit], problem: LogLinearProblem) -> None:
    shown = "; ".join(f"{f.spec}: {f.status} ({f.reason})" for f in fits[:8])
    more = f"; ... and {len(fits) - 8} more" if len(fits) > 8 else ""
    cells = sorted({c for f in fits for c in f.boundary})
    raise MLENotFoundError(
        f"no log-linear model can be fitted to this table: every one of the {len(fits)} "
        f"models fails the existence/identifiability check. {shown}{more}",
        cells=cells,
    )


def _same_search(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two estimators' settings fit the same models, differing at most in ranking
    them by AIC or by BIC (both recorded for every model a search fits)."""
    def search(s: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in s.items() if k != "select" or v not in ("aic", "bic")}
    return search(a) == search(b)
