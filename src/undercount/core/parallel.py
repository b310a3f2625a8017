"""Worker processes for the embarrassingly parallel steps (bootstrap replicates, strata,
linkage draws).

Workers are started by a fork server, not by forking the calling process: by the time a
bootstrap starts, the caller may hold threads (numba's parallel layer, DuckDB, a Spark
JVM, the latent-class sampler's chains), and a child forked from a multi-threaded process
inherits their locks in whatever state they were, which crashed workers in practice. A
fork-server worker must import the task's function and estimator by name, which fails for
an estimator class defined in ``__main__`` or a notebook; then, and whenever a worker dies,
the tasks are run in this process instead. Results never depend on how the tasks ran:
every task carries its own data and random stream.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

__all__ = ["available_cores", "map_tasks", "process_pool"]

T = TypeVar("T")


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _context():
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # Workers fork from a server that has imported the estimators once, instead of each
        # importing numpy, scipy and pandas afresh (seconds per worker otherwise).
        context.set_forkserver_preload(["undercount.uncertainty.bootstrap"])
        return context
    return multiprocessing.get_context("spawn")


def map_tasks(func: Callable[[Any], T], tasks: Sequence[Any], jobs: int) -> list[T]:
    """``[func(t) for t in tasks]``, on ``jobs`` worker processes when ``jobs > 1``.

    Falls back to this process when a task cannot be sent to a worker (an object defined
    in ``__main__``) or a worker dies; the results are the same either way.
    """
    if jobs <= 1 or len(tasks) <= 1:
        return [func(t) for t in tasks]
    try:
        with process_pool(jobs) as pool:
            return list(pool.map(func, tasks))
    except (BrokenProcessPool, pickle.PicklingError, AttributeError, ModuleNotFoundError):
        return [func(t) for t in tasks]


def process_pool(jobs: int) -> ProcessPoolExecutor:
    """A pool of ``jobs`` workers started by the fork server (module docstring), for
    callers that consume results as they arrive (e.g. to report progress)."""
    return ProcessPoolExecutor(max_workers=jobs, mp_context=_context())
