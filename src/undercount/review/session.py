"""A review session: the project's store, its review sample, the pairs and their labels.

Everything the page and the HTTP API show or write goes through :class:`ReviewSession`, which
reads the tables ``undercount run`` left in the store (``review_pairs``, ``standardised``,
``clusters``, ``raw__<list>``) and writes labels with :meth:`Store.add_label
<undercount.pipeline.store.Store.add_label>`, one transaction per label.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from undercount.errors import InputError
from undercount.io.project import ProjectConfig, load_project
from undercount.link.clerical import review_sample
from undercount.pipeline.store import LABELS, Store, frame_hash

__all__ = ["DesignOptions", "ReviewSession", "pair_id"]

#: Standardised fields shown for each record, in this order (when present).
SHOWN = ("name_ar", "name_lat", "name_key", "given", "father", "grandfather", "family", "sex",
         "age", "dob", "birth_year", "dod", "place", "postcode", "occupation", "national_id",
         "id_valid")


def pair_id(uid_l: int, uid_r: int) -> str:
    """The pair's id in the API and the labels: ``"<uid_l>-<uid_r>"`` with uid_l < uid_r."""
    a, b = sorted((int(uid_l), int(uid_r)))
    return f"{a}-{b}"


@dataclass(frozen=True)
class DesignOptions:
    """Sizes of the review sample (see :func:`undercount.link.clerical.review_sample`)."""

    n_design: int = 200
    n_threshold: int = 50
    n_suspicious: int = 50
    bands: int = 10
    seed: int = 0


def _value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v if isinstance(v, (int, float, bool)) else str(v)


class ReviewSession:
    """One project's clerical review (the store must hold a ``link`` stage's output)."""

    def __init__(self, config: ProjectConfig | str | Path | None = None, *,
                 design: DesignOptions | None = None, store: Store | None = None,
                 threshold: float = 0.5, name: str = "review") -> None:
        """A project's review (``config``), or, with ``store`` instead, a review of any
        store holding ``review_pairs``, ``standardised`` and ``clusters`` (the validation
        battery's scripted reviewer) with the given ``threshold`` and ``name``."""
        seed = 0
        lists: list[str] = []
        if store is None:
            if config is None:
                raise InputError("ReviewSession: give a project file or a store")
            if not isinstance(config, ProjectConfig):
                config = load_project(config, check_inputs=False)
            store = Store(config.store_path)
            threshold = float(config.link.threshold)
            name = config.name
            seed = config.seed if config.seed is not None else 0
            lists = [spec.name for spec in config.lists]
        where = config.path if isinstance(config, ProjectConfig) else store.path
        self.store = store
        self.name = name
        tables = self.store.tables()
        if "review_pairs" not in tables:
            raise InputError(
                f"{where}: no scored pairs to review in {self.store.path}; run "
                "`undercount run` (or `undercount run --until link`) first")
        self.pairs = self.store.read_frame("review_pairs")
        self.std = self.store.read_frame("standardised").set_index("uid", drop=False)
        self.clusters = self.store.read_frame("clusters").set_index("uid", drop=False)
        self.raw = {n: self.store.read_frame(f"raw__{n}") for n in lists
                    if f"raw__{n}" in tables}
        self.threshold = float(threshold)
        self.comparisons = [c[len("gamma_"):] for c in self.pairs.columns
                            if c.startswith("gamma_")]
        self.pairs["pair_id"] = [pair_id(a, b) for a, b in
                                 zip(self.pairs["uid_l"], self.pairs["uid_r"], strict=True)]
        self._by_id = pd.Series(np.arange(len(self.pairs)), index=self.pairs["pair_id"])
        self._lock = threading.Lock()
        self.design, self.strata = self._ensure_design(design or DesignOptions(seed=seed))

    # ------------------------------------------------------------------ the sample
    def _ensure_design(self, opts: DesignOptions) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The saved review sample, or a new one when there is none for these pairs."""
        key = frame_hash(self.pairs[["uid_l", "uid_r", "match_probability"]])
        tables = self.store.tables()
        if "review_design" in tables and "review_strata" in tables:
            design = self.store.read_frame("review_design")
            if len(design) and design["candidates_hash"].iloc[0] == key:
                return design, self.store.read_frame("review_strata")
        cl = self.clusters["cluster_id"]
        same = (cl.reindex(self.pairs["uid_l"]).to_numpy()
                == cl.reindex(self.pairs["uid_r"]).to_numpy())
        p = self.pairs["match_probability"].to_numpy()
        weak = same & (p < 0.99)  # a cluster held together by a weak link
        rng = np.random.default_rng(opts.seed)
        sample, strata = review_sample(
            p, n_design=opts.n_design, n_threshold=opts.n_threshold,
            n_suspicious=opts.n_suspicious, threshold=self.threshold, suspicious=weak,
            bands=opts.bands, rng=rng)
        rows = self.pairs.iloc[sample["index"].to_numpy()]
        design = pd.DataFrame({
            "position": np.arange(len(sample), dtype=np.int64),
            "pair_id": rows["pair_id"].to_numpy(),
            "uid_l": rows["uid_l"].to_numpy(), "uid_r": rows["uid_r"].to_numpy(),
            "kind": sample["kind"].to_numpy(), "band": sample["band"].to_numpy(),
            "inclusion": sample["inclusion"].to_numpy(), "weight": sample["weight"].to_numpy(),
            "candidates_hash": key,
            "options": json.dumps(opts.__dict__),
        })
        strata = strata.assign(candidates_hash=key)
        self.store.write_frame("review_design", design)
        self.store.write_frame("review_strata", strata)
        return design, strata

    # ------------------------------------------------------------------ reading
    def has_pair(self, pid: str) -> bool:
        return pid in self._by_id.index

    def latest(self) -> dict[str, str]:
        lab = self.store.latest_labels()
        return dict(zip(lab["pair_id"], lab["label"], strict=True))

    def queue(self) -> list[dict[str, Any]]:
        """The sample in review order with each pair's current label."""
        latest = self.latest()
        return [{"pair_id": r.pair_id, "kind": r.kind, "band": int(r.band),
                 "label": latest.get(r.pair_id)} for r in self.design.itertuples()]

    def state(self) -> dict[str, Any]:
        latest = self.latest()
        counts: dict[str, dict[str, int]] = {}
        for r in self.design.itertuples():
            c = counts.setdefault(str(int(r.band)), {"pairs": 0, "labelled": 0})
            c["pairs"] += 1
            c["labelled"] += r.pair_id in latest
        counts = dict(sorted(counts.items(), key=lambda kv: int(kv[0])))
        labelled = sum(v["labelled"] for v in counts.values())
        return {"total": len(self.design), "labelled": labelled, "bands": counts,
                "labels": {k: sum(1 for v in latest.values() if v == k) for k in LABELS[:3]},
                "threshold": self.threshold, "project": self.name}

    def next_pair(self, after: str | None = None) -> str | None:
        """The first unlabelled pair of the sample (after ``after`` if given)."""
        latest = self.latest()
        ids = list(self.design["pair_id"])
        start = ids.index(after) + 1 if after in ids else 0
        for pid in ids[start:] + ids[:start]:
            if pid not in latest:
                return pid
        return None

    def _record(self, uid: int) -> dict[str, Any]:
        s = self.std.loc[uid]
        original: dict[str, Any] = {}
        raw = self.raw.get(str(s["list"]))
        if raw is not None:
            at = int(s["row"]) - 2  # spreadsheet row: header row 1, first record row 2
            if 0 <= at < len(raw):
                original = {str(k): _value(v) for k, v in raw.iloc[at].items()}
        std = {k: _value(s[k]) for k in SHOWN if k in s.index and _value(s[k]) is not None}
        return {"uid": int(uid), "list": str(s["list"]), "record_id": str(s["record_id"]),
                "row": int(s["row"]), "original": original, "standardised": std,
                "cluster_id": int(self.clusters.loc[uid, "cluster_id"])}

    def _members(self, uid: int, exclude: set[int]) -> list[dict[str, Any]]:
        cid = self.clusters.loc[uid, "cluster_id"]
        members = self.clusters.index[self.clusters["cluster_id"].to_numpy() == cid]
        out = []
        for m in members[:25]:
            if int(m) in exclude:
                continue
            s = self.std.loc[m]
            out.append({"uid": int(m), "list": str(s["list"]), "record_id": str(s["record_id"]),
                        "name": _value(s.get("name_ar")) or _value(s.get("name_lat")) or ""})
        return out

    def pair(self, pid: str) -> dict[str, Any]:
        """Everything the page shows for one pair."""
        row = self.pairs.iloc[int(self._by_id[pid])]
        a, b = int(row["uid_l"]), int(row["uid_r"])
        d = self.design[self.design["pair_id"] == pid]
        hist = self.store.label_history()
        hist = hist[hist["pair_id"] == pid]
        latest = hist.iloc[-1] if len(hist) else None
        return {
            "pair_id": pid,
            "match_probability": float(row["match_probability"]),
            "match_weight": float(row["match_weight"]),
            "comparisons": [{"name": c, "level": int(row[f"gamma_{c}"]),
                             "contribution": float(row[f"mw_{c}"])}
                            for c in self.comparisons if f"mw_{c}" in row.index],
            "left": self._record(a), "right": self._record(b),
            "left_cluster": self._members(a, {a, b}), "right_cluster": self._members(b, {a, b}),
            "kind": str(d["kind"].iloc[0]) if len(d) else "other",
            "band": int(d["band"].iloc[0]) if len(d) else None,
            "label": (None if latest is None or latest["label"] == "retracted"
                      else str(latest["label"])),
            "note": None if latest is None else _value(latest["note"]),
        }

    # ------------------------------------------------------------------ writing
    def add_label(self, pid: str, label: str, *, reviewer: str | None = None,
                  note: str | None = None, source: str = "review") -> dict[str, Any]:
        """Store one label (its own transaction); returns the stored row."""
        if label not in LABELS:
            raise InputError(f"label {label!r}: choose one of {', '.join(LABELS)}")
        row = self.pairs.iloc[int(self._by_id[pid])]
        a, b = int(row["uid_l"]), int(row["uid_r"])
        d = self.design[self.design["pair_id"] == pid]
        weight = float(d["weight"].iloc[0]) if len(d) else None
        with self._lock:  # one writer per process; DuckDB serialises processes
            return self.store.add_label({
                "pair_id": pid, "uid_l": a, "uid_r": b,
                "list_l": str(self.std.loc[a, "list"]),
                "record_l": str(self.std.loc[a, "record_id"]),
                "list_r": str(self.std.loc[b, "list"]),
                "record_r": str(self.std.loc[b, "record_id"]),
                "label": label, "reviewer": reviewer, "note": note,
                "probability": float(row["match_probability"]),
                "weight": None if weight is None or np.isnan(weight) else weight,
                "band": int(d["band"].iloc[0]) if len(d) else None,
                "source": source,
            })

    def undo(self, reviewer: str | None = None) -> dict[str, Any] | None:
        """Undo the reviewer's latest action: the pair gets back the label it had before
        (appended, so the history keeps both), or is retracted if it had none."""
        with self._lock:
            hist = self.store.label_history()
            mine = hist[(hist["reviewer"].fillna("") == (reviewer or ""))
                        & (hist["source"] != "undo")]
            undone = set(hist.loc[hist["source"] == "undo", "note"].dropna())
            mine = mine[~mine["label_id"].astype(str).isin(
                {u.removeprefix("undo of ") for u in undone})]
            if mine.empty:
                return None
            last = mine.iloc[-1]
            before = hist[(hist["pair_id"] == last["pair_id"])
                          & (hist["label_id"] < last["label_id"])]
            previous = before.iloc[-1]["label"] if len(before) else "retracted"
            row = last.to_dict()
            row.update(label=previous, note=f"undo of {int(last['label_id'])}",
                       source="undo", at_time=None, label_id=None)
            return self.store.add_label(row)
