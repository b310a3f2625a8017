r"""Clerical review: which pairs to label, and what the labels say about the linkage.

Sample design (:func:`review_sample`)
-------------------------------------
The candidate pairs (every blocked, scored pair) are cut into ``bands`` strata of equal
width in match weight :math:`w = \operatorname{logit} p` (clipped to :math:`\pm 20`), and
the budget ``n_design`` is split equally over the bands, each drawn by simple random
sampling without replacement; what a band cannot use passes to the others. Band :math:`h`
holds :math:`N_h` pairs of which :math:`n_h` are drawn, so each of its pairs is included with
probability :math:`\pi_h = n_h / N_h` and carries the design weight :math:`1/\pi_h`. The
design sample is presented in a random order, so a review stopped part-way is still a
stratified random sample: within band :math:`h` the :math:`m_h` pairs labelled so far are a
simple random sample of the band, and the estimators below use :math:`m_h / N_h`.

Then come purposive pairs, which carry no design weight and enter neither the error rates
nor the calibration: the pairs nearest the threshold (``n_threshold``, by
:math:`|w - \operatorname{logit} t|`) and pairs in suspicious clusters (``n_suspicious``,
weakest first).

Error rates (:func:`pairwise_error_rates`)
------------------------------------------
With :math:`y_i = 1` for a pair labelled a match and :math:`l_i = 1` for a pair the linkage
puts in one cluster, pairwise precision :math:`P = \sum l y / \sum l` and recall
:math:`R = \sum l y / \sum y` over all candidate pairs are ratios of population totals,
estimated by the stratified ratio estimator (Horvitz–Thompson totals in numerator and
denominator; Cochran 1977, §6.11) from the decisively labelled design pairs (``unsure``
labels are left out, i.e. treated as missing at random within the band). Its variance is
the linearisation (Taylor) estimate

.. math:: \widehat{V}(\hat R) = \sum_h N_h^2 (1 - m_h/N_h) s^2_{z,h} / m_h,
   \qquad z_i = (a_i - \hat R b_i) / \hat B,

with :math:`a, b` the numerator and denominator variables and :math:`s^2_{z,h}` the sample
variance of :math:`z` in band :math:`h`. The interval is Korn and Graubard's (1998):
Clopper–Pearson at the effective sample size :math:`n^* = \hat R(1-\hat R)/\widehat V`
(capped at the labelled pairs in the denominator; the labelled count itself when
:math:`\hat R` is 0 or 1), so it stays inside [0, 1] and does not collapse when every
labelled pair agrees. A band with :math:`m_h = 1` contributes no
variance estimate (it is reported). Recall is among the candidate (blocked) pairs: true
matches that blocking never compared are outside the frame.

Agreement (:func:`cohen_kappa`): Cohen's :math:`\kappa` between two reviewers on the pairs
both labelled.

References
----------
Cochran, W. G. (1977). Sampling Techniques, 3rd ed. Wiley. (Stratified ratio estimation,
§6.11; finite-population correction.)
Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions with small
expected number of positive counts estimated from survey data. Survey Methodology
24:193-201.
Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and
Psychological Measurement 20:37-46. doi:10.1177/001316446002000104
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from undercount.errors import InputError
from undercount.link.calibrate import Calibrator

__all__ = [
    "ErrorRate",
    "band_of",
    "cohen_kappa",
    "match_weight",
    "pairwise_error_rates",
    "review_sample",
    "review_summary",
]


def match_weight(probability: np.ndarray) -> np.ndarray:
    """:math:`\\operatorname{logit} p`, clipped to +-20 (natural log-odds)."""
    p = np.asarray(probability, dtype=float)
    with np.errstate(divide="ignore"):
        w = np.log(p) - np.log1p(-p)
    return np.clip(w, -20.0, 20.0)


def band_of(weight: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Band index (0 .. len(edges) - 2) of each match weight."""
    k = len(edges) - 1
    return np.clip(np.searchsorted(edges, weight, side="right") - 1, 0, k - 1)


def review_sample(
    probability: np.ndarray,
    *,
    n_design: int = 200,
    n_threshold: int = 50,
    n_suspicious: int = 50,
    threshold: float = 0.5,
    suspicious: np.ndarray | None = None,
    bands: int = 10,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw the review sample (see the module docstring).

    Returns ``(sample, strata)``: ``sample`` has one row per chosen pair in review order,
    ``index`` (position in ``probability``), ``kind`` (``design``, ``threshold``,
    ``suspicious``), ``band``, ``inclusion`` (NaN outside the design) and ``weight``
    (``1/inclusion``); ``strata`` has per band ``band``, ``lower``, ``upper`` (match-weight
    edges), ``pairs`` (:math:`N_h`) and ``drawn`` (:math:`n_h`).
    """
    p = np.asarray(probability, dtype=float)
    n = len(p)
    w = match_weight(p)
    edges = np.linspace(w.min(), w.max(), bands + 1) if n else np.linspace(-20, 20, bands + 1)
    if n and edges[0] == edges[-1]:
        edges = np.linspace(edges[0] - 0.5, edges[0] + 0.5, bands + 1)
    band = band_of(w, edges)
    members = [np.flatnonzero(band == b) for b in range(bands)]
    size = np.array([len(x) for x in members])
    budget = min(int(n_design), n)
    take = np.minimum(np.full(bands, budget // bands) + (np.arange(bands) < budget % bands),
                      size)
    while int(take.sum()) < budget:  # hand what a band cannot use to the others
        for j in np.flatnonzero(take < size)[: budget - int(take.sum())]:
            take[j] += 1
    chosen = [rng.choice(x, size=t, replace=False) for x, t in zip(members, take, strict=True)
              if t > 0]
    design = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    design = design[rng.permutation(len(design))]
    incl = np.where(size > 0, take / np.maximum(size, 1), np.nan)
    used = np.zeros(n, dtype=bool)
    used[design] = True
    rows = [pd.DataFrame({"index": design, "kind": "design", "band": band[design],
                          "inclusion": incl[band[design]]})]
    if n_threshold > 0:
        dist = np.abs(w - match_weight(np.array([threshold]))[0])
        order = np.argsort(np.where(used, np.inf, dist), kind="stable")
        near = order[: min(int(n_threshold), int((~used).sum()))]
        used[near] = True
        rows.append(pd.DataFrame({"index": near, "kind": "threshold", "band": band[near],
                                  "inclusion": np.nan}))
    if suspicious is not None and n_suspicious > 0:
        mask = np.asarray(suspicious, dtype=bool) & ~used
        cand = np.flatnonzero(mask)
        cand = cand[np.argsort(p[cand], kind="stable")][: int(n_suspicious)]
        rows.append(pd.DataFrame({"index": cand, "kind": "suspicious", "band": band[cand],
                                  "inclusion": np.nan}))
    sample = pd.concat(rows, ignore_index=True)
    sample["index"] = sample["index"].astype(np.int64)
    sample["band"] = sample["band"].astype(np.int64)
    sample["weight"] = 1.0 / sample["inclusion"]
    strata = pd.DataFrame({"band": np.arange(bands), "lower": edges[:-1], "upper": edges[1:],
                           "pairs": size, "drawn": take})
    return sample, strata


@dataclass(frozen=True)
class ErrorRate:
    """An estimated pairwise rate with its interval (see the module docstring)."""

    name: str
    estimate: float
    lower: float
    upper: float
    se: float
    labelled: int
    level: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "estimate": self.estimate, "lower": self.lower,
                "upper": self.upper, "se": self.se, "labelled": self.labelled,
                "level": self.level}


def _ratio(a: np.ndarray, b: np.ndarray, band: np.ndarray, pop: dict[int, int], name: str,
           level: float) -> ErrorRate:
    bands = np.unique(band)
    A = B = 0.0
    for h in bands:
        s = band == h
        wt = pop[int(h)] / s.sum()
        A += wt * a[s].sum()
        B += wt * b[s].sum()
    labelled = int((b > 0).sum())
    if B <= 0:
        return ErrorRate(name, float("nan"), float("nan"), float("nan"), float("nan"),
                         labelled, level)
    r = A / B
    z = (a - r * b) / B
    var = 0.0
    for h in bands:
        s = band == h
        m, big = int(s.sum()), pop[int(h)]
        if m > 1:
            var += big**2 * (1 - m / big) * np.var(z[s], ddof=1) / m
    se = float(np.sqrt(var))
    # Korn-Graubard: Clopper-Pearson at the effective sample size, which stays inside
    # [0, 1] and gives a real interval when every labelled pair agrees (r = 0 or 1).
    n_den = float((b > 0).sum())
    n_eff = min(n_den, r * (1 - r) / var) if 0 < r < 1 and var > 0 else n_den
    x = r * n_eff
    alpha = 1 - level
    lo = 0.0 if x <= 0 else float(stats.beta.ppf(alpha / 2, x, n_eff - x + 1))
    hi = 1.0 if x >= n_eff else float(stats.beta.ppf(1 - alpha / 2, x + 1, n_eff - x))
    return ErrorRate(name, float(r), float(lo), float(hi), se, labelled, level)


def pairwise_error_rates(
    labels: np.ndarray,
    linked: np.ndarray,
    band: np.ndarray,
    band_pairs: dict[int, int],
    *,
    level: float = 0.95,
) -> dict[str, ErrorRate]:
    """Design-based pairwise precision and recall of a linkage (see the module docstring).

    Parameters
    ----------
    labels : array of 0/1
        The decisive labels of the design pairs (1 match, 0 non-match).
    linked : array of bool
        Whether the linkage puts each labelled pair in one cluster.
    band : array of int
        Each labelled pair's band.
    band_pairs : dict
        :math:`N_h`, the candidate pairs in each band.
    """
    y = np.asarray(labels, dtype=float)
    lk = np.asarray(linked, dtype=float)
    band = np.asarray(band, dtype=np.int64)
    if not (len(y) == len(lk) == len(band)):
        raise InputError("<labels>: labels, linked and band must have the same length")
    return {
        "precision": _ratio(y * lk, lk, band, band_pairs, "precision", level),
        "recall": _ratio(y * lk, y, band, band_pairs, "recall", level),
    }


def cohen_kappa(first: pd.Series, second: pd.Series) -> tuple[float, int]:
    """Cohen's kappa between two reviewers' labels, aligned on their index (pair id);
    returns ``(kappa, pairs both labelled)``. NaN when fewer than two pairs are shared."""
    both = pd.concat([first.rename("a"), second.rename("b")], axis=1, join="inner").dropna()
    if len(both) < 2:
        return float("nan"), len(both)
    from sklearn.metrics import cohen_kappa_score  # heavy import, needed with two reviewers

    a, b = both["a"].astype(str), both["b"].astype(str)
    if (a == b).all():
        return 1.0, len(both)
    return float(cohen_kappa_score(a, b)), len(both)


def review_summary(
    design: pd.DataFrame,
    strata: pd.DataFrame,
    labels: pd.DataFrame,
    linked: pd.Series,
    *,
    level: float = 0.95,
    calibration: str = "isotonic",
) -> dict[str, Any]:
    """What the labels say: counts by band, the calibration curve, the error rates.

    Parameters
    ----------
    design : DataFrame
        The review sample: ``pair_id``, ``kind``, ``band``, and ``probability`` (the model's
        match probability of the pair).
    strata : DataFrame
        ``band``, ``lower``, ``upper``, ``pairs`` (:math:`N_h`), ``drawn``.
    labels : DataFrame
        The latest label per pair: ``pair_id``, ``label``.
    linked : Series of bool, indexed by pair id
        Whether the machine's linkage (before review) puts each sampled pair in one cluster.
    calibration : {"isotonic", "platt"}
        The calibration fitted on the labelled design pairs with their design weights
        (:class:`~undercount.link.calibrate.Calibrator`).
    """
    lab = design.merge(labels[["pair_id", "label"]], on="pair_id", how="left")
    bands = []
    for r in strata.itertuples(index=False):
        in_band = lab[(lab["band"] == r.band) & (lab["kind"] == "design")]
        counts = in_band["label"].value_counts()
        bands.append({"band": int(r.band), "lower": float(r.lower), "upper": float(r.upper),
                      "pairs": int(r.pairs), "drawn": int(r.drawn),
                      "match": int(counts.get("match", 0)),
                      "non_match": int(counts.get("non-match", 0)),
                      "unsure": int(counts.get("unsure", 0))})
    pop = {int(r.band): int(r.pairs) for r in strata.itertuples(index=False)}
    dec = lab[(lab["kind"] == "design") & lab["label"].isin(["match", "non-match"])]
    y = (dec["label"] == "match").to_numpy(dtype=float)
    out: dict[str, Any] = {
        "bands": bands,
        "labelled": int(lab["label"].notna().sum()),
        "decisive_design": len(dec),
        "purposive": int(((lab["kind"] != "design") & lab["label"].notna()).sum()),
        "error_rates": None,
        "calibration": None,
    }
    if len(dec):
        lk = linked.reindex(dec["pair_id"]).fillna(False).to_numpy(dtype=bool)
        rates = pairwise_error_rates(y, lk, dec["band"].to_numpy(), pop, level=level)
        out["error_rates"] = {k: v.to_dict() for k, v in rates.items()}
    # Design weights at estimation time: N_h / m_h, m_h the decisive labels in the band.
    m = dec.groupby("band")["pair_id"].transform("size").to_numpy()
    weight = np.array([pop[int(b)] for b in dec["band"]], dtype=float) / np.maximum(m, 1)
    p = dec["probability"].to_numpy(dtype=float)
    if len(np.unique(y)) == 2:
        cal = Calibrator(calibration).fit(p, y, sample_weight=weight)
        grid = np.concatenate([np.linspace(0, 1, 101), np.unique(p)])
        grid.sort()
        points = []
        for b in np.unique(dec["band"]):
            s = dec["band"].to_numpy() == b
            points.append({"probability": float(p[s].mean()), "observed": float(y[s].mean()),
                           "n": int(s.sum())})
        out["calibration"] = {"method": calibration, "grid": grid.tolist(),
                              "calibrated": cal.transform(grid).tolist(), "points": points}
    return out
