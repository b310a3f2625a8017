"""A list's ``encoding`` and ``date_order`` in a project file (issue 16): the small addition
to the project reader; the project corpus is in tests/corpus/test_project_inputs.py."""

from __future__ import annotations

import pytest

from undercount.errors import ConfigError, InputError
from undercount.io.lists import read_list
from undercount.io.project import load_project

PROJECT = """
[project]
name = "p"
seed = 1
output = "out"

[[lists]]
name = "hospital"
file = "h.csv"
id_column = "id"
{extra}
[lists.columns]
name_lat = "name"
dod = "dod"

[[lists]]
name = "family"
file = "f.csv"
id_column = "id"
[lists.columns]
name_lat = "name"
"""


@pytest.fixture
def write(tmp_path):
    (tmp_path / "h.csv").write_bytes("id,name,dod\n1,José,03/11/2023\n".encode("latin-1"))
    (tmp_path / "f.csv").write_text("id,name\n1,Ali\n", encoding="utf-8")

    def write(extra: str = ""):
        path = tmp_path / "project.toml"
        path.write_text(PROJECT.format(extra=extra), encoding="utf-8")
        return path

    return write


def test_latin1_list_needs_its_encoding(write, tmp_path):
    before = (tmp_path / "h.csv").read_bytes()
    with pytest.raises(InputError, match=r"h.csv: line 2, byte 6 of the line: byte 0xe9 is not "
                                         r"valid UTF-8 text.*encoding = \"latin-1\""):
        load_project(write())
    config = load_project(write('encoding = "latin-1"'))
    spec = config.lists[0]
    assert spec.encoding == "latin-1" and spec.date_order is None
    assert read_list(spec)["name"].tolist() == ["José"]
    assert (tmp_path / "h.csv").read_bytes() == before
    assert config.to_dict()["lists"][0]["encoding"] == "latin-1"
    assert "encoding" not in config.to_dict()["lists"][1]  # unchanged hashes when unset


def test_date_order(write):
    config = load_project(write('encoding = "latin-1"\ndate_order = "month-first"'))
    assert config.lists[0].date_order == "month-first"
    with pytest.raises(ConfigError, match=r"date_order = 'ymd': must be \"day-first\""):
        load_project(write('encoding = "latin-1"\ndate_order = "ymd"'))
    with pytest.raises(ConfigError, match=r"encoding 'klingon' is not a known text encoding"):
        load_project(write('encoding = "klingon"'))
