"""What linkage errors do to the estimate: N-hat from the true and from the linked histories.

:func:`undercount.link.evaluate.score_linkage` measures a linkage against known truth
(pairwise, B-cubed, adjusted Rand, blocking recall). This module adds the effect on the
estimate: the capture histories are built twice, once from the true entities and once from
the predicted clusters, and the same estimator is fitted to both -- Chapman's estimator for
two lists, else the log-linear model chosen by BIC. It lives above both ``link`` and
``models`` because it runs estimators on linkage output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from undercount.core.table import CaptureTable
from undercount.errors import UndercountError
from undercount.link.evaluate import LinkageEvaluation, score_linkage
from undercount.models.loglinear import LogLinearEstimator
from undercount.models.twolist import chapman

__all__ = ["estimate_effect", "evaluate_linkage"]


def _histories(
    lists_of_records: pd.Series, labels: np.ndarray, lists: Sequence[str]
) -> CaptureTable:
    frame = pd.crosstab(labels, lists_of_records.to_numpy())
    frame = (frame.reindex(columns=list(lists), fill_value=0) > 0).astype(np.int64)
    return CaptureTable.from_individuals(frame.reset_index(drop=True), lists=list(lists))


def _estimate(table: CaptureTable) -> dict[str, Any]:
    """N-hat with the project's default estimator for the number of lists."""
    if table.n_lists == 2:
        counts = table.full_counts()
        n1, n2, m = int(counts[2] + counts[3]), int(counts[1] + counts[3]), int(counts[3])
        n_hat, _ = chapman(n1, n2, m)
        return {"estimate": float(n_hat), "method": "chapman"}
    result = LogLinearEstimator(select="bic").fit(table)
    return {
        "estimate": float(result.estimate),
        "method": "loglinear (BIC)",
        "model": str(result.model),
        "interval": [float(result.interval.lower), float(result.interval.upper)],
    }


def estimate_effect(
    record_lists: pd.Series, pred: Sequence, truth: Sequence, lists: Sequence[str]
) -> dict[str, Any]:
    """N-hat from the true capture histories vs from the linked ones (same estimator)."""
    if len(lists) < 2:
        return {"skipped": "one list: no capture-recapture estimate"}
    try:
        true_table = _histories(record_lists, np.asarray(truth), lists)
        linked_table = _histories(record_lists, np.asarray(pred), lists)
    except UndercountError as exc:
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[-1].strip()}"}
    out: dict[str, Any] = {
        "n_observed_true": true_table.n_observed,
        "n_observed_linked": linked_table.n_observed,
        "cells_true": true_table.cells(),
        "cells_linked": linked_table.cells(),
    }
    try:
        t = _estimate(true_table)
        link = _estimate(linked_table)
    except UndercountError as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
        return out
    out.update(
        method=t["method"],
        estimate_true=t["estimate"],
        estimate_linked=link["estimate"],
        relative_error=(link["estimate"] - t["estimate"]) / t["estimate"],
        model_true=t.get("model"),
        model_linked=link.get("model"),
    )
    return out


def evaluate_linkage(
    records: pd.DataFrame,
    truth: Sequence,
    *,
    lists: Sequence[str] | None = None,
    standardised: pd.DataFrame | None = None,
    blocking_rules: Sequence[Sequence[str]] | None = None,
    estimate: bool = True,
) -> LinkageEvaluation:
    """Evaluate linked ``records`` (with ``cluster_id`` and ``list``) against ``truth``.

    Parameters
    ----------
    records : DataFrame
        ``records.parquet`` of a linkage run (or any frame with ``cluster_id``, ``list``).
    truth : sequence
        True entity label of each record, aligned with ``records``.
    lists : sequence of str, optional
        List order for the capture histories (default: order of first appearance).
    standardised, blocking_rules : optional
        Standardised records aligned with ``records`` and the rules, for blocking recall.
    estimate : bool
        Also compare the estimates from true and linked capture histories
        (:func:`estimate_effect`).
    """
    evaluation = score_linkage(
        records, truth, standardised=standardised, blocking_rules=blocking_rules
    )
    if not estimate:
        return evaluation
    lists = list(lists) if lists is not None else list(dict.fromkeys(records["list"]))
    pred = records["cluster_id"].to_numpy()
    effect = estimate_effect(records["list"], pred, np.asarray(truth, dtype=object), lists)
    return dataclasses.replace(evaluation, estimate=effect)
