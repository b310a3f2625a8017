"""Fitting, checking and choosing among hierarchical log-linear models on one capture table.

:class:`LogLinearProblem` holds one table and fits any hierarchical model to it (checked for
existence first, see :mod:`.existence`); :func:`select_by_criterion` compares every
hierarchical model by AIC or BIC, :func:`stepwise` is the forward search of Chan, Silverman
& Vincent (2021), and :func:`model_average` weights models by ``exp(-Delta/2)``.

Information criteria
--------------------
With the full Poisson log-likelihood of the cells used in the fit,
``log L = sum_w (y_w log mu_w - mu_w - log y_w!)``,

.. math:: \\mathrm{AIC} = -2\\log L + 2k, \\qquad \\mathrm{BIC} = -2\\log L + k\\log n,

where ``k`` counts the intercept and every term of the hierarchical model (terms fixed at
minus infinity for lists that never overlap included, as in MultipleSystemsEstimation and
SparseMSE's ``+ 2 * nover``), and **n is the number of people observed, not the number of
cells** (the convention of Rcapture and MultipleSystemsEstimation; with the number of cells
Kosovo's BIC would pick ``[123,134]`` rather than ``[123,14,34]``). AIC equals R's
``glm(..., family = poisson)$aic`` and statsmodels' ``GLMResults.aic``.

References
----------
.. [1] Chan, L., Silverman, B. W. and Vincent, K. (2021). Multiple systems estimation for
   sparse capture data: inferential challenges when there are nonoverlapping lists.
   JASA 116:1297-1310. doi:10.1080/01621459.2019.1708748
.. [2] Silverman, B. W., Chan, L. and Vincent, K. (2024). Bootstrapping multiple systems
   estimates to account for model selection. Statistics and Computing 34:44.
   doi:10.1007/s11222-023-10346-0
.. [3] Buckland, S. T., Burnham, K. P. and Augustin, N. H. (1997). Model selection: an
   integral part of inference. Biometrics 53:603-618. doi:10.2307/2533961
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Literal

import numpy as np

# scipy.special's ndtri/ndtr/pdtr are what scipy.stats' norm and poisson call; importing
# scipy.stats itself would add ~0.3 s to every command.
from scipy import special

from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, InputError
from undercount.models.loglinear._design import (
    Model,
    all_hierarchical_models,
    format_model,
    hierarchical_closure,
    main_effects,
    term_columns,
    term_name,
)
from undercount.models.loglinear._fast import Engine, choose, count_python_calls, kernels
from undercount.models.loglinear.existence import (
    ExistenceCheck,
    boundary_cells,
    check_existence,
)

__all__ = [
    "MAX_LISTS_ENUMERATE",
    "USABLE_STATUSES",
    "LogLinearFit",
    "LogLinearProblem",
    "StepwiseResult",
    "mixture_interval",
    "model_average",
    "select_by_criterion",
    "stepwise",
    "stepwise_estimate",
]

#: Exhaustive AIC/BIC search and averaging are offered up to this many lists.
MAX_LISTS_ENUMERATE = 5
#: Largest table the log-linear engine accepts (2^J - 1 cells).
MAX_LISTS = 15

NonOverlap = Literal["fix", "exclude"]

#: Fit statuses whose estimate enters selection and averaging.
USABLE_STATUSES = ("ok", "ok_zero_cells")


@dataclass(frozen=True, eq=False)
class LogLinearFit:
    """One model's check and fit. ``status`` as in :class:`~undercount.core.result.ModelRecord`.

    Arrays cover the cells used in the fit (``keep`` indexes the observable cells, code
    ``keep + 1``); ``terms`` are the estimated columns after the intercept; ``fixed_terms``
    are fixed at minus infinity (zero observed margin).
    """

    model: Model
    spec: str
    status: str
    reason: str = ""
    keep: np.ndarray | None = None
    terms: tuple[int, ...] = ()
    fixed_terms: tuple[int, ...] = ()
    beta: np.ndarray | None = None
    cov: np.ndarray | None = None
    mu: np.ndarray | None = None
    loglik: float = math.nan
    deviance: float = math.nan
    df: int | None = None
    n_params: int = 0
    aic: float = math.nan
    bic: float = math.nan
    estimate: float = math.nan
    boundary: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.status in USABLE_STATUSES

    @property
    def se_log_n0(self) -> float:
        return math.sqrt(max(float(self.cov[0, 0]), 0.0)) if self.cov is not None else math.nan

    def criterion(self, name: str) -> float:
        return self.aic if name == "aic" else self.bic


class LogLinearProblem:
    """A capture table prepared for fitting many hierarchical log-linear models.

    Parameters
    ----------
    table : CaptureTable
        Aggregated table over J >= 3 lists.
    non_overlap : {"fix", "exclude"}
        What to do with a model term whose observed margin is zero (two lists that never
        overlap, say): ``"fix"`` it at minus infinity by removing the cells that contain
        it (SparseMSE / Chan, Silverman & Vincent 2021; the model is reported with status
        ``"ok_zero_cells"``), or ``"exclude"`` the model (status ``"excluded"``).
    engine : {"python", "compiled"}, optional
        How the fitting and rank kernels are called (:func:`._fast.kernels`); by default
        :func:`._fast.choose` decides from the table's size and how many plain kernel calls
        this process has made. Both ways run the same code and give the same numbers.
    """

    def __init__(
        self, table: CaptureTable, non_overlap: NonOverlap = "fix", engine: Engine | None = None
    ) -> None:
        J = table.n_lists
        if J > MAX_LISTS:
            raise ConfigError(
                f"log-linear models support at most {MAX_LISTS} lists (2^J - 1 cells); "
                f"this table has {J}. Merge or drop lists first"
            )
        self.table = table
        self.J = J
        self.lists = tuple(table.lists)
        self.non_overlap = non_overlap
        full = table.full_counts().astype(np.float64)
        self.y = full[1:].copy()
        self.y.flags.writeable = False
        self.n = float(self.y.sum())
        self.n_observed = int(table.n_observed)
        self.log_n = math.log(self.n)
        self._lgam = special.gammaln(self.y + 1.0)
        # nstar[t]: observed margin of term t = count of people on every list of t.
        nstar = full.copy()
        for b in range(J):
            bit = 1 << b
            idx = np.arange(2**J)
            sel = (idx & bit) == 0
            nstar[idx[sel]] += nstar[idx[sel] | bit]
        self.nstar = nstar
        empty = [self.lists[j] for j, t in enumerate(main_effects(J)) if nstar[t] == 0]
        if empty:
            raise InputError(
                f"{table.source}: list(s) {', '.join(empty)} contain no records; drop them "
                "before estimating"
            )
        self._cache: dict[Model, LogLinearFit] = {}
        self._cells = [format(c, f"0{J}b") for c in range(1, 2**J)]
        self.engine: Engine = choose(len(self.y)) if engine is None else engine
        kernels(self.engine)  # an unknown engine fails here, not at the first fit
        # The full design over all terms fits in memory for J <= 10; above that columns
        # are built per term.
        if J <= 10:
            codes = np.arange(1, 2**J)
            terms = np.arange(2**J)
            self._master = ((codes[:, None] & terms[None, :]) == terms[None, :]).astype(float)
        else:
            self._master = None

    # ----------------------------------------------------------------------------------
    def cell_label(self, index: int) -> str:
        """Pattern string of observable cell ``index`` (code ``index + 1``)."""
        return self._cells[index]

    def spec(self, model: Model) -> str:
        return format_model(model, self.J, self.lists)

    def term_names(self, terms: Iterable[int]) -> list[str]:
        return [term_name(t, self.lists) for t in terms]

    def design(self, terms: Sequence[int], keep: np.ndarray | None = None) -> np.ndarray:
        """Intercept plus ``terms`` on the cells ``keep`` (all observable cells if None)."""
        if self._master is not None:
            cols = np.array((0, *terms), dtype=np.int64)
            return self._master[:, cols] if keep is None else self._master[np.ix_(keep, cols)]
        X = np.column_stack([np.ones(len(self.y)), term_columns(self.J, list(terms))])
        return X if keep is None else X[keep]

    def zero_margin_terms(self, model: Model) -> tuple[int, ...]:
        return tuple(t for t in model if self.nstar[t] == 0)

    def _reduce(self, model: Model) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...]]:
        """Cells kept, estimated terms and fixed (minus infinity) terms of a model."""
        fixed = self.zero_margin_terms(model)
        if not fixed:
            return np.arange(len(self.y)), model, ()
        codes = np.arange(1, 2**self.J)
        drop = np.zeros(len(codes), dtype=bool)
        for t in fixed:
            drop |= (codes & t) == t
        terms = tuple(t for t in model if t not in fixed)
        return np.flatnonzero(~drop), terms, fixed

    def _fixed_reason(self, fixed: tuple[int, ...], keep: np.ndarray) -> str:
        minimal = [t for t in fixed if not any(u != t and u & t == u for u in fixed)]
        names = ", ".join(term_name(t, self.lists) for t in minimal)
        removed = sorted(set(range(len(self.y))) - set(keep.tolist()))
        return (
            f"no case is on all lists of {names}: interaction fixed at -inf, cells "
            f"{', '.join(self._cells[i] for i in removed)} removed"
        )

    def check(self, model: Model) -> tuple[int, str]:
        """``checkident`` code of ``model`` (0 ok, 1 no MLE, 2 not identifiable, 3 both).

        Zero-margin terms are fixed at minus infinity first (as in SparseMSE), whatever
        ``non_overlap`` says; with ``"exclude"`` such models are rejected by callers.
        """
        keep, terms, fixed = self._reduce(model)
        chk = self._check(self.design(terms, keep), self.y[keep], not fixed)
        return chk.code, chk.method

    def _check(self, X: np.ndarray, y: np.ndarray, all_cells: bool) -> ExistenceCheck:
        if self.engine == "python":
            count_python_calls()
        return check_existence(X, y, all_cells=all_cells,
                               column_rank=kernels(self.engine).column_rank)

    def fit(
        self,
        model: Model,
        *,
        beta0: np.ndarray | None = None,
        explain: bool = True,
    ) -> LogLinearFit:
        """Check and fit one model (cached). ``beta0``: warm start for the estimated terms."""
        hit = self._cache.get(model)
        if hit is not None and (explain or hit.usable):
            return hit
        spec = self.spec(model)
        k = len(model) + 1
        keep, terms, fixed = self._reduce(model)
        base = {"model": model, "spec": spec, "n_params": k, "terms": terms,
                "fixed_terms": fixed, "keep": keep}
        status_ok, reason_ok = "ok", ""
        if fixed:
            reason_ok = self._fixed_reason(fixed, keep)
            if self.non_overlap == "exclude":
                out = LogLinearFit(status="excluded", reason=reason_ok.split(":")[0]
                               + ": the extended MLE of that interaction is -inf; model "
                               "excluded (non_overlap='exclude')", **base)
                self._cache[model] = out
                return out
            status_ok = "ok_zero_cells"
        X = self.design(terms, keep)
        y = self.y[keep]
        chk = self._check(X, y, not fixed)
        if chk.code:
            if chk.code & 2:
                out = LogLinearFit(
                    status="not_identifiable",
                    reason=(
                        f"design not of full column rank (deficiency {chk.rank_deficiency})"
                        + ("; MLE does not exist either" if chk.code & 1 else "")
                        + (f"; {reason_ok}" if reason_ok else "")
                    ),
                    **base,
                )
            else:
                cells: tuple[str, ...] = ()
                if explain:
                    cells = tuple(self._cells[keep[i]] for i in boundary_cells(X, y))
                reason = "MLE does not exist (Fienberg-Rinaldo)"
                if cells:
                    reason += f": zero cells on the boundary face: {', '.join(cells)}"
                out = LogLinearFit(status="mle_not_found", reason=reason, boundary=cells, **base)
            self._cache[model] = out
            return out
        warm = beta0 is not None and len(beta0) == X.shape[1]
        b0 = np.asarray(beta0, dtype=float) if warm else np.zeros(X.shape[1])
        if self.engine == "python":
            count_python_calls()
        try:
            beta, mu, cov, dev, conv, _ = kernels(self.engine).newton_poisson(
                X, y, b0, warm, 1e-12, 200)
        except Exception as exc:  # LinAlgError from a singular information matrix
            out = LogLinearFit(status="failed", reason=f"fit failed: {exc}", **base)
            self._cache[model] = out
            return out
        if not conv or not np.all(np.isfinite(beta)):
            out = LogLinearFit(status="failed", reason="IRLS did not converge", **base)
            self._cache[model] = out
            return out
        pos = y > 0
        loglik = float(np.sum(y[pos] * np.log(mu[pos])) - mu.sum() - self._lgam[keep].sum())
        out = LogLinearFit(
            status=status_ok, reason=reason_ok, beta=beta, cov=cov, mu=mu, loglik=loglik,
            deviance=float(dev), df=int(len(keep) - X.shape[1]),
            aic=-2 * loglik + 2 * k, bic=-2 * loglik + k * self.log_n,
            estimate=self.n + math.exp(beta[0]), **base,
        )
        self._cache[model] = out
        return out

    def wald(self, fit: LogLinearFit, level: float) -> tuple[float, float]:
        """Wald interval on log(N - n); an upper bound beyond float range is ``inf``."""
        z = special.ndtri(0.5 + level / 2)
        b, se = float(fit.beta[0]), fit.se_log_n0
        return self.n + _safe_exp(b - z * se), self.n + _safe_exp(b + z * se)


def _safe_exp(x: float) -> float:
    return math.exp(x) if x < 709.0 else math.inf


# --------------------------------------------------------------------------------------
def select_by_criterion(
    problem: LogLinearProblem,
    criterion: Literal["aic", "bic"],
    max_order: int | None = None,
) -> tuple[LogLinearFit | None, list[LogLinearFit]]:
    """Fit every hierarchical model (J <= 5) and return the usable one with least criterion.

    Ties are broken by enumeration order (fewer, lower-order terms first). Returns
    ``(best, all_fits)``; ``best`` is None when no model is usable.
    """
    J = problem.J
    if J > MAX_LISTS_ENUMERATE:
        raise ConfigError(
            f"select={criterion!r} fits every hierarchical model, which is offered for at "
            f"most {MAX_LISTS_ENUMERATE} lists (this table has {J}); use select='stepwise'"
        )
    fits = [problem.fit(m) for m in all_hierarchical_models(J, max_order)]
    usable = [f for f in fits if f.usable]
    if not usable:
        return None, fits
    best = min(usable, key=lambda f: f.criterion(criterion))
    return best, fits


@dataclass(frozen=True)
class StepwiseResult:
    fit: LogLinearFit
    path: tuple[dict, ...]
    fits: tuple[LogLinearFit, ...]


def stepwise(problem: LogLinearProblem, pthresh: float = 0.02) -> StepwiseResult:
    """Forward stepwise selection of two-list interactions (Chan, Silverman & Vincent 2021).

    Algorithm (SparseMSE 2.0.1 ``stepwisefit``): start from the main-effects model. At each
    step, for every two-list term ``(i, j)`` not yet in the model, compare its observed
    margin ``n*_ij`` (people on both lists) with its Poisson distribution under the current
    fit, mean ``lambda_ij = sum of fitted values of the cells on both lists``; the p-value
    is ``min(P(X <= n*), P(X >= n*))``. A candidate whose model fails the existence /
    identifiability check (with zero-margin terms fixed at minus infinity) gets p = 1. The
    term with the smallest p-value is added (ties: first pair in the order (1,2), (1,3),
    ..., (J-1,J)) when it is below ``pthresh``; otherwise the search stops. ``pthresh = 0``
    returns the main-effects model; ``pthresh = 1`` returns the all-two-way model when
    it passes the check (SparseMSE's special case). With ``non_overlap='exclude'`` a pair
    with zero margin is never added.

    Only candidates in increasing order of p-value are checked, until the first that
    passes: this selects the same term as checking all of them, at a fraction of the cost.
    :func:`stepwise_estimate` runs the same search compiled, for the estimate alone (the
    bootstrap's inner loop).
    """
    J = problem.J
    mains = main_effects(J)
    pairs = [(1 << (J - 1 - i)) | (1 << (J - 1 - j)) for i, j in combinations(range(J), 2)]
    nstar = np.array([problem.nstar[t] for t in pairs])
    included = np.zeros(len(pairs), dtype=bool)
    fits: list[LogLinearFit] = []
    path: list[dict] = []

    def model_of(inc: np.ndarray) -> Model:
        # Main effects then pairs in (i, j) order is already the column order.
        return mains + tuple(p for p, s in zip(pairs, inc, strict=True) if s)

    current = problem.fit(mains)
    fits.append(current)
    if not current.usable:
        return StepwiseResult(current, (), tuple(fits))
    if pthresh <= 0:
        return StepwiseResult(current, (), tuple(fits))
    if pthresh >= 1:
        full = problem.fit(hierarchical_closure(pairs, J))
        if full.usable:
            fits.append(full)
            return StepwiseResult(full, (), tuple(fits))
    codes = np.arange(1, 2**J)
    pair_arr = np.array(pairs, dtype=np.int64)
    pair_cells = ((codes[:, None] & pair_arr[None, :]) == pair_arr[None, :]).astype(float)
    for _ in range(len(pairs)):
        # Expected margin of each pair under the current fit (cells it keeps).
        lam = current.mu @ pair_cells[current.keep]
        lower = special.pdtr(nstar, lam)
        upper = np.where(nstar > 0, special.pdtrc(np.maximum(nstar - 1, 0), lam), 1.0)
        pval = np.minimum(lower, upper)
        pval[included] = 1.0
        order = sorted(np.flatnonzero(~included), key=lambda j: (pval[j], j))
        chosen = None
        for j in order:
            if pval[j] >= pthresh:
                break
            trial = included.copy()
            trial[j] = True
            model = model_of(trial)
            if problem.nstar[pairs[j]] == 0 and problem.non_overlap == "exclude":
                fits.append(problem.fit(model))
                continue
            code, _ = problem.check(model)
            if code == 0:
                chosen = j
                break
            fits.append(problem.fit(model))
        if chosen is None:
            break
        included[chosen] = True
        beta0 = _warm_start(current, model_of(included), problem)
        nxt = problem.fit(model_of(included), beta0=beta0)
        fits.append(nxt)
        path.append({
            "term": term_name(pairs[chosen], problem.lists),
            "p_value": float(pval[chosen]),
            "observed": float(nstar[chosen]),
            "expected": float(lam[chosen]),
            "estimate": nxt.estimate,
        })
        if not nxt.usable:  # cannot happen after a passed check, but never hide it
            break
        current = nxt
    seen: dict[str, LogLinearFit] = {}
    for f in fits:
        seen.setdefault(f.spec, f)
    return StepwiseResult(current, tuple(path), tuple(seen.values()))


def stepwise_estimate(
    counts: np.ndarray, n_lists: int, pthresh: float = 0.02, non_overlap: NonOverlap = "fix"
) -> float | None:
    """N-hat of :func:`stepwise` from the cell counts alone, or None.

    The bootstrap's inner loop: the same search, checks and fits as
    ``stepwise(LogLinearProblem(table, non_overlap), pthresh).fit.estimate``, run in one
    compiled function with no :class:`LogLinearFit` records, model labels or cached designs.
    It returns None (and the caller must run the full search, which also raises the right
    errors) for tables the full search rejects (fewer than 3 or more than ``MAX_LISTS``
    lists, an empty list) and whenever the search reaches a case that needs more than the
    rank tests of :func:`.existence.check_existence` (an SVD or LP), an unusable
    main-effects model, or a failed fit.

    Parameters
    ----------
    counts : array of shape (2^J,) or (2^J - 1,)
        Counts indexed by cell code (:meth:`CaptureTable.full_counts`), with or without the
        unobservable cell 0 (which must be 0).
    n_lists : int
        J.
    """
    J = int(n_lists)
    if not 3 <= J <= MAX_LISTS:
        return None
    y = np.ascontiguousarray(counts, dtype=np.float64)
    if len(y) == 2**J:
        y = y[1:]
    if len(y) != 2**J - 1:
        raise InputError(f"expected {2**J - 1} cell counts for {J} lists, got {len(y)}")
    # Only the bootstrap calls this: its module loads scipy's compiled special functions.
    from undercount.models.loglinear._fast_stepwise import STEP_OK, stepwise_point

    status, est = stepwise_point(y, J, float(pthresh), non_overlap == "exclude")
    return float(est) if status == STEP_OK else None


def _warm_start(prev: LogLinearFit, model: Model, problem: LogLinearProblem) -> np.ndarray | None:
    keep, terms, _ = problem._reduce(model)
    if not np.array_equal(keep, prev.keep):
        return None
    pos = {t: i + 1 for i, t in enumerate(prev.terms)}
    b = np.zeros(len(terms) + 1)
    b[0] = prev.beta[0]
    for i, t in enumerate(terms):
        if t in pos:
            b[i + 1] = prev.beta[pos[t]]
    return b


def model_average(
    fits: Sequence[LogLinearFit], weights: Literal["aic", "bic"] = "aic"
) -> tuple[float, np.ndarray, list[LogLinearFit]]:
    """Akaike/Schwarz-weighted average of N-hat over the usable models.

    ``w_m = exp(-Delta_m / 2) / sum exp(-Delta / 2)``, ``Delta_m`` = criterion minus its
    minimum; ``N_avg = sum w_m N_m`` (Buckland, Burnham & Augustin 1997).
    """
    usable = [f for f in fits if f.usable]
    crit = np.array([f.criterion(weights) for f in usable])
    w = np.exp(-(crit - crit.min()) / 2)
    w /= w.sum()
    est = float(np.sum(w * np.array([f.estimate for f in usable])))
    return est, w, usable


def mixture_interval(
    n: float, fits: Sequence[LogLinearFit], w: np.ndarray, level: float
) -> tuple[float, float]:
    """Quantiles of the weighted mixture of the models' Wald-log distributions of N.

    Under model m, ``log(N - n) ~ Normal(beta0_m, se_m^2)`` (the Wald-log interval's
    distribution); the averaged interval is the central ``level`` interval of the mixture
    ``sum_m w_m`` of these, so a model with small weight but a long tail widens it
    (Buckland et al. 1997's motivation) while bounds are never averaged.
    """
    from scipy import optimize  # ~0.13 s to import, for model averages only

    mu = np.array([float(f.beta[0]) for f in fits])
    sd = np.array([max(f.se_log_n0, 1e-12) for f in fits])

    def cdf(t: float) -> float:
        return float(np.sum(w * special.ndtr((t - mu) / sd)))

    out = []
    for q in (0.5 - level / 2, 0.5 + level / 2):
        lo, hi = float(np.min(mu - 12 * sd)), float(np.max(mu + 12 * sd))
        t = optimize.brentq(lambda t, q=q: cdf(t) - q, lo, hi, xtol=1e-12)
        out.append(n + _safe_exp(t))
    return out[0], out[1]
