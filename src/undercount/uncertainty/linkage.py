r"""Linkage averaging: carry the uncertainty of record linkage into the estimate of N.

A fixed linkage (cluster at one match threshold, then estimate) treats the capture table as
known. It is not: a different, equally plausible set of merges changes both n and the
overlaps between lists, and so N-hat. Sadinle (2018) shows how to propagate a posterior over
linkages (bipartite matchings) into population-size estimation. This module implements a
practical approximation for the scored pairs a Fellegi–Sunter model (Splink) produces.

Plausible partitions (the approximation)
----------------------------------------
Given candidate pairs with calibrated match probabilities :math:`p_e`, draw ``M`` partitions:

1. sample every scored edge independently as a match, :math:`Z_e \sim \mathrm{Bernoulli}(p_e)`;
2. cluster the sampled edges with the same greedy constrained single linkage as the fixed
   linkage (:func:`undercount.link.cluster.constrained_clusters`: strongest edges first, a
   merge refused when it would put two different valid national IDs or two recorded sexes
   in one cluster).

This is **not** a draw from a joint posterior over partitions. The edges are sampled as if
independent, and the transitive closure then merges clusters through chains of sampled
edges, so a partition can contain merges that no single probability supports (chaining),
while the cannot-link constraints cut some of them. Sadinle's Bayesian model instead samples
a coherent (bipartite) linkage structure jointly with the model parameters. The
approximation is faithful when the clusters are small and the probabilities are well
calibrated; it is rough when many mid-probability edges chain records together. Pairs
never scored (outside blocking) and pairs below the score floor are treated as certain
non-matches.

Fellegi–Sunter parameter uncertainty (``parameter_uncertainty="em_bootstrap"``)
-------------------------------------------------------------------------------
By default the probabilities :math:`p_e` are taken as known, although they rest on
estimated Fellegi–Sunter parameters (:math:`m`, :math:`u`, :math:`\lambda`). With
``em_bootstrap`` every draw :math:`b` first re-draws the parameters, without re-training
Splink:

0. once, a plain Fellegi–Sunter model (:class:`FellegiSunter`: conditional independence,
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
3. steps 1 and 2 above (edge sampling, constrained clustering) follow with
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
recommends ``em_centre="input"`` above 0.05. ``extra["em_bootstrap"]`` reports the point
fit, the spread of :math:`\lambda` across draws and how far the refit's probabilities lie
from the input ones; the per-draw table gains ``em_lambda`` and
``mean_match_probability``.

Calibration
-----------
Splink's probabilities rest on the conditional-independence assumption of Fellegi–Sunter
and are often over-confident. When some pairs carry clerical-review labels,
:class:`Calibrator` maps the raw probabilities to calibrated ones by isotonic regression
(monotone, non-parametric) or Platt scaling (logistic regression on the raw log-odds), with
scikit-learn, fitted on the labelled pairs and applied to all.

Pooling
-------
For each draw the capture table is rebuilt and the estimator fitted; the draws are pooled as
a **mixture** of the per-draw distributions of N, each represented by ``draws_per_fit``
values:

* Bayesian estimators: the posterior draws of N (LCMCR's chains; dga's exact gridded
  posterior), subsampled -- the pooled sample is then the posterior averaged over linkages,
  :math:`p(N \mid y) \approx M^{-1} \sum_m p(N \mid y, \text{linkage}_m)`;
* a bootstrap result: its bootstrap replicates (``extra["replicates"]``);
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
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from undercount.core.constraints import AtLeast, Open, Positive
from undercount.core.draws import posterior_n
from undercount.core.estimator import Estimator, check_settings
from undercount.core.parallel import available_cores, map_tasks
from undercount.core.result import Diagnostic, Interval, MSEResult
from undercount.core.table import CaptureTable, _patterns_from_codes
from undercount.errors import ConfigError, EstimationError, InputError

__all__ = [
    "Calibrator",
    "FellegiSunter",
    "LinkageAveraging",
    "comparison_levels",
    "em_bootstrap",
    "plot_threshold_sensitivity",
    "sample_partitions",
    "table_from_clusters",
    "threshold_sensitivity",
]


# --------------------------------------------------------------------------- building blocks
def table_from_clusters(
    cluster: np.ndarray,
    list_index: np.ndarray,
    lists: Sequence[str],
    *,
    source: str = "<linkage>",
) -> CaptureTable:
    """The capture table of a partition: one person per cluster, on every list it has a
    record from.

    Parameters
    ----------
    cluster : array of int, shape (n_records,)
        Cluster label of each record (any non-negative integers).
    list_index : array of int, shape (n_records,)
        Position in ``lists`` of each record's list.
    lists : sequence of str
    """
    cluster = np.asarray(cluster, dtype=np.int64)
    list_index = np.asarray(list_index, dtype=np.int64)
    J = len(lists)
    if len(cluster) != len(list_index):
        raise InputError("<linkage>: cluster and list_index differ in length")
    if len(cluster) == 0:
        raise InputError("<linkage>: no records")
    _, dense = np.unique(cluster, return_inverse=True)
    codes = np.zeros(dense.max() + 1 if len(dense) else 0, dtype=np.int64)
    np.bitwise_or.at(codes, dense, np.left_shift(1, J - 1 - list_index))
    full = np.bincount(codes, minlength=2**J)
    observed = np.flatnonzero(full[1:]) + 1
    return CaptureTable(
        lists=tuple(lists),
        patterns=_patterns_from_codes(observed, J),
        counts=full[observed].astype(np.int64),
        source=source,
    )


def sample_partitions(
    pairs: pd.DataFrame,
    n_records: int,
    *,
    n_draws: int,
    rng: np.random.Generator,
    national_id: Any = None,
    sex: Any = None,
    probability: str = "match_probability",
) -> list[np.ndarray]:
    """Draw ``n_draws`` plausible partitions (cluster labels per record); see the module
    docstring for the approximation."""
    from undercount.link.cluster import constrained_clusters

    p = pairs[probability].to_numpy(dtype=float)
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise InputError(f"<pairs>: {probability} must lie in [0, 1]")
    base = pd.DataFrame(
        {
            "uid_l": pairs["uid_l"].to_numpy(dtype=np.int64),
            "uid_r": pairs["uid_r"].to_numpy(dtype=np.int64),
            "match_probability": p,
        }
    )
    out = []
    for _ in range(n_draws):
        keep = rng.random(len(p)) < p
        res = constrained_clusters(n_records, base[keep], national_id=national_id, sex=sex)
        out.append(res.cluster)
    return out


# ------------------------------------------------------------- Fellegi–Sunter parameters
#: Prefix of Splink's comparison-vector columns (``gamma_<comparison>``).
GAMMA_PREFIX = "gamma_"


def comparison_levels(
    pairs: pd.DataFrame, columns: Sequence[str] | None = None
) -> tuple[tuple[str, ...], np.ndarray]:
    """The comparison-vector levels of scored pairs.

    Parameters
    ----------
    pairs : DataFrame
        Pairs with one integer column per comparison: ``-1`` for the null level (a value
        missing on either record), ``0 .. L_c - 1`` otherwise, higher meaning closer
        agreement (Splink's ``gamma_<comparison>`` columns; see
        :func:`undercount.link.predict.predict_edges` with ``comparison_levels=True``).
    columns : sequence of str, optional
        The level columns, in order (default: every column starting with ``gamma_``).

    Returns
    -------
    names : tuple of str
        Comparison names (the column names less the ``gamma_`` prefix).
    levels : ndarray of int, shape (n_pairs, n_comparisons)

    Raises
    ------
    ConfigError
        No level columns, or named columns missing (they are listed).
    InputError
        A level is not an integer of at least -1.
    """
    if columns is None:
        columns = [c for c in pairs.columns if str(c).startswith(GAMMA_PREFIX)]
        if not columns:
            raise ConfigError(
                "<pairs>: no comparison-level columns (gamma_<comparison>) found, so the "
                "Fellegi–Sunter model cannot be refitted; score the pairs with "
                "predict_edges(linker, None, comparison_levels=True). Columns present: "
                f"{list(pairs.columns)}"
            )
    columns = list(columns)
    missing = [c for c in columns if c not in pairs]
    if missing:
        raise ConfigError(
            f"<pairs>: comparison-level column(s) {missing} missing; columns present: "
            f"{list(pairs.columns)}"
        )
    raw = pairs[columns].to_numpy(dtype=float)
    if np.isnan(raw).any() or np.any(raw != np.round(raw)) or np.any(raw < -1):
        bad = [c for c in columns if (pairs[c].isna() | (pairs[c] < -1)
                                      | (pairs[c] != np.round(pairs[c]))).any()]
        raise InputError(f"<pairs>: comparison levels must be integers >= -1 (column(s) {bad})")
    names = tuple(c[len(GAMMA_PREFIX):] if c.startswith(GAMMA_PREFIX) else c for c in columns)
    return names, raw.astype(np.int64)


@dataclass(frozen=True, eq=False)
class FellegiSunter:
    r"""Parameters of a Fellegi–Sunter model: :math:`m`, :math:`u` and :math:`\lambda`.

    Attributes
    ----------
    comparisons : tuple of str
    m, u : tuple of ndarray
        ``m[c][l]`` = :math:`P(\gamma_c = l \mid M)`, ``u[c][l]`` = :math:`P(\gamma_c = l
        \mid U)` for the non-null levels ``l = 0 .. L_c - 1`` (each sums to 1).
    lam : float
        :math:`\lambda = P(M)`, the share of matches among the candidate pairs.
    n_iter, converged, log_posterior :
        From :meth:`fit` (EM iterations, whether the largest parameter change fell below
        ``tol``, and the maximised penalised log-likelihood).

    Notes
    -----
    With conditional independence of the comparisons given the match status, a pair with
    levels :math:`\gamma = (\gamma_1, \dots, \gamma_C)` has

    .. math::

        P(\gamma \mid M) = \prod_{c:\,\gamma_c \ne -1} m_{c,\gamma_c}, \qquad
        P(\gamma \mid U) = \prod_{c:\,\gamma_c \ne -1} u_{c,\gamma_c}, \qquad
        P(M \mid \gamma) = \frac{\lambda P(\gamma \mid M)}
        {\lambda P(\gamma \mid M) + (1 - \lambda) P(\gamma \mid U)},

    a null level (``-1``) contributing a factor 1 to both, as in Fellegi and Sunter
    (1969) and Splink (Linacre et al. 2022).

    :meth:`fit` maximises the penalised log-likelihood

    .. math::

        \sum_e w_e \log\{\lambda P(\gamma_e \mid M) + (1-\lambda) P(\gamma_e \mid U)\}
        + \alpha \Big[\log\lambda + \log(1-\lambda)
        + \sum_{c,l} (\log m_{c,l} + \log u_{c,l})\Big]

    (pair weights :math:`w_e`; :math:`\alpha` = ``pseudo_count``, i.e. the posterior mode
    under Dirichlet(:math:`1+\alpha`) priors, which keeps every probability positive) by EM
    (Dempster et al. 1977; Winkler 1988): the E-step gives every pair its posterior match
    probability :math:`g_e = P(M \mid \gamma_e)`; the M-step sets

    .. math::

        \lambda = \frac{\sum_e w_e g_e + \alpha}{\sum_e w_e + 2\alpha}, \qquad
        m_{c,l} = \frac{\sum_{e:\gamma_{ec}=l} w_e g_e + \alpha}
                       {\sum_{e:\gamma_{ec}\ne -1} w_e g_e + \alpha L_c},

    and :math:`u_{c,l}` alike with :math:`1 - g_e`. Pairs with identical comparison vectors
    are pooled first, so one iteration costs O(distinct vectors x comparisons). The two
    mixture components are identified by agreement: if the fitted "match" component puts
    less mass on high levels than the other (:math:`\sum_c E_m[\gamma_c]/(L_c - 1) <
    \sum_c E_u[\gamma_c]/(L_c - 1)`), they are swapped.
    """

    comparisons: tuple[str, ...]
    m: tuple[np.ndarray, ...]
    u: tuple[np.ndarray, ...]
    lam: float
    n_iter: int = 0
    converged: bool = True
    log_posterior: float = math.nan

    def __post_init__(self) -> None:
        C = len(self.comparisons)
        if len(self.m) != C or len(self.u) != C:
            raise ConfigError("FellegiSunter: one m and one u vector per comparison")
        for name, m, u in zip(self.comparisons, self.m, self.u, strict=True):
            if len(m) != len(u) or len(m) < 1:
                raise ConfigError(f"FellegiSunter: {name}: m and u need the same levels")
            for v in (m, u):
                if np.any(np.asarray(v) < 0) or not math.isclose(float(np.sum(v)), 1.0,
                                                                  abs_tol=1e-6):
                    raise ConfigError(
                        f"FellegiSunter: {name}: probabilities must be >= 0 and sum to 1")
        if not 0 < self.lam < 1:
            raise ConfigError(f"FellegiSunter: lam={self.lam!r} must be in (0, 1)")

    @property
    def n_levels(self) -> tuple[int, ...]:
        """Non-null levels per comparison."""
        return tuple(len(m) for m in self.m)

    @classmethod
    def from_splink(cls, model: Mapping[str, Any], *, lam: float) -> FellegiSunter:
        """Splink's trained m and u (a saved model, e.g. ``LinkSettings.model``).

        Levels are numbered as Splink numbers them: the null level is -1 and the others
        count down from ``L_c - 1`` (first listed, strongest agreement) to 0 ("all other").
        Splink's prior is the match probability of two *random* records, not of a
        candidate pair, so ``lam`` (the share of matches among the candidate pairs) must be
        given. A level Splink left untrained gets a small probability (1e-6) before
        renormalising; this is only ever a starting point for EM.
        """
        names, ms, us = [], [], []
        for comp in model["comparisons"]:
            levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
            m = np.array([lv.get("m_probability") or 1e-6 for lv in levels], dtype=float)[::-1]
            u = np.array([lv.get("u_probability") or 1e-6 for lv in levels], dtype=float)[::-1]
            names.append(comp["output_column_name"])
            ms.append(m / m.sum())
            us.append(u / u.sum())
        return cls(tuple(names), tuple(ms), tuple(us), float(lam))

    def log_bayes_factor(self, levels: np.ndarray) -> np.ndarray:
        r""":math:`\log P(\gamma \mid M) - \log P(\gamma \mid U)` for each row of ``levels``."""
        lm, lu = _log_likelihoods(_check_levels(levels, self.n_levels), self.m, self.u)
        return lm - lu

    def match_probability(self, levels: np.ndarray) -> np.ndarray:
        r""":math:`P(M \mid \gamma)` for each row of ``levels`` (n_pairs x n_comparisons)."""
        lm, lu = _log_likelihoods(_check_levels(levels, self.n_levels), self.m, self.u)
        return _posterior(lm, lu, self.lam)[0]

    def simulate(self, is_match: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
        """Comparison vectors (no null levels) for pairs of known match status."""
        is_match = np.asarray(is_match, dtype=bool)
        out = np.empty((len(is_match), len(self.comparisons)), dtype=np.int64)
        for c, (m, u) in enumerate(zip(self.m, self.u, strict=True)):
            cm, cu = np.cumsum(m), np.cumsum(u)
            draw = rng.random(len(is_match))
            out[:, c] = np.where(
                is_match,
                np.minimum(np.searchsorted(cm, draw, side="right"), len(m) - 1),
                np.minimum(np.searchsorted(cu, draw, side="right"), len(u) - 1),
            )
        return out

    @classmethod
    def fit(
        cls,
        levels: np.ndarray,
        *,
        comparisons: Sequence[str] | None = None,
        weights: np.ndarray | None = None,
        start: FellegiSunter | None = None,
        responsibilities: np.ndarray | None = None,
        pseudo_count: float = 0.1,
        tol: float = 1e-7,
        max_iter: int = 5000,
    ) -> FellegiSunter:
        r"""Fit by EM (see the class Notes).

        Parameters
        ----------
        levels : array of int, shape (n_pairs, n_comparisons)
            Comparison levels, ``-1`` null.
        comparisons : sequence of str, optional
            Names (default: ``start``'s, else ``c0, c1, ...``).
        weights : array of float, shape (n_pairs,), optional
            Pair weights (bootstrap multiplicities; default 1).
        start : FellegiSunter, optional
            Starting parameters (a level count at least the data's).
        responsibilities : array of float, shape (n_pairs,), optional
            Without ``start``: starting posterior match probabilities (e.g. Splink's), from
            which one M-step gives the starting parameters. With neither, the start is
            :math:`\lambda = 0.1`, :math:`m_{c,l} \propto 2^l`, :math:`u_{c,l} \propto 2^{-l}`.
        pseudo_count : float
            :math:`\alpha \ge 0`. With 0 a level absent from the data gets probability 0
            in both components, and a pair at that level an undefined (NaN) probability.
        tol : float
            Stop when no probability moves by more than ``tol`` in an iteration.
        max_iter : int
        """
        levels = np.asarray(levels)
        if levels.ndim != 2:
            raise InputError("<levels>: need a (pairs x comparisons) array")
        pat = _Patterns(levels)
        n_levels = np.maximum(pat.G.max(axis=0, initial=-1) + 1, 1)
        if start is not None:
            if len(start.comparisons) != levels.shape[1]:
                raise ConfigError(
                    f"FellegiSunter.fit: start has {len(start.comparisons)} comparisons, the "
                    f"levels {levels.shape[1]}")
            n_levels = np.maximum(n_levels, start.n_levels)
        names = tuple(comparisons) if comparisons is not None else (
            start.comparisons if start is not None
            else tuple(f"c{c}" for c in range(levels.shape[1])))
        w = pat.pool(np.ones(len(levels)) if weights is None else np.asarray(weights, float))
        resp = None
        if start is None and responsibilities is not None:
            r = np.asarray(responsibilities, dtype=float)
            resp = pat.pool(r * (1.0 if weights is None else np.asarray(weights, float)))
        return _em(pat.G, w, names, tuple(int(x) for x in n_levels), start=start,
                   resp_weight=resp, alpha=pseudo_count, tol=tol, max_iter=max_iter)


def em_bootstrap(
    levels: np.ndarray,
    point: FellegiSunter,
    *,
    n_draws: int,
    rng: np.random.Generator,
    pseudo_count: float = 0.1,
    tol: float = 1e-7,
    max_iter: int = 5000,
) -> list[FellegiSunter]:
    """Bootstrap replicates of the Fellegi–Sunter parameters.

    Each replicate resamples the candidate pairs with replacement (multinomial pair
    weights) and runs EM from ``point`` to convergence on the weighted pairs. Pairs with
    the same comparison vector are exchangeable, so the resampling is done on the counts of
    distinct vectors, which is the same distribution at a fraction of the cost.
    Reproducible: replicate ``b`` uses the ``b``-th of ``rng.spawn(n_draws)``.
    """
    pat = _Patterns(np.asarray(levels))
    n_levels = tuple(max(a, b) for a, b in zip(
        point.n_levels, np.maximum(pat.G.max(axis=0, initial=-1) + 1, 1), strict=True))
    return [pat.bootstrap_fit(point, n_levels, r, pseudo_count, tol, max_iter)
            for r in rng.spawn(n_draws)]


class _Patterns:
    """Distinct comparison vectors of a set of pairs (``G``), their counts and the map from
    pairs to them (``inverse``)."""

    def __init__(self, levels: np.ndarray) -> None:
        levels = np.asarray(levels, dtype=np.int64)
        if levels.size and levels.min() < -1:
            raise InputError("<levels>: levels must be >= -1")
        shifted = levels + 1
        radix = shifted.max(axis=0, initial=0) + 1
        if np.sum(np.log2(np.maximum(radix, 1))) < 62:
            code = np.zeros(len(levels), dtype=np.int64)
            for c in range(levels.shape[1]):
                code = code * radix[c] + shifted[:, c]
            _, first, inverse, counts = np.unique(
                code, return_index=True, return_inverse=True, return_counts=True)
        else:
            _, first, inverse, counts = np.unique(
                levels, axis=0, return_index=True, return_inverse=True, return_counts=True)
        self.G = levels[first]
        self.inverse = inverse.reshape(-1)
        self.counts = counts.astype(float)
        self.n = len(levels)

    def pool(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.inverse, weights=values, minlength=len(self.G))

    def bootstrap_fit(self, point, n_levels, rng, alpha, tol, max_iter) -> FellegiSunter:
        w = rng.multinomial(self.n, self.counts / self.counts.sum()).astype(float)
        return _em(self.G, w, point.comparisons, n_levels, start=point, resp_weight=None,
                   alpha=alpha, tol=tol, max_iter=max_iter)


def _check_levels(levels: np.ndarray, n_levels: Sequence[int]) -> np.ndarray:
    levels = np.asarray(levels, dtype=np.int64)
    if levels.ndim != 2 or levels.shape[1] != len(n_levels):
        raise InputError(f"<levels>: need a (pairs x {len(n_levels)}) array")
    if levels.size and (levels.min() < -1 or np.any(levels.max(axis=0) >= np.asarray(n_levels))):
        raise InputError(f"<levels>: levels must lie in -1 .. L_c - 1 with L = {list(n_levels)}")
    return levels


def _log_likelihoods(G, m, u) -> tuple[np.ndarray, np.ndarray]:
    lm = np.zeros(len(G))
    lu = np.zeros(len(G))
    with np.errstate(divide="ignore"):
        for c in range(G.shape[1]):
            obs = G[:, c] >= 0
            lm[obs] += np.log(m[c])[G[obs, c]]
            lu[obs] += np.log(u[c])[G[obs, c]]
    return lm, lu


def _posterior(lm, lu, lam) -> tuple[np.ndarray, np.ndarray]:
    """Posterior match probability and log marginal likelihood of each vector."""
    from scipy.special import expit

    a = math.log(lam) + lm
    b = math.log1p(-lam) + lu
    with np.errstate(invalid="ignore"):
        return expit(a - b), np.logaddexp(a, b)


def _log_odds(fs: FellegiSunter, G: np.ndarray) -> np.ndarray:
    r""":math:`\log\{\lambda/(1-\lambda)\} + \log P(\gamma \mid M) - \log P(\gamma \mid U)`."""
    lm, lu = _log_likelihoods(G, fs.m, fs.u)
    return math.log(fs.lam) - math.log1p(-fs.lam) + (lm - lu)


def _pad(v: np.ndarray, size: int) -> np.ndarray:
    if len(v) >= size:
        return np.asarray(v, dtype=float)
    return np.r_[np.asarray(v, dtype=float), np.full(size - len(v), 1e-6)] / (1 + 1e-6 * (
        size - len(v)))


def _em(G, w, names, n_levels, *, start, resp_weight, alpha, tol, max_iter) -> FellegiSunter:
    """EM on distinct comparison vectors ``G`` with weights ``w`` (see FellegiSunter)."""
    if alpha < 0:
        raise ConfigError(f"FellegiSunter.fit: pseudo_count={alpha!r} must be >= 0")
    C = G.shape[1]
    obs = [G[:, c] >= 0 for c in range(C)]
    idx = [G[obs[c], c] for c in range(C)]
    total = float(w.sum())
    if total <= 0:
        raise InputError("<levels>: no pairs to fit")

    def m_step(wm, old_m=None, old_u=None):
        wu = w - wm
        lam = (float(wm.sum()) + alpha) / (total + 2 * alpha)
        m, u = [], []
        for c in range(C):
            for weight, out, old in ((wm, m, old_m), (wu, u, old_u)):
                cnt = np.bincount(idx[c], weights=weight[obs[c]], minlength=n_levels[c]) + alpha
                s = cnt.sum()
                # A comparison never observed (all null) carries no information: keep it.
                out.append(cnt / s if s > 0 else (
                    old[c] if old is not None else np.full(n_levels[c], 1 / n_levels[c])))
        return m, u, min(max(lam, 1e-12), 1 - 1e-12)

    if start is not None:
        m = [_pad(start.m[c], n_levels[c]) for c in range(C)]
        u = [_pad(start.u[c], n_levels[c]) for c in range(C)]
        lam = float(start.lam)
    elif resp_weight is not None:
        m, u, lam = m_step(np.clip(resp_weight, 0, w))
    else:
        m = [2.0 ** np.arange(L) / (2.0**L - 1) for L in n_levels]
        u = [v[::-1].copy() for v in m]
        lam = 0.1
    converged, it = False, 0
    while not converged and it < max_iter:
        it += 1
        g, _ = _posterior(*_log_likelihoods(G, m, u), lam)
        m_new, u_new, lam_new = m_step(w * np.nan_to_num(g), m, u)
        delta = max(
            abs(lam_new - lam),
            max(float(np.max(np.abs(a - b))) for a, b in zip(m_new, m, strict=True)),
            max(float(np.max(np.abs(a - b))) for a, b in zip(u_new, u, strict=True)),
        )
        m, u, lam = m_new, u_new, lam_new
        converged = delta < tol
    # Identify the match component by its agreement (see the class Notes).
    def agreement(p):
        return sum(float(np.dot(v, np.arange(len(v)))) / (len(v) - 1) for v in p if len(v) > 1)

    if agreement(m) < agreement(u):
        m, u, lam = u, m, 1 - lam
    _, ll = _posterior(*_log_likelihoods(G, m, u), lam)
    with np.errstate(divide="ignore"):
        penalty = alpha * (math.log(lam) + math.log1p(-lam)
                           + sum(float(np.sum(np.log(v))) for v in (*m, *u)))
    keep = w > 0
    log_post = float(np.sum(w[keep] * ll[keep])) + (penalty if alpha > 0 else 0.0)
    return FellegiSunter(tuple(names), tuple(m), tuple(u), float(lam), n_iter=it,
                         converged=converged, log_posterior=log_post)


@dataclass
class Calibrator:
    """Calibrate match probabilities against labelled pairs (scikit-learn).

    Parameters
    ----------
    method : {"isotonic", "platt"}
        Isotonic regression of the label on the raw probability, or logistic regression on
        the raw log-odds (Platt scaling).
    """

    method: Literal["isotonic", "platt"] = "isotonic"
    _model: Any = None

    def __post_init__(self) -> None:
        if self.method not in ("isotonic", "platt"):
            raise ConfigError(f"Calibrator: method={self.method!r}; choose isotonic or platt")

    @staticmethod
    def _logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))

    def fit(self, probability: np.ndarray, labels: np.ndarray) -> Calibrator:
        """Fit on the labelled pairs' raw probabilities and 0/1 labels."""
        y = np.asarray(labels).astype(int)
        if len(np.unique(y)) < 2:
            raise InputError("<labels>: calibration needs both matches and non-matches")
        if self.method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            self._model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            self._model.fit(np.asarray(probability, dtype=float), y)
        else:
            from sklearn.linear_model import LogisticRegression

            self._model = LogisticRegression(C=1e6)
            self._model.fit(self._logit(probability)[:, None], y)
        return self

    def transform(self, probability: np.ndarray) -> np.ndarray:
        if self._model is None:
            raise ConfigError("Calibrator: call fit() first")
        if self.method == "isotonic":
            return np.asarray(self._model.predict(np.asarray(probability, dtype=float)))
        return self._model.predict_proba(self._logit(probability)[:, None])[:, 1]


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
    flat = posterior_n(result, rng=rng, size=size)
    if flat is not None:
        return rng.choice(flat, size=size, replace=len(flat) < size)
    reps = result.extra.get("replicates") if isinstance(result.extra, dict) else None
    if reps is not None:
        reps = np.asarray(reps, dtype=float)
        return rng.choice(reps, size=size, replace=len(reps) < size)
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
        Threshold of the fixed linkage reported alongside (``extra["fixed"]``).
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
        extra: dict[str, Any] = {
            "linkage_averaging": {
                "n_draws": self.n_draws,
                "failed": n_failed,
                "n_observed_range": [int(frame["n_observed"].min()),
                                     int(frame["n_observed"].max())],
                "between_draw_sd": float(frame["estimate"].std(ddof=1)),
                "estimator": type(self.estimator).__name__,
                "pooling": "mixture",
                "parameter_uncertainty": self.parameter_uncertainty,
            },
            "per_draw": frame,
            "fixed": fixed,
        }
        params: dict[str, Any] = {
            "n_draws": self.n_draws, "draws_per_fit": self.draws_per_fit,
            "calibration": self.calibration,
            "parameter_uncertainty": self.parameter_uncertainty,
        }
        if em_info is not None:
            extra["em_bootstrap"] = em_info
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
        return MSEResult(
            method="linkage-averaging",
            model=f"{self.estimator.method} averaged over {self.n_draws} linkages",
            estimate=float(med),
            interval=Interval(float(lo), float(hi), self.level, "linkage mixture"),
            n_observed=n_obs,
            lists=names,
            diagnostics=tuple(diagnostics),
            params=params,
            assumptions=("Match probabilities are calibrated.", edge_assumption),
            extra=extra,
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
        from scipy.special import expit

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
        logit_in = Calibrator._logit(p_in)
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
        from undercount.link.cluster import constrained_clusters

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
    ``upper``, ``status`` (``ok`` or the EstimationError message).
    """
    from undercount.link.cluster import constrained_clusters

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


def plot_threshold_sensitivity(
    frame: pd.DataFrame, path: str | os.PathLike[str], *, truth: float | None = None
) -> None:
    """Plot :func:`threshold_sensitivity`'s table (estimate, interval, n) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ok = frame[frame["status"] == "ok"]
    upper = ok["upper"].where(np.isfinite(ok["upper"]), np.nan)
    ax.fill_between(ok["threshold"], ok["lower"], upper, alpha=0.25, label="95% interval")
    ax.plot(ok["threshold"], ok["estimate"], "o-", label="estimate")
    ax.plot(frame["threshold"], frame["n_observed"], "s--", color="grey", label="n observed")
    if truth is not None:
        ax.axhline(truth, color="k", lw=1, label="truth")
    ax.set_xlabel("match threshold")
    ax.set_ylabel("N")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
