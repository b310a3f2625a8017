"""``estimate`` on careless input (issue 16): the seed, list overlaps, sheets, encodings."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, DataWarning, InputError
from undercount.pipeline.estimate import estimate

CELLS = {"100": 40, "010": 30, "001": 20, "110": 6, "101": 4, "011": 5, "111": 2}


@pytest.fixture(scope="module")
def table() -> CaptureTable:
    return CaptureTable.from_mapping(CELLS, lists=["a", "b", "c"])


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True])
def test_bad_seed_is_a_config_error(table, seed):
    with pytest.raises(ConfigError, match="must be a non-negative whole number"):
        estimate(table, seed=seed, bootstrap=0)


def test_given_seed_is_recorded_without_a_bootstrap(table):
    res = estimate(table, seed=1, bootstrap=0)
    assert res.provenance["seed"] == 1
    assert res.to_dict()["provenance"]["seed"] == 1


def test_identical_lists_are_in_the_diagnostics(table):
    frame = table.to_frame()
    frame.insert(1, "a_copy", frame["a"])
    res = estimate(CaptureTable.from_frame(frame), seed=1, bootstrap=0)
    codes = [d.code for d in res.diagnostics]
    assert codes.count("identical_lists") == 1
    assert any("lists 'a' and 'a_copy' are identical" in w for w in res.warnings)
    assert any("lists 'a' and 'a_copy' are identical" in w for w in res.to_dict()["warnings"])


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_excel_sheet_recorded_and_warned(tmp_path, table):
    path = tmp_path / "t.xlsx"
    with pd.ExcelWriter(path) as xl:
        table.to_frame().to_excel(xl, sheet_name="counts", index=False)
        pd.DataFrame({"note": ["x"]}).to_excel(xl, sheet_name="notes", index=False)
    before = _sha(path)
    with pytest.warns(DataWarning, match=r"2 sheets; read the first, 'counts' \(the others: "
                                         r"'notes'\)"):
        res = estimate(path, seed=1, bootstrap=0)
    assert res.provenance["settings"]["input_sheet"] == "counts"
    res = estimate(path, seed=1, bootstrap=0, sheet="counts")
    assert res.n_observed == 107
    with pytest.raises(InputError, match=r"t.xlsx \[sheet 'notes'\]: count column 'count' not "
                                         r"found(?s:.*)other sheets are \['counts'\]"):
        estimate(path, seed=1, bootstrap=0, sheet="notes")
    assert _sha(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx"]


def test_encoding(tmp_path, table):
    path = tmp_path / "t.csv"
    frame = table.to_frame().rename(columns={"a": "hôpital"})
    path.write_bytes(frame.to_csv(index=False).encode("latin-1"))
    before = _sha(path)
    with pytest.raises(InputError, match=r"t.csv: line 1, byte 2 of the line: byte 0xf4 is not "
                                         r"valid UTF-8 text.*--encoding"):
        estimate(path, seed=1, bootstrap=0)
    res = estimate(path, seed=1, bootstrap=0, encoding="latin-1")
    assert res.lists[0] == "hôpital"
    with pytest.raises(ConfigError, match="encoding 'nope'"):
        estimate(path, seed=1, bootstrap=0, encoding="nope")
    assert _sha(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_individual_on_an_aggregated_table(tmp_path, table):
    path = tmp_path / "t.csv"
    table.to_frame().to_csv(path, index=False)
    with pytest.raises(InputError, match=r"looks aggregated \(it has a column named 'count'\)\. "
                                         r"Drop --individual"):
        estimate(path, lists="a,b,c", individual=True, seed=1, bootstrap=0)
