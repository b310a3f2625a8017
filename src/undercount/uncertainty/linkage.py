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
calibrated; it is rough when many mid-probability edges chain records together. The
uncertainty of the Fellegi–Sunter parameters themselves (an EM bootstrap) is **not**
included: it would need Splink to be re-trained per draw and is left out for cost. Pairs
never scored (outside blocking) and pairs below the score floor are treated as certain
non-matches.

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
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from undercount.core.draws import posterior_n
from undercount.core.estimator import Estimator, check_literals
from undercount.core.result import Diagnostic, Interval, MSEResult
from undercount.core.table import CaptureTable, _patterns_from_codes
from undercount.errors import ConfigError, EstimationError, InputError

__all__ = [
    "Calibrator",
    "LinkageAveraging",
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
    """Average an estimator over plausible linkages drawn from scored pairs.

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

    Notes
    -----
    See the module docstring for the partition sampler, the calibration and the mixture
    pooling, and their limits.
    """

    estimator: Estimator
    n_draws: int = 50
    draws_per_fit: int = 2000
    level: float = 0.95
    calibration: Literal["none", "isotonic", "platt"] = "none"
    fixed_threshold: float = 0.5
    n_jobs: int = 1

    def __post_init__(self) -> None:
        check_literals(self)
        if not isinstance(self.estimator, Estimator):
            raise ConfigError("LinkageAveraging: estimator must be an Estimator")
        if self.n_draws < 2:
            raise ConfigError(f"LinkageAveraging: n_draws={self.n_draws} must be at least 2")
        if not 0 < self.level < 1:
            raise ConfigError(f"LinkageAveraging: level={self.level!r} must be in (0, 1)")

    def fit(
        self,
        pairs: pd.DataFrame,
        records: pd.DataFrame,
        *,
        lists: Sequence[str] | None = None,
        list_column: str = "list",
        cannot_link: Sequence[str] = ("national_id", "sex"),
        labels: pd.Series | np.ndarray | None = None,
        rng: np.random.Generator,
    ) -> MSEResult:
        """Draw partitions, fit the estimator on each, pool.

        Parameters
        ----------
        pairs : DataFrame
            Scored candidate pairs: ``uid_l``, ``uid_r`` (row positions in ``records``) and
            ``match_probability`` -- e.g. :func:`undercount.link.predict.predict_edges` run
            with a *low* threshold (say 0.01) so that uncertain pairs are included.
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
        rng : numpy.random.Generator
        """
        names, list_idx = _record_columns(records, lists, list_column)
        for col in ("uid_l", "uid_r", "match_probability"):
            if col not in pairs:
                raise InputError(f"<pairs>: no {col!r} column")
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
        partitions = sample_partitions(
            pairs, len(records), n_draws=self.n_draws, rng=part_rng, **constraints
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
            },
            "per_draw": frame,
            "fixed": fixed,
        }
        n_obs = int(np.median(frame["n_observed"]))
        return MSEResult(
            method="linkage-averaging",
            model=f"{self.estimator.method} averaged over {self.n_draws} linkages",
            estimate=float(med),
            interval=Interval(float(lo), float(hi), self.level, "linkage mixture"),
            n_observed=n_obs,
            lists=names,
            diagnostics=tuple(diagnostics),
            params={"n_draws": self.n_draws, "draws_per_fit": self.draws_per_fit,
                    "calibration": self.calibration},
            assumptions=(
                "Match probabilities are calibrated.",
                "Plausible linkages are approximated by independent edge draws followed by "
                "constrained clustering (no EM-parameter uncertainty).",
            ),
            extra=extra,
        )

    def _fit_all(self, tables, rngs) -> list:
        tasks = [(self.estimator, t, r) for t, r in zip(tables, rngs, strict=True)]
        jobs = self.n_jobs or len(os.sched_getaffinity(0))
        if jobs <= 1:
            return [_fit_one(t) for t in tasks]
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(_fit_one, tasks))

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
