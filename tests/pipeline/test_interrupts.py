"""Ctrl-C (SIGINT) and SIGTERM during ``undercount link`` and ``undercount run``.

Each test starts the real command in a subprocess, waits until it reports that the stage of
interest has started (a line on stderr or stdout, never a blind sleep), sends the signal and
checks: exit status 130 (SIGINT) or 143 (SIGTERM), one plain line ``interrupted during
<stage>; ...`` and no traceback (nor Splink's SQL), nothing of the user's touched, and for
``run`` a consistent store that the next run resumes from.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from undercount.pipeline.runner import Project

from ._project import make_project

CLI = "from undercount.cli import main; main()"

# A stage made slow: it sleeps (where the signal lands) before doing its work.
SLOW_STAGE = """
import dataclasses, sys, time
from undercount.pipeline import runner

stage = sys.argv.pop(1)
real = next(s.run for s in runner.STAGES if s.name == stage)

def slow(ctx):
    print(f"{stage.upper()}-STARTED", flush=True)
    time.sleep(120)
    return real(ctx)

runner.STAGES = tuple(dataclasses.replace(s, run=slow) if s.name == stage else s
                      for s in runner.STAGES)
from undercount.cli import main
main()
"""


class Command:
    """A subprocess whose stdout and stderr lines are collected as they come."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True)
        self.lines: list[str] = []
        self.stderr: list[str] = []
        self._threads = [threading.Thread(target=self._read, args=(s, sink), daemon=True)
                         for s, sink in ((self.proc.stdout, self.lines),
                                         (self.proc.stderr, self.stderr))]
        for t in self._threads:
            t.start()

    def _read(self, stream, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)

    def wait_for(self, text: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in (*self.lines, *self.stderr)):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        pytest.fail(f"{text!r} never appeared:\n{''.join(self.stderr)[-3000:]}")

    def signal(self, signum: int) -> tuple[int, str]:
        self.proc.send_signal(signum)
        try:
            rc = self.proc.wait(timeout=120)
        finally:
            self.kill()
        for t in self._threads:
            t.join(timeout=10)
        return rc, "".join(self.stderr)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _hashes(root: Path, skip: str = "out") -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()
            and not str(p.relative_to(root)).startswith(skip)}


def _last_line(stderr: str) -> str:
    return [line for line in stderr.splitlines() if line.strip()][-1]


def _clean(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "SELECT" not in stderr and "KeyboardInterrupt" not in stderr


def _simulated_project(folder: Path) -> Path:
    """Three simulated lists (about 90 records): linkage takes a few seconds."""
    from undercount.simulate import simulate_lists

    sim = simulate_lists(n_people=60, lists=3, rng=np.random.default_rng(4), seed=4)
    sim.write(folder)
    path = folder / "project.toml"
    text = path.read_text().replace('[project]\nname = "simulated"\nseed = 4\noutput = "linked"',
                                    '[project]\nname = "simulated"\nseed = 4\noutput = "out"')
    assert 'output = "out"' in text
    path.write_text(text + '\n[estimate]\nmethod = "loglinear"\nsensitivity = false\n'
                    'interval = "profile"\n\n[report]\npdf = false\n')
    return path


def test_ctrl_c_during_run_link_stage_one_line_and_the_next_run_resumes(tmp_path):
    path = _simulated_project(tmp_path / "p")
    before = _hashes(path.parent)
    cmd = Command(["-c", CLI, "run", str(path)], path.parent)
    cmd.wait_for("✓ standardise")        # the link stage starts right after this line
    time.sleep(0.5)                      # inside Splink's training (several seconds)
    rc, stderr = cmd.signal(signal.SIGINT)
    assert rc == 130, stderr
    assert _last_line(stderr) == "interrupted during link; completed stages are kept"
    _clean(stderr)
    assert _hashes(path.parent) == before
    out = path.parent / "out"
    assert sorted(p.name for p in out.iterdir()) == ["project.duckdb"]  # no temp folders
    p = Project(path)
    states = {r["stage"]: r["state"] for r in p.status()}
    assert states["ingest"] == states["standardise"] == "up to date"
    assert states["link"] == "interrupted"
    summary = p.run(until="link")
    assert summary.cached() == ["ingest", "standardise"] and summary.ran() == ["link"]


def test_sigterm_during_link_command_writes_nothing(tmp_path):
    path = _simulated_project(tmp_path / "p")
    before = sorted(p.name for p in path.parent.iterdir())
    hashes = _hashes(path.parent)
    cmd = Command(["-c", CLI, "link", str(path)], path.parent)
    cmd.wait_for("stage: link")
    time.sleep(0.5)
    rc, stderr = cmd.signal(signal.SIGTERM)
    assert rc == 143, stderr
    assert _last_line(stderr) == (
        "interrupted during link; nothing was written (the outputs are written only when "
        "complete)")
    _clean(stderr)
    # No output folder, no temporary folder, inputs unchanged.
    assert sorted(p.name for p in path.parent.iterdir()) == before
    assert _hashes(path.parent) == hashes


@pytest.mark.parametrize(("stage", "signum"), [
    ("ingest", signal.SIGINT),
    ("tabulate", signal.SIGTERM),
    ("estimate", signal.SIGINT),
    ("report", signal.SIGTERM),
])
def test_interrupt_at_each_stage_of_run(tmp_path, stage, signum):
    path = make_project(tmp_path / "p", strata=False)
    text = path.read_text().replace('method = "loglinear"',
                                    'method = "loglinear"\ninterval = "profile"')
    path.write_text(text)
    before = _hashes(path.parent)
    script = tmp_path / "slow.py"
    script.write_text(textwrap.dedent(SLOW_STAGE))
    cmd = Command([str(script), stage, "run", str(path), "--no-progress"], path.parent)
    cmd.wait_for(f"{stage.upper()}-STARTED")
    rc, stderr = cmd.signal(signum)
    assert rc == 128 + signum, stderr
    assert _last_line(stderr) == f"interrupted during {stage}; completed stages are kept"
    _clean(stderr)
    assert _hashes(path.parent) == before
    stages = ["ingest", "tabulate", "estimate", "report"]
    done = stages[: stages.index(stage)]
    out = path.parent / "out"
    if not done:
        assert not out.exists()  # nothing completed: the folder this run made is gone
    else:
        p = Project(path)
        states = {r["stage"]: r["state"] for r in p.status()}
        assert [s for s in stages if states[s] == "up to date"] == done
        assert states[stage] == "interrupted"
    summary = Project(path).run(until=stage)
    assert summary.cached() == done
    assert summary.ran() == [stage]


# `undercount link` with one step made slow (it sleeps where the signal lands, then works).
SLOW_LINK_STEP = """
import sys, time
from undercount.link import pipeline

step = sys.argv.pop(1)
name = {"read": "read_list", "write": "_write"}[step]
real = getattr(pipeline, name)

def slow(*args, **kwargs):
    print(f"{step.upper()}-STARTED", flush=True)
    time.sleep(120)
    return real(*args, **kwargs)

setattr(pipeline, name, slow)
from undercount.cli import main
main()
"""


@pytest.mark.parametrize(("step", "signum"), [("read", signal.SIGTERM),
                                              ("write", signal.SIGINT)])
def test_interrupt_link_command_before_and_while_writing(tmp_path, step, signum):
    path = _simulated_project(tmp_path / "p")
    names = sorted(p.name for p in path.parent.iterdir())
    hashes = _hashes(path.parent)
    script = tmp_path / "slow.py"
    script.write_text(textwrap.dedent(SLOW_LINK_STEP))
    cmd = Command([str(script), step, "link", str(path)], path.parent)
    cmd.wait_for(f"{step.upper()}-STARTED")
    rc, stderr = cmd.signal(signum)
    assert rc == 128 + signum, stderr
    assert _last_line(stderr).startswith(f"interrupted during {step}; nothing was written")
    _clean(stderr)
    assert sorted(p.name for p in path.parent.iterdir()) == names  # no output, no temp folder
    assert _hashes(path.parent) == hashes
