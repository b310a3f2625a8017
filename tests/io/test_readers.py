"""Reading capture tables from CSV, Parquet and Excel."""

from __future__ import annotations

import pandas as pd
import pytest

from undercount import InputError, read_table

ROWS = {"A": [1, 0, 0, 1], "B": [0, 1, 0, 1], "C": [0, 0, 1, 0], "count": [40, 30, 20, 6]}


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_formats_round_trip(tmp_path, suffix):
    path = tmp_path / f"t{suffix}"
    df = pd.DataFrame(ROWS)
    {".csv": lambda p: df.to_csv(p, index=False), ".parquet": df.to_parquet,
     ".xlsx": lambda p: df.to_excel(p, index=False)}[suffix](path)
    before = path.read_bytes()
    t = read_table(path)
    assert t.cells() == {"001": 20, "010": 30, "100": 40, "110": 6}
    assert path.read_bytes() == before  # never modify an input


def test_missing_file_and_unknown_type(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "nope.csv")
    p = tmp_path / "t.json"
    p.write_text("{}")
    with pytest.raises(InputError, match=r"unknown file type '\.json'"):
        read_table(p)


def test_csv_duplicate_header_is_reported_not_renamed(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("A,B,A,count\n1,0,0,3\n0,1,1,2\n")
    with pytest.raises(InputError, match=r"duplicate column\(s\) 'A'"):
        read_table(p)


def test_bad_cell_message_names_file_row_column(tmp_path):
    p = tmp_path / "lists.csv"
    p.write_text("A,B,count\n1,0,3\n0,x,2\n1,1,1\n")
    with pytest.raises(InputError, match=r"(?s)lists.csv: 1 bad cell.*row 3, column 'B': 'x'"):
        read_table(p)


def test_individual_level_file(tmp_path):
    p = tmp_path / "people.csv"
    p.write_text("A,B,age\n1,0,30\n0,1,41\n1,1,\n1,0,30\n")
    t = read_table(p, lists=["A", "B"], individual=True)
    assert t.n_observed == 4
    assert list(t.covariates.columns) == ["age"]
    with pytest.raises(InputError, match="needs the list columns"):
        read_table(p, individual=True)
