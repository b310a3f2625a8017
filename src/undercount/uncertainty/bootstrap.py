"""Bootstrap intervals for N that include the uncertainty of model selection.

Given a deterministic estimator (for instance log-linear BIC or stepwise selection), each
replicate resamples the observed table and **re-runs the whole estimator, selection
included**, so the spread of the replicates reflects which model gets picked as well as the
sampling noise within a model (Silverman, Chan & Vincent 2024).

Resampling
----------
*Nonparametric* (the class's default): the observed cell counts ``n_w`` are resampled as
``Multinomial(n, n_w / n)`` conditional on the observed total n (SparseMSE's
``estimatepopulation``). *Parametric*: the fitted model's cell probabilities are used
instead: ``Multinomial(N_hat, mu_w / N_hat)`` over all ``2^J`` cells including the
unobserved one, which is then discarded (so n varies between replicates).

The parametric resample's *world* is by default the bootstrapped estimator's own fit. A
selection's own fit is a thresholded one, and Chatterjee & Lahiri (2011) [8]_ show that
resampling from a thresholded fit cures the bootstrap after selection only when the
threshold keeps every real term: a world without an interaction the population has cannot
show how often the selection misses it. ``world`` names another estimator whose fit is the
world, for instance ``LogLinearEstimator(select="aic")``, whose threshold of 2 per parameter
against BIC's ``log n`` keeps weaker interactions while the replicates still re-select by
BIC. The validation battery (``docs/validation.md``, "A resample from the AIC-best model")
measures it as ``bootstrap-aic-world``, and it is the package default's on 3 to 5 lists
(``--resample parametric-aic``, :mod:`undercount.pipeline.registry`). A world that is the
bootstrapped search ranked by the other criterion is read from that search's own model
records, so it costs one model fit, not a second search.

*Augmented* (the package default's beyond 5 lists and in the joint bootstrap over strata,
:mod:`undercount.pipeline.registry`): the observed
people and ``M - n`` unobserved ones, ``M = round(N_hat)``, are resampled together,
``Multinomial(M, (M - n, n_w) / M)``, and the unobserved cell is discarded (Buckland &
Garthwaite 1991 [5]_; Norris & Pollock 1996 [6]_). The nonparametric resample holds n at
its observed value, so its replicates lack the part of the variance of N_hat that comes
from n itself. Where every list is independent and N_hat = n / P(observed), that part is
about ``N pi_0 / (1 - pi_0)`` (``pi_0`` the share unobserved) beside the variance of
estimating P(observed) given n. On three independent lists with N = 1,500 and rates .40,
.30 and .25 (300 tables, 400 replicates each), the nonparametric percentile interval of the
independence model covered N on 89% of tables with a median width of 143; the augmented
one on 97%, median width 176, about as wide as the selected model's profile-likelihood
interval on such tables (median 178 on the validation battery's e2e3). Where few
are observed the two hardly differ: the part from n is then small beside the rest. Like
the nonparametric resample it keeps the observed histories' own frequencies, so it does
not lean on the selected model as the parametric one does.

Intervals
---------
*Percentile*: the ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the replicates.

*BCa* (Efron 1987; DiCiccio & Efron 1996), with SparseMSE's conventions: the bias
correction is ``z0 = Phi^{-1}(#{N*_b < N_hat} / B)``; the acceleration comes from the
jackknife over *distinct capture histories*: for each observed history ``w`` one person is
removed (``n_w - 1``) and the estimator re-run, giving ``N_(w)``; with
``Nbar = sum_w n_w N_(w) / n`` and ``d_w = Nbar - N_(w)``,

.. math:: \\hat a = \\frac{\\sum_w n_w d_w^3}{6 (\\sum_w n_w d_w^2)^{3/2}}.

The interval end points are the replicate quantiles (Hyndman–Fan type 8) at
``Phi(z0 + (z0 + z_alpha) / (1 - a (z0 + z_alpha)))``.

*Smoothed* (Efron 2014 [7]_): the replicates' own spread counts the jumps of a selection
procedure between models, which a small change in the data can flip; averaging the
estimator over the bootstrap (bagging) smooths those jumps, and the variance of the
averaged estimator has a closed form from the same replicates. With ``t*_b = log N*_b``
and ``C*_bw`` the resampled count of cell ``w`` in replicate b, resampled from ``m_w``
people (the observed cells' ``n_w``, and for the augmented resample the unobserved cell's
``M - n`` as well), the covariance of each person's resample count with ``t*`` is
``cov_w / m_w`` with ``cov_w = (1/B) sum_b (C*_bw - C̄_w)(t*_b - t̄*)``, so Efron's
Theorem 1, summed over the ``m_w`` people of each cell, gives

.. math:: \\widetilde{sd}^2 = \\sum_w \\frac{\\mathrm{cov}_w^2}{m_w}
          - (K - 1) \\frac{\\hat\\sigma^2_B}{B},

the second term removing the Monte Carlo bias of the squared covariances: each estimated
``cov_w`` carries an extra variance of about ``m_w (1 - m_w / M) sigma^2 / B``, so over the
``K`` cells with ``m_w > 0`` the bias is ``(K - 1) sigma^2 / B`` (Efron's correction, with
his n people replaced by the K cells they are counted in; ``hat sigma_B^2`` is the
replicates' variance). The interval is ``exp(t̄* ± z sd~)``: on the log scale, where N-hat's
distribution is closer to symmetric. The estimate stays the estimator's own N-hat. The
parametric resample draws from the fitted model, not from the people, and has no such
formula here; a replicate without a finite estimate leaves ``t̄*`` undefined, and the
smoothed interval is then reported unbounded above. Every bootstrap that resamples the
people records ``smoothing`` (``t̄*`` and ``sd~``) whichever interval it reports, so the
two can be compared on the same replicates.

A replicate whose estimate does not exist (the selected model has no finite MLE) is kept as
``+inf``: it sits in the upper tail, and if it reaches the upper quantile the interval is
reported as unbounded rather than silently dropped. Their number is reported.

References
----------
.. [1] Silverman, B. W., Chan, L. and Vincent, K. (2024). Bootstrapping multiple systems
   estimates to account for model selection. Statistics and Computing 34:44.
   doi:10.1007/s11222-023-10346-9
.. [2] Chan, L., Silverman, B. W. and Vincent, K. (2021). Multiple systems estimation for
   sparse capture data: inferential challenges when there are nonoverlapping lists. JASA
   116:1297-1306. doi:10.1080/01621459.2019.1708748
.. [3] DiCiccio, T. J. and Efron, B. (1996). Bootstrap confidence intervals. Statistical
   Science 11:189-228. doi:10.1214/ss/1032280214
.. [4] Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical packages. The
   American Statistician 50:361-365. doi:10.2307/2684934
.. [5] Buckland, S. T. and Garthwaite, P. H. (1991). Quantifying precision of
   mark-recapture estimates using the bootstrap and related methods. Biometrics
   47:255-268. doi:10.2307/2532510
.. [6] Norris, J. L. and Pollock, K. H. (1996). Including model uncertainty in estimating
   variances in multiple capture studies. Environmental and Ecological Statistics
   3:235-244. doi:10.1007/BF00453012
.. [7] Efron, B. (2014). Estimation and accuracy after model selection. JASA
   109:991-1007. doi:10.1080/01621459.2013.823775
.. [8] Chatterjee, A. and Lahiri, S. N. (2011). Bootstrapping lasso estimators. JASA
   106:608-625. doi:10.1198/jasa.2011.tm10159
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

import numpy as np

# ndtri/ndtr are what scipy.stats.norm's ppf/cdf compute; importing scipy.stats would add
# ~0.3 s to every bootstrap.
from scipy import special

from undercount.core.choices import BootstrapInterval, BootstrapResampling
from undercount.core.constraints import AtLeast, Open
from undercount.core.draws import group_draws
from undercount.core.estimator import (
    CellPointEstimator,
    Estimator,
    PointEstimator,
    TopRestrictable,
)
from undercount.core.parallel import available_cores, map_tasks
from undercount.core.result import (
    Diagnostic,
    Interval,
    MSEResult,
    common_kwargs,
    result_from_dict,
)
from undercount.core.table import CaptureTable, patterns_from_codes
from undercount.errors import ConfigError, EstimationError

__all__ = [
    "Bootstrap",
    "BootstrapResult",
    "bca_interval",
    "bca_quantiles",
    "jackknife_acceleration",
    "quantile_type8",
    "replicate_estimate",
    "replicate_estimates",
    "replicate_table",
    "resample_observed",
    "smoothed_interval",
    "smoothed_log_sd",
]


def quantile_type8(x: np.ndarray, probs: np.ndarray | float) -> np.ndarray:
    """Hyndman–Fan type-8 quantiles (median-unbiased; R's ``quantile(type = 8)``).

    Works with ``+inf`` entries (they sort last): a quantile between two of them is +inf,
    not the NaN that interpolating inf - inf gives.
    """
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    p = np.atleast_1d(np.asarray(probs, dtype=float))
    h = (n + 1.0 / 3.0) * p + 1.0 / 3.0
    lo = np.clip(np.floor(h).astype(int), 1, n)
    hi = np.clip(lo + 1, 1, n)
    frac = np.where(h < 1, 0.0, np.where(h >= n, 0.0, h - np.floor(h)))
    a, b = x[lo - 1], x[hi - 1]
    with np.errstate(invalid="ignore"):
        out = np.where((frac == 0) | (a == b), a, a + frac * (b - a))
    out = np.where(h >= n, x[-1], out)
    out = np.where(h < 1, x[0], out)
    return out


def jackknife_acceleration(counts: np.ndarray, jack: np.ndarray) -> float:
    """SparseMSE's acceleration from per-history jackknife estimates, weighted by counts."""
    counts = np.asarray(counts, dtype=float)
    jack = np.asarray(jack, dtype=float)
    if not np.all(np.isfinite(jack)):
        return 0.0
    nbar = np.sum(counts * jack) / counts.sum()
    d = nbar - jack
    denom = 6.0 * np.sum(counts * d**2) ** 1.5
    return float(np.sum(counts * d**3) / denom) if denom > 0 else 0.0


def bca_interval(
    replicates: np.ndarray, estimate: float, acceleration: float, level: float
) -> tuple[float, float, float]:
    """BCa end points and the bias correction ``z0`` (SparseMSE's ``bcaconfvalues``)."""
    reps = np.asarray(replicates, dtype=float)
    prop = float(np.mean(reps < estimate))
    if prop <= 0.0 or prop >= 1.0:
        raise EstimationError(
            f"BCa is undefined: {prop:.0%} of bootstrap replicates fall below the estimate; "
            "use the percentile interval"
        )
    z0 = float(special.ndtri(prop))
    lo, hi = bca_quantiles(reps, z0, acceleration, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi), z0


def bca_quantiles(
    replicates: np.ndarray, z0: float, acceleration: float, probs: np.ndarray | list[float]
) -> np.ndarray:
    r"""BCa's quantiles of N at probabilities ``probs``: the replicates' type-8 quantiles at
    the adjusted probabilities :math:`\Phi(z_0 + (z_0 + z_p) / (1 - a (z_0 + z_p)))`
    (Efron 1987). At uniform ``probs`` they are draws from BCa's distribution of N."""
    za = special.ndtri(np.asarray(probs, dtype=float)) + z0
    return quantile_type8(replicates, special.ndtr(z0 + za / (1 - acceleration * za)))


def smoothed_log_sd(
    resampled: np.ndarray, sizes: np.ndarray, replicates: np.ndarray
) -> tuple[float, float]:
    """Efron's (2014) smoothed estimate and standard deviation of log N-hat (module
    docstring): ``resampled`` holds each replicate's resampled count of every cell (one row
    per replicate), ``sizes`` the number of people each cell was resampled from,
    ``replicates`` N-hat of each replicate (all finite). Returns the mean of log N-hat over
    the replicates and the bias-corrected standard deviation of that mean as a function of
    the data."""
    t = np.log(np.asarray(replicates, dtype=float))
    keep = np.asarray(sizes) > 0
    counts = np.asarray(resampled, dtype=float)[:, keep]
    m = np.asarray(sizes, dtype=float)[keep]
    B = len(t)
    tc = t - t.mean()
    cov = (counts - counts.mean(axis=0)).T @ tc / B
    var = float(np.sum(cov**2 / m)) - (len(m) - 1) * float(tc @ tc / B) / B
    return float(t.mean()), math.sqrt(max(var, 0.0))


def smoothed_interval(centre: float, sd: float, level: float) -> tuple[float, float]:
    """``exp(centre -/+ z sd)``, the smoothed interval on the log scale at ``level``."""
    z = float(special.ndtri((1 + level) / 2))
    return math.exp(centre - z * sd), math.exp(centre + z * sd)


def replicate_estimate(estimator: Estimator, table: CaptureTable) -> float:
    """The estimator's point estimate; +inf when it does not exist for this table."""
    try:
        if isinstance(estimator, PointEstimator):
            return float(estimator.point_estimate(table))
        return float(estimator.fit(table).estimate)
    except EstimationError:
        return math.inf


def replicate_estimates(
    estimator: Estimator, lists: tuple[str, ...], codes: np.ndarray, count_rows: np.ndarray
) -> np.ndarray:
    """Point estimates of resampled tables: row ``i`` of ``count_rows`` holds the counts of
    the patterns ``codes`` (bit codes of observed patterns) in replicate ``i``; +inf where no
    estimate exists (:func:`replicate_table`'s degeneracies, an MLE that does not exist)."""
    out = np.empty(len(count_rows))
    patterns = patterns_from_codes(codes, len(lists))
    if isinstance(estimator, CellPointEstimator):
        cells = estimator._point_estimate_cells
        # Straight from the counts: no table is built for estimators that do not need one.
        J = len(lists)
        member = patterns.astype(np.int64)
        full = np.zeros(2**J, dtype=np.int64)
        for i, counts in enumerate(count_rows):
            n = int(counts.sum())
            sizes = counts @ member
            if n == 0 or np.any(sizes == 0) or np.any(sizes == n):
                out[i] = math.inf  # the degeneracies ``replicate_table`` rejects
                continue
            full[:] = 0
            full[codes] = counts
            try:
                out[i] = float(cells(lists, full))
            except EstimationError:
                out[i] = math.inf
        return out
    for i, counts in enumerate(count_rows):
        keep = counts > 0
        table = replicate_table(lists, patterns[keep], counts[keep])
        out[i] = math.inf if table is None else replicate_estimate(estimator, table)
    return out


def _run_chunk(args: tuple[Estimator, tuple[str, ...], np.ndarray, np.ndarray]) -> np.ndarray:
    return replicate_estimates(*args)


def replicate_table(lists, patterns, counts) -> CaptureTable | None:
    """The capture table of one resample; None when no estimate exists for it."""
    table = CaptureTable(lists=lists, patterns=patterns, counts=counts, source="<bootstrap>")
    # A resample can empty a list, or put everyone on one list: no estimate exists then.
    return None if table.degeneracies() else table


@dataclass(frozen=True, kw_only=True, eq=False)
class BootstrapResult(MSEResult):
    """A deterministic estimator's result with a bootstrap interval.

    The common fields are the estimator's own fit on the data (``base``), except the
    interval (the bootstrap's) and the diagnostics (the base fit's, less its remarks on its
    conditional interval, plus the bootstrap's). ``settings`` are the base estimator's; the
    bootstrap's own are ``bootstrap_settings``. The base family's fields are on ``base``
    (``result.base.fitted``, ...) and in the JSON as before.

    Attributes
    ----------
    base : MSEResult
        The estimator's fit on the data, with its own (conditional) interval.
    replicates : ndarray
        N-hat of each replicate (``+inf`` where none exists); also ``draws.bootstrap["N"]``.
    n_replicates, interval_kind, kind, ntop
        The bootstrap's settings: replicates, ``"bca"``/``"percentile"``/``"smoothed"``,
        ``"augmented"``/``"nonparametric"``/``"parametric"``, re-selection among the top
        models.
    failed : int
        Replicates without a finite estimate.
    acceleration, bias_correction : float, optional
        BCa's jackknife acceleration and bias correction z0.
    replicate_median, replicate_mean, replicate_sd : float
        Of the replicates (the mean and sd of the finite ones).
    smoothed_centre, smoothed_sd : float, optional
        Efron's smoothed mean and standard deviation of log N-hat (module docstring), where
        the people were resampled and every replicate has an estimate.

    JSON: the base family's keys, then ``"bootstrap"`` (the settings and the summary above)
    and ``"replicates"``. :meth:`conf_int` gives the same interval at another level from the
    replicates (exact: BCa reuses the acceleration).
    """

    base: MSEResult
    replicates: np.ndarray
    n_replicates: int
    interval_kind: BootstrapInterval
    kind: BootstrapResampling
    ntop: int | None = None
    failed: int = 0
    bootstrap_settings: dict[str, Any] = field(default_factory=dict)
    acceleration: float | None = None
    bias_correction: float | None = None
    replicate_median: float | None = None
    replicate_mean: float | None = None
    replicate_sd: float | None = None
    smoothed_centre: float | None = None
    smoothed_sd: float | None = None

    methods: ClassVar[tuple[str, ...]] = ("bootstrap",)

    def family_data(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "replicates": self.n_replicates,
            "method": self.interval_kind,
            "kind": self.kind,
            "ntop": self.ntop,
            "failed": self.failed,
            "settings": self.bootstrap_settings,
        }
        if self.interval_kind == "bca":
            info.update(acceleration=self.acceleration, bias_correction=self.bias_correction)
        info["summary"] = {"median": self.replicate_median, "mean": self.replicate_mean,
                           "sd": self.replicate_sd}
        if self.smoothed_sd is not None:
            info["smoothing"] = {"log_centre": self.smoothed_centre, "log_sd": self.smoothed_sd}
        return {**self.base.family_data(), **self.base.extra, "bootstrap": info,
                "replicates": self.replicates}

    def tail_data(self) -> dict[str, Any]:
        return self.base.tail_data()

    @property
    def tied_models(self) -> dict[str, Any] | None:
        # The base fit's tie (its JSON keys are the bootstrap's too): every replicate's
        # re-selection meets the same tie.
        return self.base.tied_models

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BootstrapResult:
        d = dict(data)
        info = d.pop("bootstrap")
        reps = np.asarray([math.inf if r is None else r for r in d.pop("replicates")],
                          dtype=float)
        base = result_from_dict(d)
        kwargs = common_kwargs(dict(data))
        summary = info.get("summary", {})
        smoothing = info.get("smoothing", {})
        return cls(
            **kwargs,
            draws=group_draws("bootstrap", {"N": (("replicate",), reps)},
                              attrs={"posterior": False}),
            base=base,
            replicates=reps,
            n_replicates=info["replicates"],
            interval_kind=info["method"],
            kind=info["kind"],
            ntop=info.get("ntop"),
            failed=info.get("failed", 0),
            bootstrap_settings=info.get("settings", {}),
            acceleration=info.get("acceleration"),
            bias_correction=info.get("bias_correction"),
            replicate_median=summary.get("median"),
            replicate_mean=summary.get("mean"),
            replicate_sd=summary.get("sd"),
            smoothed_centre=smoothing.get("log_centre"),
            smoothed_sd=smoothing.get("log_sd"),
        )

    def conf_int(self, level: float) -> Interval:
        """The bootstrap interval (BCa, percentile or smoothed) at ``level``, from the
        replicates (the smoothed one from their smoothed mean and sd)."""
        if self.interval_kind == "smoothed":
            lo, hi = _smoothed_bounds(self.replicates, self._smoothing(), level)
        elif self.interval_kind == "bca":
            assert self.acceleration is not None
            lo, hi, _ = bca_interval(self.replicates, self.estimate, self.acceleration, level)
        else:
            lo, hi = quantile_type8(self.replicates, [(1 - level) / 2, (1 + level) / 2])
        return Interval(float(lo), float(hi), level, self.interval.method)

    def _smoothing(self) -> tuple[float, float] | None:
        if self.smoothed_centre is None or self.smoothed_sd is None:
            return None
        return self.smoothed_centre, self.smoothed_sd

    def reread(self, interval: Literal["percentile", "smoothed"]) -> BootstrapResult:
        """The same replicates read as another interval, with that interval's diagnostics
        (the battery's paired families: one draw, two intervals)."""
        other = dataclasses.replace(self, interval_kind=interval, acceleration=None,
                                    bias_correction=None)
        iv = dataclasses.replace(other.conf_int(self.interval.level),
                                 method=f"bootstrap {interval}")
        kept = [d for d in self.diagnostics if d.code not in _INTERVAL_NOTES]
        return dataclasses.replace(
            other, interval=iv,
            diagnostics=(*kept, *_interval_notes(interval, iv, self.estimate,
                                                 self._smoothing())),
            bootstrap_settings={**self.bootstrap_settings, "interval": interval})


@dataclass(frozen=True, kw_only=True)
class Bootstrap(Estimator):
    """Bootstrap any deterministic estimator, re-running its model selection each time.

    Parameters
    ----------
    estimator : Estimator
        A deterministic estimator, e.g. ``LogLinearEstimator(select="bic")``.
    replicates : int
        Number of bootstrap replicates (SparseMSE's default is 1,000). The CLI's
        ``--bootstrap N`` and :func:`undercount.estimate`'s ``bootstrap=N`` are this
        number, with ``0`` meaning no bootstrap at all.
    interval : {"bca", "percentile", "smoothed"}
        Smoothed needs a resample of the people (``kind`` not ``"parametric"``).
    kind : {"nonparametric", "augmented", "parametric"}
        How replicates are drawn (module docstring). ``"nonparametric"`` (SparseMSE's)
        holds the number observed fixed; ``"augmented"`` lets it vary by resampling the
        estimated unobserved people with the observed ones.
    world : Estimator or None
        With ``kind="parametric"``: the deterministic estimator whose fitted cell
        probabilities and N-hat the replicates are drawn from (module docstring, the
        resample's world); None, the bootstrapped estimator's own fit. The replicates
        re-run ``estimator``, and the result's estimate is ``estimator``'s.
    level : float
    ntop : int or None
        Restrict re-selection in each replicate to the ``ntop`` best models (by the
        estimator's criterion) on the original data (Silverman, Chan & Vincent 2024): much
        faster, and Table 2 of that paper shows the intervals stabilise by ntop ≈ 10.
        Requires an estimator with a ``restrict_to_top(table, ntop)`` method
        (:class:`~undercount.core.estimator.TopRestrictable`).
    n_jobs : int or None
        Worker processes (default: the available cores). Results do not depend on it.
    """

    method: ClassVar[str] = "bootstrap"
    stochastic: ClassVar[bool] = True

    estimator: Estimator
    replicates: Annotated[int, AtLeast(20)] = 1000
    interval: BootstrapInterval = "bca"
    kind: BootstrapResampling = "nonparametric"
    level: Annotated[float, Open(0, 1)] = 0.95
    ntop: Annotated[int, AtLeast(1)] | None = None
    n_jobs: Annotated[int, AtLeast(1)] | None = None
    world: Estimator | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for role, est in (("estimator", self.estimator), ("world", self.world)):
            if est is not None and type(est).stochastic:
                raise ConfigError(
                    f"Bootstrap needs a deterministic {role}; {type(est).__name__} already "
                    "reports posterior uncertainty"
                )
        if self.world is not None and self.kind != "parametric":
            raise ConfigError(
                f"world is the parametric resample's fitted model; kind={self.kind!r} "
                "resamples the people observed (use kind='parametric')"
            )
        if self.interval == "smoothed" and self.kind == "parametric":
            raise ConfigError(
                "the smoothed interval's variance formula needs a resample of the people; "
                "use kind='augmented' or 'nonparametric' with interval='smoothed'"
            )

    def _fit(self, table: CaptureTable, *, rng: np.random.Generator | None) -> MSEResult:
        assert rng is not None
        base = self.estimator.fit(table)
        estimator = self.estimator
        diagnostics: list[Diagnostic] = []
        if self.ntop is not None:
            if not isinstance(estimator, TopRestrictable):
                raise ConfigError(
                    f"ntop needs an estimator with model selection; "
                    f"{type(estimator).__name__} has none"
                )
            estimator = estimator.restrict_to_top(table, self.ntop, fitted=base)
        full = table.full_counts()
        J = table.n_lists
        codes = np.arange(1, 2**J)
        observed = full[1:]
        if self.kind == "parametric":
            world = base if self.world is None else _fit_world(self.world, table, base)
            probs = _fitted_cell_probs(world, table)
            draws = rng.multinomial(round(world.estimate), probs, size=self.replicates)[:, 1:]
        else:
            draws = resample_observed(rng, observed, self.replicates, self.kind, base.estimate)
        reps = self._map(estimator, table.lists, codes, draws)
        smoothed = None
        if self.kind != "parametric" and np.all(np.isfinite(reps)):
            smoothed = smoothed_log_sd(*_resampled_people(observed, draws, self.kind,
                                                          base.estimate), reps)
        n_inf = int(np.sum(~np.isfinite(reps)))
        if n_inf:
            diagnostics.append(
                Diagnostic(
                    "bootstrap_no_estimate",
                    f"{n_inf} of {self.replicates} bootstrap replicates had no finite "
                    "estimate (an empty list or a selected model without a finite MLE); they "
                    "count as unbounded, in the upper tail",
                )
            )
        a = z0 = None
        jack = None
        if self.interval == "bca":
            jack = self._jackknife(estimator, table)
            a = jackknife_acceleration(table.counts, jack)
            lo, hi, z0 = bca_interval(reps, base.estimate, a, self.level)
        elif self.interval == "smoothed":
            lo, hi = _smoothed_bounds(reps, smoothed, self.level)
        else:
            lo, hi = quantile_type8(reps, [(1 - self.level) / 2, (1 + self.level) / 2])
        iv = Interval(float(lo), float(hi), self.level, f"bootstrap {self.interval}")
        # The base fit's remarks about its own (conditional) interval no longer apply.
        kept = [d for d in base.diagnostics
                if d.code not in ("conditional_interval", *_INTERVAL_NOTES)]
        diagnostics += _interval_notes(self.interval, iv, base.estimate, smoothed)
        finite = reps[np.isfinite(reps)]
        data: dict[str, tuple[tuple[str, ...], Any]] = {"N": (("replicate",), reps)}
        if jack is not None:
            data["jackknife_N"] = (("history",), jack)
        return BootstrapResult(
            method=base.method,
            model=base.model,
            estimate=base.estimate,
            interval=iv,
            n_observed=base.n_observed,
            lists=base.lists,
            models=base.models,
            diagnostics=(*kept, *diagnostics),
            settings=base.settings,
            assumptions=base.assumptions,
            draws=group_draws("bootstrap", data, attrs={"posterior": False}),
            base=base,
            replicates=reps,
            n_replicates=self.replicates,
            interval_kind=self.interval,
            kind=self.kind,
            ntop=self.ntop,
            failed=n_inf,
            bootstrap_settings=_params(self),
            acceleration=a,
            bias_correction=z0,
            replicate_median=float(np.median(reps)),
            replicate_mean=float(finite.mean()) if len(finite) else None,
            replicate_sd=float(finite.std(ddof=1)) if len(finite) > 1 else None,
            smoothed_centre=None if smoothed is None else smoothed[0],
            smoothed_sd=None if smoothed is None else smoothed[1],
        )

    def _map(self, estimator, lists, codes, draws) -> np.ndarray:
        jobs = self.n_jobs or available_cores()
        if jobs <= 1 or len(draws) < 40:
            return _run_chunk((estimator, lists, codes, draws))
        chunks = np.array_split(draws, jobs * 4)
        parts = map_tasks(_run_chunk, [(estimator, lists, codes, c) for c in chunks], jobs)
        return np.concatenate(parts)

    def _jackknife(self, estimator: Estimator, table: CaptureTable) -> np.ndarray:
        jack = np.empty(len(table.counts))
        for i in range(len(table.counts)):
            counts = table.counts.copy()
            counts[i] -= 1
            keep = counts > 0
            t = replicate_table(table.lists, table.patterns[keep], counts[keep])
            jack[i] = math.inf if t is None else replicate_estimate(estimator, t)
        return jack


def _params(boot: Bootstrap) -> dict[str, Any]:
    p = boot.get_params()
    p["estimator"] = type(boot.estimator).__name__
    # the world's own settings say which fit the replicates came from
    p["world"] = None if boot.world is None else {
        "estimator": type(boot.world).__name__,
        **{k: v for k, v in boot.world.get_params().items() if _plain(v)}}
    return p


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, tuple, list))


def resample_observed(
    rng: np.random.Generator, counts: np.ndarray, replicates: int,
    kind: Literal["nonparametric", "augmented"], estimate: float,
) -> np.ndarray:
    """Resampled counts of the observed cells ``counts``, one replicate per row.

    ``"nonparametric"``: ``Multinomial(n, counts / n)``, n = ``counts.sum()``.
    ``"augmented"``: ``Multinomial(M, (M - n, counts) / M)`` with M = round(``estimate``)
    (at least n), the unobserved column dropped (module docstring).
    """
    counts = np.asarray(counts)
    n = int(counts.sum())
    if kind == "nonparametric":
        return rng.multinomial(n, counts / n, size=replicates)
    if not math.isfinite(estimate):
        raise EstimationError(
            "the augmented bootstrap resamples round(N-hat) people, and N-hat is not finite"
        )
    sizes = _augmented_sizes(counts, estimate)
    total = int(sizes.sum())
    return rng.multinomial(total, sizes / total, size=replicates)[:, 1:]


def _augmented_sizes(counts: np.ndarray, estimate: float) -> np.ndarray:
    """The cells the augmented resample draws its people from: the unobserved cell's
    M - n, M = round(``estimate``) (at least n), then the observed ``counts``."""
    n = int(counts.sum())
    return np.concatenate([[max(round(estimate), n) - n], counts])


#: Codes of the diagnostics that describe the bootstrap interval itself (:func:`_interval_notes`).
_INTERVAL_NOTES = ("unbounded_interval", "smoothed_interval")


def _smoothed_bounds(
    replicates: np.ndarray, smoothed: tuple[float, float] | None, level: float
) -> tuple[float, float]:
    """The smoothed interval, or where a replicate had no estimate (no smoothed mean) the
    percentile interval's lower end and no upper one."""
    if smoothed is None:
        return float(quantile_type8(replicates, (1 - level) / 2)[0]), math.inf
    return smoothed_interval(*smoothed, level)


def _interval_notes(
    interval: str, iv: Interval, estimate: float, smoothed: tuple[float, float] | None
) -> list[Diagnostic]:
    """What the reader of a bootstrap interval ``iv`` of kind ``interval`` must be told:
    that it is unbounded above and why, and for the smoothed interval, that it has no spread
    or does not contain the estimate (it is centred on the bagged estimate)."""
    notes = []
    if not math.isfinite(iv.upper):
        notes.append(Diagnostic(
            "unbounded_interval",
            "the bootstrap smoothed interval's upper bound is unbounded: the smoothed "
            "mean of log N-hat needs an estimate in every replicate (the lower end is the "
            "percentile interval's)"
            if interval == "smoothed" else
            f"the bootstrap {interval} interval's upper bound is unbounded: too many "
            "replicates had no finite estimate, or the largest ones run off",
        ))
    if interval == "smoothed" and smoothed is not None:
        centre, sd = smoothed
        if sd == 0.0:
            notes.append(Diagnostic(
                "smoothed_interval",
                "the smoothed interval has no width: the replicates' estimates do not vary "
                "with the resampled counts (after the Monte Carlo bias correction); use the "
                "percentile interval",
            ))
        elif not iv.lower <= estimate <= iv.upper:
            notes.append(Diagnostic(
                "smoothed_interval",
                f"the estimate {estimate:,.1f} lies outside the smoothed interval, which is "
                f"centred on the bagged estimate exp(mean log N*) = {math.exp(centre):,.1f}: "
                "the selection on these data is unstable; report the bagged estimate beside "
                "it",
            ))
    return notes


def _resampled_people(
    counts: np.ndarray, draws: np.ndarray, kind: str, estimate: float
) -> tuple[np.ndarray, np.ndarray]:
    """The resampled count of every cell the people were drawn from, one row per replicate,
    and each cell's size: the observed cells, and for ``"augmented"`` (as
    :func:`resample_observed` draws it) the unobserved cell's M - n first."""
    counts = np.asarray(counts)
    if kind == "nonparametric":
        return draws, counts
    sizes = _augmented_sizes(counts, estimate)
    return np.column_stack([sizes.sum() - draws.sum(axis=1), draws]), sizes


def _fit_world(world: Estimator, table: CaptureTable, base: MSEResult) -> MSEResult:
    """The parametric resample's world fitted on ``table``. A selecting world restricted to
    its best model with ``base``'s records (when ``base`` is the same search, as with the
    AIC-best world of a BIC selection) is the same fit without searching again."""
    selects = getattr(world, "model", None) is None and getattr(world, "select", None) in (
        "aic", "bic")
    if selects and isinstance(world, TopRestrictable):
        world = world.restrict_to_top(table, 1, fitted=base)
    return world.fit(table)


def _fitted_cell_probs(result: MSEResult, table: CaptureTable) -> np.ndarray:
    # A family that can give the parametric bootstrap its cell means names them ``fitted``
    # (LogLinearResult.fitted).
    fitted = getattr(result, "fitted", None)
    if fitted is None:
        raise ConfigError(
            f"a parametric bootstrap needs fitted cell means; the {result.method} result "
            "does not provide them (use kind='nonparametric')"
        )
    mu = np.asarray(fitted, dtype=float)
    if len(mu) != 2**table.n_lists:
        raise ConfigError("fitted cell means must cover all 2^J cells, the unobserved one first")
    return mu / mu.sum()
