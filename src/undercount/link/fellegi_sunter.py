r"""Fellegi–Sunter parameters (m, u, :math:`\lambda`) refitted by EM, and their bootstrap.

Splink trains a Fellegi–Sunter model (:mod:`undercount.link.train`); this module refits a
*plain* one -- conditional independence of the comparisons given the match status, null
levels contributing a factor 1 -- to the comparison-vector levels :math:`\gamma_e` of
scored candidate pairs (Splink's ``gamma_<comparison>`` columns), by EM (Dempster et al.
1977; Winkler 1988), and draws bootstrap replicates of the parameters (Efron and Tibshirani
1993) by resampling the pairs with replacement and re-running EM from the point fit. The
blocked-pairs prior of :mod:`undercount.link.train` and the ``em_bootstrap`` parameter
uncertainty of :class:`undercount.uncertainty.linkage.LinkageAveraging` rest on it (see
that module's docstring for what the refit does and does not capture).

References
----------
.. [1] Fellegi, I. P. and Sunter, A. B. (1969). A theory for record linkage. JASA
   64:1183-1210. doi:10.1080/01621459.1969.10501049
.. [2] Winkler, W. E. (1988). Using the EM algorithm for weight computation in the
   Fellegi–Sunter model of record linkage. Proceedings of the Section on Survey Research
   Methods, ASA, 667-671.
.. [3] Dempster, A. P., Laird, N. M. and Rubin, D. B. (1977). Maximum likelihood from
   incomplete data via the EM algorithm. JRSS B 39:1-38.
   doi:10.1111/j.2517-6161.1977.tb01600.x
.. [4] Efron, B. and Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman &
   Hall. doi:10.1201/9780429246593
.. [5] Linacre, R. et al. (2022). Splink: free software for probabilistic record linkage at
   scale. International Journal of Population Data Science 7(3).
   doi:10.23889/ijpds.v7i3.1794
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from undercount.errors import ConfigError, InputError

__all__ = [
    "GAMMA_PREFIX",
    "FellegiSunter",
    "PairPatterns",
    "comparison_levels",
    "em_bootstrap",
    "fit_em",
    "log_odds",
]

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
        pat = PairPatterns(levels)
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
        return fit_em(pat.G, w, names, tuple(int(x) for x in n_levels), start=start,
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
    pat = PairPatterns(np.asarray(levels))
    n_levels = tuple(max(a, b) for a, b in zip(
        point.n_levels, np.maximum(pat.G.max(axis=0, initial=-1) + 1, 1), strict=True))
    return [pat.bootstrap_fit(point, n_levels, r, pseudo_count, tol, max_iter)
            for r in rng.spawn(n_draws)]


class PairPatterns:
    """Distinct comparison vectors of a set of pairs (``G``), their counts and the map from
    pairs to them (``inverse``).

    EM and the pairs bootstrap work on these: pairs with the same comparison vector are
    exchangeable, so one iteration costs O(distinct vectors x comparisons).
    """

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
        """Sum per-pair ``values`` over the pairs of each distinct vector."""
        return np.bincount(self.inverse, weights=values, minlength=len(self.G))

    def bootstrap_fit(self, point, n_levels, rng, alpha, tol, max_iter) -> FellegiSunter:
        """EM from ``point`` on one multinomial resample of the pairs (see
        :func:`em_bootstrap`)."""
        w = rng.multinomial(self.n, self.counts / self.counts.sum()).astype(float)
        return fit_em(self.G, w, point.comparisons, n_levels, start=point, resp_weight=None,
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
    a = math.log(lam) + lm
    b = math.log1p(-lam) + lu
    with np.errstate(invalid="ignore"):
        return expit(a - b), np.logaddexp(a, b)


def log_odds(fs: FellegiSunter, G: np.ndarray) -> np.ndarray:
    r""":math:`\log\{\lambda/(1-\lambda)\} + \log P(\gamma \mid M) - \log P(\gamma \mid U)`."""
    lm, lu = _log_likelihoods(G, fs.m, fs.u)
    return math.log(fs.lam) - math.log1p(-fs.lam) + (lm - lu)


def _pad(v: np.ndarray, size: int) -> np.ndarray:
    if len(v) >= size:
        return np.asarray(v, dtype=float)
    return np.r_[np.asarray(v, dtype=float), np.full(size - len(v), 1e-6)] / (1 + 1e-6 * (
        size - len(v)))


def fit_em(G, w, names, n_levels, *, start, resp_weight, alpha, tol, max_iter) -> FellegiSunter:
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


