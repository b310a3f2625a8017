"""Outputs written in the background while the tables are built (issue 17's speed work)
keep the output folder atomic: all of it or nothing, never a half-written file left."""

import threading
import time

import pandas as pd
import pytest

from undercount.link.outputs import StagedOutputs


def test_background_writes_land_in_the_staging_folder(tmp_path):
    staged = StagedOutputs(tmp_path / "out")
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", None, "z"]})
    staged.submit("f.parquet", lambda path: frame.to_parquet(path, index=False))
    staged.finish()
    assert staged.tmp.parent == tmp_path and staged.tmp.name.startswith(".out.tmp-")
    pd.testing.assert_frame_equal(pd.read_parquet(staged.tmp / "f.parquet"), frame)
    assert staged.names == {"f.parquet"}


def test_a_background_error_is_raised_by_finish(tmp_path):
    staged = StagedOutputs(tmp_path / "out")

    def fail(path):
        raise OSError("disk full")

    staged.submit("f.parquet", fail)
    with pytest.raises(OSError, match="disk full"):
        staged.finish()


def test_abandon_waits_for_the_running_write_and_removes_the_folder(tmp_path):
    staged = StagedOutputs(tmp_path / "out")
    started, done = threading.Event(), []

    def slow(path):
        started.set()
        time.sleep(0.3)
        path.write_text("x")
        done.append(path)

    staged.submit("a.txt", slow)
    staged.submit("b.txt", slow)  # not started when abandoned: cancelled
    started.wait(5)
    staged.abandon()
    assert len(done) == 1
    assert not staged.tmp.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_building_the_tables_leaves_no_output(make_project, monkeypatch):
    from undercount.link import pipeline

    path = make_project()

    def broken(*args, **kwargs):
        time.sleep(0.2)  # the background writes are under way
        raise RuntimeError("tables failed")

    monkeypatch.setattr(pipeline, "capture_histories", broken)
    with pytest.raises(RuntimeError, match="tables failed"):
        pipeline.link_project(path)
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "febrl_a.csv", "febrl_b.csv", "project.toml"]
