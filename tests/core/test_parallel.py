"""map_tasks: the same results on worker processes as in-process, and a safe fallback."""

from __future__ import annotations

import math

from undercount.core.parallel import available_cores, map_tasks


def test_map_tasks_on_workers_equals_in_process() -> None:
    tasks = [float(i) for i in range(12)]
    assert map_tasks(math.sqrt, tasks, 2) == [math.sqrt(t) for t in tasks]
    assert map_tasks(math.sqrt, tasks, 1) == [math.sqrt(t) for t in tasks]
    assert available_cores() >= 1


def test_map_tasks_falls_back_when_a_task_cannot_reach_a_worker() -> None:
    # A function defined inside a test cannot be imported by a fork-server worker; the
    # tasks then run in this process, with the same results.
    offset = 3.0

    def local(x: float) -> float:
        return x + offset

    assert map_tasks(local, [1.0, 2.0, 3.0], 2) == [4.0, 5.0, 6.0]


def test_map_tasks_reraises_a_genuine_error() -> None:
    import pytest

    with pytest.raises(ValueError):
        map_tasks(math.sqrt, [1.0, -1.0, 4.0], 2)
