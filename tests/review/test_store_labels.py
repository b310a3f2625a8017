"""The labels table: schema migration, append-only history, latest wins, the host check."""

from __future__ import annotations

import warnings

import duckdb
import pandas as pd
import pytest

from undercount.errors import ConfigError, InputError, UndercountWarning
from undercount.pipeline.store import LABEL_FIELDS, SCHEMA_VERSION, Store
from undercount.review.server import check_host


def test_schema_1_store_is_migrated(tmp_path):
    path = tmp_path / "project.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute("CREATE TABLE labels (uid_l BIGINT, uid_r BIGINT, label VARCHAR, "
                "reviewer VARCHAR, note VARCHAR, at_time TIMESTAMP)")
    con.close()
    store = Store(path)
    with pytest.raises(InputError, match="schema 1"):
        store.label_history()
    row = store.add_label({"pair_id": "1-2", "uid_l": 1, "uid_r": 2, "label": "match",
                           "reviewer": "ana", "probability": 0.7, "weight": 3.0, "band": 4})
    assert row["label_id"] == 1
    hist = store.label_history()
    assert list(hist.columns) == list(LABEL_FIELDS) and len(hist) == 1
    assert store.query("SELECT value FROM meta WHERE key = 'schema_version'").iloc[0, 0] == (
        SCHEMA_VERSION)


def test_history_latest_and_hash(tmp_path):
    store = Store(tmp_path / "p.duckdb")
    assert store.labels_hash() == ""
    for label, who in (("match", "ana"), ("non-match", "ben"), ("unsure", "ana")):
        store.add_label({"pair_id": "1-2", "uid_l": 1, "uid_r": 2, "label": label,
                         "reviewer": who})
    store.add_label({"pair_id": "3-4", "uid_l": 3, "uid_r": 4, "label": "match"})
    h1 = store.labels_hash()
    store.add_label({"pair_id": "3-4", "uid_l": 3, "uid_r": 4, "label": "retracted"})
    assert store.label_history()["label_id"].tolist() == [1, 2, 3, 4, 5]
    latest = store.latest_labels()
    assert latest[["pair_id", "label"]].values.tolist() == [["1-2", "unsure"]]
    per = store.latest_labels(reviewer="*").set_index("reviewer")["label"].to_dict()
    assert per == {"ana": "unsure", "ben": "non-match"}
    assert store.labels_hash() not in ("", h1)
    with pytest.raises(InputError, match="choose one of"):
        store.add_label({"pair_id": "1-2", "uid_l": 1, "uid_r": 2, "label": "maybe"})


def test_host_check():
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"):
        check_host(host, allow_remote=False)
    for host in ("0.0.0.0", "192.168.1.5", "example.org", "::"):
        with pytest.raises(ConfigError, match="--allow-remote"):
            check_host(host, allow_remote=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_host("0.0.0.0", allow_remote=True)
    assert any(issubclass(w.category, UndercountWarning) and "token" in str(w.message)
               for w in caught)


def test_cached_history_after_own_and_other_writes(tmp_path):
    """The history a store keeps after its own writes is the one a fresh store reads,
    including rows another writer added in between (its write changes the signature)."""
    path = tmp_path / "p.duckdb"
    mine, other = Store(path), Store(path)
    mine.add_label({"pair_id": "1-2", "uid_l": 1, "uid_r": 2, "label": "match"})
    mine.label_history()  # warm the cache
    for k in range(3):
        mine.add_label({"pair_id": f"{k}-9", "uid_l": k, "uid_r": 9, "label": "non-match",
                        "reviewer": "ana", "probability": 0.25, "weight": 2.0, "band": k})
        assert mine._labels_cache is not None  # kept up to date, not dropped
    other.add_label({"pair_id": "5-6", "uid_l": 5, "uid_r": 6, "label": "unsure"})
    mine.add_label({"pair_id": "7-8", "uid_l": 7, "uid_r": 8, "label": "match"})
    mine.add_label({"pair_id": "7-8", "uid_l": 7, "uid_r": 8, "label": "retracted"})
    fresh = Store(path).label_history()
    pd.testing.assert_frame_equal(mine.label_history(), fresh)
    assert fresh["label_id"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert other.label_history()["pair_id"].tolist() == fresh["pair_id"].tolist()


def test_held_connection_keeps_labels_and_history(tmp_path):
    path = tmp_path / "p.duckdb"
    store = Store(path)
    store.add_label({"pair_id": "1-2", "uid_l": 1, "uid_r": 2, "label": "match"})
    with store.hold():
        assert store.label_history()["label_id"].tolist() == [1]
        for k in range(5):
            store.add_label({"pair_id": f"{k}-9", "uid_l": k, "uid_r": 9, "label": "unsure"})
        assert store.latest_labels()["label"].tolist() == ["match"] + ["unsure"] * 5
        assert store.tables()  # reads go through the held connection too
    fresh = Store(path).label_history()
    pd.testing.assert_frame_equal(store.label_history(), fresh)
    assert fresh["label_id"].tolist() == [1, 2, 3, 4, 5, 6]
