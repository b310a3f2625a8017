r"""Bayesian model averaging over decomposable graphical models (Madigan & York 1997; R dga).

The estimator enumerates every decomposable graph on the J lists, computes the exact joint
posterior of (graph, N) on a grid of N, and averages. It reproduces R dga 2.0.2's
``bma.cr`` to the printed digit when given dga's fixed grid (``n_missing=(lo, hi)``), and by
default grows its own grid until the posterior mass it leaves out is provably negligible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from scipy.special import digamma

from undercount.core.choices import DgaPrior
from undercount.core.constraints import AtLeast, HalfOpen, Open, Positive
from undercount.core.draws import group_draws, n_draws
from undercount.core.estimator import Estimator
from undercount.core.result import (
    CLOSED_POPULATION,
    LINKED_WITHOUT_ERROR,
    NOT_IDENTIFIED,
    NOT_IDENTIFIED_PREFIX,
    Diagnostic,
    Interval,
    ModelRecord,
    MSEResult,
)
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, EstimationError
from undercount.models.graphical._marginal import (
    LogPrior,
    SubsetTerms,
    inverse_log_prior,
    negbin_log_prior,
)
from undercount.models.graphical._posterior import (
    HARD_MAX_M,
    Posterior,
    evaluate_block,
    grow_grid,
    screen_graphs,
)
from undercount.models.graphical.graphs import (
    MAX_ENUMERATED_LISTS,
    DecomposableGraph,
    coefficient_matrix,
    decomposable_graphs,
)

__all__ = ["GraphicalEstimator", "GraphicalResult"]

#: Graphs with at least this posterior probability get a ModelRecord and an entry in
#: :attr:`GraphicalResult.model_probabilities`; every graph's probability is in
#: :attr:`GraphicalResult.graph_probabilities`.
REPORT_MIN_PROBABILITY = 1e-6

_ASSUMPTIONS = (
    CLOSED_POPULATION,
    "People are exchangeable given the graph: capture probabilities do not vary between "
    "people beyond what the list dependence structure expresses.",
    "List dependence is one of the decomposable graphical models; the graphs are equally "
    "likely a priori and the cell probabilities have a hyper-Dirichlet prior.",
    LINKED_WITHOUT_ERROR,
)


@dataclass(frozen=True, kw_only=True, eq=False)
class GraphicalResult(MSEResult):
    """An :class:`MSEResult` that also carries the exact posterior of N and of the graphs.

    The posterior lives in ``draws`` (a ``posterior_grid`` group, see
    :mod:`undercount.core.draws`), read through these properties (empty when the draws were
    dropped, as in a stored copy):

    n_values : ndarray of int64
        The grid of N (consecutive integers).
    pmf : ndarray of float64
        Posterior probability of each N on the grid (sums to 1 over the grid).
    graph_names : tuple of str
        Every decomposable graph, in dga's notation.
    graph_probabilities : ndarray
        Posterior probability of each graph.
    graph_means : ndarray
        E[N | graph] on the grid.

    Attributes
    ----------
    mean, mode : float
        Posterior mean (over the grid: see ``mean_exists``) and mode of N.
    mean_exists : bool or None
        Whether the posterior mean is finite (None: unknown, for a custom prior).
    delta : float
        The hyper-Dirichlet mass used.
    prior : str
    top_model, top_model_probability, n_graphs
        The most probable graph, its probability, and the number of graphs.
    grid : list of int
        First and last N of the grid.
    mass_beyond_grid, mass_below_grid : float
        Posterior mass beyond the grid's end (a bound) and below its start (fixed grids).
    model_probabilities : dict
        Probability of each graph above :data:`REPORT_MIN_PROBABILITY`.

    :meth:`conf_int` gives the equal-tailed interval at another level, exactly, from the
    grid.
    """

    mean: float = math.nan
    mode: float = math.nan
    mean_exists: bool | None = None
    delta: float = math.nan
    prior: str = ""
    top_model: str = ""
    top_model_probability: float = math.nan
    n_graphs: int = 0
    grid: list[int] = field(default_factory=list)
    mass_beyond_grid: float = 0.0
    mass_below_grid: float = 0.0
    model_probabilities: dict[str, float] = field(default_factory=dict)

    methods: ClassVar[tuple[str, ...]] = ("dga",)
    json_fields: ClassVar[tuple[str, ...]] = (
        "mean", "mode", "mean_exists", "delta", "prior", "top_model", "top_model_probability",
        "n_graphs", "grid", "mass_beyond_grid", "mass_below_grid", "model_probabilities",
    )

    def _grid(self, name: str, empty: np.ndarray) -> np.ndarray:
        groups = self.draws.groups() if self.draws is not None else ()
        if "posterior_grid" not in groups:
            return empty
        return np.asarray(self.draws.posterior_grid[name])

    @property
    def n_values(self) -> np.ndarray:
        return self._grid("N", np.zeros(0, dtype=np.int64))

    @property
    def pmf(self) -> np.ndarray:
        return self._grid("probability", np.zeros(0))

    @property
    def graph_names(self) -> tuple[str, ...]:
        return tuple(str(g) for g in self._grid("graph", np.zeros(0, dtype=str)))

    @property
    def graph_probabilities(self) -> np.ndarray:
        return self._grid("graph_probability", np.zeros(0))

    @property
    def graph_means(self) -> np.ndarray:
        return self._grid("graph_mean", np.zeros(0))

    def cdf(self) -> np.ndarray:
        return np.cumsum(self.pmf)

    def quantile(self, q: float | np.ndarray) -> np.ndarray | float:
        """Smallest N on the grid whose posterior CDF reaches ``q`` (as dga users compute it)."""
        return _quantile(self.n_values, np.cumsum(self.pmf), q)

    def sample(self, size: int, *, rng: np.random.Generator) -> np.ndarray:
        """Independent draws of N from the exact (gridded) posterior (as
        ``n_draws(result, rng=rng, size=size)``)."""
        return n_draws(self, rng=rng, size=size).astype(self.n_values.dtype)

    def conf_int(self, level: float) -> Interval:
        """Equal-tailed credible interval at ``level`` from the grid (exact; the upper end is
        unbounded when the mass beyond the grid could reach the upper tail)."""
        if self.pmf.size == 0:
            raise ValueError("this result carries no posterior grid (a stored copy?)")
        alpha = (1.0 - level) / 2.0
        lower, upper = (float(v) for v in self.quantile([alpha, 1 - alpha]))
        if self.mass_beyond_grid >= alpha:
            upper = math.inf
        return Interval(lower, upper, level, "posterior quantiles")


def _quantile(n_values: np.ndarray, cdf: np.ndarray, q: float | np.ndarray) -> Any:
    # A relative slack of 1e-12 keeps a CDF that lands exactly on q (up to rounding) on the
    # lower N, as exact arithmetic would.
    idx = np.searchsorted(cdf, np.asarray(q, dtype=float) * cdf[-1] * (1 - 1e-12), side="left")
    idx = np.minimum(idx, n_values.size - 1)
    return n_values[idx]


@dataclass(frozen=True, kw_only=True)
class GraphicalEstimator(Estimator):
    r"""Decomposable graphical model averaging (Madigan & York 1997), as in R's dga.

    Parameters
    ----------
    delta : float, optional
        Total prior mass of each hyper-Dirichlet cell, :math:`\delta`; default :math:`2^{-J}`
        (dga's suggestion). Large values pull every graph towards the saturated model.
    prior : {"inverse", "negbin", "custom"}
        Prior on N: :math:`\propto 1/N` (dga's default), the negative binomial of Madigan &
        York (``prior_params=(a, b)``), or ``log_prior``.
    prior_params : (float, float), optional
        ``(a, b)`` of the negative-binomial prior (both positive).
    log_prior : callable, optional
        With ``prior="custom"``: maps a float array of N to log prior weights (up to a
        constant). It must be finite for every N >= n.
    n_missing : (int, int), optional
        A fixed grid ``lo..hi`` (inclusive) of the number missing, as dga's ``Nmissing``.
        Everything is then conditional on the grid, as in dga; a diagnostic reports the
        posterior mass the grid leaves out (bounded as below). Default: the grid grows.
    n_missing_max : int, optional
        Cap on the growing grid. If the mass beyond the cap is not negligible, a warning
        diagnostic says how much; the interval's upper end becomes unbounded when that mass
        exceeds :math:`(1 - \text{level})/2`.
    tail_mass : float
        The grid grows until the posterior mass beyond it is below this fraction.
    level : float
        Credible level of the equal-tailed interval.
    max_lists : int
        Largest number of lists accepted (at most 6: all 18,154 decomposable graphs).

    Notes
    -----
    Each decomposable graph g on the lists, with cliques :math:`\mathcal C_g` and separators
    :math:`\mathcal S_g`, and each number missing :math:`m = N - n` get the joint posterior

    .. math::

        p(g, m \mid \mathbf y) \propto p(N)\,\frac{N!}{m!\,\prod_c y_c!}\,
        \frac{\prod_{C\in\mathcal C_g}\mathrm{DM}(\mathbf y_C)}
             {\prod_{S\in\mathcal S_g}\mathrm{DM}(\mathbf y_S)},

    with Dirichlet-multinomial margins :math:`\mathrm{DM}` (see
    :mod:`undercount.models.graphical._marginal`) and a uniform prior over graphs; the
    posterior is normalised jointly over graphs and m. The estimate is the posterior median
    of N, the interval the equal-tailed credible interval, both the smallest N whose CDF
    reaches the probability; the mean and mode are ``result.mean`` and ``result.mode``.

    **The grid cannot truncate silently.** For large m, graph g's posterior decays like
    :math:`m^{e_g}` under the 1/N prior (the exponent is exact: the joint posterior is a
    ratio of equally many Gamma functions of m) and faster than geometrically under the
    negative-binomial prior. If some :math:`e_g \ge -1` the posterior is improper and the fit
    is refused. The grid starts at ``[0, M)`` with M the first power of two at or above
    max(1024, 4n) and doubles. After each block, the mass of each graph beyond the grid end M
    is bounded by :math:`B\rho/(1-\rho)`, where B is its mass in the last dyadic block
    ``[M/2, M)`` and :math:`\rho` the larger of the ratio of its last two dyadic blocks and
    the asymptotic ratio :math:`2^{e_g+1}`; this is a geometric majorant of the remaining
    dyadic blocks, exact in the power-law limit and conservative while the block ratios
    are non-increasing towards it. (For a custom prior only the observed ratio is known.)
    The grid stops growing when the bounds, summed over the graphs, are below ``tail_mass``
    of the mass on the grid. Graphs whose bounds together stay under a tenth of
    ``tail_mass`` are dropped from later blocks, their bound counted in the total.

    Under the 1/N prior the posterior mean of N is infinite when some graph has
    :math:`e_g \ge -2` (typically the saturated graph when :math:`\delta \le 2^{-J}`);
    ``result.mean`` is then the mean over the grid, ``result.mean_exists`` is False and a
    diagnostic says so.

    References
    ----------
    .. [1] Madigan, D. and York, J. C. (1997). Bayesian methods for estimation of the size of
       a closed population. *Biometrika* 84:19-31. https://doi.org/10.1093/biomet/84.1.19
    .. [2] Johndrow, J., Lum, K. and Ball, P. (2025). dga: Capture-Recapture Estimation using
       Bayesian Model Averaging. R package version 2.0.2.
       https://CRAN.R-project.org/package=dga
    """

    method: ClassVar[str] = "dga"
    stochastic: ClassVar[bool] = False

    delta: Annotated[float, Positive()] | None = None
    prior: Literal[DgaPrior, "custom"] = "inverse"
    prior_params: tuple[float, float] | None = None
    log_prior: Callable[[np.ndarray], np.ndarray] | None = None
    n_missing: tuple[int, int] | None = None
    n_missing_max: Annotated[int, AtLeast(1)] | None = None
    tail_mass: Annotated[float, HalfOpen(0, 1e-2)] = 1e-6
    level: Annotated[float, Open(0, 1)] = 0.95
    max_lists: int = MAX_ENUMERATED_LISTS

    def __post_init__(self) -> None:
        super().__post_init__()
        name = type(self).__name__
        if self.prior == "negbin":
            ok = (
                self.prior_params is not None
                and len(self.prior_params) == 2
                and all(math.isfinite(v) and v > 0 for v in self.prior_params)
            )
            if not ok:
                raise ConfigError(
                    f"{name}: prior='negbin' needs prior_params=(a, b) with a, b > 0, "
                    f"got {self.prior_params!r}"
                )
        elif self.prior_params is not None:
            raise ConfigError(f"{name}: prior_params is only used with prior='negbin'")
        if self.prior == "custom" and not callable(self.log_prior):
            raise ConfigError(f"{name}: prior='custom' needs a callable log_prior")
        if self.prior != "custom" and self.log_prior is not None:
            raise ConfigError(f"{name}: log_prior is only used with prior='custom'")
        if self.n_missing is not None:
            ok = (
                len(self.n_missing) == 2
                and all(isinstance(v, int | np.integer) for v in self.n_missing)
                and 0 <= self.n_missing[0] <= self.n_missing[1]
            )
            if not ok:
                raise ConfigError(
                    f"{name}: n_missing={self.n_missing!r} must be (lo, hi) integers with "
                    "0 <= lo <= hi"
                )
            if self.n_missing_max is not None:
                raise ConfigError(f"{name}: give n_missing or n_missing_max, not both")
        if not (3 <= self.max_lists <= MAX_ENUMERATED_LISTS):
            raise ConfigError(
                f"{name}: max_lists={self.max_lists!r} must be 3 to {MAX_ENUMERATED_LISTS} "
                "(the graphs are enumerated exhaustively)"
            )

    # ------------------------------------------------------------------ fitting
    def _log_prior(self) -> LogPrior:
        if self.prior == "negbin":
            assert self.prior_params is not None
            return negbin_log_prior(*self.prior_params)
        if self.prior == "custom":
            user = self.log_prior
            assert user is not None

            def wrapped(n_total: np.ndarray) -> np.ndarray:
                out = np.asarray(user(np.asarray(n_total, dtype=float)), dtype=float)
                if out.shape != np.shape(n_total):
                    raise ConfigError(
                        f"log_prior returned shape {out.shape} for {np.shape(n_total)} values"
                    )
                return out

            return wrapped
        return inverse_log_prior

    def _screen(
        self,
        weights: np.ndarray,
        terms: SubsetTerms,
        log_prior: LogPrior,
        exponents: np.ndarray | None,
    ) -> tuple[np.ndarray, float, np.ndarray]:
        """Graphs worth computing, a bound on the mass of the rest (a tenth of the tolerance
        at most) and per-graph bounds on the total mass (see ``_posterior.screen_graphs``)."""
        if self.prior == "negbin":
            assert self.prior_params is not None
            a, b = self.prior_params
            shift = math.log(b) - math.log1p(b)

            def slope(n_total: np.ndarray) -> np.ndarray:
                return shift + digamma(n_total + a) - digamma(n_total + 1.0)

            factor: np.ndarray | float = math.log(2.0 * (1.0 + b))
        else:
            assert exponents is not None

            def slope(n_total: np.ndarray) -> np.ndarray:
                return -1.0 / n_total

            factor = math.log(HARD_MAX_M) - np.log(-exponents - 1.0)
        log_upper, log_lower = screen_graphs(weights, terms, log_prior, slope, factor)
        order = np.argsort(log_upper)
        csum = np.logaddexp.accumulate(log_upper[order])
        k = int(np.searchsorted(csum, log_lower + math.log(0.1 * self.tail_mass), side="left"))
        if k == 0:
            return np.arange(weights.shape[0]), -math.inf, log_upper
        return np.sort(order[k:]), float(csum[k - 1]), log_upper

    def _fit(self, table: CaptureTable, *, rng: np.random.Generator | None) -> MSEResult:
        j = table.n_lists
        if j < 3:
            raise EstimationError(
                f"{table.source}: dga needs at least 3 lists, got {j}. With two lists the only "
                "graphs are independence and the saturated model, whose N the data cannot "
                "identify (its posterior is the prior's), so the average would be driven by "
                "delta and the prior. Use the Lincoln-Petersen / Chapman estimator."
            )
        if j > self.max_lists:
            raise ConfigError(
                f"{table.source}: {j} lists exceed max_lists={self.max_lists}. dga-style "
                f"averaging enumerates every decomposable graph, done here for up to "
                f"{MAX_ENUMERATED_LISTS} lists (18,154 graphs; 7 lists have 617,675). "
                "Merge or select lists (CaptureTable.select_lists)."
            )
        delta = float(self.delta) if self.delta is not None else 2.0**-j
        terms = SubsetTerms.from_counts(table.full_counts(), delta)
        n = terms.n_observed
        graphs = decomposable_graphs(j)
        names = tuple(g.name for g in graphs)
        weights = coefficient_matrix(j)
        log_prior = self._log_prior()
        diagnostics: list[Diagnostic] = []
        diagnostics += _overlap_diagnostics(table)

        exponents = None
        rho_asym = None
        if self.prior == "inverse":
            exponents = weights @ terms.tail_exponent_terms() + n - 1.0
            improper = np.flatnonzero(exponents >= -1.0)
            if improper.size:
                shown = ", ".join(f"{names[i]} (N^{exponents[i]:.3g})" for i in improper[:5])
                raise EstimationError(
                    f"{table.source}: the posterior of N is improper under the 1/N prior: "
                    f"for graph(s) {shown} it decays no faster than 1/N. The lists barely "
                    "overlap; use a proper prior (prior='negbin') or a larger delta."
                )
            rho_asym = (exponents + 1.0) * math.log(2.0)
        elif self.prior == "custom":
            diagnostics.append(
                Diagnostic(
                    "dga_custom_prior_tail",
                    "With a custom prior on N the grid's tail bound uses the observed decay "
                    "of the posterior only (its asymptotic rate is unknown).",
                    "info",
                )
            )

        fixed = self.n_missing is not None
        if fixed:
            assert self.n_missing is not None
            m_lo, m_first = int(self.n_missing[0]), int(self.n_missing[1]) + 1
            m_max = None
        else:
            m_lo = 0
            m_first = 1 << max(10, math.ceil(math.log2(max(4 * n, 1))))
            m_max = self.n_missing_max
            if m_max is not None:
                m_first = min(m_first, m_max + 1)
        active0, log_excluded, log_upper = None, -math.inf, None
        if not fixed and self.prior != "custom":
            active0, log_excluded, log_upper = self._screen(weights, terms, log_prior, exponents)
        try:
            post = grow_grid(
                weights,
                terms,
                log_prior,
                rho_asym,
                m_lo=m_lo,
                m_first=m_first,
                tail_mass=self.tail_mass,
                m_max=m_max,
                grow=not fixed,
                active0=active0,
                log_excluded=log_excluded,
                log_upper=log_upper,
            )
        except FloatingPointError as exc:
            raise ConfigError(f"{type(self).__name__}: {exc}") from exc

        log_below = -math.inf
        if fixed and m_lo > 0:
            below = evaluate_block(weights, terms, log_prior, 0, m_lo, [])
            log_below = _lse(below.seg_logmass[:, -1])
        return self._result(
            table, terms, names, post, exponents, log_below, delta, fixed, diagnostics
        )

    def _result(
        self,
        table: CaptureTable,
        terms: SubsetTerms,
        names: tuple[str, ...],
        post: Posterior,
        exponents: np.ndarray | None,
        log_below: float,
        delta: float,
        fixed: bool,
        diagnostics: list[Diagnostic],
    ) -> GraphicalResult:
        n = terms.n_observed
        log_z = post.log_total
        log_all = float(np.logaddexp(np.logaddexp(log_z, post.log_tail), log_below))
        if post.log_tail == math.inf:
            frac_above = 1.0  # no bound: treat everything beyond as possibly there
        elif math.isfinite(post.log_tail):
            frac_above = math.exp(post.log_tail - log_all)
        else:
            frac_above = 0.0
        frac_below = math.exp(log_below - log_all) if math.isfinite(log_below) else 0.0

        pmf = np.exp(post.col_log - _lse(post.col_log))
        pmf /= pmf.sum()
        n_values = np.arange(post.m_lo, post.m_hi, dtype=np.int64) + n
        cdf = np.cumsum(pmf)
        alpha = (1.0 - self.level) / 2.0
        median, lower, upper = (float(v) for v in _quantile(n_values, cdf, [0.5, alpha, 1 - alpha]))
        mode = float(n_values[int(np.argmax(pmf))])
        mean = float(np.dot(pmf, n_values.astype(float)))

        grid_text = f"N = {n_values[0]:,} to {n_values[-1]:,} ({n_values.size:,} values)"
        if fixed:
            cut = frac_above + frac_below
            sev = "warning" if cut > self.tail_mass else "info"
            diagnostics.append(
                Diagnostic(
                    "dga_fixed_grid",
                    f"Fixed grid {grid_text}: every number is conditional on N lying on it. "
                    f"The grid leaves out posterior mass {frac_below:.3g} below and at most "
                    f"{frac_above:.3g} above (bound).",
                    sev,
                )
            )
        elif post.hit_limit:
            msg = (
                f"The grid stopped at {grid_text} (the cap n_missing_max="
                f"{self.n_missing_max if self.n_missing_max is not None else HARD_MAX_M - 1}) "
                f"with posterior mass up to {frac_above:.3g} beyond it; the estimates are "
                "conditional on the grid."
            )
            if frac_above >= 0.5:
                raise EstimationError(msg + " The posterior median lies beyond the grid.")
            if frac_above >= alpha:
                upper = math.inf
                msg += " The interval's upper end may lie beyond the grid: reported unbounded."
            diagnostics.append(Diagnostic("dga_grid_truncated", msg, "warning"))
        else:
            diagnostics.append(
                Diagnostic(
                    "dga_grid",
                    f"Grid {grid_text}; posterior mass beyond it is at most {frac_above:.2g} "
                    f"(tolerance {self.tail_mass:g}).",
                    "info",
                )
            )

        probs = np.exp(post.graph_logmass - log_z)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.exp(post.graph_log_nmass - post.graph_logmass)
        mean_exists: bool | None = None
        if exponents is not None:
            heavy = exponents >= -2.0
            mean_exists = not bool(heavy.any())
            if not mean_exists:
                w = float(probs[heavy].sum())
                shown = ", ".join(names[i] for i in np.flatnonzero(heavy)[:3])
                diagnostics.append(
                    Diagnostic(
                        "dga_mean_infinite",
                        f"The posterior mean of N is infinite: under the 1/N prior graph(s) "
                        f"{shown} (posterior probability {w:.2g} together) have tails decaying "
                        "no faster than N^-2. The reported mean is the mean over the grid; "
                        "the median and interval are unaffected.",
                        "warning" if w > self.tail_mass else "info",
                    )
                )
        else:
            mean_exists = True if self.prior == "negbin" else None

        diagnostics += _identification_diagnostics(names, table.n_lists, probs, alpha)
        order = np.argsort(-probs, kind="stable")
        shown_idx = [int(i) for i in order if probs[i] >= REPORT_MIN_PROBABILITY]
        models = tuple(
            ModelRecord(
                model=names[i],
                estimate=float(means[i]),
                weight=float(probs[i]),
                status="ok",
                extra=({"tail_exponent": float(exponents[i])} if exponents is not None else {}),
            )
            for i in shown_idx
        )
        top = names[int(order[0])]
        return GraphicalResult(
            method=self.method,
            model="model average",
            estimate=median,
            interval=Interval(lower, upper, self.level, "posterior quantiles"),
            n_observed=n,
            lists=table.lists,
            models=models,
            diagnostics=tuple(diagnostics),
            settings=self.get_params() | {"delta": delta},
            assumptions=_ASSUMPTIONS,
            draws=group_draws(
                "posterior_grid",
                {"probability": (("N",), pmf), "graph_probability": (("graph",), probs),
                 "graph_mean": (("graph",), means)},
                coords={"N": n_values, "graph": list(names)},
                attrs={"posterior": True, "median": median, "mean": mean, "mode": mode,
                       "level": self.level},
            ),
            mean=mean,
            mode=mode,
            mean_exists=mean_exists,
            delta=delta,
            prior=self.prior,
            top_model=top,
            top_model_probability=float(probs[order[0]]),
            n_graphs=len(names),
            grid=[int(n_values[0]), int(n_values[-1])],
            mass_beyond_grid=frac_above,
            mass_below_grid=frac_below,
            model_probabilities={names[i]: float(probs[i]) for i in shown_idx},
        )


def _lse(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    mx = float(np.max(x)) if x.size else -math.inf
    if not math.isfinite(mx):
        return mx
    return mx + math.log(float(np.sum(np.exp(x - mx))))


def _identification_diagnostics(
    names: Sequence[str], n_lists: int, probs: np.ndarray, alpha: float
) -> list[Diagnostic]:
    r"""Mark the average as not identified when the saturated graph carries its tail.

    The saturated (complete) graph has every interaction, the J-way one included, so the
    observed patterns say nothing about N under it: its posterior of N is its prior's shape
    (Aleshin-Guendel, Sadinle & Wakefield 2024). Once its posterior probability exceeds
    :math:`\alpha` (the interval's tail on one side), at least one end of the interval, and
    with more than one half the median, are the prior's, not the data's.
    """
    saturated = DecomposableGraph(n_lists, (), ((1 << n_lists) - 1,), ()).name
    p_sat = float(sum(p for name, p in zip(names, probs, strict=True) if name == saturated))
    if p_sat <= alpha:
        return []
    return [Diagnostic(
        NOT_IDENTIFIED,
        f"{NOT_IDENTIFIED_PREFIX}: the saturated graph {saturated}, under which the "
        f"lists say nothing about the people on none of them, has posterior probability "
        f"{p_sat:.2g}, so the "
        f"{'median and the interval rest' if p_sat >= 0.5 else 'interval rests'} on "
        "the prior of N. Not shown as an estimate; a smaller delta or more lists can identify "
        "it.",
        "warning",
    )]


def _overlap_diagnostics(table: CaptureTable) -> list[Diagnostic]:
    """Lists that share no record with any other list (dga's check.strata warns on these)."""
    pats = table.patterns.astype(bool)
    multi = pats.sum(axis=1) >= 2
    out = []
    for j, name in enumerate(table.lists):
        if not np.any(table.counts[multi & pats[:, j]] > 0):
            out.append(
                Diagnostic(
                    "dga_no_overlap",
                    f"List {name!r} shares no record with any other list, so the data say "
                    "nothing about its dependence on them; the estimate rests on the prior.",
                    "warning",
                )
            )
    return out
