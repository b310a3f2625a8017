"""Labels in and out of the store (CSV), and agreement between reviewers.

Export writes the whole history (one row per decision, oldest first, ``label_id`` first);
import appends rows, identifying each pair by its two records' list and record id (so labels
survive a relinking that renumbers uids). An import is checked whole before anything is
written: a bad row names the file, the row and the column, and nothing is stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from undercount.errors import InputError
from undercount.link.clerical import cohen_kappa
from undercount.pipeline.store import LABEL_FIELDS, LABELS, Store
from undercount.review.session import ReviewSession, pair_id

__all__ = ["agreement", "export_labels", "import_labels"]

_NEEDED = ("list_l", "record_l", "list_r", "record_r", "label")


def export_labels(store: Store, out: str | Path) -> int:
    """Write every label ever given to ``out`` (CSV, UTF-8); returns the number of rows."""
    hist = store.label_history()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    hist.to_csv(tmp, index=False, columns=list(LABEL_FIELDS))
    tmp.replace(out)
    return len(hist)


def import_labels(session: ReviewSession, path: str | Path, *,
                  reviewer: str | None = None) -> int:
    """Append the labels of a CSV file (columns ``list_l, record_l, list_r, record_r,
    label``, optionally ``reviewer``, ``note``, ``at_time``); returns the rows stored."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in _NEEDED if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; needed: {', '.join(_NEEDED)}")
    std = session.std
    uid = {(str(a), str(b)): int(u) for a, b, u in
           zip(std["list"], std["record_id"], std["uid"], strict=True)}
    rows: list[dict[str, Any]] = []
    for i, r in enumerate(frame.to_dict("records"), start=2):
        if r["label"] not in LABELS:
            raise InputError(f"{path}: row {i}, column label: {r['label']!r} is not one of "
                             f"{', '.join(LABELS)}")
        ends = []
        for side in ("l", "r"):
            key = (r[f"list_{side}"], r[f"record_{side}"])
            if key not in uid:
                raise InputError(f"{path}: row {i}, columns list_{side}/record_{side}: no "
                                 f"record {key[1]!r} in list {key[0]!r}")
            ends.append(uid[key])
        pid = pair_id(*ends)
        if not session.has_pair(pid):
            raise InputError(f"{path}: row {i}: records {ends} are not a scored pair of "
                             "this project (blocking never compared them)")
        rows.append({"pid": pid, "label": r["label"],
                     "reviewer": r.get("reviewer") or reviewer,
                     "note": r.get("note") or None})
    for r in rows:
        session.add_label(r["pid"], r["label"], reviewer=r["reviewer"], note=r["note"],
                          source="import")
    return len(rows)


def agreement(store: Store) -> list[dict[str, Any]]:
    """Cohen's kappa for every two reviewers with pairs in common (latest label each)."""
    latest = store.latest_labels(reviewer="*")
    latest = latest[latest["reviewer"].notna()]
    names = sorted(latest["reviewer"].unique())
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            la = latest[latest["reviewer"] == a].set_index("pair_id")["label"]
            lb = latest[latest["reviewer"] == b].set_index("pair_id")["label"]
            kappa, shared = cohen_kappa(la, lb)
            if shared:
                out.append({"reviewers": (a, b), "kappa": kappa, "pairs": shared})
    return out
