"""Linking the same project twice gives byte-identical outputs (issue 13, item 6)."""

import shutil

from undercount.link.pipeline import link_project


def test_two_runs_byte_identical(make_project, tmp_path):
    path = make_project()
    link_project(path)
    first = path.parent / "linked"
    kept = tmp_path / "first_run"
    shutil.copytree(first, kept)
    link_project(path)
    for name in ("records.parquet", "edges.parquet", "link_settings.json",
                 "capture_histories.parquet", "standardised.parquet"):
        assert (first / name).read_bytes() == (kept / name).read_bytes(), name
