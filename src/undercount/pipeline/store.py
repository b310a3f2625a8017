"""The project store: one embedded DuckDB file holding everything a run produced.

``<output>/project.duckdb`` holds

``raw__<input>``
    Each input exactly as read (every value as text), one table per list or capture-history
    file. Only the ingest stage writes them, whole, from the file; nothing updates them.
``standardised``, ``clusters``, ``pairs``, ``review_pairs``
    Standardised records, records with their cluster, the pairs at or above the threshold
    with their clustering status, and every blocked pair scored for clerical review (with
    its comparison levels and each comparison's contribution to the match weight).
``labels``, ``review_design``
    Clerical-review labels, append-only (one row per decision; the latest per pair wins;
    see :meth:`Store.add_label`), and the review's sample design (``undercount review``,
    see :mod:`undercount.review`).
``capture_histories``, ``capture_table``
    One row per person (0/1 list columns and strata), and the aggregated cells.
``estimates``
    Every estimate (headline, strata, each family of the sensitivity analysis) with its
    interval, the full result as JSON and its provenance (package versions, settings, seed,
    input hashes); ``results`` keeps the result objects themselves (pickled) for the report.
``stage_log`` / ``stage_history``
    The current state of each stage (its input hash, output hash, when it finished) and
    an append-only history of every stage execution and skip.

Every stage writes in one transaction (``BEGIN`` … ``COMMIT``) that also marks the stage
done, so a run killed at any point leaves the store as it was before that stage: completed
stages stay complete, and the interrupted one has left nothing behind. Connections are held
only while reading or writing, so ``undercount status`` can read the store while a long
stage computes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from undercount.errors import ConfigError, InputError

__all__ = ["LABELS", "LABEL_FIELDS", "StageRecord", "Store", "frame_hash"]

#: Version 2 added the review columns of ``labels``; a version-1 store is migrated in place
#: the first time it is opened for writing (the columns are added; no row changes).
SCHEMA_VERSION = "2"

#: Every label a reviewer can give; ``retracted`` is what undo appends.
LABELS = ("match", "non-match", "unsure", "retracted")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_DDL = (
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS stage_log (
        stage VARCHAR PRIMARY KEY, input_hash VARCHAR, output_hash VARCHAR,
        status VARCHAR, run_id VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP,
        seconds DOUBLE, undercount_version VARCHAR, summary VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS stage_history (
        stage VARCHAR, run_id VARCHAR, event VARCHAR, input_hash VARCHAR,
        output_hash VARCHAR, at_time TIMESTAMP, seconds DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS estimates (
        stage VARCHAR, kind VARCHAR, label VARCHAR, method VARCHAR, model VARCHAR,
        estimate DOUBLE, lower DOUBLE, upper DOUBLE, level DOUBLE, interval_method VARCHAR,
        n_observed BIGINT, result VARCHAR, provenance VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS results (stage VARCHAR, name VARCHAR, blob BLOB)""",
    """CREATE TABLE IF NOT EXISTS artifacts (
        stage VARCHAR, name VARCHAR, path VARCHAR, sha256 VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS labels (
        uid_l BIGINT, uid_r BIGINT, label VARCHAR, reviewer VARCHAR, note VARCHAR,
        at_time TIMESTAMP)""",
    """CREATE SEQUENCE IF NOT EXISTS label_seq START 1""",
)

#: Columns schema 2 added to ``labels`` (name, type), in order after the version-1 ones.
_LABEL_COLUMNS = (
    ("label_id", "BIGINT"), ("pair_id", "VARCHAR"), ("list_l", "VARCHAR"),
    ("record_l", "VARCHAR"), ("list_r", "VARCHAR"), ("record_r", "VARCHAR"),
    ("probability", "DOUBLE"), ("weight", "DOUBLE"), ("band", "INTEGER"),
    ("source", "VARCHAR"),
)
LABEL_FIELDS = ("label_id", "pair_id", "uid_l", "uid_r", "list_l", "record_l", "list_r",
                "record_r", "label", "reviewer", "note", "at_time", "probability", "weight",
                "band", "source")


def frame_hash(frame: pd.DataFrame) -> str:
    """Content hash of a DataFrame (column names, dtypes' values, row order)."""
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, frame.columns)).encode())
    if len(frame):
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class StageRecord:
    """One row of the stage log."""

    stage: str
    input_hash: str
    output_hash: str
    status: str
    run_id: str
    started_at: datetime | None
    finished_at: datetime | None
    seconds: float | None
    undercount_version: str
    summary: dict[str, Any]


class Store:
    """The project's DuckDB file. Open connections only through :meth:`connect`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._schema_ready = False  # DDL and migration run once per instance
        # The label history as last read, with the files' signature then (see label_history).
        self._labels_cache: tuple[tuple[Any, ...], pd.DataFrame] | None = None
        # Guards the cache: this process's writers and readers of the labels, one at a time.
        self._labels_lock = threading.RLock()
        self._held: Any = None  # the connection kept open by hold(), if any

    def _signature(self) -> tuple[Any, ...]:
        """What any write to the store changes: the database file's and its write-ahead
        log's size, modification time (ns) and inode."""
        out: list[Any] = []
        for p in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                st = p.stat()
            except FileNotFoundError:
                out.append(None)
            else:
                out.append((st.st_size, st.st_mtime_ns, st.st_ino))
        return tuple(out)

    # ------------------------------------------------------------------ connections
    @contextlib.contextmanager
    def connect(self, *, read_only: bool = False, retries: int = 50) -> Iterator[Any]:
        import duckdb  # ~0.1 s to import: only commands that open the store pay it

        if self._held is not None:
            cursor = self._held.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
            return
        if read_only and not self.path.exists():
            raise InputError(f"{self.path}: no project store yet (run `undercount run` first)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self._schema_ready = False  # a new (or deleted and recreated) file
        con = None
        for attempt in range(retries):
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                # Another process holds the file for a moment (a stage committing).
                if "lock" not in str(exc).lower() or attempt == retries - 1:
                    raise InputError(f"{self.path}: cannot open the project store: {exc}") from exc
                time.sleep(0.2)
        assert con is not None
        try:
            if not read_only and not self._schema_ready:
                for ddl in _DDL:
                    con.execute(ddl)
                for col, kind in _LABEL_COLUMNS:  # schema 1 -> 2 (idempotent)
                    con.execute(f"ALTER TABLE labels ADD COLUMN IF NOT EXISTS {col} {kind}")
                con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                            [SCHEMA_VERSION])
                self._schema_ready = True
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def hold(self) -> Iterator[Store]:
        """Keep one read-write connection open for a burst of work, such as a scripted
        review's hundreds of labels: opening the file costs ~15 ms, a label on an open
        connection ~1 ms. Every :meth:`connect` inside uses a cursor of it; other processes
        cannot open the store meanwhile (they wait and retry, as for a running stage), so
        the review server, which a person may leave open for hours, does not hold it."""
        with self.connect() as con:
            self._held = con
            try:
                yield self
            finally:
                self._held = None

    # ------------------------------------------------------------------ reading
    def exists(self) -> bool:
        return self.path.exists()

    def tables(self) -> list[str]:
        if not self.exists():
            return []
        with self.connect(read_only=True) as con:
            return [r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables ORDER BY table_name"
            ).fetchall()]

    def read_frame(self, table: str) -> pd.DataFrame:
        _check_name(table)
        with self.connect(read_only=True) as con:
            return con.execute(f'SELECT * FROM "{table}"').df()

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        with self.connect(read_only=True) as con:
            return con.execute(sql, params or []).df()

    def stage(self, name: str) -> StageRecord | None:
        if not self.exists():
            return None
        with self.connect(read_only=True) as con:
            row = con.execute(
                "SELECT stage, input_hash, output_hash, status, run_id, started_at, "
                "finished_at, seconds, undercount_version, summary FROM stage_log "
                "WHERE stage = ?", [name]).fetchone()
        return _record(row) if row else None

    def stages(self) -> list[StageRecord]:
        if not self.exists():
            return []
        with self.connect(read_only=True) as con:
            rows = con.execute(
                "SELECT stage, input_hash, output_hash, status, run_id, started_at, "
                "finished_at, seconds, undercount_version, summary FROM stage_log "
                "ORDER BY started_at").fetchall()
        return [_record(r) for r in rows]

    def history(self) -> pd.DataFrame:
        return self.query("SELECT * FROM stage_history ORDER BY at_time")

    def result(self, name: str) -> Any:
        """A stored result object (unpickled); only from this project's own store."""
        with self.connect(read_only=True) as con:
            row = con.execute("SELECT blob FROM results WHERE name = ?", [name]).fetchone()
        if row is None:
            raise InputError(f"{self.path}: no stored result {name!r}")
        return pickle.loads(row[0])

    # ------------------------------------------------------------------ labels
    def add_label(self, label: Mapping[str, Any]) -> dict[str, Any]:
        """Append one clerical-review label in its own transaction; returns the stored row.

        ``label`` holds ``pair_id``, ``uid_l``, ``uid_r``, ``label`` (one of
        :data:`LABELS`) and optionally ``reviewer``, ``note``, ``probability`` (the model's
        probability when the label was given), ``weight`` (the design weight, 1/inclusion
        probability; None outside the design sample), ``band``, the records' ``list_l``,
        ``record_l``, ``list_r``, ``record_r``, ``source`` (``review``, ``import``) and
        ``at_time``. Nothing is updated: relabelling appends, and the latest row per pair
        wins (:meth:`latest_labels`). The row is durable when this returns (DuckDB commits
        to its write-ahead log).
        """
        if label.get("label") not in LABELS:
            raise InputError(f"label {label.get('label')!r}: choose one of {', '.join(LABELS)}")
        row = {k: label.get(k) for k in LABEL_FIELDS}
        row["at_time"] = row["at_time"] or _now()
        row["source"] = row["source"] or "review"
        cols = ", ".join(LABEL_FIELDS)
        with self._labels_lock, self.connect() as con:
            # While this connection is open no other process can write (DuckDB locks the
            # file) and the lock keeps this process's other writers out, so a history
            # cached at the current signature plus this row is the whole history after it.
            cached = self._labels_cache
            current = cached is not None and cached[0] == self._signature()
            self._labels_cache = None
            con.execute("BEGIN TRANSACTION")
            try:
                row["label_id"] = int(con.execute("SELECT nextval('label_seq')").fetchone()[0])
                marks = ", ".join("?" for _ in LABEL_FIELDS)
                con.execute(f"INSERT INTO labels ({cols}) VALUES ({marks})",
                            [row[k] for k in LABEL_FIELDS])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            if current:
                # Checkpointed now, closing the connection leaves the files as they are, so
                # the signature taken here is the one the next reader sees (the review page
                # reads the history after every label; this saves it reopening the store).
                # A held connection is not closed here: its files stay as they are until
                # the next write or its release, which changes the signature.
                if self._held is None:
                    con.execute("CHECKPOINT")
                new = con.execute(f"SELECT {cols} FROM labels WHERE label_id = ?",
                                  [row["label_id"]]).df()
                history = new if cached[1].empty else pd.concat([cached[1], new],
                                                                 ignore_index=True)
                self._labels_cache = (self._signature(), history)
        return row

    def label_history(self) -> pd.DataFrame:
        """Every label ever given, oldest first (empty frame with the columns if none).

        The review page reads the labels several times per pair shown; opening the store
        costs tens of milliseconds each time. So the history read last is kept with the
        files' signature taken while the store was open (no other process can write while
        it is), and is returned again, as a copy, while the files are unchanged. Any write,
        by this process or another, changes the signature."""
        if not self.exists():
            return pd.DataFrame(columns=list(LABEL_FIELDS))
        with self._labels_lock:
            cached = self._labels_cache
            if cached is not None and cached[0] == self._signature():
                return cached[1].copy()
            with self.connect(read_only=True) as con:
                signature = self._signature()
                history = self._read_labels(con)
            self._labels_cache = (signature, history)
            return history.copy()

    def _read_labels(self, con: Any) -> pd.DataFrame:
        have = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'labels'"
        ).fetchall()}
        if not have:
            return pd.DataFrame(columns=list(LABEL_FIELDS))
        if "label_id" not in have:
            raise InputError(f"{self.path}: the store's labels table is schema 1; open it "
                             "for writing once (any `undercount run`) to migrate it")
        cols = ", ".join(LABEL_FIELDS)
        return con.execute(f"SELECT {cols} FROM labels ORDER BY label_id").df()

    def latest_labels(self, reviewer: str | None = None) -> pd.DataFrame:
        """The latest label per pair (per pair and reviewer with ``reviewer="*"``); pairs
        whose latest label is ``retracted`` (undone) are left out."""
        hist = self.label_history()
        if reviewer not in (None, "*"):
            hist = hist[hist["reviewer"] == reviewer]
        keys = ["pair_id", "reviewer"] if reviewer == "*" else ["pair_id"]
        latest = hist.drop_duplicates(keys, keep="last")
        return latest[latest["label"] != "retracted"].reset_index(drop=True)

    def labels_hash(self) -> str:
        """Content hash of the latest labels (what clustering and calibration read)."""
        latest = self.latest_labels()
        if latest.empty:
            return ""  # no labels: the same key as a store that never had any
        return frame_hash(latest[["pair_id", "label"]].sort_values("pair_id", ignore_index=True)
                          .astype(str))

    def write_frame(self, table: str, frame: pd.DataFrame) -> None:
        """Replace one table, in one transaction (review bookkeeping, not a stage output)."""
        _check_name(table)
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f'DROP TABLE IF EXISTS "{table}"')
                con.register("_undercount_frame", frame)
                con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM _undercount_frame')
                con.unregister("_undercount_frame")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # ------------------------------------------------------------------ writing
    def mark_running(self, stage: str, input_hash: str, run_id: str, version: str) -> None:
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            con.execute(
                "INSERT OR REPLACE INTO stage_log VALUES (?, ?, NULL, 'running', ?, ?, NULL, "
                "NULL, ?, NULL)", [stage, input_hash, run_id, _now(), version])
            con.execute("INSERT INTO stage_history VALUES (?, ?, 'started', ?, NULL, ?, NULL)",
                        [stage, run_id, input_hash, _now()])
            con.execute("COMMIT")

    def log_skip(self, stage: str, record: StageRecord, run_id: str) -> None:
        with self.connect() as con:
            con.execute(
                "INSERT INTO stage_history VALUES (?, ?, 'skipped', ?, ?, ?, 0)",
                [stage, run_id, record.input_hash, record.output_hash, _now()])

    def commit_stage(
        self,
        stage: str,
        *,
        input_hash: str,
        output_hash: str,
        run_id: str,
        version: str,
        started: float,
        frames: Mapping[str, pd.DataFrame] | None = None,
        drop: tuple[str, ...] = (),
        estimates: list[dict[str, Any]] | None = None,
        results: Mapping[str, Any] | None = None,
        artifacts: list[tuple[str, str, str]] | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        """Write a stage's outputs and mark it done, all in one transaction.

        ``frames`` replace tables of the same name; ``drop`` removes stale tables;
        ``estimates``, ``results`` and ``artifacts`` replace this stage's previous rows.
        """
        seconds = time.perf_counter() - started
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for table in drop:
                    _check_name(table)
                    con.execute(f'DROP TABLE IF EXISTS "{table}"')
                for table, frame in (frames or {}).items():
                    _check_name(table)
                    con.execute(f'DROP TABLE IF EXISTS "{table}"')
                    con.register("_undercount_frame", frame)
                    con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM _undercount_frame')
                    con.unregister("_undercount_frame")
                for t in ("estimates", "results", "artifacts"):
                    con.execute(f"DELETE FROM {t} WHERE stage = ?", [stage])
                for e in estimates or []:
                    con.execute(
                        "INSERT INTO estimates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [stage, e["kind"], e["label"], e["method"], e["model"], e["estimate"],
                         e["lower"], e["upper"], e["level"], e["interval_method"],
                         e["n_observed"], json.dumps(e["result"], default=str),
                         json.dumps(e["provenance"], default=str)])
                for name, obj in (results or {}).items():
                    con.execute("INSERT INTO results VALUES (?, ?, ?)",
                                [stage, name, pickle.dumps(obj)])
                for name, path, digest in artifacts or []:
                    con.execute("INSERT INTO artifacts VALUES (?, ?, ?, ?)",
                                [stage, name, path, digest])
                row = con.execute("SELECT started_at FROM stage_log WHERE stage = ?",
                                  [stage]).fetchone()
                started_at = row[0] if row and row[0] else _now()
                con.execute(
                    "INSERT OR REPLACE INTO stage_log VALUES (?, ?, ?, 'done', ?, ?, ?, ?, ?, ?)",
                    [stage, input_hash, output_hash, run_id, started_at, _now(), seconds,
                     version, json.dumps(dict(summary or {}), default=str)])
                con.execute(
                    "INSERT INTO stage_history VALUES (?, ?, 'done', ?, ?, ?, ?)",
                    [stage, run_id, input_hash, output_hash, _now(), seconds])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ConfigError(f"store table name {name!r} must be letters, digits and '_'")


def _record(row: tuple) -> StageRecord:
    return StageRecord(
        stage=row[0], input_hash=row[1] or "", output_hash=row[2] or "", status=row[3],
        run_id=row[4] or "", started_at=row[5], finished_at=row[6], seconds=row[7],
        undercount_version=row[8] or "", summary=json.loads(row[9]) if row[9] else {},
    )
