"""Hierarchical specs, canonical formatting, design matrices and model enumeration."""

from __future__ import annotations

import numpy as np
import pytest

from undercount.errors import ConfigError
from undercount.models.loglinear._design import (
    all_hierarchical_models,
    design_matrix,
    format_model,
    parse_model,
)

KOSOVO = ("EXH", "ABA", "OSCE", "HRW")


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        ("[123,14,34]", "[123,14,34]"),
        ("[34,14,123]", "[123,14,34]"),
        ("[123,134,13]", "[123,134]"),
        ("[12]", "[12,3,4]"),
        ("[EXH:ABA, OSCE, HRW]", "[12,3,4]"),
        ("[EXH*ABA,OSCE]", "[12,3,4]"),
        ("[ OSCE:HRW , EXH:ABA:OSCE ]", "[123,34]"),
        ("[1,2,3,4]", "[1,2,3,4]"),
    ],
)
def test_parse_and_format(spec: str, canonical: str) -> None:
    assert format_model(parse_model(spec, KOSOVO), 4) == canonical


def test_hierarchy_closure_and_column_order() -> None:
    model = parse_model("[123,14,34]", KOSOVO)
    # main effects (list order), two-way, then three-way, as bit masks (first list = MSB)
    assert model == (8, 4, 2, 1, 12, 10, 9, 6, 3, 14)


def test_korea_names_follow_msystems_ordering() -> None:
    lists = ("b", "c", "d")
    assert format_model(parse_model("[23,1]", lists), 3) == "[23,1]"
    assert format_model(parse_model("[2,13]", lists), 3) == "[13,2]"


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("[12,15]", "out of range"),
        ("[EXH:FOO]", "unknown list 'FOO'"),
        ("[1234]", "saturated"),
        ("[EXH:ABA:OSCE:HRW]", "saturated"),
        ("12,13", "brackets"),
        ("[]", "empty"),
        ("[12,,13]", "empty generator"),
        ("[11]", "twice"),
        ("[XYZ]", "unknown list"),
    ],
)
def test_bad_specs_name_the_problem(spec: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_model(spec, KOSOVO)
    assert fragment in str(err.value)
    assert spec in str(err.value)


def test_digits_refused_for_ten_lists() -> None:
    lists = tuple(f"L{i}" for i in range(10))
    with pytest.raises(ConfigError, match="J <= 9"):
        parse_model("[12]", lists)
    model = parse_model("[L0:L1]", lists)
    assert format_model(model, 10, lists) == "[L0:L1,L2,L3,L4,L5,L6,L7,L8,L9]"


def test_design_matrix_rows_are_cell_codes() -> None:
    X = design_matrix(3, parse_model("[12,3]", ("A", "B", "C")))
    # rows: codes 1..7 = 001, 010, 011, 100, 101, 110, 111; columns 1, A, B, C, AB
    expected = np.array([
        [1, 0, 0, 1, 0], [1, 0, 1, 0, 0], [1, 0, 1, 1, 0], [1, 1, 0, 0, 0],
        [1, 1, 0, 1, 0], [1, 1, 1, 0, 1], [1, 1, 1, 1, 1],
    ], dtype=float)
    np.testing.assert_array_equal(X, expected)


@pytest.mark.parametrize(
    ("J", "max_order", "count"),
    [(3, None, 8), (4, None, 113), (4, 2, 64), (5, 2, 1024), (5, 3, 6212), (5, 4, 6893)],
)
def test_number_of_hierarchical_models(J: int, max_order: int | None, count: int) -> None:
    models = all_hierarchical_models(J, max_order)
    assert len(models) == count
    assert len({tuple(m) for m in models}) == count
    specs = {format_model(m, J) for m in models}
    assert len(specs) == count
