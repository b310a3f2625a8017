"""The DuckDB project store: transactional stage writes, the stage log, read-backs."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from undercount.errors import ConfigError, InputError
from undercount.pipeline.store import Store, frame_hash


def _commit(store: Store, stage: str, frames: dict, **kw) -> None:
    store.mark_running(stage, "in-" + stage, "run1", "0.0")
    store.commit_stage(stage, input_hash="in-" + stage, output_hash="out-" + stage,
                       run_id="run1", version="0.0", started=time.perf_counter(),
                       frames=frames, **kw)


def test_commit_writes_tables_and_log(tmp_path):
    store = Store(tmp_path / "p.duckdb")
    raw = pd.DataFrame({"id": ["a", "b"], "name": ["X", None]})
    _commit(store, "ingest", {"raw__hospital": raw}, summary={"rows": 2},
            results={"obj": {"k": 1}},
            estimates=[{"kind": "headline", "label": "t", "method": "m", "model": "x",
                        "estimate": 10.0, "lower": 8.0, "upper": 12.0, "level": 0.95,
                        "interval_method": "wald", "n_observed": 7, "result": {"a": 1},
                        "provenance": {"seed": 1}}])
    back = store.read_frame("raw__hospital")
    assert back["id"].tolist() == ["a", "b"] and back["name"].isna().tolist() == [False, True]
    rec = store.stage("ingest")
    assert rec.status == "done" and rec.input_hash == "in-ingest"
    assert rec.output_hash == "out-ingest" and rec.summary == {"rows": 2}
    assert store.result("obj") == {"k": 1}
    est = store.query("SELECT estimate, lower, upper FROM estimates")
    assert est.iloc[0].tolist() == [10.0, 8.0, 12.0]
    events = store.history()["event"].tolist()
    assert events == ["started", "done"]


def test_failed_stage_rolls_back_and_keeps_earlier_stages(tmp_path):
    store = Store(tmp_path / "p.duckdb")
    _commit(store, "ingest", {"raw__a": pd.DataFrame({"x": [1, 2]})})
    store.mark_running("tabulate", "in-tab", "run2", "0.0")
    with pytest.raises(ConfigError):
        # The first table is written inside the transaction, the bad name aborts it.
        store.commit_stage("tabulate", input_hash="in-tab", output_hash="o", run_id="run2",
                           version="0.0", started=time.perf_counter(),
                           frames={"capture_table": pd.DataFrame({"y": [1]}),
                                   "bad name;": pd.DataFrame({"y": [1]})})
    assert "capture_table" not in store.tables()
    assert store.stage("tabulate").status == "running"  # marked interrupted, not done
    assert store.stage("ingest").status == "done"
    assert store.read_frame("raw__a")["x"].tolist() == [1, 2]


def test_reading_a_missing_store_is_a_clear_error(tmp_path):
    store = Store(tmp_path / "none.duckdb")
    assert store.stages() == [] and store.stage("ingest") is None
    with pytest.raises(InputError, match="no project store yet"):
        store.read_frame("x")


def test_frame_hash_is_content_based():
    a = pd.DataFrame({"x": [1, 2], "y": ["a", None]})
    assert frame_hash(a) == frame_hash(a.copy())
    assert frame_hash(a) != frame_hash(a.iloc[::-1])
    assert frame_hash(a) != frame_hash(a.rename(columns={"x": "z"}))


def test_label_history_is_reread_when_another_writer_changes_the_store(tmp_path):
    """The review server keeps the label history it read last while the files are unchanged;
    a label written through another handle (another process, `labels import`) is seen."""
    from undercount.pipeline.store import Store

    path = tmp_path / "store.duckdb"
    mine, other = Store(path), Store(path)
    mine.add_label({"pair_id": "1-2", "uid_l": 1, "uid_r": 2, "label": "match"})
    first = mine.label_history()
    assert list(first["pair_id"]) == ["1-2"]
    first.loc[0, "label"] = "changed by the caller"  # a copy: the cache is not touched
    assert list(mine.label_history()["label"]) == ["match"]
    other.add_label({"pair_id": "3-4", "uid_l": 3, "uid_r": 4, "label": "non-match"})
    assert list(mine.label_history()["pair_id"]) == ["1-2", "3-4"]
    mine.add_label({"pair_id": "1-2", "uid_l": 1, "uid_r": 2, "label": "unsure"})
    latest = other.latest_labels()
    assert dict(zip(latest["pair_id"], latest["label"], strict=True)) == {
        "1-2": "unsure", "3-4": "non-match"}
