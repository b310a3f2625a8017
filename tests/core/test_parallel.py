"""map_tasks / imap_tasks on loky workers: the same results as in-process, workers only when
they pay, and no ``__main__`` guard needed."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from undercount.core import parallel
from undercount.core.parallel import available_cores, imap_tasks, map_tasks, worth_workers

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
