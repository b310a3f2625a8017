"""How good is a linkage, measured against known truth, and what does it do to the estimate?

For records :math:`i` with predicted cluster :math:`c(i)` and true entity :math:`e(i)`, let
:math:`n_{ce}` be the number of records in cluster :math:`c` and entity :math:`e`,
:math:`n_{c\\cdot}` and :math:`n_{\\cdot e}` the margins and :math:`n` the number of records.

**Pairwise** (all record pairs, within and across lists):

.. math:: TP = \\sum_{c,e} \\binom{n_{ce}}{2},\\quad
    \\text{precision} = TP / \\sum_c \\binom{n_{c\\cdot}}{2},\\quad
    \\text{recall} = TP / \\sum_e \\binom{n_{\\cdot e}}{2}.

**B-cubed** (Bagga & Baldwin 1998), averaged over records:

.. math:: P = \\frac1n \\sum_i \\frac{n_{c(i)e(i)}}{n_{c(i)\\cdot}}
    = \\frac1n \\sum_{c,e} \\frac{n_{ce}^2}{n_{c\\cdot}},\\qquad
    R = \\frac1n \\sum_{c,e} \\frac{n_{ce}^2}{n_{\\cdot e}}.

**Adjusted Rand index** (Hubert & Arabie 1985), from scikit-learn.

**Blocking recall**: the share of true pairs that at least one blocking rule generates (all
of the rule's columns equal and non-missing on both records) — an upper bound on pairwise
recall.

**Effect on the estimate** (:mod:`undercount.uncertainty.linkage_effect`, a layer above,
since it runs estimators): the same estimator applied to the capture histories built from
the true entities and from the predicted clusters.

References
----------
Bagga, A. & Baldwin, B. (1998). Algorithms for scoring coreference chains. *LREC Workshop on
Linguistic Coreference*, 563–566.

Hubert, L. & Arabie, P. (1985). Comparing partitions. *Journal of Classification* 2, 193–218.
https://doi.org/10.1007/BF01908075

Christen, P. (2012). *Data Matching*. Springer. https://doi.org/10.1007/978-3-642-31164-2
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from undercount.errors import InputError
from undercount.io.readers import read_frame

__all__ = [
    "LinkageEvaluation",
    "adjusted_rand",
    "bcubed",
    "blocking_recall",
    "load_truth",
    "pairwise_metrics",
    "same_label_pairs",
    "score_linkage",
    "threshold_curve",
]


def _pairs(counts: np.ndarray) -> int:
    counts = np.asarray(counts, dtype=np.int64)
    return int((counts * (counts - 1) // 2).sum())


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _contingency(pred, truth) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    pred = pd.factorize(pd.Series(pred), use_na_sentinel=False)[0]
    truth = pd.factorize(pd.Series(truth), use_na_sentinel=False)[0]
    joint = pd.Series(pred.astype(np.int64) * (truth.max() + 1) + truth)
    cell = joint.value_counts().to_numpy()
    return pred, truth, cell, joint.to_numpy()


def pairwise_metrics(pred: Sequence, truth: Sequence) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering ``pred`` against ``truth`` labels."""
    pred_codes, truth_codes, cell, _ = _contingency(pred, truth)
    tp = _pairs(cell)
    predicted = _pairs(np.bincount(pred_codes))
    true = _pairs(np.bincount(truth_codes))
    precision = tp / predicted if predicted else 1.0
    recall = tp / true if true else 1.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "true_positive_pairs": tp,
        "predicted_pairs": predicted,
        "true_pairs": true,
    }


def bcubed(pred: Sequence, truth: Sequence) -> dict[str, float]:
    """B-cubed precision, recall and F1 (averaged over records)."""
    pred_codes, truth_codes, _, joint = _contingency(pred, truth)
    n = len(pred_codes)
    if n == 0:
        raise InputError("<records>: no records to evaluate")
    n_joint = pd.Series(joint).map(pd.Series(joint).value_counts()).to_numpy()
    n_pred = np.bincount(pred_codes)[pred_codes]
    n_true = np.bincount(truth_codes)[truth_codes]
    precision = float(np.mean(n_joint / n_pred))
    recall = float(np.mean(n_joint / n_true))
    return {"precision": precision, "recall": recall, "f1": _f1(precision, recall)}


def adjusted_rand(pred: Sequence, truth: Sequence) -> float:
    """Adjusted Rand index of ``pred`` against ``truth`` (Hubert & Arabie 1985)."""
    # scikit-learn adds about 0.5 s to an import; only scoring needs it.
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(np.asarray(truth), np.asarray(pred)))


def same_label_pairs(truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j), i < j, with the same truth label."""
    codes = pd.factorize(pd.Series(truth))[0]
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    ends = np.r_[starts[1:], len(codes)]
    left, right = [], []
    for s, e in zip(starts, ends, strict=True):
        if e - s < 2:
            continue
        members = order[s:e]
        i, j = np.triu_indices(e - s, k=1)
        left.append(members[i])
        right.append(members[j])
    if not left:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(left), np.concatenate(right)


def blocking_recall(
    standardised: pd.DataFrame, truth: Sequence, rules: Sequence[Sequence[str]]
) -> dict[str, Any]:
    """Share of true pairs generated by at least one rule, overall and per rule.

    ``standardised`` rows must be aligned with ``truth``.
    """
    left, right = same_label_pairs(np.asarray(truth))
    n_true = len(left)
    if n_true == 0:
        return {"recall": 1.0, "true_pairs": 0, "per_rule": {}}
    any_rule = np.zeros(n_true, dtype=bool)
    per_rule = {}
    for rule in rules:
        hit = np.ones(n_true, dtype=bool)
        for col in rule:
            values = standardised[col].to_numpy(dtype=object)
            a, b = values[left], values[right]
            present = pd.notna(a) & pd.notna(b)
            same = np.zeros(n_true, dtype=bool)
            same[present] = a[present] == b[present]
            hit &= same
        per_rule["+".join(rule)] = float(hit.mean())
        any_rule |= hit
    return {"recall": float(any_rule.mean()), "true_pairs": n_true, "per_rule": per_rule}


@dataclass(frozen=True)
class LinkageEvaluation:
    """Linkage quality against truth (see the module docstring for definitions)."""

    n_records: int
    n_clusters: int
    n_entities: int
    pairwise: dict[str, float]
    bcubed: dict[str, float]
    adjusted_rand: float
    blocking: dict[str, Any] | None = None
    estimate: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    #: Issue 19: false merges by kind, and N-hat with each kind undone (set by the CLI).
    false_merges: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)

    def summary(self) -> str:
        p, b = self.pairwise, self.bcubed
        lines = [
            f"records {self.n_records:,}  clusters {self.n_clusters:,}  "
            f"true entities {self.n_entities:,}",
            f"pairwise  precision {p['precision']:.4f}  recall {p['recall']:.4f}  "
            f"F1 {p['f1']:.4f}  ({p['true_positive_pairs']:,} / {p['predicted_pairs']:,} "
            f"predicted, {p['true_pairs']:,} true pairs)",
            f"B-cubed   precision {b['precision']:.4f}  recall {b['recall']:.4f}  "
            f"F1 {b['f1']:.4f}",
            f"adjusted Rand index {self.adjusted_rand:.4f}",
        ]
        if self.blocking:
            lines.append(
                f"blocking recall {self.blocking['recall']:.4f} of "
                f"{self.blocking['true_pairs']:,} true pairs"
            )
            for rule, r in self.blocking["per_rule"].items():
                lines.append(f"  {rule}: {r:.4f}")
        e = self.estimate or {}
        if "estimate_true" in e:
            lines.append(
                f"estimate ({e['method']})  from truth {e['estimate_true']:,.1f}  "
                f"from linkage {e['estimate_linked']:,.1f}  "
                f"(relative error {e['relative_error']:+.2%}; observed "
                f"{e['n_observed_true']:,} vs {e['n_observed_linked']:,})"
            )
        elif e:
            lines.append(f"estimate: {e.get('skipped') or e.get('error')}")
        lines += _false_merge_lines(self.false_merges)
        lines += self.notes
        return "\n".join(lines)


def _false_merge_lines(fm: dict[str, Any] | None) -> list[str]:
    """Summary lines of :attr:`LinkageEvaluation.false_merges` (issue 19)."""
    if not fm:
        return []
    lines = ["false merges (record pairs of different people in one cluster): " + ", ".join(
        f"{kind} {n:,}" for kind, n in fm["pairs"].items())]
    for kind, e in fm.get("estimate_undone", {}).items():
        if "estimate" in e:
            lines.append(f"  N-hat with the {kind} merges undone {e['estimate']:,.1f}: "
                         f"they move the linkage's N-hat by "
                         f"{e['estimate_linked'] - e['estimate']:+,.1f}")
    weights = fm.get("given_name_weights") or []
    if weights:
        lines.append("trained given-name levels (match weight log2 m/u):")
        lines += [f"  {w['level']}: {w['weight']:+.2f}" for w in weights
                  if w["weight"] is not None]
    return lines


def score_linkage(
    records: pd.DataFrame,
    truth: Sequence,
    *,
    standardised: pd.DataFrame | None = None,
    blocking_rules: Sequence[Sequence[str]] | None = None,
) -> LinkageEvaluation:
    """Score linked ``records`` (with ``cluster_id``) against ``truth``: pairwise, B-cubed,
    adjusted Rand and, given the standardised records and rules, blocking recall.

    The effect on the estimate needs an estimator, a layer above linkage:
    :func:`undercount.uncertainty.linkage_effect.evaluate_linkage` adds it.

    Parameters
    ----------
    records : DataFrame
        ``records.parquet`` of a linkage run (or any frame with ``cluster_id``).
    truth : sequence
        True entity label of each record, aligned with ``records``.
    standardised, blocking_rules : optional
        Standardised records aligned with ``records`` and the rules, for blocking recall.
    """
    truth = np.asarray(truth, dtype=object)
    if len(truth) != len(records):
        raise InputError(
            f"<truth>: {len(truth)} truth labels for {len(records)} records"
        )
    if pd.isna(truth).any():
        raise InputError(
            f"<truth>: {int(pd.isna(truth).sum())} record(s) have no truth label"
        )
    pred = records["cluster_id"].to_numpy()
    blocking = None
    if standardised is not None and blocking_rules:
        blocking = blocking_recall(standardised, truth, blocking_rules)
    return LinkageEvaluation(
        n_records=len(records),
        n_clusters=int(pd.Series(pred).nunique()),
        n_entities=int(pd.Series(truth).nunique()),
        pairwise=pairwise_metrics(pred, truth),
        bcubed=bcubed(pred, truth),
        adjusted_rand=adjusted_rand(pred, truth),
        blocking=blocking,
    )


def threshold_curve(
    records: pd.DataFrame,
    edges: pd.DataFrame,
    truth: Sequence,
    *,
    standardised: pd.DataFrame | None = None,
    thresholds: Sequence[float] | None = None,
    run_threshold: float | None = None,
    cannot_link: Sequence[str] = ("national_id", "sex"),
) -> pd.DataFrame:
    """Pairwise precision and recall of the clusters a higher threshold would give.

    For each threshold :math:`t` the edges with match probability :math:`\\ge t` are
    clustered again exactly as the linkage does (greedy, strongest first, with the same
    cannot-link rules; :func:`undercount.link.cluster.constrained_clusters`), and the
    clusters are scored against ``truth`` (:func:`pairwise_metrics`). Only thresholds at or
    above the run's own can be scored: ``edges.parquet`` keeps the edges above it.

    Parameters
    ----------
    records : DataFrame
        ``records.parquet`` (``uid`` 0..n-1 in order).
    edges : DataFrame
        ``edges.parquet`` (``uid_l``, ``uid_r``, ``match_probability``).
    truth : sequence
        Truth labels aligned with ``records``.
    standardised : DataFrame, optional
        ``standardised.parquet``, for the cannot-link fields (national ID, sex).
    thresholds : sequence of float, optional
        Default: the run's own threshold (``run_threshold``, else its lowest edge
        probability), then those of 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999
        above it.
    run_threshold : float, optional
        The threshold the linkage ran with (``link_settings.json``).

    Returns
    -------
    DataFrame
        ``threshold, precision, recall, f1, predicted_pairs, true_positive_pairs, true_pairs,
        n_clusters``, one row per threshold, ascending.
    """
    from undercount.link.cluster import constrained_clusters

    truth = np.asarray(truth, dtype=object)
    n = len(records)
    probs = edges["match_probability"].to_numpy(dtype=np.float64)
    if thresholds is None:
        lowest = run_threshold if run_threshold is not None else (
            float(probs.min()) if len(probs) else 1.0)
        grid = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999)
        thresholds = [lowest, *(t for t in grid if t > lowest)]
    national_id = sex = None
    if standardised is not None:
        if "national_id" in cannot_link and "national_id" in standardised.columns:
            valid = standardised["id_valid"].fillna(False).astype(bool)
            national_id = standardised["national_id"].where(valid, None)
        if "sex" in cannot_link and "sex" in standardised.columns:
            sex = standardised["sex"]
    rows = []
    for t in sorted(set(float(t) for t in thresholds)):
        kept = edges.loc[probs >= t, ["uid_l", "uid_r", "match_probability"]]
        res = constrained_clusters(n, kept, national_id=national_id, sex=sex)
        m = pairwise_metrics(res.cluster, truth)
        rows.append({
            "threshold": t,
            "precision": m["precision"],
            "recall": m["recall"],
            "f1": m["f1"],
            "predicted_pairs": m["predicted_pairs"],
            "true_positive_pairs": m["true_positive_pairs"],
            "true_pairs": m["true_pairs"],
            "n_clusters": int(pd.Series(res.cluster).nunique()),
        })
    return pd.DataFrame(rows)


_FEBRL = re.compile(r"rec-(\d+)-")


def load_truth(truth: str | Path, records: pd.DataFrame) -> np.ndarray:
    """Truth labels aligned with ``records``.

    ``truth`` is ``"febrl"`` (entity from the record id ``rec-N-...``), or a CSV/Parquet file
    with either ``list, record_id, person_id`` columns, or a record id column
    (``record_id``/``unique_id``/``rec_id``) and a ``person_id`` or ``cluster`` column
    (e.g. ``historical_50k.parquet`` itself).
    """
    rid = records["record_id"].astype(str)
    if str(truth).lower() == "febrl":
        m = rid.str.extract(_FEBRL, expand=False)
        if m.isna().any():
            bad = rid[m.isna()].head(5).tolist()
            raise InputError(f"<truth febrl>: record ids without the rec-N- pattern: {bad}")
        return m.to_numpy(dtype=object)
    path = Path(truth)
    frame = read_frame(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    label = next((c for c in ("person_id", "cluster", "entity_id") if c in frame.columns), None)
    id_col = next((c for c in ("record_id", "unique_id", "rec_id") if c in frame.columns), None)
    if label is None or id_col is None:
        raise InputError(
            f"{path}: a truth file needs a record id column (record_id, unique_id or rec_id) "
            f"and a person_id (or cluster) column; columns are {list(frame.columns)}"
        )
    keys = [id_col]
    left_keys = ["record_id"]
    if "list" in frame.columns:
        keys.insert(0, "list")
        left_keys.insert(0, "list")
    t = frame[[*keys, label]].astype({id_col: str})
    if "list" in keys:
        t["list"] = t["list"].astype(str)
    dup = t.duplicated(keys)
    if dup.any():
        raise InputError(f"{path}: {int(dup.sum())} repeated record id(s) in the truth file")
    merged = records[left_keys].assign(record_id=rid).merge(
        t, left_on=left_keys, right_on=keys, how="left"
    )
    missing = merged[label].isna()
    if missing.any():
        ex = merged.loc[missing, left_keys].head(5).to_dict("records")
        raise InputError(
            f"{path}: {int(missing.sum())} linked record(s) have no truth entry, e.g. {ex}"
        )
    return merged[label].astype(str).to_numpy(dtype=object)
