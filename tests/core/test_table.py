"""CaptureTable construction and validation: every rejected input names what is wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from undercount import CaptureTable, InputError
from undercount.errors import DataWarning


def frame(rows, columns=("A", "B", "C", "count")):
    return pd.DataFrame(rows, columns=list(columns))


GOOD = [[1, 0, 0, 40], [0, 1, 0, 30], [0, 0, 1, 20], [1, 1, 0, 6], [1, 0, 1, 3]]


def test_from_frame_basic_views():
    t = CaptureTable.from_frame(frame(GOOD))
    assert t.lists == ("A", "B", "C")
    assert t.n_observed == 99
    assert t.list_sizes == {"A": 49, "B": 36, "C": 23}
    full = t.full_counts()
    assert full[0] == 0 and full[0b100] == 40 and full[0b110] == 6 and full[0b101] == 3
    assert t.cells() == {"001": 20, "010": 30, "100": 40, "101": 3, "110": 6}


def test_cells_other_than_01_name_row_and_column():
    rows = [r[:] for r in GOOD]
    rows[1][1] = 2
    rows[3][0] = "yes"
    with pytest.raises(InputError) as err:
        CaptureTable.from_frame(frame(rows), source="lists.csv")
    msg = str(err.value)
    assert "lists.csv" in msg
    assert "row 3, column 'B': 2 is not 0 or 1" in msg
    assert "row 5, column 'A': 'yes' is not 0 or 1" in msg


@pytest.mark.parametrize("bad", [-3, 2.5, "many"])
def test_negative_or_non_integer_counts(bad):
    rows = [r[:] for r in GOOD]
    rows[2][3] = bad
    msg = r"row 4, column 'count': .* is not a non-negative integer"
    with pytest.raises(InputError, match=msg):
        CaptureTable.from_frame(frame(rows), source="t.csv")


def test_an_empty_count_is_named_empty():
    rows = [r[:] for r in GOOD]
    rows[2][3] = float("nan")
    msg = r"row 4, column 'count' is empty: it must be a non-negative integer count"
    with pytest.raises(InputError, match=msg):
        CaptureTable.from_frame(frame(rows), source="t.csv")


def test_missing_count_column():
    with pytest.raises(InputError, match=r"t.csv: count column 'n' not found"):
        CaptureTable.from_frame(frame(GOOD), count_column="n", source="t.csv")


def test_fewer_than_two_lists():
    with pytest.raises(InputError, match="at least 2 lists"):
        CaptureTable.from_frame(frame([[1, 5]], columns=("A", "count")))


def test_list_with_no_records():
    rows = [[1, 0, 0, 4], [0, 1, 0, 3], [1, 1, 0, 2]]
    with pytest.raises(InputError, match=r"column 'C': the list has no records"):
        CaptureTable.from_frame(frame(rows))


def test_list_that_holds_everyone():
    rows = [[1, 0, 0, 4], [1, 1, 0, 3], [1, 0, 1, 2]]
    with pytest.raises(InputError, match=r"column 'A': the list holds all 9 observed records"):
        CaptureTable.from_frame(frame(rows))


def test_duplicate_list_columns():
    df = pd.DataFrame([[1, 0, 1, 5], [0, 1, 0, 3]], columns=["A", "B", "A", "count"])
    with pytest.raises(InputError, match=r"duplicate column\(s\) 'A'"):
        CaptureTable.from_frame(df)


def test_duplicate_names_in_lists_argument():
    with pytest.raises(InputError, match="named more than once"):
        CaptureTable.from_frame(frame(GOOD), lists=["A", "B", "A"])


def test_all_zero_rows_dropped_with_warning():
    rows = [*GOOD, [0, 0, 0, 7]]
    with pytest.warns(DataWarning, match="dropped 1 all-zero row"):
        t = CaptureTable.from_frame(frame(rows))
    assert t.n_observed == 99
    assert any("all-zero" in n for n in t.notes)


def test_repeated_patterns_summed_with_note():
    rows = [*GOOD, [1, 0, 0, 10]]
    t = CaptureTable.from_frame(frame(rows))
    assert t.cells()["100"] == 50
    assert any("summed" in n for n in t.notes)


def test_individual_rows_keep_covariates_and_repeat_without_note():
    people = pd.DataFrame(
        {"A": [1, 1, 0, 1, 0], "B": [0, 1, 1, 0, 1], "sex": ["f", "m", "f", "f", None]}
    )
    t = CaptureTable.from_individuals(people, lists=["A", "B"])
    assert t.n_observed == 5
    assert list(t.covariates.columns) == ["sex"]
    assert not t.notes
    strata = t.by_stratum(["sex"])
    assert sum(s.n_observed for s in strata.values()) == 5
    assert t.aggregate().cells() == {"01": 2, "10": 2, "11": 1}


def test_from_mapping_and_bad_patterns():
    t = CaptureTable.from_mapping({"100": 40, "010": 30, "110": 6, "001": 2}, lists=["x", "y", "z"])
    assert t.lists == ("x", "y", "z") and t.n_observed == 78
    with pytest.raises(InputError, match="characters other than 0 and 1"):
        CaptureTable.from_mapping({"1a0": 3, "010": 2})
    with pytest.raises(InputError, match="different lengths"):
        CaptureTable.from_mapping({"10": 3, "010": 2})


def test_table_is_immutable_and_input_untouched():
    df = frame(GOOD)
    before = df.copy()
    t = CaptureTable.from_frame(df)
    pd.testing.assert_frame_equal(df, before)
    with pytest.raises(ValueError):
        t.counts[0] = 5
    with pytest.raises(AttributeError):
        t.lists = ("x",)


def test_select_lists_and_hash():
    t = CaptureTable.from_frame(frame(GOOD))
    ab = t.select_lists(["A", "B"])
    assert ab.cells() == {"01": 30, "10": 43, "11": 6}
    assert t.sha256() == CaptureTable.from_frame(frame(GOOD[::-1])).sha256()
    assert np.array_equal(t.codes(), [1, 2, 4, 5, 6])
