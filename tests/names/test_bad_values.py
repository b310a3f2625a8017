"""on_bad_value on every field type (issue 13, item 1): the error names the row, column and
value and ends with the option; "coerce" makes the values missing and reports them."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from undercount.errors import DataWarning, InputError
from undercount.names import standardise
from undercount.names.standardise import COERCE_HINT

ROLES = {"name_ar": "name", "sex": "sex", "age": "age", "dob": "dob", "dod": "dod"}


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["a", "b", "c"],
        "name": ["محمد احمد علي النجار", "فاطمه حسن سالم حلس", "سعيد محمود عمر شاهين"],
        "sex": ["m", "f", "m"],
        "age": ["30", "22", "41"],
        "dob": ["1993-05-01", "2001-03-15", "1982-02-02"],
        "dod": ["2023-11-01", "2024-01-02", "2023-12-12"],
    })


@pytest.mark.parametrize(
    ("column", "value", "output", "what"),
    [
        ("sex", "t2227949951", "sex", "is not a sex code"),
        ("age", "334", "age", "is not an age"),
        ("age", "twelve", "age", "is not an age"),
        ("dob", "1821-24-20", "dob", "is not a date"),
        ("dod", "2023-13-45", "dod", "is not a date"),
        ("dob", "2024-06-01", "dob", "is after the date of death"),
    ],
)
def test_each_field_type(column, value, output, what):
    df = frame()
    df.loc[1, column] = value
    with pytest.raises(InputError) as err:
        standardise(df, ROLES, list_name="L", id_column="id", source="l.csv")
    msg = str(err.value)
    assert f"l.csv, row 3, column {column!r}: {value!r} {what}" in msg
    # The way past the error is its last line.
    assert msg.rstrip().endswith(COERCE_HINT)
    assert 'on_bad_value = "coerce"' in msg.splitlines()[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        out = standardise(df, ROLES, list_name="L", id_column="id", errors="coerce")
    value_out = out.loc[1, output]
    if output == "age":
        # The bad age is missing, then derived from the dates (2001-03-15 to 2024-01-02).
        assert value_out == 22.0
    else:
        assert value_out is None or (isinstance(value_out, float) and np.isnan(value_out))
    assert out.attrs["coerced"] == {column: {"count": 1, "examples": [[3, value]]}}
    # The rest of the record is kept.
    assert out.loc[1, "given"] == "فاطمه"


def test_coerce_counts_per_column_and_keeps_first_examples():
    df = pd.concat([frame()] * 4, ignore_index=True)
    df["id"] = [str(i) for i in range(len(df))]
    df["sex"] = "x"
    df.loc[0, "dob"] = "nope"
    with pytest.warns(DataWarning, match="13 bad value"):
        out = standardise(df, ROLES, list_name="L", id_column="id", errors="coerce")
    assert out.attrs["coerced"]["sex"]["count"] == 12
    assert out.attrs["coerced"]["sex"]["examples"] == [[r, "x"] for r in range(2, 7)]
    assert out.attrs["coerced"]["dob"] == {"count": 1, "examples": [[2, "nope"]]}
    assert out["sex"].isna().all()
