"""A malformed-input corpus for project files (``undercount link`` and ``undercount run``).

Each case starts from one small, valid three-list project (simulated: two Arabic lists with
national IDs, one Latin list without), breaks one thing, runs one command in-process and
checks the outcome the table states:

* ``error``: a non-zero exit with the stated code, the message fragment, no traceback,
  and nothing written: every file and folder under the project folder exactly as before;
* ``warning``: exit 0 and the warning fragment on stderr;
* ``ok``: exit 0 and the stated result.

In every case the inputs (lists and project file) are made read-only first, and their
SHA-256 hashes are the same afterwards: undercount only reads them. Most cases fail at
project validation; the few that must link use the tiny lists (about 70 records).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from undercount.cli import app

N_PEOPLE = 40
SEED = 16

BASE_TOML = """\
[project]
name = "corpus"
seed = 16
output = "out"

[[lists]]
name = "hospital"
file = "lists/hospital.csv"
id_column = "record_id"
[lists.columns]
name_ar = "name"
sex = "sex"
age = "age"
dob = "date_of_birth"
dod = "date_of_death"
place = "governorate"
national_id = "id_number"

[[lists]]
name = "family"
file = "lists/family.csv"
id_column = "record_id"
[lists.columns]
name_ar = "name"
sex = "sex"
age = "age"
dob = "date_of_birth"
dod = "date_of_death"
place = "governorate"
national_id = "id_number"

[[lists]]
name = "media"
file = "lists/media.csv"
id_column = "record_id"
[lists.columns]
name_lat = "name_en"
sex = "sex"
age = "age"
dod = "date_of_death"
place = "governorate"

[link]
backend = "duckdb"
threshold = 0.9

[strata]
columns = ["sex"]

[estimate]
method = "loglinear"
sensitivity = false
interval = "profile"

[report]
pdf = false
"""


# ------------------------------------------------------------------------------ helpers
@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    from undercount.simulate import simulate_lists

    folder = tmp_path_factory.mktemp("corpus_template")
    sim = simulate_lists(n_people=N_PEOPLE, lists=3, rng=np.random.default_rng(SEED), seed=SEED)
    sim.write(folder / "sim")
    shutil.copytree(folder / "sim" / "lists", folder / "project" / "lists")
    (folder / "project" / "project.toml").write_text(BASE_TOML, encoding="utf-8")
    return folder / "project"


def snapshot(root: Path) -> dict[str, str | None]:
    """Every path under ``root``: files with their SHA-256, folders with None."""
    out: dict[str, str | None] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
    return out


def inputs_of(root: Path) -> list[Path]:
    return [root / "project.toml", *sorted((root / "lists").rglob("*.*"))]


def edit_toml(old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    def f(root: Path) -> None:
        path = root / "project.toml"
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, count), encoding="utf-8")
    return f


def edit_list(name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def f(root: Path) -> None:
        path = root / "lists" / f"{name}.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        change(frame).to_csv(path, index=False)
    return f


def set_cell(name: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row, column] = value
        return frame
    return edit_list(name, change)


def write_bytes(rel: str, data: bytes) -> Callable[[Path], None]:
    def f(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return f


def reencode(name: str, encoding: str) -> Callable[[Path], None]:
    def f(root: Path) -> None:
        path = root / "lists" / f"{name}.csv"
        text = path.read_text(encoding="utf-8")
        if encoding == "latin-1":
            # Latin-1 cannot hold Arabic: a Latin list with an accented name.
            text = text.replace("Muhammad", "Mühammad", 1)
            if "Mühammad" not in text:
                lines = text.splitlines()
                first = lines[1].split(",")
                first[1] = "José " + first[1]
                lines[1] = ",".join(first)
                text = "\n".join(lines) + "\n"
        path.write_bytes(text.encode(encoding))
    return f


def both(*fs: Callable[[Path], None]) -> Callable[[Path], None]:
    def f(root: Path) -> None:
        for g in fs:
            g(root)
    return f


def copy_list(src: str, dst: str) -> Callable[[Path], None]:
    def f(root: Path) -> None:
        shutil.copy(root / "lists" / f"{src}.csv", root / "lists" / f"{dst}.csv")
    return f


def to_parquet(name: str) -> Callable[[Path], None]:
    def f(root: Path) -> None:
        path = root / "lists" / f"{name}.csv"
        pd.read_csv(path, dtype=str).to_parquet(path.with_suffix(".parquet"), index=False)
        path.unlink()
    return f


def to_excel(name: str) -> Callable[[Path], None]:
    def f(root: Path) -> None:
        path = root / "lists" / f"{name}.csv"
        pd.read_csv(path, dtype=str).to_excel(path.with_suffix(".xlsx"), index=False)
        path.unlink()
    return f


def previous_run_output(root: Path) -> None:
    """An output folder as `undercount run` leaves it: a store and a report."""
    out = root / "out"
    out.mkdir()
    (out / "project.duckdb").write_bytes(b"store of an earlier run")
    (out / "report.html").write_text("<html>earlier report</html>")


def hospital_records_into_family(root: Path) -> None:
    """The family list becomes the hospital list's records under other record ids."""
    frame = pd.read_csv(root / "lists" / "hospital.csv", dtype=str)
    frame["record_id"] = [f"fam-{i}" for i in range(len(frame))]
    frame.to_csv(root / "lists" / "family.csv", index=False)


def family_subset_of_hospital(root: Path) -> None:
    frame = pd.read_csv(root / "lists" / "hospital.csv", dtype=str)
    part = frame.iloc[: len(frame) // 2].copy()
    part["record_id"] = [f"fam-{i}" for i in range(len(part))]
    part.to_csv(root / "lists" / "family.csv", index=False)


def blank(column: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = ""
        return frame
    return change


# ------------------------------------------------------------------------------ the corpus
@dataclass(frozen=True)
class Case:
    id: str
    command: str                      # "link" or "run"
    mutate: Callable[[Path], None]
    outcome: str                      # "error" | "warning" | "ok"
    fragment: str                     # regex searched in the output
    code: int = 0                     # expected exit code for errors
    args: tuple[str, ...] = ()
    check: Callable[[Path], None] | None = None


def _nothing(root: Path) -> None:
    return None


def _standardised_rows(expected: int) -> Callable[[Path], None]:
    def check(root: Path) -> None:
        import duckdb

        con = duckdb.connect(str(root / "out" / "project.duckdb"), read_only=True)
        try:
            n = con.execute("SELECT count(*) FROM standardised").fetchone()[0]
        finally:
            con.close()
        assert n == expected
    return check


def _rows(root: Path) -> int:
    return sum(len(pd.read_csv(p, dtype=str)) for p in (root / "lists").glob("*.csv"))


def _provenance_warns(root: Path, text: str) -> None:
    prov = json.loads((root / "out" / "provenance.json").read_text())
    assert [w for w in prov["warnings"] if w.startswith(text)], prov["warnings"]


def _kept_previous_run(root: Path) -> None:
    out = root / "out"
    assert (out / "project.duckdb").read_bytes() == b"store of an earlier run"
    assert (out / "report.html").read_text() == "<html>earlier report</html>"
    assert (out / "records.parquet").is_file()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["warnings"] == []


UNTIL_STD = ("--until", "standardise", "--no-progress")

CASES: list[Case] = [
    # ---- the project file itself
    Case("toml-syntax", "link", write_bytes("project.toml", b"[project\nname = 1\n"),
         "error", r"not valid TOML", 3),
    Case("unknown-table", "link", edit_toml("[link]", "[linkage]"), "error",
         r"linkage", 3),
    Case("seed-negative", "link", edit_toml("seed = 16", "seed = -1"), "error", r"seed", 3),
    Case("seed-text", "run", edit_toml("seed = 16", 'seed = "sixteen"'), "error", r"seed", 3),
    Case("output-not-text", "link", edit_toml('output = "out"', "output = 5"), "error",
         r"output = 5: expected a folder path", 3),
    Case("neither-lists-nor-histories", "run",
         write_bytes("project.toml", b'[project]\nname = "x"\n'), "error",
         r"give either \[\[lists\]\] .* not neither", 3),
    # ---- outputs: only where the project says, nothing of the user's touched
    Case("output-is-users-file-link", "link",
         both(edit_toml('output = "out"', 'output = "notes.txt"'),
              write_bytes("notes.txt", b"my notes\n")),
         "error", r"output is .*notes\.txt, which is a file, not a folder", 3),
    Case("output-is-users-file-run", "run",
         both(edit_toml('output = "out"', 'output = "notes.txt"'),
              write_bytes("notes.txt", b"my notes\n")),
         "error", r"notes\.txt, which is a file", 3),
    Case("output-below-a-file", "link",
         both(edit_toml('output = "out"', 'output = "notes.txt/sub"'),
              write_bytes("notes.txt", b"my notes\n")),
         "error", r"notes\.txt is a file, not a folder", 3),
    Case("output-is-users-folder-link", "link", write_bytes("out/thesis.docx", b"chapter 1"),
         "error", r"holds files undercount did not write \(thesis\.docx\)", 3),
    Case("output-is-users-folder-run", "run", write_bytes("out/thesis.docx", b"chapter 1"),
         "error", r"holds files undercount did not write \(thesis\.docx\)", 3),
    Case("output-holds-inputs", "link", edit_toml('output = "out"', 'output = "lists"'),
         "error", r"contains input file", 3),
    # ---- [[lists]] tables
    Case("list-name-missing", "link", edit_toml('name = "media"\n', ""), "error",
         r"'name' is required", 3),
    Case("list-name-space", "link", edit_toml('name = "media"', 'name = "the media"'),
         "error", r"must use only letters, digits", 3),
    Case("list-name-twice", "link", edit_toml('name = "family"', 'name = "hospital"'),
         "error", r"list name\(s\) used more than once: \['hospital'\]", 3),
    Case("file-missing", "link", edit_toml('"lists/media.csv"', '"lists/medya.csv"'),
         "error", r"file 'lists/medya\.csv' not found", 3),
    Case("file-is-folder", "link",
         both(edit_toml('"lists/media.csv"', '"lists/sub"'), write_bytes("lists/sub/x.txt", b"")),
         "error", r"file 'lists/sub' is not a file", 3),
    Case("file-unknown-extension", "link",
         both(copy_list("media", "media_copy"),
              lambda r: os.replace(r / "lists/media_copy.csv", r / "lists/media.dat"),
              edit_toml('"lists/media.csv"', '"lists/media.dat"')),
         "error", r"cannot tell the format of 'lists/media\.dat'", 3),
    Case("format-unknown", "link",
         edit_toml('file = "lists/media.csv"', 'file = "lists/media.csv"\nformat = "json"'),
         "error", r"format = 'json': must be one of csv, parquet, excel", 3),
    Case("id-column-key-missing", "link",
         edit_toml('file = "lists/media.csv"\nid_column = "record_id"\n',
                   'file = "lists/media.csv"\n'),
         "error", r"'id_column' is required", 3),
    Case("id-column-not-in-file", "link",
         edit_toml('file = "lists/media.csv"\nid_column = "record_id"',
                   'file = "lists/media.csv"\nid_column = "recid"'),
         "error", r"media\.csv: column 'recid' \(list 'media', id_column\) not found", 2),
    Case("mapped-column-not-in-file", "run", edit_toml('name_lat = "name_en"',
                                                       'name_lat = "name_english"'),
         "error", r"column 'name_english' \(list 'media', columns\.name_lat\) not found", 2),
    Case("unknown-role", "link", edit_toml('name_lat = "name_en"',
                                           'name_lat = "name_en"\nnickname = "name_en"'),
         "error", r"unknown role 'nickname'", 3),
    Case("role-not-a-column-name", "link", edit_toml('name_lat = "name_en"\nsex = "sex"',
                                                     'name_lat = "name_en"\nsex = 3'),
         "error", r"columns\.sex must be a column name, got 3", 3),
    Case("no-name-role", "link", edit_toml('name_lat = "name_en"\n', ""), "error",
         r"no name column; map at least one of", 3),
    Case("on-bad-value-unknown", "link",
         edit_toml('file = "lists/media.csv"', 'file = "lists/media.csv"\non_bad_value = "skip"'),
         "error", r"on_bad_value = 'skip': must be \"raise\" or \"coerce\"", 3),
    Case("covariates-not-a-list", "link",
         edit_toml('file = "lists/media.csv"', 'file = "lists/media.csv"\ncovariates = 5'),
         "error", r"covariates must be a list of column names, got 5", 3),
    # ---- [link], [strata], [estimate]
    Case("threshold-out-of-range", "link", edit_toml("threshold = 0.9", "threshold = 2"),
         "error", r"threshold", 3),
    Case("backend-unknown", "link", edit_toml('backend = "duckdb"', 'backend = "sqlite"'),
         "error", r"sqlite", 3),
    Case("blocking-rule-unknown-column", "link",
         edit_toml("threshold = 0.9", 'threshold = 0.9\nblocking_rules = [["shoe_size"]]'),
         "error", r"blocking_rules\[0\]: unknown column", 3),
    Case("stratum-unknown", "run", edit_toml('columns = ["sex"]', 'columns = ["shoe_size"]'),
         "error", r"\[strata\] columns \['shoe_size'\] are neither a role", 3),
    Case("estimate-method-unknown", "run", edit_toml('method = "loglinear"', 'method = "magic"'),
         "error", r"magic", 3),
    Case("estimate-key-unknown", "run", edit_toml('interval = "profile"', "bootstrap = 0"),
         "error", r"unknown key \[estimate\]\.bootstrap", 3),
    # ---- the same list twice, lists that repeat one another
    Case("same-file-two-lists-link", "link",
         edit_toml('"lists/family.csv"', '"lists/hospital.csv"'), "error",
         r"lists 'hospital' and 'family' are the same file .*hospital\.csv.*only one list", 3),
    Case("same-file-two-lists-run", "run",
         edit_toml('"lists/family.csv"', '"lists/hospital.csv"'), "error",
         r"lists 'hospital' and 'family' are the same file", 3),
    Case("identical-copy-two-lists", "run",
         both(copy_list("hospital", "family")), "error",
         r"lists 'hospital' and 'family' are files with identical content", 3),
    Case("same-records-other-ids", "link", hospital_records_into_family, "warning",
         r"lists 'hospital' and 'family' hold the same \d+ records",
         check=lambda r: _provenance_warns(r, "lists 'hospital' and 'family' hold the same")),
    Case("one-list-inside-another", "link", family_subset_of_hospital, "warning",
         r"every record of list 'family' is also a record of list 'hospital'"),
    # ---- record ids, empty lists
    Case("record-id-repeated", "link", set_cell("media", 3, "record_id", "media-0000001"),
         "error", r"rows 2, 5, column 'record_id': record id 'media-0000001' repeated", 2),
    Case("record-id-blank", "run", set_cell("media", 4, "record_id", ""), "error",
         r"row 6, column 'record_id': blank record id", 2),
    Case("list-header-only", "link", edit_list("media", lambda f: f.iloc[:0]), "error",
         r"media\.csv: the file has no data rows \(list 'media'\)", 2),
    Case("list-empty-file", "link", write_bytes("lists/media.csv", b""), "error",
         r"media\.csv: could not be read as csv", 2),
    # ---- names
    Case("names-all-empty-link", "link", edit_list("media", blank("name_en")), "error",
         r"list 'media': every mapped name column is empty \(name_lat = 'name_en'", 2),
    Case("names-all-empty-run", "run", edit_list("hospital", blank("name")), "error",
         r"list 'hospital': every mapped name column is empty \(name_ar = 'name'", 2),
    Case("names-unreadable", "run", edit_list("media", lambda f: f.assign(name_en="12345")),
         "error", r"list 'media': no record has a name that could be read", 2),
    Case("names-some-empty", "run", set_cell("media", 2, "name_en", ""), "ok", "",
         args=UNTIL_STD, check=lambda r: _standardised_rows(_rows(r))(r)),
    # ---- bad values per role: on_bad_value = "raise" (the default) ...
    Case("sex-bad-raise", "link", set_cell("hospital", 2, "sex", "X"), "error",
         r"hospital\.csv: 1 bad value.*\n.*row 4, column 'sex'", 2),
    Case("age-bad-raise", "run", set_cell("family", 0, "age", "twelve"), "error",
         r"family\.csv: 1 bad value.*\n.*row 2, column 'age'", 2),
    Case("dob-bad-raise", "link", set_cell("hospital", 5, "date_of_birth", "31/31/1990"),
         "error", r"row 7, column 'date_of_birth'", 2),
    Case("dod-bad-raise", "run", set_cell("media", 1, "date_of_death", "yesterday"), "error",
         r"row 3, column 'date_of_death'", 2),
    Case("dod-before-dob-raise", "link",
         both(set_cell("family", 1, "date_of_birth", "2000-01-01"),
              set_cell("family", 1, "date_of_death", "1999-01-01")),
         "error", r"family\.csv: 1 bad value.*\n.*row 3", 2),
    # ... and "coerce": the value becomes missing, with a warning naming it
    Case("sex-bad-coerce", "run",
         both(set_cell("hospital", 2, "sex", "X"),
              edit_toml('file = "lists/hospital.csv"',
                        'file = "lists/hospital.csv"\non_bad_value = "coerce"')),
         "warning", r"hospital\.csv: 1 bad value\(s\) set to missing", args=UNTIL_STD,
         check=lambda r: _standardised_rows(_rows(r))(r)),
    Case("age-bad-coerce", "run",
         both(set_cell("family", 0, "age", "twelve"),
              edit_toml('file = "lists/family.csv"',
                        'file = "lists/family.csv"\non_bad_value = "coerce"')),
         "warning", r"family\.csv: 1 bad value\(s\) set to missing", args=UNTIL_STD),
    Case("dob-bad-coerce", "run",
         both(set_cell("hospital", 5, "date_of_birth", "31/31/1990"),
              edit_toml('file = "lists/hospital.csv"',
                        'file = "lists/hospital.csv"\non_bad_value = "coerce"')),
         "warning", r"row 7, column 'date_of_birth'", args=UNTIL_STD),
    Case("dod-bad-coerce", "run",
         both(set_cell("media", 1, "date_of_death", "yesterday"),
              edit_toml('file = "lists/media.csv"',
                        'file = "lists/media.csv"\non_bad_value = "coerce"')),
         "warning", r"media\.csv: 1 bad value\(s\) set to missing", args=UNTIL_STD),
    # IDs and places are free text: a malformed ID is kept as an invalid ID, not refused.
    Case("id-letters", "run", set_cell("hospital", 0, "id_number", "ABC-not-an-id"), "ok", "",
         args=UNTIL_STD, check=lambda r: _standardised_rows(_rows(r))(r)),
    Case("place-odd-text", "run", set_cell("family", 0, "governorate", "  ?? 123 "), "ok", "",
         args=UNTIL_STD),
    # ---- encodings and formats
    Case("latin1-csv", "run", reencode("media", "latin-1"), "error",
         r"media\.csv: line \d+, byte \d+ of the line: byte 0xfc is not valid UTF-8 text.*"
         r"Latin-1.*save it as UTF-8", 2, args=UNTIL_STD),
    Case("utf16-csv", "link", reencode("media", "utf-16"), "error",
         r"media\.csv: the file is UTF-16 text, not UTF-8; .*save it as UTF-8", 2),
    Case("utf8-bom-csv", "run", reencode("media", "utf-8-sig"), "ok", "", args=UNTIL_STD,
         check=lambda r: _standardised_rows(_rows(r))(r)),
    Case("parquet-list", "run",
         both(to_parquet("media"), edit_toml('"lists/media.csv"', '"lists/media.parquet"')),
         "ok", "", args=UNTIL_STD),
    Case("excel-list", "run",
         both(to_excel("media"), edit_toml('"lists/media.csv"', '"lists/media.xlsx"')),
         "ok", "", args=UNTIL_STD),
    Case("parquet-missing-column", "link",
         both(to_parquet("media"), edit_toml('"lists/media.csv"', '"lists/media.parquet"'),
              edit_toml('name_lat = "name_en"', 'name_lat = "name_english"')),
         "error", r"column 'name_english' \(list 'media', columns\.name_lat\) not found", 2),
    # ---- an output folder undercount wrote before: link replaces only its own files
    Case("output-from-earlier-run", "link", previous_run_output, "ok",
         r"distinct people", check=_kept_previous_run),
]


def test_corpus_is_large_and_covers_every_role_and_command():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    ids = " ".join(c.id for c in CASES)
    for role in ("names", "sex", "age", "dob", "dod", "id", "place"):
        assert role in ids, role
    assert {c.command for c in CASES} == {"link", "run"}
    assert {c.outcome for c in CASES} == {"error", "warning", "ok"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_project_input(case: Case, template: Path, tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(template, root)
    case.mutate(root)
    # Inputs read-only: undercount must never need to write them.
    for path in inputs_of(root):
        if path.is_file():
            path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    before = snapshot(root)
    inputs_before = {str(p): before[str(p.relative_to(root))] for p in inputs_of(root)
                     if p.is_file()}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the CLI prints undercount's own warnings
        result = CliRunner().invoke(app, [case.command, str(root / "project.toml"),
                                          *case.args])
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), output

    after = snapshot(root)
    assert {p: after[str(Path(p).relative_to(root))] for p in inputs_before} == inputs_before
    if case.outcome == "error":
        assert result.exit_code == case.code, output
        assert re.search(case.fragment, output), output
        assert after == before  # nothing written, moved or left behind
        return
    assert result.exit_code == 0, output
    if case.outcome == "warning":
        assert re.search(r"warning", output) and re.search(case.fragment, output), output
    elif case.fragment:
        assert re.search(case.fragment, output), output
    # Only the output folder is new or changed; no temporary folders are left.
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)
               or (p in before) != (p in after)}
    assert all(p == "out" or p.startswith("out/") for p in changed), changed
    assert not [p for p in after if Path(p).name.startswith((".undercount", ".out", ".duckdb"))]
    if case.check is not None:
        case.check(root)
