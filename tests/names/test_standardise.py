"""The standardise() contract: columns, row numbers, errors naming row and column."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from undercount.errors import ConfigError, DataWarning, InputError
from undercount.names import OUTPUT_COLUMNS, standardise

ROLES = {
    "name_ar": "name", "name_lat": "en", "sex": "sex", "age": "age", "dob": "dob",
    "dod": "dod", "place": "gov", "national_id": "idn",
}


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["a", "b", "c"],
        "name": ["عبد الله محمد أبو عمرة", "عالء صالح اسماعيل االسطل", None],
        "en": ["Abdullah Mohammed Abu Amra", None, "Ahmad El-Masri"],
        "sex": ["ذكر", "F", "m"],
        "age": ["30", "", None],
        "dob": ["1990-01-01", "15/03/2001", "1980"],
        "dod": ["2023-11-01", "2024-01-02", None],
        "gov": ["Gaza", "غزة", "Khan Younis"],
        "idn": ["401234562", "401234563", None],
        "x": [1, 2, 3],
    })


def test_contract_columns_and_values():
    out = standardise(frame(), {**ROLES, "extra": "x"}, list_name="L", id_column="id")
    assert list(out.columns) == [*OUTPUT_COLUMNS, "extra"]
    assert out["row"].tolist() == [2, 3, 4]
    assert out["list"].tolist() == ["L"] * 3
    assert out["record_id"].tolist() == ["a", "b", "c"]
    r0, r1, r2 = (out.iloc[i] for i in range(3))
    assert r0["name_ar"] == "عبدالله محمد ابوعمره"
    assert r0["name_lat"] == "abdallah mohammed abuamra"
    assert (r0["given"], r0["father"], r0["grandfather"], r0["family"]) == (
        "عبدالله", "محمد", None, "ابوعمره")
    assert r0["name_key"] == "BDL MHMD BMR"
    assert r0["sex"] == "m" and r0["age"] == 30.0 and r0["age_heaped"]
    assert r0["dob"] == "1990-01-01" and r0["dob_heaped"] and r0["birth_year"] == 1990
    assert r0["national_id"] == "401234562" and r0["id_valid"] is True
    # Lam-alef artefacts repaired; family key without the article.
    assert r1["name_ar"] == "علاء صالح اسماعيل الاسطل"
    assert r1["family_key"] == "STL"
    assert r1["age"] == 22.0 and not r1["age_heaped"]  # derived from dob and dod
    assert r1["dob"] == "2001-03-15" and not r1["dob_heaped"]
    assert r1["id_valid"] is False and r1["sex"] == "f"
    # Latin only: parts in Latin; year-only DOB heaped.
    assert r2["name_ar"] is None and r2["given"] == "ahmad" and r2["family"] == "al-masri"
    assert r2["family_key"] == "MSR"
    assert r2["dob_heaped"] and r2["national_id"] is None and r2["id_valid"] is None
    assert np.isnan(r2["age"])
    assert out["extra"].tolist() == [1, 2, 3]
    assert str(out["birth_year"].dtype) == "Int64"


def test_cross_script_keys_agree():
    df = pd.DataFrame({"ar": ["محمد أحمد خليل النجار"], "en": ["Mohammed Ahmad Khalil an-Najjar"]})
    a = standardise(df, {"name_ar": "ar"}, list_name="A")
    b = standardise(df, {"name_lat": "en"}, list_name="B")
    for key in ("given_key", "father_key", "grandfather_key", "family_key", "name_key"):
        assert a[key][0] == b[key][0], key


def test_part_columns_and_five_part_names():
    df = pd.DataFrame({"g": ["عبد الرحمن"], "f": ["محمد"], "gf": ["علي"], "fam": ["الشيخ"]})
    out = standardise(df, {"given_ar": "g", "father_ar": "f", "grandfather_ar": "gf",
                           "family_ar": "fam"}, list_name="P")
    assert out["name_ar"][0] == "عبدالرحمن محمد علي الشيخ"
    assert out["family_key"][0] == "CX"
    five = standardise(pd.DataFrame({"n": ["محمد احمد علي حسن النجار"]}), {"name_ar": "n"},
                       list_name="F")
    assert five.loc[0, ["given", "father", "grandfather", "family"]].tolist() == [
        "محمد", "احمد", "علي", "النجار"]


def test_bad_values_raise_with_row_and_column():
    df = frame()
    df.loc[1, "age"] = "twelve"
    df.loc[2, "dob"] = "not a date"
    df.loc[0, "sex"] = "?"
    with pytest.raises(InputError) as err:
        standardise(df, ROLES, list_name="L", id_column="id", source="lists/l.csv")
    msg = str(err.value)
    assert "3 bad value(s)" in msg
    assert "lists/l.csv, row 3, column 'age': 'twelve'" in msg
    assert "lists/l.csv, row 4, column 'dob': 'not a date'" in msg
    assert "row 2, column 'sex': '?'" in msg
    assert len(err.value.problems) == 3


def test_coerce_marks_missing_with_warning():
    df = frame()
    df.loc[1, "age"] = "twelve"
    with pytest.warns(DataWarning, match="row 3, column 'age'"):
        out = standardise(df, ROLES, list_name="L", id_column="id", errors="coerce")
    # The bad age is missing; age then comes from dob and dod.
    assert out["age"][1] == 22.0


def test_death_before_birth_is_reported():
    df = frame()
    df.loc[0, "dob"] = "2024-01-01"
    with pytest.raises(InputError, match=r"row 2, column 'dob'.*after the date of death"):
        standardise(df, ROLES, list_name="L", id_column="id")


def test_structural_errors():
    with pytest.raises(InputError, match=r"column\(s\) not found.*'nope'"):
        standardise(frame(), {"name_ar": "nope"}, list_name="L")
    df = frame()
    df.loc[2, "id"] = "a"
    with pytest.raises(InputError, match="row 4, column 'id': record ID 'a' is not unique"):
        standardise(df, ROLES, list_name="L", id_column="id", errors="coerce")
    df.loc[2, "id"] = None
    with pytest.raises(InputError, match="row 4, column 'id': the record ID is missing"):
        standardise(df, ROLES, list_name="L", id_column="id")
    with pytest.raises(ConfigError, match="clash"):
        standardise(frame(), {"age_heaped": "x"}, list_name="L")


def test_default_record_id_is_row_and_input_untouched():
    df = frame()
    before = df.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = standardise(df, {"name_ar": "name"}, list_name="L")
    assert out["record_id"].tolist() == ["2", "3", "4"]
    pd.testing.assert_frame_equal(df, before)
    assert out["sex"].isna().all() and out["dob"].isna().all()


def test_name_key_rows_stay_in_place_after_a_record_without_keys():
    # A record whose name gives no key at all (a descriptor of a relative of no one) sits
    # between named records: every name_key must be its own row's keys joined. An Arrow
    # element-wise join dropped such rows and shifted every later name_key by one.
    names = ["محمد احمد علي حسن", None, "زوجة", "خالد سالم ابراهيم", "Ahmad Ali", ""]
    out = standardise(pd.DataFrame({"n": names}), {"name_ar": "n"}, list_name="a")
    keys = out[["given_key", "father_key", "family_key"]].to_numpy(dtype=object)
    expected = [" ".join(k for k in row if isinstance(k, str)) or None for row in keys]
    assert out["name_key"].tolist() == expected
    assert out["name_key"].isna().sum() >= 2
    assert out["name_key"].iloc[3] is not None
