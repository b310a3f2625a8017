"""Standardising some lists on a loky worker: the same records as in one process, and the
process's joblib pool still usable afterwards (the worker is joblib's reusable executor)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
import pytest

from undercount.core import parallel
from undercount.io.lists import read_list
from undercount.io.project import load_project
from undercount.link import _standardise

PROJECT = Path(__file__).parents[2] / "docs" / "examples" / "simulated" / "project.toml"


def _pid(_: object) -> int:
    return os.getpid()


def test_worker_lists_equal_one_process_and_leave_joblib_usable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = load_project(PROJECT)
    frames = [read_list(spec) for spec in config.lists]
    serial = _standardise.standardise_lists(frames, config.lists)
    monkeypatch.setattr(_standardise, "_worker_lists", lambda sizes: (0,))
    stats: dict[str, float] = {}
    shared = _standardise.standardise_lists(frames, config.lists, stats=stats)
    assert "worker_cpu" in stats
    pd.testing.assert_frame_equal(serial, shared, check_exact=True)
    # joblib's Parallel reuses the process's one loky executor: it must still work after the
    # standardising worker (a loky-made executor broke the validation battery's jobs).
    monkeypatch.setattr(parallel, "WORKER_START_S", -1.0)
    assert parallel.map_tasks(math.sqrt, [1.0, 4.0, 9.0], 2) == [1.0, 2.0, 3.0]
    pids = parallel.map_tasks(_pid, range(4), 2)  # the first task is timed here
    assert os.getpid() not in pids[1:]
