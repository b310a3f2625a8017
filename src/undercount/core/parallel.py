"""Worker processes for the embarrassingly parallel steps (bootstrap replicates, strata,
linkage draws, the validation battery), on joblib's loky backend, used only when it pays.

Why loky: its workers are started fresh (fork then exec), not forked from the caller. By the
time a bootstrap starts, the caller may hold threads (numba's parallel layer, DuckDB, a
Spark JVM, the latent-class sampler's chains), and a child forked from a multi-threaded
process inherits their locks in whatever state they were, which crashed workers in
practice. loky sends functions and classes with cloudpickle, so an estimator defined in
``__main__`` or a notebook reaches the workers; the workers do not re-run ``__main__``, so a
script needs no ``if __name__ == "__main__"`` guard; and the workers are kept and reused
across calls in one process, so their start-up is paid once.

Why "only when it pays": starting workers costs seconds (a new interpreter that imports
numpy, scipy, pandas and the estimators), and most bootstraps of a few lists take a
fraction of that. :func:`map_tasks` therefore runs the first task here, estimates the rest
from its time (or from a cost the caller gives), and sends the rest to workers only when
the time saved exceeds :data:`WORKER_START_S`.

Results never depend on how or where the tasks ran: every task carries its own data and
random stream, and results come back in task order.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

__all__ = ["WORKER_START_S", "available_cores", "imap_tasks", "map_tasks"]

T = TypeVar("T")

#: Seconds that starting workers costs, against which the time saved is weighed. Issue 17
#: measured about 1.1 s for the former fork-server pool on an idle 2-core machine; two loky
#: workers running a uk_2013_5 stepwise bootstrap cost 12 s more than the 0.6 s the 1,000
#: replicates take in one process at load 12 on 2 cores, and 0.5 s more once started.
WORKER_START_S = 2.0


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worth_workers(serial_seconds: float, jobs: int) -> bool:
    """Whether ``serial_seconds`` of work split over ``jobs`` workers saves more than
    starting them costs: ``serial_seconds * (1 - 1/jobs) > WORKER_START_S``."""
    return jobs > 1 and serial_seconds * (1.0 - 1.0 / jobs) > WORKER_START_S


def map_tasks(
    func: Callable[[Any], T],
    tasks: Sequence[Any],
    jobs: int,
    *,
    seconds_per_task: float | None = None,
) -> list[T]:
    """``[func(t) for t in tasks]``, on up to ``jobs`` worker processes when that pays.

    Without ``seconds_per_task``, the first task runs here and its time estimates the
    others'; the remaining tasks go to workers when :func:`worth_workers` says so, and run
    here otherwise. An exception raised by a task is raised here. The results, in task
    order, are the same whichever way the tasks ran.
    """
    tasks = list(tasks)
    if jobs <= 1 or len(tasks) <= 1:
        return [func(t) for t in tasks]
    done: list[T] = []
    if seconds_per_task is None:
        start = time.perf_counter()
        done.append(func(tasks[0]))
        seconds_per_task = time.perf_counter() - start
        tasks = tasks[1:]
    workers = min(jobs, len(tasks))
    if len(tasks) <= 1 or not worth_workers(seconds_per_task * len(tasks), workers):
        return done + [func(t) for t in tasks]
    return done + list(_on_workers(func, tasks, workers))


def imap_tasks(func: Callable[[Any], T], tasks: Sequence[Any], jobs: int) -> Iterator[T]:
    """``func(t)`` for each task, in order, yielded as they finish, on ``jobs`` workers.

    For callers that know the work is long (the validation battery) and report progress as
    results arrive; ``jobs <= 1`` runs the tasks here, one at a time.
    """
    if jobs <= 1 or len(tasks) <= 1:
        return (func(t) for t in tasks)
    return _on_workers(func, tasks, min(jobs, len(tasks)))


def _on_workers(func: Callable[[Any], T], tasks: Sequence[Any], jobs: int) -> Iterator[T]:
    # joblib is imported here, not at the top: most runs never start workers, and the
    # import (0.06-0.2 s) would otherwise slow every command that imports an estimator.
    from joblib import Parallel, delayed

    # max_nbytes=None: arguments are pickled to the workers, never memory-mapped read-only,
    # so a task may change its own copy of an array as it could in this process.
    parallel = Parallel(n_jobs=jobs, backend="loky", max_nbytes=None, return_as="generator")
    return parallel(delayed(func)(t) for t in tasks)
