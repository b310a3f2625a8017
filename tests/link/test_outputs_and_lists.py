"""Issue 16 (link and run): where outputs may go, lists that repeat one another, lists with no
names, and ``undercount link`` and ``undercount run`` counting the same people."""

from __future__ import annotations

import hashlib
import os
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from undercount.errors import ConfigError, InputError
from undercount.io.project_types import ListSource
from undercount.link._standardise import check_names_present, fix_dtypes, standardise_lists
from undercount.link.outputs import check_distinct_lists, check_output_folder
from undercount.link.overlap import list_overlaps


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------ outputs
def test_output_folder_new_empty_or_undercounts_is_allowed(tmp_path):
    check_output_folder(tmp_path / "new" / "deeper")
    (tmp_path / "empty").mkdir()
    check_output_folder(tmp_path / "empty")
    ours = tmp_path / "ours"
    ours.mkdir()
    for name in ("records.parquet", "project.duckdb", "report.html", ".duckdb_link_tmp"):
        (ours / name).write_text("x")
    check_output_folder(ours)


def test_output_that_is_a_users_file_is_refused_and_left_alone(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(ConfigError, match=r"output is .*notes\.txt, which is a file, not a "
                                          r"folder.*never replaces a file"):
        check_output_folder(notes, source="project.toml")
    with pytest.raises(ConfigError, match=r"notes\.txt is a file, not a folder"):
        check_output_folder(notes / "sub")
    link = tmp_path / "link"
    os.symlink(tmp_path, link)
    with pytest.raises(ConfigError, match="which is a link"):
        check_output_folder(link)
    users = tmp_path / "users"
    users.mkdir()
    for i in range(7):
        (users / f"f{i}.txt").write_text("mine")
    (users / "report.html").write_text("x")
    with pytest.raises(ConfigError, match=r"holds files undercount did not write \(f0\.txt, "
                                          r"f1\.txt, f2\.txt, f3\.txt, f4\.txt and 2 more\)"):
        check_output_folder(users)
    assert notes.read_text() == "mine"


def test_link_refuses_a_users_file_as_output_before_any_work(make_project):
    from undercount.link.pipeline import link_project

    path = make_project()
    path.write_text(path.read_text().replace('output = "linked"', 'output = "notes.txt"'))
    (path.parent / "notes.txt").write_text("my notes")
    before = _digest(path.parent)
    with pytest.raises(ConfigError, match=r"notes\.txt, which is a file"):
        link_project(path)
    assert _digest(path.parent) == before
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        ["febrl_a.csv", "febrl_b.csv", "project.toml", "notes.txt"])


def test_run_refuses_a_users_folder_as_output(tmp_path):
    from undercount.pipeline.runner import Project

    from ..pipeline._project import make_project

    path = make_project(tmp_path / "p", strata=False)
    (path.parent / "out").mkdir()
    (path.parent / "out" / "draft.md").write_text("mine")
    before = _digest(path.parent)
    with pytest.raises(ConfigError, match=r"holds files undercount did not write \(draft\.md\)"):
        Project(path).run()
    assert _digest(path.parent) == before


# ------------------------------------------------------------------------------ lists
def _spec(name, file, sheet=None):
    return types.SimpleNamespace(name=name, file=Path(file), sheet=sheet)


def test_a_file_named_as_two_lists_is_an_error(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("id,name\n1,x\n")
    with pytest.raises(ConfigError, match=r"lists 'a' and 'b' are the same file .*a\.csv.*only "
                                          "one list"):
        check_distinct_lists([_spec("a", a), _spec("b", a)])
    copy = tmp_path / "copy.csv"
    copy.write_bytes(a.read_bytes())
    with pytest.raises(ConfigError, match="lists 'a' and 'c' are files with identical content"):
        check_distinct_lists([_spec("a", a), _spec("c", copy)])
    # Two sheets of one workbook are two lists.
    check_distinct_lists([_spec("a", a, "first"), _spec("b", a, "second")])


def test_record_overlaps_name_both_lists():
    rec = pd.DataFrame({
        "list": ["a"] * 3 + ["b"] * 3 + ["c"] * 2 + ["d"] * 2,
        "given": ["x", "y", "z", "x", "y", "z", "x", "y", "q", "r"],
        "dob": [None, "2000-01-01", None, None, "2000-01-01", None, None, "2000-01-01", None,
                None],
    })
    got = list_overlaps(rec, None, ["a", "b", "c", "d"])
    assert got[0].startswith("lists 'a' and 'b' hold the same 3 records")
    assert got[1].startswith("every record of list 'c' is also a record of list 'a'")
    assert got[2].startswith("every record of list 'c' is also a record of list 'b'")
    assert len(got) == 3


def test_capture_column_overlaps_after_linkage():
    hist = pd.DataFrame({"a": [1, 1, 0, 0], "b": [1, 1, 0, 0], "c": [1, 0, 1, 1],
                         "d": [0, 0, 1, 0]})
    got = list_overlaps(None, hist, ["a", "b", "c", "d"])
    assert got == [
        "lists 'a' and 'b' name exactly the same 2 people after linkage: two lists that "
        "capture the same people are not separate sources, and the estimate is too low",
        "every person on list 'd' (1) is also on list 'c' after linkage: if one list was drawn "
        "from the other they are not separate sources, and the estimate is too low",
    ]
    assert list_overlaps(None, hist[["c", "d"]].assign(d=[0, 1, 0, 0]), ["c", "d"]) == []


def test_project_list_warnings_reach_the_run_and_the_report(tmp_path, monkeypatch):
    from undercount.pipeline import runner

    from ..pipeline._project import make_project

    path = make_project(tmp_path / "p", strata=False)
    people = pd.read_csv(path.parent / "people.csv", dtype=str)
    lists = [c for c in people.columns if c not in ("person_id", "full_name", "sex")]
    # Everyone on the last list is also on the first.
    first, last = lists[0], lists[-1]
    people[first] = np.where(people[last] == "1", "1", people[first])
    people.to_csv(path.parent / "people.csv", index=False)
    p = runner.Project(path)
    assert p.list_warnings() == []
    p.run(until="tabulate")
    warnings = p.list_warnings()
    assert len(warnings) == 1
    assert warnings[0].startswith(f"every person on list '{last}' (")
    assert f"is also on list '{first}' after linkage" in warnings[0]
    p.run()
    html = (path.parent / "out" / "report.html").read_text()
    assert f"every person on list &#39;{last}&#39;" in html or \
        f"every person on list '{last}'" in html


def _frame(values: dict[str, list]) -> pd.DataFrame:
    return pd.DataFrame(values, dtype=object)


def test_a_list_without_names_is_refused(tmp_path):
    spec = ListSource(
        name="media", file=tmp_path / "media.csv", format="csv", id_column="id",
        columns={"name_lat": "name_en", "given_ar": "given", "sex": "sex"}, covariates=(),
        on_bad_value="raise")
    frame = _frame({"id": ["1", "2"], "name_en": [None, "  "], "given": [None, None],
                    "sex": ["m", "f"]})
    with pytest.raises(InputError, match=r"media\.csv: list 'media': every mapped name column "
                                         r"is empty \(name_lat = 'name_en', given_ar = 'given': "
                                         r"2 rows, no names\)"):
        check_names_present(frame, spec)
    check_names_present(frame.assign(given=[None, "محمد"]), spec)
    with pytest.raises(InputError, match=r"no record has a name that could be read from "
                                         r"name_lat = 'name_en'.*'123'"):
        standardise_lists([frame.assign(name_en=["123", "456"])], [spec])


# ------------------------------------------------------------------------------ link == run
def test_fix_dtypes_reads_missing_strings_back_as_none():
    """pandas >= 3 reads the store's VARCHAR NULLs as NaN in a ``str`` column: they must come
    back as None, not as the text "nan" (which matched every other missing value)."""
    from undercount.link._standardise import STD_COLUMNS

    frame = pd.DataFrame({c: [None, None] for c in STD_COLUMNS})
    frame["list"] = ["a", "b"]
    frame["record_id"] = ["1", "2"]
    frame["row"] = [2, 3]
    frame["national_id"] = pd.Series(["123", np.nan], dtype="str")
    frame["name_ar"] = pd.Series([np.nan, ""], dtype=object)
    out = fix_dtypes(frame)
    assert out["national_id"].tolist() == ["123", None]
    assert out["name_ar"].tolist() == [None, None]
    assert "nan" not in out[["national_id", "name_ar", "dob", "place"]].to_numpy().tolist()


def test_link_and_run_count_the_same_people(tmp_path):
    """The simulated example gave 2,263 people with `undercount link` and 2,220 with
    `undercount run`: run's link stage read the standardised records back from the store
    with every missing name, date, place and ID as the text "nan", so records without an ID
    "agreed" on one. Both now link the same records and count the same people."""
    from undercount.link.pipeline import link_project
    from undercount.pipeline.runner import Project
    from undercount.simulate import simulate_lists

    sim = simulate_lists(n_people=80, lists=3, rng=np.random.default_rng(2), seed=2)
    sim.write(tmp_path / "p")
    path = tmp_path / "p" / "project.toml"
    linked = link_project(path, write=False)
    summary = Project(path).run(until="link")
    assert summary.stages[-1].summary["clusters"] == linked.report["n_clusters"]
    assert summary.stages[-1].summary["pairs"] == linked.report["n_edges"]
    std = Project(path).store.read_frame("standardised")
    assert not (fix_dtypes(std)[["national_id", "dob", "name_ar"]] == "nan").any().any()


def test_replace_folder_keeps_run_outputs_and_drops_its_own_temp_folders(tmp_path):
    from undercount.link.outputs import replace_folder

    out = tmp_path / "out"
    out.mkdir()
    (out / "records.parquet").write_text("old records")
    (out / "project.duckdb").write_text("the store of undercount run")
    (out / "report.html").write_text("report")
    (out / ".duckdb_link_tmp").mkdir()
    tmp = tmp_path / ".out.tmp"
    tmp.mkdir()
    (tmp / "records.parquet").write_text("new records")
    replace_folder(tmp, out, replaced=["records.parquet", "provenance.json"])
    assert sorted(p.name for p in out.iterdir()) == ["project.duckdb", "records.parquet",
                                                     "report.html"]
    assert (out / "records.parquet").read_text() == "new records"
    assert (out / "project.duckdb").read_text() == "the store of undercount run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_signals_are_held_during_the_swap():
    import signal

    from undercount.link.outputs import signals_blocked

    seen = []
    # A process started in the background by a shell (`cmd &`) inherits SIGINT ignored, and
    # Python then raises no KeyboardInterrupt at all: give it Python's own handler here.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with signals_blocked():
                os.kill(os.getpid(), signal.SIGINT)
                seen.append("still running")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == ["still running"]
