"""Identical and nested lists are warned about, once, in core (issue 16)."""

from __future__ import annotations

import pytest

from undercount.core.table import MAX_COUNT, CaptureTable, list_overlaps
from undercount.errors import InputError


def test_identical_lists_named_both():
    t = CaptureTable.from_mapping({"101": 4, "010": 3, "111": 2},
                                  lists=["a", "b", "a_copy"])
    (d,) = list_overlaps(t)
    assert d.code == "identical_lists"
    assert d.message.startswith("lists 'a' and 'a_copy' are identical: both hold the same 6 "
                                "people")


def test_subset_named_both_with_sizes():
    t = CaptureTable.from_mapping({"110": 5, "100": 7, "010": 3, "001": 4, "101": 2},
                                  lists=["a", "b", "c"])
    assert [d.message for d in t.list_overlaps()] == []
    t = CaptureTable.from_mapping({"110": 5, "100": 7, "001": 4, "101": 2, "111": 1},
                                  lists=["a", "b", "c"])
    (d,) = t.list_overlaps()
    assert d.code == "nested_lists" and d.severity == "warning"
    assert d.message.startswith("list 'b' is a subset of list 'a': all 6 people on 'b' are "
                                "also on 'a' (15 people)")


def test_independent_lists_give_nothing():
    t = CaptureTable.from_mapping({"100": 40, "010": 30, "001": 20, "110": 6, "101": 4,
                                   "011": 5, "111": 2})
    assert t.list_overlaps() == ()


def test_count_limit():
    with pytest.raises(InputError, match=r"row 2, column 'count': '1e18' is larger than any "
                                         r"count of people \(the limit is 1,000,000,000,000\)"):
        import pandas as pd

        CaptureTable.from_frame(pd.DataFrame({"a": [1, 0], "b": [0, 1], "count": ["1e18", 3]}))
    with pytest.raises(InputError, match="exceeds the limit"):
        CaptureTable(lists=("a", "b"), patterns=[[1, 0], [0, 1]], counts=[MAX_COUNT + 1, 1])
    with pytest.raises(InputError, match="finite whole numbers"):
        CaptureTable(lists=("a", "b"), patterns=[[1, 0], [0, 1]], counts=[float("nan"), 1])
