"""map_tasks / imap_tasks on loky workers: the same results as in-process, workers only when
they pay, and no ``__main__`` guard needed."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from undercount.core import parallel
from undercount.core.parallel import (
    available_cores,
    beside,
    imap_tasks,
    map_tasks,
    worth_workers,
)

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def always_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Starting workers "costs nothing": every call with jobs > 1 uses them.
    monkeypatch.setattr(parallel, "WORKER_START_S", -1.0)


def _pid(_: object) -> int:
    return os.getpid()


def test_map_tasks_on_workers_equals_in_process(always_workers: None) -> None:
    tasks = [float(i) for i in range(12)]
    assert map_tasks(math.sqrt, tasks, 2) == [math.sqrt(t) for t in tasks]
    assert map_tasks(math.sqrt, tasks, 1) == [math.sqrt(t) for t in tasks]
    assert list(imap_tasks(math.sqrt, tasks, 2)) == [math.sqrt(t) for t in tasks]
    assert available_cores() >= 1


def test_workers_are_used_when_they_pay_and_not_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    here = os.getpid()
    # Tiny tasks: the estimate from the first one says workers would not pay.
    assert set(map_tasks(_pid, range(8), 2)) == {here}
    assert not worth_workers(0.5, 2)
    assert worth_workers(10.0, 2)
    assert not worth_workers(10.0, 1)
    # A caller's estimate of the cost decides without timing a task here.
    pids = map_tasks(_pid, range(8), 2, seconds_per_task=10.0)
    assert here not in pids
    monkeypatch.setattr(parallel, "WORKER_START_S", -1.0)
    pids = map_tasks(_pid, range(8), 2)
    assert pids[0] == here and here not in pids[1:]


def test_a_locally_defined_function_reaches_the_workers(always_workers: None) -> None:
    # cloudpickle sends a closure by value; no fallback to this process is needed.
    offset = 3.0

    def local(x: float) -> tuple[float, int]:
        return x + offset, os.getpid()

    out = map_tasks(local, [1.0, 2.0, 3.0], 2)
    assert [v for v, _ in out] == [4.0, 5.0, 6.0]
    assert out[-1][1] != os.getpid()


def test_map_tasks_reraises_a_genuine_error(always_workers: None) -> None:
    with pytest.raises(ValueError):
        map_tasks(math.sqrt, [1.0, 4.0, -1.0, 9.0], 2)


def test_bootstrap_identical_on_one_and_two_workers(always_workers: None) -> None:
    from undercount import datasets
    from undercount.models.loglinear import LogLinearEstimator
    from undercount.uncertainty.bootstrap import Bootstrap

    table = datasets.load("kosovo")
    est = LogLinearEstimator(select="bic", max_order=2)
    fits = [
        Bootstrap(estimator=est, replicates=80, n_jobs=n).fit(
            table, rng=np.random.default_rng(7)
        )
        for n in (1, 2)
    ]
    np.testing.assert_array_equal(fits[0].replicates, fits[1].replicates)
    assert fits[0].interval == fits[1].interval


def test_script_without_main_guard_runs_the_bootstrap_on_workers(tmp_path: Path) -> None:
    # The estimator class is defined in the script's __main__; the workers must receive it
    # without re-running the script, and nothing may print a traceback.
    script = tmp_path / "no_guard.py"
    script.write_text(textwrap.dedent("""
        import dataclasses
        import numpy as np
        from undercount import datasets
        from undercount.core import parallel
        from undercount.models.loglinear import LogLinearEstimator
        from undercount.uncertainty.bootstrap import Bootstrap

        parallel.WORKER_START_S = -1.0  # use the workers however small the work

        @dataclasses.dataclass(frozen=True)
        class MyLogLinear(LogLinearEstimator):
            pass

        print("script body ran")
        table = datasets.load("kosovo")
        est = MyLogLinear(model="[12,13,14,23,24,34]")
        r = [Bootstrap(estimator=est, replicates=60, n_jobs=n).fit(
                 table, rng=np.random.default_rng(3)).replicates for n in (1, 2)]
        assert np.array_equal(r[0], r[1])
        print("identical", len(r[1]))
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stdout.split() == ["script", "body", "ran", "identical", "60"]


def _slow_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _draw(rng: np.random.Generator) -> tuple[float, np.random.Generator]:
    return float(rng.random()), rng


def _fail(message: str) -> None:
    raise ValueError(message)


def _mark_pid(path: Path) -> int:
    path.write_text("started")
    return os.getpid()


def _after(path: Path) -> int:
    deadline = time.monotonic() + 240.0
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return os.getpid()


def test_beside_gives_the_steps_results_in_order_whoever_ran_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    here = os.getpid()
    rng = np.random.default_rng(11)
    mark = tmp_path / "first step ran"
    steps = [(_mark_pid, (mark,)), (_draw, (rng,)), (_slow_pid, (0.0,))]
    # This process's own step lasts until a step has run: the worker's first.
    value, out = beside(lambda: _after(mark), steps)
    assert value == here and out[0] != here
    # Each step drew from its own copy: the caller's generator is as it was, and the
    # step hands back the copy as it left it.
    first, left = out[1]
    assert first == np.random.default_rng(11).random() and rng.random() == first
    assert left.random() == np.random.default_rng(11).random(2)[1]
    # Without a second core every step runs here, after this process's own, the same.
    monkeypatch.setattr(parallel, "available_cores", lambda: 1)
    value, serial = beside(lambda: here, [(_slow_pid, (0.0,)), (_draw, (rng,))])
    assert serial[0] == here and serial[1][0] == np.random.default_rng(11).random(2)[1]


def test_beside_takes_the_steps_the_worker_has_not_started_from_the_end() -> None:
    here = os.getpid()
    # Its own step done at once, this process runs the last steps while the worker starts.
    _, out = beside(lambda: None, [(_slow_pid, (3.0,)), (_slow_pid, (0.0,)),
                                   (_slow_pid, (0.0,))])
    assert out[-1] == here and out[-2] == here


def test_beside_raises_the_first_failing_step_and_this_process_own_error() -> None:
    with pytest.raises(ValueError, match="second"):
        beside(lambda: None, [(_slow_pid, (0.0,)), (_fail, ("second",)), (_fail, ("third",))])
    with pytest.raises(KeyError):
        beside(lambda: {}["missing"], [(_slow_pid, (0.0,))])


def _cores_and_blas_threads(_: object) -> tuple[int, int, bool]:
    from threadpoolctl import threadpool_info

    with parallel.one_core():
        threads = max((p["num_threads"] for p in threadpool_info()), default=1)
        return available_cores(), threads, parallel.in_worker()


def test_one_core_holds_this_process_to_one_core_and_a_worker_knows_it_is_one(
    always_workers: None,
) -> None:
    assert _cores_and_blas_threads(None) == (1, 1, False)
    assert not parallel.in_worker()
    on_workers = map_tasks(_cores_and_blas_threads, [None, None, None], 2)
    assert on_workers[1:] == [(1, 1, True)] * 2


def test_the_default_is_the_same_with_its_families_fitted_beside_it_or_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from undercount.pipeline.estimate import estimate

    def fitted(name: str) -> dict:
        d = estimate(name, seed=5).to_dict()
        d.pop("provenance")
        return d

    beside_it = fitted("korea")
    monkeypatch.setattr(parallel, "available_cores", lambda: 1)
    assert fitted("korea") == beside_it
