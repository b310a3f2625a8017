"""Where undercount may write, and how it replaces what it wrote before.

Outputs go only where the project file says (``[project] output``), into a folder that is
either new, empty, or an *undercount output folder*: one that holds nothing but files
undercount writes (:data:`OUTPUT_NAMES`: linkage outputs, the project store, reports) and its
own temporary folders. Anything else in the way (a file of the user's, a folder of the user's
files) is an error that names it: undercount never moves, renames or deletes anything it did
not create.

Within its own folder ``undercount link`` replaces its outputs atomically (see
:func:`replace_folder`); ``undercount run`` writes through the store's transactions.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from undercount.errors import ConfigError

__all__ = [
    "LINK_OUTPUTS",
    "OUTPUT_NAMES",
    "TEMP_PREFIXES",
    "StagedOutputs",
    "check_distinct_lists",
    "check_output_folder",
    "replace_folder",
    "signals_blocked",
]

#: The files ``undercount link`` writes (see :mod:`undercount.link.pipeline`).
LINK_OUTPUTS: tuple[str, ...] = (
    "records.parquet",
    "capture_histories.parquet",
    "capture_table.json",
    "suspicious_clusters.csv",
    "edges.parquet",
    "standardised.parquet",
    "link_settings.json",
    "provenance.json",
)
#: Every name undercount writes into a project's output folder.
OUTPUT_NAMES: frozenset[str] = frozenset(
    {*LINK_OUTPUTS, "project.duckdb", "project.duckdb.wal", "project.duckdb.tmp", "report.html",
     "report.pdf"}
)
#: Prefixes of undercount's temporary folders inside an output folder.
TEMP_PREFIXES: tuple[str, ...] = (".duckdb_link_tmp", ".undercount_")


def _ours(name: str) -> bool:
    return name in OUTPUT_NAMES or name.startswith(TEMP_PREFIXES)


def check_output_folder(path: Path, *, source: str = "", key: str = "[project] output") -> None:
    """Raise :class:`ConfigError` unless undercount may write its outputs to folder ``path``.

    Allowed: a folder that does not exist yet (below folders, not files), an empty folder,
    or an undercount output folder (only names in :data:`OUTPUT_NAMES` and undercount's
    temporary folders). Refused, naming the path: a file (or anything that is not a folder)
    at ``path`` or at one of its parents, and a folder holding anything else.
    """
    where = f"{source}: {key}" if source else key
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        what = "a link" if path.is_symlink() else "a file"
        raise ConfigError(
            f"{where} is {path}, which is {what}, not a folder: undercount writes its outputs "
            f"into a folder and never replaces {what}; choose another output folder")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{where}: {parent} is a file, not a folder; choose another "
                                  "output folder")
            break
    if not path.is_dir():
        return
    foreign = sorted(p.name for p in path.iterdir() if not _ours(p.name))
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5
                                          else "")
        raise ConfigError(
            f"{where} is {path}, a folder that holds files undercount did not write ({shown}); "
            "undercount writes only into a new or empty folder or one of its own output "
            "folders, and never moves or deletes anything else: choose another output folder")


def check_distinct_lists(specs: Sequence[Any], *, source: str = "") -> None:
    """Refuse a file named as two lists (the same path, or byte-identical content).

    An error, not a warning: a list is a whole file, so one file named twice gives two
    "lists" that capture exactly the same people. Capture-recapture reads that as perfect
    dependence between two sources and the estimate collapses towards the observed count
    (on the simulated example, 2,067 instead of 2,824). There is no analysis this can be
    right for.
    """
    seen: dict[tuple[str, str, str], str] = {}
    problems = []
    for spec in specs:
        path = Path(spec.file)
        # Two sheets of one workbook are two lists.
        sheet = str(getattr(spec, "sheet", None))
        key = ("path", str(path.resolve()), sheet)
        digest = ("sha256", _sha256(path), sheet)
        for k in (key, digest):
            if k in seen and seen[k] != spec.name:
                how = "the same file" if k[0] == "path" else "files with identical content"
                problems.append(
                    f"lists {seen[k]!r} and {spec.name!r} are {how} ({path}): a file can be "
                    "only one list")
                break
        else:
            seen.setdefault(key, spec.name)
            seen.setdefault(digest, spec.name)
    if problems:
        prefix = f"{source}: " if source else ""
        raise ConfigError(prefix + "; ".join(problems))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, so a folder swap is never left half
    done; a signal that came meanwhile is raised again right after, to the handler that was
    in place (the CLI's, or Python's default).

    Deferred in Python rather than masked with ``pthread_sigmask``: a mask holds only the
    calling thread, and DuckDB's and NumPy's threads would take the signal instead. Handlers
    can be set only in the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        pending.append(signum)

    old = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if pending:
            signal.raise_signal(pending[0])


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def replace_folder(tmp: Path, out: Path, *, replaced: Iterable[str]) -> None:
    """Put the finished folder ``tmp`` at ``out`` in one rename.

    ``out`` must have passed :func:`check_output_folder`. Whatever ``out`` holds besides the
    ``replaced`` names (the project store and reports of ``undercount run``) is carried into
    ``tmp`` first by hard links (copies where the file system has none), so it is kept as it
    is; undercount's stale temporary folders are dropped. The swap runs with SIGINT and
    SIGTERM held, so ``out`` is always either the old folder or the new one.
    """
    replaced = set(replaced)
    if out.is_dir():
        for entry in out.iterdir():
            if entry.name in replaced or entry.name.startswith(TEMP_PREFIXES):
                continue
            dst = tmp / entry.name
            if entry.is_dir() and not entry.is_symlink():
                shutil.copytree(entry, dst, symlinks=True, copy_function=_link_or_copy)
            elif entry.is_symlink():
                os.symlink(os.readlink(entry), dst)
            else:
                _link_or_copy(str(entry), str(dst))
    # The old folder is removed with the signals still held: an interrupt right after the
    # swap must not leave it behind (its files are unlinked, not copied: quick).
    with signals_blocked():
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.undercount-old-{os.getpid()}")
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


class StagedOutputs:
    """The temporary sibling folder a run's outputs are written into before
    :func:`replace_folder` puts it in place, with one background thread to write into it.

    Outputs that are final early (the standardised records and the edges, once linkage has
    returned) are written on the thread while the main thread builds the tables: writing a
    parquet file is mostly compression and encoding, done by Arrow without Python's global
    lock, so on two cores it costs the run almost no time (the million-record linkage wrote
    for 2.5 s after everything else was done). :meth:`finish` waits for it and raises its
    errors; :meth:`abandon` waits for it and removes the folder, so nothing half written is
    ever left or put in place.
    """

    def __init__(self, out: Path) -> None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        self.names: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="undercount-write")
        self._jobs: list[Future] = []

    def submit(self, name: str, write: Callable[[Path], Any]) -> None:
        """Write output ``name`` in the background: ``write(path)``."""
        self.names.add(name)
        self._jobs.append(self._pool.submit(write, self.tmp / name))

    def finish(self) -> None:
        """Wait for the background writes; raise the first one's error."""
        try:
            for job in self._jobs:
                job.result()
        finally:
            self._pool.shutdown(wait=True)

    def abandon(self) -> None:
        """Stop: cancel the writes not started, wait for the one running, remove the
        folder."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
