"""Dates, completed years, and heaping flags."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from undercount.names.dates import (
    age_heaped,
    completed_years,
    parse_ages,
    parse_date,
    parse_dates,
)


@pytest.mark.parametrize(
    ("raw", "iso", "precision"),
    [
        ("1990-05-17", "1990-05-17", "day"),
        ("1990/05/17", "1990-05-17", "day"),
        ("17/05/1990", "1990-05-17", "day"),
        ("17-05-1990", "1990-05-17", "day"),
        ("17.05.1990", "1990-05-17", "day"),
        ("05/17/1990", "1990-05-17", "day"),  # month-first still parses when day > 12
        ("19900517", "1990-05-17", "day"),
        ("1990-05-17 10:30:00", "1990-05-17", "day"),
        ("1990-05", "1990-05-01", "month"),
        ("1990", "1990-01-01", "year"),
        ("١٩٩٠-٠٥-١٧", "1990-05-17", "day"),
        (dt.date(1990, 5, 17), "1990-05-17", "day"),
        (pd.Timestamp("1990-05-17"), "1990-05-17", "day"),
    ],
)
def test_formats(raw, iso, precision):
    got = parse_date(raw)
    assert got is not None
    assert got[0].isoformat() == iso
    assert got[1] == precision


def test_dayfirst_switch():
    assert parse_date("05/06/1990")[0] == dt.date(1990, 6, 5)
    assert parse_date("05/06/1990", dayfirst=False)[0] == dt.date(1990, 5, 6)


def test_bad_and_blank():
    assert parse_date(None) is None
    assert parse_date("") is None
    with pytest.raises(ValueError, match="not a date"):
        parse_date("yesterday")
    with pytest.raises(ValueError):
        parse_date("31/02/2000")


def test_heaping_flags():
    p = parse_dates(pd.Series(["2001-01-01", "2001-03-01", "2001-03-02", "2001", None, "x"]))
    assert p.jan01.tolist() == [True, False, False, False, False, False]
    assert p.day01.tolist() == [True, True, False, False, False, False]
    assert p.heaped.tolist() == [True, False, False, True, False, False]
    assert p.bad.tolist() == [False, False, False, False, False, True]
    assert p.iso().tolist() == ["2001-01-01", "2001-03-01", "2001-03-02", "2001-01-01",
                                None, None]


def test_completed_years():
    dob = pd.Series(pd.to_datetime(["1990-05-17", "1990-05-17", "2000-02-29", "2000-02-29",
                                    None, "2025-01-01"]))
    dod = pd.Series(pd.to_datetime(["2024-05-16", "2024-05-17", "2023-02-28", "2023-03-01",
                                    "2024-01-01", "2024-01-01"]))
    got = completed_years(dob, dod)
    np.testing.assert_array_equal(got[:4], [33, 34, 22, 23])
    assert np.isnan(got[4]) and np.isnan(got[5])


def test_parse_ages():
    age, bad = parse_ages(pd.Series(["12", "12.5", "twelve", "6 months", None, "-3", "200", 5,
                                     "٣٠", "2 سنة", "3 weeks"]))
    np.testing.assert_allclose(age[[0, 1, 3, 7, 8, 9]], [12, 12.5, 0.5, 5, 30, 2])
    assert age[10] == pytest.approx(21 / 365.25)
    assert bad.tolist() == [False, False, True, False, False, True, True, False, False, False,
                            False]
    assert np.isnan(age[[2, 4, 5, 6]]).all()


def test_age_heaped():
    ages = np.array([5, 10, 20, 25, 27, 30.5, 40, 80, np.nan])
    assert age_heaped(ages).tolist() == [False, False, True, True, False, False, True, True,
                                         False]
    assert age_heaped(ages, base=10).tolist() == [False, False, True, False, False, False, True,
                                                  True, False]


def test_dates_before_1677_parse():
    # Historical lists (e.g. Splink's historical_50k) have birth years outside pandas' ns range.
    from undercount.names.dates import parse_dates

    got = parse_dates(pd.Series(["1520-03-04", "1066", "1990-01-01"]))
    assert got.dates.dt.year.tolist() == [1520, 1066, 1990]
    assert not got.bad.any()
