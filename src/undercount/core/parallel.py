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

:func:`beside` is for a few long, different steps that do not depend on one another (the
default's other families beside its log-linear bootstrap): one worker takes them in order
while this process does its own step, then takes from the end the ones the worker has not
started. Who runs a step is settled by creating a claim file, which only one process can do.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["WORKER_START_S", "available_cores", "beside", "imap_tasks", "in_worker",
           "map_tasks", "one_core"]

T = TypeVar("T")
U = TypeVar("U")

#: Seconds that starting workers costs, against which the time saved is weighed. Issue 17
#: measured about 1.1 s for the former fork-server pool on an idle 2-core machine; two loky
#: workers running a uk_2013_5 stepwise bootstrap cost 12 s more than the 0.6 s the 1,000
#: replicates take in one process at load 12 on 2 cores, and 0.5 s more once started.
WORKER_START_S = 2.0


#: Whether this process is held to one core (:func:`one_core`).
_ONE_CORE = False


def available_cores() -> int:
    """CPU cores this process may run on: 1 inside :func:`one_core`."""
    if _ONE_CORE:
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def one_core() -> Iterator[None]:
    """Hold this process to one core while another process works on the other: no workers
    of its own (:func:`available_cores` is 1) and one BLAS thread. Two processes each
    running two OpenBLAS threads on two cores spin-wait on each other: the default's
    logit-normal and latent-class fits of UK 2013 (5 lists) took 13.5 s beside a second
    such process, against 2.3 s alone, and 2.5-3.7 s with one thread each."""
    global _ONE_CORE
    from threadpoolctl import threadpool_limits

    held, _ONE_CORE = _ONE_CORE, True
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        _ONE_CORE = held


def in_worker() -> bool:
    """Whether this process is itself a worker (loky's or multiprocessing's): a worker
    starts no workers of its own, the cores being its caller's to share out."""
    return multiprocessing.parent_process() is not None


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


Step = tuple[Callable[..., Any], tuple[Any, ...]]


def beside(here: Callable[[], U], steps: Sequence[Step]) -> tuple[U, list[Any]]:
    """``here()`` in this process while one worker runs ``steps`` (each ``(func, args)``) in
    order; once ``here()`` returns, this process runs, from the last, the steps the worker
    has not started. Returns ``here()``'s result and the steps' results in order.

    Every step runs on its own copy of its arguments, here or on the worker, so a step that
    draws from a random generator it is given leaves the caller's generator as it was and
    its result does not depend on where it ran (a step that must hand a generator on
    returns it). A step's exception is raised here, the first in step order. Without a
    second core, in a worker, or when the worker cannot be reached, the steps run here, in
    order, after ``here()``.
    """
    if not steps:
        return here(), []
    if available_cores() < 2 or in_worker():
        value = here()
        return value, [_step(s) for s in steps]
    from joblib.executor import get_memmapping_executor

    with tempfile.TemporaryDirectory(prefix="undercount-steps-") as claims:
        try:
            # joblib's handle on loky's one reusable executor (link._standardise says why).
            future = get_memmapping_executor(1, max_nbytes=None).submit(
                _claimed_steps, steps, claims)
        except Exception:  # no worker: everything runs here, as without one
            future = None
        with one_core():
            try:
                value = here()
            except BaseException:
                for i in range(len(steps)):  # the worker stops after the step it is on
                    _claim(claims, i)
                raise
            done: dict[int, Any] = {}
            for i in reversed(range(len(steps))):
                if not _claim(claims, i):
                    break  # the worker takes steps in order: it has this one and those before
                done[i] = _outcome(steps[i])
        if len(done) < len(steps) and future is not None:
            try:
                done.update(future.result())
            except Exception:  # a worker lost mid-way: its steps run here
                pass
        results = [done[i] if i in done else _outcome(steps[i]) for i in range(len(steps))]
    for ok, result in results:
        if not ok:
            raise result
    return value, [r for _, r in results]


def _claim(folder: str, i: int) -> bool:
    try:
        os.close(os.open(Path(folder) / str(i), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except (FileExistsError, FileNotFoundError):  # claimed, or the caller has gone on
        return False
    return True


def _step(step: Step) -> Any:
    func, args = step
    return func(*copy.deepcopy(args))


def _outcome(step: Step) -> tuple[bool, Any]:
    try:
        return True, _step(step)
    except Exception as exc:  # raised in the caller, in step order
        return False, exc


def _claimed_steps(steps: Sequence[Step], folder: str) -> dict[int, tuple[bool, Any]]:
    """On the worker: the steps, in order, that it claims before the caller does."""
    out: dict[int, tuple[bool, Any]] = {}
    with one_core():
        for i, step in enumerate(steps):
            if not _claim(folder, i):
                break
            out[i] = _outcome(step)
    return out
