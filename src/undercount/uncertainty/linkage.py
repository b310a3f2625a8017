r"""Linkage averaging: carry the uncertainty of record linkage into the estimate of N.

A fixed linkage (cluster at one match threshold, then estimate) treats the capture table as
known. It is not: a different, equally plausible set of merges changes both n and the
overlaps between lists, and so N-hat. Sadinle (2018) shows how to propagate a posterior over
linkages (bipartite matchings) into population-size estimation. This module implements a
practical approximation for the scored pairs a Fellegi–Sunter model (Splink) produces.

Plausible partitions (the approximation)
----------------------------------------
Given candidate pairs with calibrated match probabilities :math:`p_e`, draw ``M``
partitions by sampling every scored edge independently as a match and clustering the
sampled edges under the cannot-link constraints
(:func:`undercount.link.partitions.sample_partitions`; that module's docstring states the
approximation and its limits: it is not a draw from a joint posterior over partitions).

Fellegi–Sunter parameter uncertainty (``parameter_uncertainty="em_bootstrap"``)
-------------------------------------------------------------------------------
By default the probabilities :math:`p_e` are taken as known, although they rest on
estimated Fellegi–Sunter parameters (:math:`m`, :math:`u`, :math:`\lambda`). With
``em_bootstrap`` every draw :math:`b` first re-draws the parameters, without re-training
Splink:

0. once, a plain Fellegi–Sunter model
   (:class:`undercount.link.fellegi_sunter.FellegiSunter`: conditional independence,
   null levels contributing a factor 1) is fitted by EM to the comparison-vector levels
   :math:`\gamma_e` of all the candidate pairs (Splink's ``gamma_<comparison>`` columns),
   starting from Splink's m and u or from the input probabilities -- the point estimate
   :math:`\hat\theta`;
1. the candidate pairs are resampled with replacement (multinomial weights) and EM is
   run from :math:`\hat\theta` to convergence on the weighted pairs, giving
   :math:`\theta_b`;
2. every pair is re-scored, :math:`p_e^{(b)} = P_{\theta_b}(M \mid \gamma_e)` (calibrated
   with the calibrator fitted on the point refit when labels are given), or, with
   ``em_centre="input"``, the input probability is moved by the replicate's change in
   log-odds, :math:`\operatorname{logit} p_e^{(b)} = \operatorname{logit} p_e +
   \operatorname{logit} P_{\theta_b}(M \mid \gamma_e) - \operatorname{logit}
   P_{\hat\theta}(M \mid \gamma_e)`;
3. the partition is sampled as above (edge sampling, constrained clustering) with
   :math:`p_e^{(b)}`.

So the mixture over draws also integrates over the sampling distribution of the
parameters (a bootstrap approximation to their posterior). Its limits: Splink estimates u
from random record pairs and applies term-frequency adjustments, and its EM sessions run
on other blockings; the refit here is a plain model on the *blocked candidate pairs*, so it
captures the sampling variability of m, u and :math:`\lambda` among those pairs, not the
choice of blocking, the u sampling or the term-frequency adjustments (``em_centre="input"``
keeps the latter in the centre, adding only the spread). The refit assumes the pairs are
*all* the blocked pairs: pairs cut at a score floor are a sample truncated on the
comparison vectors themselves, on which the conditionally independent mixture is badly
misspecified (in a simulation with 5% matches, a floor of 0.01 moved the refit's
probabilities by 0.59 on average, against 0.002 without the floor; a warning says so when
the smallest input probability exceeds 0.001). Blocking is a milder selection of the same
kind (a blocked pair agrees on some blocking key), so even on all blocked pairs the refit
can disagree with Splink; the mean absolute difference is reported, and a warning
recommends ``em_centre="input"`` above 0.05. ``result.em_bootstrap`` reports the point
fit, the spread of :math:`\lambda` across draws and how far the refit's probabilities lie
from the input ones; the per-draw table gains ``em_lambda`` and
``mean_match_probability``.

Calibration
-----------
When some pairs carry clerical-review labels, the probabilities are first calibrated
against them (:class:`undercount.link.calibrate.Calibrator`: isotonic regression or Platt
scaling), fitted on the labelled pairs and applied to all.

Pooling
-------
For each draw the capture table is rebuilt and the estimator fitted; the draws are pooled as
a **mixture** of the per-draw distributions of N, each represented by ``draws_per_fit``
values:

* Bayesian estimators: the posterior draws of N (LCMCR's chains; dga's exact gridded
  posterior), subsampled -- the pooled sample is then the posterior averaged over linkages,
  :math:`p(N \mid y) \approx M^{-1} \sum_m p(N \mid y, \text{linkage}_m)`;
* a bootstrap result: its bootstrap replicates (``result.draws.bootstrap``);
* any other frequentist estimator: a split log-normal on :math:`N - n_m` whose median is
  :math:`\hat N_m` and whose 2.5% and 97.5% quantiles are the interval's ends,
  :math:`N = n_m + \exp(\hat\theta_m + z\,s_{\pm})`, :math:`\hat\theta_m = \log(\hat N_m -
  n_m)`, :math:`s_- = (\hat\theta_m - \log(L_m - n_m))/z_{0.975}` for :math:`z < 0` and
  :math:`s_+ = (\log(U_m - n_m) - \hat\theta_m)/z_{0.975}` otherwise, so that with one
  linkage the pooled interval is the estimator's own. An unbounded upper end gives
  :math:`+\infty` upper-tail values.

The pooled estimate is the median of the mixture and the interval its equal-tailed
quantiles (a mixture interval, wider than a Rubin-style combination when the draws disagree
in location, and never narrower than the within-draw spread). A draw whose estimate does not
exist (EstimationError) contributes ``+inf`` values, as in the bootstrap; their number is
reported.

References
----------
.. [1] Sadinle, M. (2018). Bayesian propagation of record linkage uncertainty into
   population size estimation of human rights violations. Annals of Applied Statistics
   12:1013-1038. doi:10.1214/17-AOAS1104
.. [2] Fellegi, I. P. and Sunter, A. B. (1969). A theory for record linkage. JASA
   64:1183-1210. doi:10.1080/01621459.1969.10501049
.. [3] Niculescu-Mizil, A. and Caruana, R. (2005). Predicting good probabilities with
   supervised learning. ICML 2005, 625-632. doi:10.1145/1102351.1102430
.. [4] Linacre, R. et al. (2022). Splink: free software for probabilistic record linkage at
   scale. International Journal of Population Data Science 7(3).
   doi:10.23889/ijpds.v7i3.1794
.. [5] Winkler, W. E. (1988). Using the EM algorithm for weight computation in the
   Fellegi–Sunter model of record linkage. Proceedings of the Section on Survey Research
   Methods, ASA, 667-671.
.. [6] Dempster, A. P., Laird, N. M. and Rubin, D. B. (1977). Maximum likelihood from
   incomplete data via the EM algorithm. JRSS B 39:1-38.
   doi:10.1111/j.2517-6161.1977.tb01600.x
.. [7] Efron, B. and Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman &
   Hall. doi:10.1201/9780429246593
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from undercount.core.constraints import AtLeast, Open, Positive
from undercount.core.draws import group_draws, n_draws
from undercount.core.estimator import Estimator, check_settings
from undercount.core.parallel import available_cores, map_tasks
from undercount.core.result import Diagnostic, Interval, MSEResult
from undercount.errors import ConfigError, EstimationError, InputError
from undercount.link.calibrate import Calibrator, logit
from undercount.link.cluster import constrained_clusters
from undercount.link.fellegi_sunter import (
    GAMMA_PREFIX,
    FellegiSunter,
    comparison_levels,
)
from undercount.link.fellegi_sunter import PairPatterns as _Patterns
from undercount.link.fellegi_sunter import fit_em as _em
from undercount.link.fellegi_sunter import log_odds as _log_odds
from undercount.link.partitions import sample_partitions, table_from_clusters

__all__ = ["LinkageAveraging", "LinkageAveragingResult", "threshold_sensitivity"]


def _record_columns(
    records: pd.DataFrame, lists: Sequence[str] | None, list_column: str
) -> tuple[tuple[str, ...], np.ndarray]:
    if list_column not in records:
        raise InputError(f"<records>: no {list_column!r} column")
    if "uid" in records and not np.array_equal(
        records["uid"].to_numpy(), np.arange(len(records))
    ):
        raise InputError("<records>: uid must be 0..n-1 in row order")
    names = tuple(lists) if lists is not None else tuple(dict.fromkeys(records[list_column]))
    index = {name: i for i, name in enumerate(names)}
    idx = records[list_column].map(index)
    if idx.isna().any():
        bad = sorted(set(records[list_column][idx.isna()]))
        raise InputError(f"<records>: records from unknown list(s) {bad}; lists are {names}")
    return names, idx.to_numpy(dtype=np.int64)


def _constraints(records: pd.DataFrame, cannot_link: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "national_id" in cannot_link and "national_id" in records:
        nid = records["national_id"]
        if "id_valid" in records:
            nid = nid.where(records["id_valid"].fillna(False).astype(bool), None)
        out["national_id"] = nid
    if "sex" in cannot_link and "sex" in records:
        out["sex"] = records["sex"]
    return out


# ------------------------------------------------------------------------- per-fit draws
def _draws_of_n(
    result: MSEResult, size: int, rng: np.random.Generator, level: float
) -> np.ndarray:
    """``size`` values representing the fit's distribution of N (see the module docstring)."""
    flat = n_draws(result, rng=rng, size=size)
    if flat is not None:
        return rng.choice(flat, size=size, replace=len(flat) < size)
    n = float(result.n_observed)
    est, lo, hi = float(result.estimate), float(result.interval.lower), float(result.interval.upper)
    zq = stats.norm.ppf((1 + result.interval.level) / 2)
    tiny = 1e-9 * max(1.0, n)
    theta = math.log(max(est - n, tiny))
    s_lo = (theta - math.log(max(lo - n, tiny))) / zq
    s_hi = (math.log(hi - n) - theta) / zq if math.isfinite(hi) else math.inf
    z = rng.standard_normal(size)
    with np.errstate(over="ignore", invalid="ignore"):
        out = n + np.exp(theta + np.where(z < 0, z * s_lo, z * s_hi))
    out[(z >= 0) & ~np.isfinite(s_hi)] = math.inf
    return out


# ------------------------------------------------------------------------------ averaging
@dataclass(frozen=True, kw_only=True, eq=False)
class LinkageAveragingResult(MSEResult):
    """N averaged over plausible linkages (:class:`LinkageAveraging`).

    Attributes
    ----------
    n_draws : int
        Plausible linkages M.
    failed : int
        Linkages whose fit gave no estimate (``+inf`` values in the mixture).
    n_observed_range : tuple of int
        Fewest and most people observed over the linkages.
    between_draw_sd : float
        Standard deviation of the per-linkage estimates.
    estimator : str
        The estimator averaged (its class name).
    parameter_uncertainty : str
        ``"none"`` or ``"em_bootstrap"``.
    per_draw : pandas.DataFrame
        One row per linkage: ``n_observed``, ``estimate``, ``lower``, ``upper``,
        ``status`` (and, with ``em_bootstrap``, ``em_lambda``, ``mean_match_probability``).
        JSON: a list of records.
    fixed : dict
        The fixed linkage at ``fixed_threshold``: its ``threshold`` and ``n_observed``.
    em_bootstrap : dict, optional
        With ``em_bootstrap``: the point EM fit, the spread of lambda across draws and how
        far the refit's probabilities lie from the input ones.

    ``draws`` has each linkage's values in a ``linkage`` group (see
    :mod:`undercount.core.draws`); :meth:`conf_int` gives the mixture interval at another
    level.
    """

    n_draws: int
    failed: int
    n_observed_range: tuple[int, int]
    between_draw_sd: float
    estimator: str
    parameter_uncertainty: str
    per_draw: pd.DataFrame = field(default_factory=pd.DataFrame)
    fixed: dict[str, Any] = field(default_factory=dict)
    em_bootstrap: dict[str, Any] | None = None

    methods: ClassVar[tuple[str, ...]] = ("linkage-averaging",)

    def family_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "linkage_averaging": {
                "n_draws": self.n_draws,
                "failed": self.failed,
                "n_observed_range": list(self.n_observed_range),
                "between_draw_sd": self.between_draw_sd,
                "estimator": self.estimator,
                "pooling": "mixture",
                "parameter_uncertainty": self.parameter_uncertainty,
            },
            "per_draw": self.per_draw,
            "fixed": self.fixed,
        }
        if self.em_bootstrap is not None:
            out["em_bootstrap"] = self.em_bootstrap
        return out

    @classmethod
    def family_kwargs(cls, data: dict[str, Any]) -> dict[str, Any]:
        info = data.pop("linkage_averaging")
        return {
            "n_draws": info["n_draws"],
            "failed": info["failed"],
            "n_observed_range": tuple(info["n_observed_range"]),
            "between_draw_sd": info["between_draw_sd"],
            "estimator": info["estimator"],
            "parameter_uncertainty": info["parameter_uncertainty"],
            "per_draw": pd.DataFrame(data.pop("per_draw")),
            "fixed": data.pop("fixed"),
            "em_bootstrap": data.pop("em_bootstrap", None),
        }

    def conf_int(self, level: float) -> Interval:
        """The mixture's equal-tailed interval at ``level``."""
        values = n_draws(self)
        if values is None:
            raise ValueError("this result carries no draws (a stored copy?)")
        alpha = (1 - level) / 2
        lo, hi = np.quantile(values, [alpha, 1 - alpha], method="inverted_cdf")
        return Interval(float(lo), float(hi), level, self.interval.method)


@dataclass(frozen=True, kw_only=True)
class LinkageAveraging:
    r"""Average an estimator over plausible linkages drawn from scored pairs.

    Parameters
    ----------
    estimator : Estimator
        Any estimator (log-linear, latent class, dga, a Bootstrap, ...).
    n_draws : int
        Plausible partitions M.
    draws_per_fit : int
        Values of N representing each draw's fit in the pooled mixture.
    level : float
        Level of the pooled interval.
    calibration : {"none", "isotonic", "platt"}
        How to calibrate the probabilities when labels are given to :meth:`fit`.
    fixed_threshold : float
        Threshold of the fixed linkage reported alongside (``result.fixed``).
    n_jobs : int
        Worker processes for the per-draw fits (1: in process). Results do not depend on it.
    parameter_uncertainty : {"none", "em_bootstrap"}
        ``"none"``: every draw samples edges from the pairs' ``match_probability``.
        ``"em_bootstrap"``: every draw first draws a bootstrap replicate of the
        Fellegi–Sunter parameters (m, u, lambda) refitted by EM on the candidate pairs'
        comparison levels, and re-scores every pair with it before sampling edges (see the
        module docstring). The pairs must then carry ``gamma_<comparison>`` columns.
    em_centre : {"refit", "input"}
        With ``em_bootstrap``: ``"refit"`` samples edges with the re-scored probability
        :math:`P_b(M \mid \gamma_e)` itself; ``"input"`` keeps the input (Splink,
        possibly calibrated) probability and moves its log-odds by the replicate's change,
        :math:`\operatorname{logit} p_e + \operatorname{logit} P_b(M \mid \gamma_e) -
        \operatorname{logit} \hat P(M \mid \gamma_e)`, so that term-frequency
        adjustments and Splink's u estimates are kept and only the sampling variability
        of the refit is added.
    em_pseudo_count : float
        Dirichlet pseudo-count :math:`\alpha > 0` of the EM fits (see
        :class:`FellegiSunter`).

    Notes
    -----
    See the module docstring for the partition sampler, the parameter bootstrap, the
    calibration and the mixture pooling, and their limits.
    """

    estimator: Estimator
    n_draws: Annotated[int, AtLeast(2)] = 50
    draws_per_fit: Annotated[int, AtLeast(1)] = 2000
    level: Annotated[float, Open(0, 1)] = 0.95
    calibration: Literal["none", "isotonic", "platt"] = "none"
    fixed_threshold: float = 0.5
    n_jobs: Annotated[int, AtLeast(1)] = 1
    parameter_uncertainty: Literal["none", "em_bootstrap"] = "none"
    em_centre: Literal["refit", "input"] = "refit"
    em_pseudo_count: Annotated[float, Positive()] = 0.1

    def __post_init__(self) -> None:
        check_settings(self)
        if not isinstance(self.estimator, Estimator):
            raise ConfigError("LinkageAveraging: estimator must be an Estimator")

    def fit(
        self,
        pairs: pd.DataFrame,
        records: pd.DataFrame,
        *,
        lists: Sequence[str] | None = None,
        list_column: str = "list",
        cannot_link: Sequence[str] = ("national_id", "sex"),
        labels: pd.Series | np.ndarray | None = None,
        comparison_columns: Sequence[str] | None = None,
        fs_start: FellegiSunter | Mapping[str, Any] | None = None,
        rng: np.random.Generator,
    ) -> MSEResult:
        """Draw partitions, fit the estimator on each, pool.

        Parameters
        ----------
        pairs : DataFrame
            Scored candidate pairs: ``uid_l``, ``uid_r`` (row positions in ``records``) and
            ``match_probability`` -- e.g. :func:`undercount.link.predict.predict_edges` run
            with a *low* threshold (say 0.01) so that uncertain pairs are included. With
            ``em_bootstrap`` also the ``gamma_<comparison>`` levels, and preferably every
            blocked pair: ``predict_edges(linker, None, comparison_levels=True)``.
        records : DataFrame
            One row per record (row i has uid i) with the list column and, for the
            cannot-links, ``national_id`` (with ``id_valid`` if present) and ``sex`` -- as
            :func:`undercount.link.link_records` returns them.
        lists : sequence of str, optional
            List order (default: order of first appearance).
        cannot_link : sequence of str
            Constraints applied in every draw (as in the fixed linkage).
        labels : array of {0, 1, NaN}, optional
            Clerical-review labels aligned with ``pairs`` (NaN where unlabelled); with
            ``calibration`` set, the probabilities are calibrated against them first.
        comparison_columns : sequence of str, optional
            With ``em_bootstrap``: the comparison-level columns (default: ``gamma_<name>``
            for each comparison of ``fs_start``, else every ``gamma_*`` column).
        fs_start : FellegiSunter or mapping, optional
            With ``em_bootstrap``: where the point EM fit starts -- fitted parameters, or a
            saved Splink model (``LinkSettings.model``; its m and u, with lambda set to the
            mean input probability). Default: one M-step from the input probabilities.
        rng : numpy.random.Generator

        Raises
        ------
        ConfigError
            ``em_bootstrap`` without comparison-level columns (the missing ones are named).
        """
        names, list_idx = _record_columns(records, lists, list_column)
        for col in ("uid_l", "uid_r", "match_probability"):
            if col not in pairs:
                raise InputError(f"<pairs>: no {col!r} column")
        em_levels = None
        if self.parameter_uncertainty == "em_bootstrap":
            em_levels = self._levels(pairs, comparison_columns, fs_start)
        pairs = pairs[["uid_l", "uid_r", "match_probability"]].copy()
        diagnostics: list[Diagnostic] = []
        if labels is not None and self.calibration != "none":
            lab = np.asarray(labels, dtype=float)
            known = ~np.isnan(lab)
            cal = Calibrator(self.calibration).fit(
                pairs["match_probability"].to_numpy()[known], lab[known]
            )
            pairs["match_probability"] = cal.transform(pairs["match_probability"].to_numpy())
            diagnostics.append(Diagnostic(
                "linkage_calibrated",
                f"match probabilities calibrated ({self.calibration}) on {int(known.sum())} "
                "labelled pairs", "info"))
        constraints = _constraints(records, cannot_link)
        part_rng, fit_rng, pool_rng = rng.spawn(3)
        em_info: dict[str, Any] | None = None
        if em_levels is None:
            partitions = sample_partitions(
                pairs, len(records), n_draws=self.n_draws, rng=part_rng, **constraints
            )
        else:
            partitions, em_info, em_draws = self._em_partitions(
                pairs, *em_levels, len(records), constraints, labels, fs_start, part_rng,
                diagnostics,
            )
        tables = [table_from_clusters(c, list_idx, names, source=f"<linkage draw {m}>")
                  for m, c in enumerate(partitions)]
        fit_rngs = fit_rng.spawn(self.n_draws)
        results = self._fit_all(tables, fit_rngs)
        draw_rngs = pool_rng.spawn(self.n_draws)
        pooled, per_draw, n_failed = [], [], 0
        for table, res, r in zip(tables, results, draw_rngs, strict=True):
            if isinstance(res, EstimationError):
                n_failed += 1
                pooled.append(np.full(self.draws_per_fit, math.inf))
                per_draw.append({"n_observed": table.n_observed, "estimate": math.nan,
                                 "lower": math.nan, "upper": math.nan, "status": str(res)})
                continue
            pooled.append(_draws_of_n(res, self.draws_per_fit, r, self.level))
            per_draw.append({"n_observed": table.n_observed, "estimate": res.estimate,
                             "lower": res.interval.lower, "upper": res.interval.upper,
                             "status": "ok"})
        if n_failed == self.n_draws:
            raise EstimationError(
                f"linkage averaging: no draw gave an estimate ({per_draw[0]['status']})"
            )
        if n_failed:
            diagnostics.append(Diagnostic(
                "linkage_draw_failed",
                f"{n_failed} of {self.n_draws} plausible linkages gave no estimate; they "
                "count as unbounded, in the upper tail"))
        values = np.concatenate(pooled)
        alpha = (1 - self.level) / 2
        lo, med, hi = np.quantile(values, [alpha, 0.5, 1 - alpha], method="inverted_cdf")
        frame = pd.DataFrame(per_draw)
        if em_info is not None:
            frame = frame.assign(**em_draws)
        fixed = self._fixed(pairs, records, list_idx, names, constraints)
        params: dict[str, Any] = {
            "n_draws": self.n_draws, "draws_per_fit": self.draws_per_fit,
            "calibration": self.calibration,
            "parameter_uncertainty": self.parameter_uncertainty,
        }
        if em_info is not None:
            params.update(em_centre=self.em_centre, em_pseudo_count=self.em_pseudo_count)
            edge_assumption = (
                "Plausible linkages are approximated by independent edge draws followed by "
                "constrained clustering; the Fellegi–Sunter parameter uncertainty by a pairs "
                "bootstrap of a plain Fellegi–Sunter refit (conditional independence, no "
                "term-frequency adjustments) on the candidate pairs."
            )
        else:
            edge_assumption = (
                "Plausible linkages are approximated by independent edge draws followed by "
                "constrained clustering (no EM-parameter uncertainty)."
            )
        n_obs = int(np.median(frame["n_observed"]))
        return LinkageAveragingResult(
            method="linkage-averaging",
            model=f"{self.estimator.method} averaged over {self.n_draws} linkages",
            estimate=float(med),
            interval=Interval(float(lo), float(hi), self.level, "linkage mixture"),
            n_observed=n_obs,
            lists=names,
            diagnostics=tuple(diagnostics),
            settings=params,
            assumptions=("Match probabilities are calibrated.", edge_assumption),
            draws=group_draws(
                "linkage",
                {"N": (("linkage", "draw"), np.stack(pooled)),
                 "estimate": (("linkage",), frame["estimate"].to_numpy(dtype=float)),
                 "n_observed": (("linkage",), frame["n_observed"].to_numpy())},
                attrs={"posterior": False, "pooling": "mixture"},
            ),
            n_draws=self.n_draws,
            failed=n_failed,
            n_observed_range=(int(frame["n_observed"].min()), int(frame["n_observed"].max())),
            between_draw_sd=float(frame["estimate"].std(ddof=1)),
            estimator=type(self.estimator).__name__,
            parameter_uncertainty=self.parameter_uncertainty,
            per_draw=frame,
            fixed=fixed,
            em_bootstrap=em_info,
        )

    @staticmethod
    def _levels(pairs, columns, fs_start) -> tuple[tuple[str, ...], np.ndarray]:
        if columns is None and fs_start is not None:
            start_names = (
                fs_start.comparisons if isinstance(fs_start, FellegiSunter)
                else [c["output_column_name"] for c in fs_start["comparisons"]]
            )
            columns = [GAMMA_PREFIX + n for n in start_names]
        try:
            return comparison_levels(pairs, columns)
        except ConfigError as exc:
            raise ConfigError(
                f"LinkageAveraging(parameter_uncertainty='em_bootstrap'): {exc}") from None

    def _em_partitions(
        self, pairs, comp_names, levels, n_records, constraints, labels, fs_start, rng,
        diagnostics,
    ) -> tuple[list[np.ndarray], dict[str, Any], dict[str, list]]:
        """Partitions under bootstrap replicates of the Fellegi–Sunter parameters."""
        p_in = pairs["match_probability"].to_numpy(dtype=float)
        pat = _Patterns(levels)
        n_levels = np.maximum(pat.G.max(axis=0, initial=-1) + 1, 1)
        start, resp, how = None, None, "one M-step from the input probabilities"
        if isinstance(fs_start, FellegiSunter):
            start, how = fs_start, "given parameters"
        elif fs_start is not None:
            lam0 = float(np.clip(p_in.mean(), 1e-3, 1 - 1e-3))
            start, how = FellegiSunter.from_splink(fs_start, lam=lam0), "Splink's m and u"
        else:
            resp = pat.pool(p_in)
        if start is not None:
            if len(start.n_levels) != len(n_levels):
                raise ConfigError(
                    f"LinkageAveraging: fs_start has {len(start.n_levels)} comparisons, the "
                    f"pairs {len(n_levels)} level columns")
            n_levels = np.maximum(n_levels, start.n_levels)
        n_levels_t = tuple(int(x) for x in n_levels)
        alpha, tol, max_iter = self.em_pseudo_count, 1e-7, 5000
        point = _em(pat.G, pat.counts, comp_names, n_levels_t, start=start, resp_weight=resp,
                    alpha=alpha, tol=tol, max_iter=max_iter)
        if not point.converged:
            diagnostics.append(Diagnostic(
                "linkage_em_not_converged",
                f"the Fellegi–Sunter EM fit on all pairs did not converge in {max_iter} "
                "iterations"))
        log_odds_point = _log_odds(point, pat.G)
        p_point = expit(log_odds_point)[pat.inverse]
        if p_in.min() > 1e-3:
            diagnostics.append(Diagnostic(
                "linkage_pairs_truncated",
                f"the smallest input match probability is {p_in.min():.3g}: if the pairs were "
                "cut at a score floor, the Fellegi–Sunter refit sees a truncated sample and "
                "its m, u and lambda are biased; pass every blocked pair "
                "(predict_edges(linker, None, comparison_levels=True))"))
        gap = float(np.mean(np.abs(p_point - p_in)))
        if gap > 0.05:
            diagnostics.append(Diagnostic(
                "linkage_em_refit_disagrees",
                f"the Fellegi–Sunter refit's match probabilities differ from the input ones "
                f"by {gap:.3f} on average: the plain model fits these pairs poorly (a score "
                "floor, blocking or term-frequency adjustments); em_centre='input' keeps the "
                "input probabilities and takes only the spread from the bootstrap"))
        cal = None
        if labels is not None and self.calibration != "none" and self.em_centre == "refit":
            lab = np.asarray(labels, dtype=float)
            known = ~np.isnan(lab)
            cal = Calibrator(self.calibration).fit(p_point[known], lab[known])
            diagnostics.append(Diagnostic(
                "linkage_em_calibrated",
                f"re-scored probabilities calibrated ({self.calibration}) on "
                f"{int(known.sum())} labelled pairs (calibrator fitted once, on the point "
                "refit, and applied to every bootstrap replicate)", "info"))
        logit_in = logit(p_in)
        frame = pairs[["uid_l", "uid_r"]].copy()
        partitions, lams, iters, means, not_converged = [], [], [], [], 0
        for r in rng.spawn(self.n_draws):
            boot_rng, edge_rng = r.spawn(2)
            fs_b = pat.bootstrap_fit(point, n_levels_t, boot_rng, alpha, tol, max_iter)
            not_converged += not fs_b.converged
            log_odds = _log_odds(fs_b, pat.G)
            if self.em_centre == "input":
                q = expit(logit_in + (log_odds - log_odds_point)[pat.inverse])
            else:
                q = expit(log_odds)[pat.inverse]
                if cal is not None:
                    q = cal.transform(q)
            frame["match_probability"] = q
            partitions.append(sample_partitions(
                frame, n_records, n_draws=1, rng=edge_rng, **constraints)[0])
            lams.append(fs_b.lam)
            iters.append(fs_b.n_iter)
            means.append(float(np.mean(q)))
        if not_converged:
            diagnostics.append(Diagnostic(
                "linkage_em_not_converged",
                f"{not_converged} of {self.n_draws} bootstrap EM fits did not converge in "
                f"{max_iter} iterations"))
        lam_arr = np.asarray(lams)
        info = {
            "method": "em_bootstrap",
            "centre": self.em_centre,
            "start": how,
            "comparisons": list(comp_names),
            "n_levels": list(n_levels_t),
            "n_pairs": int(pat.n),
            "n_patterns": len(pat.G),
            "pseudo_count": alpha,
            "lambda_point": point.lam,
            "lambda_sd": float(lam_arr.std(ddof=1)),
            "lambda_interval": [float(x) for x in np.quantile(lam_arr, [0.025, 0.975])],
            "em_iterations_point": point.n_iter,
            "em_iterations_max": int(max(iters)),
            "em_not_converged": int(not_converged),
            "refit_vs_input_mean_abs_diff": gap,
            "point": {
                "lam": point.lam,
                "m": {n: v.tolist() for n, v in zip(comp_names, point.m, strict=True)},
                "u": {n: v.tolist() for n, v in zip(comp_names, point.u, strict=True)},
            },
        }
        return partitions, info, {"em_lambda": lams, "mean_match_probability": means}

    def _fit_all(self, tables, rngs) -> list:
        tasks = [(self.estimator, t, r) for t, r in zip(tables, rngs, strict=True)]
        return map_tasks(_fit_one, tasks, self.n_jobs or available_cores())

    def _fixed(self, pairs, records, list_idx, names, constraints) -> dict[str, Any]:
        sel = pairs[pairs["match_probability"] >= self.fixed_threshold]
        cl = constrained_clusters(len(records), sel, **constraints).cluster
        table = table_from_clusters(cl, list_idx, names, source="<fixed linkage>")
        return {"threshold": self.fixed_threshold, "n_observed": table.n_observed}


def _fit_one(task) -> MSEResult | EstimationError:
    estimator, table, rng = task
    try:
        return estimator.fit(table, rng=rng)
    except EstimationError as exc:
        return exc


# ---------------------------------------------------------------------- threshold sweep
def threshold_sensitivity(
    pairs: pd.DataFrame,
    records: pd.DataFrame,
    estimator: Estimator,
    thresholds: Sequence[float] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99),
    *,
    lists: Sequence[str] | None = None,
    list_column: str = "list",
    cannot_link: Sequence[str] = ("national_id", "sex"),
    rng: np.random.Generator | None = None,
) -> pd.DataFrame:
    """The estimate as a function of the match threshold of a fixed linkage.

    Returns one row per threshold: ``threshold``, ``n_observed``, ``estimate``, ``lower``,
    ``upper``, ``status`` (``ok`` or the EstimationError message);
    :func:`undercount.report.plots.plot_threshold_sensitivity` draws it.
    """
    names, list_idx = _record_columns(records, lists, list_column)
    constraints = _constraints(records, cannot_link)
    rows = []
    rngs = (rng or np.random.default_rng(0)).spawn(len(thresholds))
    for t, r in zip(thresholds, rngs, strict=True):
        sel = pairs[pairs["match_probability"] >= t]
        cl = constrained_clusters(len(records), sel, **constraints).cluster
        table = table_from_clusters(cl, list_idx, names, source=f"<threshold {t}>")
        row: dict[str, Any] = {"threshold": float(t), "n_observed": table.n_observed}
        try:
            res = estimator.fit(table, rng=r)
            row.update(estimate=res.estimate, lower=res.interval.lower,
                       upper=res.interval.upper, status="ok")
        except EstimationError as exc:
            row.update(estimate=math.nan, lower=math.nan, upper=math.nan, status=str(exc))
        rows.append(row)
    return pd.DataFrame(rows)
