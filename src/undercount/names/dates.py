"""Dates of birth and death, ages, and heaping flags.

Victim lists record dates in many formats and often default an unknown birthday to
1 January: in the Gaza MoH lists 7–8% of dates of birth fall on 1 January, about 27 times the
rate expected by chance (``linkage/arabic_names/release_noise.md``). Such a date carries only
the year, so linkage should compare it at year level; the ``dob_heaped`` flag says when.

Age at death is the number of *completed* years between birth and death:

.. math::

    \\text{age} = (y_d - y_b) - [\\,(m_d, d_d) < (m_b, d_b)\\,],

comparing (month, day) pairs lexicographically; someone born on 29 February completes a year
on 1 March in non-leap years.

Age heaping (a preference for ages ending in 0 or 5) is flagged for ages of 20 and over,
the range in which it is measured in demography (Whipple's index uses 23–62 [1]_; the
MoH notes use 20–79); children's ages are usually known exactly.

References
----------
.. [1] Shryock, H. S., Siegel, J. S. (1976). *The Methods and Materials of Demography*.
   Academic Press, ch. 8. ISBN 978-0-12-641150-8.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from undercount.errors import InputError

__all__ = [
    "DateOrder",
    "ParsedDates",
    "age_heaped",
    "completed_years",
    "date_order_evidence",
    "parse_ages",
    "parse_date",
    "parse_dates",
]

Precision = Literal["day", "month", "year"]
#: How a list writes numeric dates: ``03/11/2023`` is 3 November (day-first) or 11 March.
DateOrder = Literal["day-first", "month-first"]

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# (format, precision), tried in order on the values not parsed yet.
_DAY_FIRST: tuple[tuple[str, Precision], ...] = (
    ("%Y-%m-%d", "day"),
    ("%Y/%m/%d", "day"),
    ("%Y.%m.%d", "day"),
    ("%d/%m/%Y", "day"),
    ("%d-%m-%Y", "day"),
    ("%d.%m.%Y", "day"),
    ("%m/%d/%Y", "day"),
    ("%Y%m%d", "day"),
    ("%Y-%m", "month"),
    ("%m/%Y", "month"),
    ("%Y", "year"),
)
_MONTH_FIRST: tuple[tuple[str, Precision], ...] = (
    ("%m/%d/%Y", "day"),
    ("%m-%d-%Y", "day"),
    ("%m.%d.%Y", "day"),
    *(f for f in _DAY_FIRST if f[0] != "%m/%d/%Y"),
)
# d/m/yyyy or m/d/yyyy with any of the separators: the two orders a reader must choose from.
_LEADING_PAIR = re.compile(r"\s*[0-9٠-٩۰-۹]{1,2}[/.-]")
_TWO_NUMBERS = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})$")
_TIME_TAIL = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_AGE = re.compile(
    r"^\s*(?P<num>\d+(?:[.,]\d+)?)\s*(?P<unit>y|yr|yrs|year|years|سنة|سنه|سنوات|عام|"
    r"m|mo|mon|month|months|شهر|شهور|اشهر|أشهر|"
    r"w|wk|week|weeks|اسبوع|أسبوع|"
    r"d|day|days|يوم|ايام|أيام)?\s*$",
    re.IGNORECASE,
)
_UNIT_YEARS = {"m": 1 / 12, "w": 7 / 365.25, "d": 1 / 365.25}
_UNIT_KIND = {
    **dict.fromkeys(["m", "mo", "mon", "month", "months", "شهر", "شهور", "اشهر", "أشهر"], "m"),
    **dict.fromkeys(["w", "wk", "week", "weeks", "اسبوع", "أسبوع"], "w"),
    **dict.fromkeys(["d", "day", "days", "يوم", "ايام", "أيام"], "d"),
}
MAX_AGE = 125


@dataclass(frozen=True)
class ParsedDates:
    """Vectorised result of :func:`parse_dates`.

    Attributes
    ----------
    dates : Series of datetime64[ns]
        NaT where missing or unparseable. Year-only and month-only dates are set to the
        first day of the period.
    precision : Series of object
        ``"day"``, ``"month"``, ``"year"`` or None.
    bad : ndarray of bool
        True where a non-empty value could not be parsed (or is not a real date).
    jan01 : ndarray of bool
        Day precision and 1 January.
    day01 : ndarray of bool
        Day precision and the first of a month.
    heaped : ndarray of bool
        The date carries no more than the year: 1 January, or year-only precision.
    ambiguous : ndarray of bool
        Written ``a/b/yyyy`` (or with ``-`` or ``.``) with both ``a`` and ``b`` at most 12
        and different, so day-first and month-first give two real dates (``03/11/2023``);
        read in the order asked for. See :func:`date_order_evidence`.
    order_evidence : tuple of int
        ``(day_first_only, month_first_only)``: how many values only one order can read.
    """

    dates: pd.Series
    precision: pd.Series
    bad: np.ndarray
    jan01: np.ndarray
    day01: np.ndarray
    heaped: np.ndarray
    ambiguous: np.ndarray | None = None
    order_evidence: tuple[int, int] = (0, 0)

    def iso(self) -> pd.Series:
        """ISO ``YYYY-MM-DD`` strings (object dtype), None where missing."""
        # Written once per distinct date (a list of a million has tens of thousands).
        codes, uniq = pd.factorize(self.dates)
        text = np.empty(len(uniq) + 1, dtype=object)
        text[:-1] = pd.Series(uniq).dt.strftime("%Y-%m-%d").astype(object).to_numpy()
        text[-1] = None  # NaT: code -1
        return pd.Series(text[codes], dtype=object)


def _is_blank(values: pd.Series) -> np.ndarray:
    s = values.astype(object)
    blank = s.isna().to_numpy().copy()
    text = s[~blank].astype(str).str.strip()
    blank[~blank] = text.isin(["", "nan", "NaT", "None", "NA", "N/A", "-"]).to_numpy()
    return blank


def parse_dates(values: pd.Series, *, dayfirst: bool = True) -> ParsedDates:
    """Parse a column of dates written in common formats.

    Tries ISO (``1990-05-17``), ``1990/05/17``, day-first ``17/05/1990``, ``17-05-1990``,
    ``17.05.1990`` (month-first when ``dayfirst=False``; the other order is tried next, so
    ``05/17/1990`` still parses; values that are a date in both orders are marked
    ``ambiguous``), ``19900517``, ``1990-05``, ``05/1990`` and a bare year
    ``1990``. A time of day is ignored. Datetime values (Excel cells) are taken as they are.
    Arabic-Indic digits are accepted.
    """
    values = pd.Series(values).reset_index(drop=True)
    if not _text_only(values):
        return _parsed(*_parse_each(values, dayfirst))
    # Each value is read on its own, so a column of text is read once per distinct value
    # (a million dates of death hold a few hundred): the values' results, then every
    # missing value's (code -1, the last slot).
    codes, uniq = pd.factorize(values)
    fields = _parse_each(pd.Series([*uniq, None], dtype=object), dayfirst)
    return _parsed(*(f[codes] for f in fields))


def _text_only(values: pd.Series) -> bool:
    """Whether every value is text or missing (pd.factorize then groups only equal text)."""
    if isinstance(values.dtype, pd.StringDtype):
        return True
    return values.dtype == object and infer_dtype(values, skipna=True) in ("string", "empty")


def _parsed(
    dates: np.ndarray, precision: np.ndarray, bad: np.ndarray, day_only: np.ndarray,
    month_only: np.ndarray, ambiguous: np.ndarray,
) -> ParsedDates:
    dates_s = pd.Series(dates, dtype="datetime64[s]")
    day = precision == "day"
    month = dates_s.dt.month.to_numpy()
    dom = dates_s.dt.day.to_numpy()
    jan01 = day & (month == 1) & (dom == 1)
    day01 = day & (dom == 1)
    heaped = jan01 | (precision == "year")
    return ParsedDates(dates_s, pd.Series(precision, dtype=object), bad, jan01, day01, heaped,
                       ambiguous, (int(day_only.sum()), int(month_only.sum())))


def _parse_each(values: pd.Series, dayfirst: bool) -> tuple[np.ndarray, ...]:
    """Per value: the date (datetime64[s]), its precision, whether it is bad, whether only
    day-first / only month-first reads it, and whether either order does
    (:func:`date_order_evidence`)."""
    n = len(values)
    # Second resolution: historical records reach back before 1677, the limit of ns.
    dates = pd.Series(pd.NaT, index=range(n), dtype="datetime64[s]")
    precision = pd.Series([None] * n, dtype=object)
    blank = _is_blank(values)
    obj = values.astype(object)
    is_dt = obj.map(lambda v: isinstance(v, (dt.date, pd.Timestamp, np.datetime64))).to_numpy(
        dtype=bool, copy=True
    )
    is_dt &= ~blank
    if is_dt.any():
        dates[is_dt] = (
            pd.to_datetime(obj[is_dt], errors="coerce").astype("datetime64[s]").to_numpy()
        )
        precision[is_dt] = "day"
    todo = ~blank & ~is_dt
    if todo.any():
        text = obj[todo].astype(str).str.strip().str.translate(_DIGITS)
        text = text.str.replace(_TIME_TAIL, "", regex=True)
        remaining = pd.Series(True, index=text.index)
        for fmt, prec in _DAY_FIRST if dayfirst else _MONTH_FIRST:
            if not remaining.any():
                break
            sub = text[remaining]
            got = pd.to_datetime(sub, format=fmt, errors="coerce")
            ok = got.notna()
            if ok.any():
                idx = ok[ok].index
                dates[idx] = got[ok].astype("datetime64[s]").to_numpy()
                precision[idx] = prec
                remaining[idx] = False
    # A year before 1 ("-1" read as a bare year) is no calendar date, and Python's dates
    # cannot hold it.
    before_year_1 = (dates.notna() & (dates.dt.year < 1)).to_numpy()
    if before_year_1.any():
        dates[before_year_1] = pd.NaT
    bad = ~blank & dates.isna().to_numpy()
    precision[bad] = None
    ambiguous, day_only, month_only = _order_flags(values)
    ambiguous &= ~bad
    return (dates.to_numpy(), precision.to_numpy(), bad, day_only, month_only, ambiguous)


def date_order_evidence(values: pd.Series) -> tuple[np.ndarray, int, int]:
    """What a column of dates says about the order of day and month.

    Returns ``(ambiguous, day_first_only, month_first_only)``: a mask of the values written
    ``a/b/yyyy`` (``/``, ``-`` or ``.``) with ``a`` and ``b`` both between 1 and 12 and
    different, which are a real date in either order; the number of such values with
    ``a > 12`` (only day-first reads them); and the number with ``b > 12`` (only
    month-first reads them). A column with ambiguous values and no evidence either way, or
    evidence against the order used, needs its order set by hand.
    """
    ambiguous, day_only, month_only = _order_flags(values)
    return ambiguous, int(day_only.sum()), int(month_only.sum())


def _order_flags(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per value of :func:`date_order_evidence`: ambiguous, only day-first, only
    month-first."""
    obj = pd.Series(values).reset_index(drop=True).astype(object)
    # Only strings that start with one or two digits and a separator can be d/m/y or m/d/y
    # (ISO dates, the common case, are skipped at once).
    is_str = obj.map(
        lambda v: isinstance(v, str) and _LEADING_PAIR.match(v) is not None
    ).to_numpy(dtype=bool)
    text = obj[is_str].astype(str).str.strip().str.translate(_DIGITS)
    text = text.str.replace(_TIME_TAIL, "", regex=True)
    parts = text.str.extract(_TWO_NUMBERS)
    a = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=float)
    b = pd.to_numeric(parts[2], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        a_month = (a >= 1) & (a <= 12)
        b_month = (b >= 1) & (b <= 12)
        a_day = (a > 12) & (a <= 31)
        b_day = (b > 12) & (b <= 31)
    ambiguous = np.zeros(len(obj), dtype=bool)
    day_only = np.zeros(len(obj), dtype=bool)
    month_only = np.zeros(len(obj), dtype=bool)
    ambiguous[is_str] = a_month & b_month & (a != b)
    day_only[is_str] = a_day & b_month
    month_only[is_str] = a_month & b_day
    return ambiguous, day_only, month_only


def parse_date(value: object, *, dayfirst: bool = True) -> tuple[dt.date, Precision] | None:
    """Parse one date; ``(date, precision)`` or None if missing.

    Raises
    ------
    InputError
        If the value is not empty but cannot be parsed (an InputError is a ValueError).
    """
    parsed = parse_dates(pd.Series([value], dtype=object), dayfirst=dayfirst)
    if parsed.bad[0]:
        raise InputError(f"{value!r} is not a date in a recognised format")
    if pd.isna(parsed.dates[0]):
        return None
    return parsed.dates[0].date(), parsed.precision[0]


def completed_years(dob: pd.Series, dod: pd.Series) -> np.ndarray:
    """Completed years from ``dob`` to ``dod`` (datetime64 Series); NaN where either is missing.

    A death before the birth gives NaN (and should be reported by the caller).
    """
    b = pd.to_datetime(pd.Series(dob).reset_index(drop=True))
    d = pd.to_datetime(pd.Series(dod).reset_index(drop=True))
    years = (d.dt.year - b.dt.year).to_numpy(dtype=float, copy=True)
    before = (d.dt.month < b.dt.month) | ((d.dt.month == b.dt.month) & (d.dt.day < b.dt.day))
    years = years - before.to_numpy(dtype=float)
    years[(b.isna() | d.isna()).to_numpy()] = np.nan
    years[years < 0] = np.nan
    return years


def parse_ages(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse ages in years; returns ``(age, bad)``.

    Accepts numbers (``34``, ``34.0``, ``0.5``, Arabic-Indic digits, a decimal comma) with an
    optional unit: years (``y``, ``years``, ``سنة``), months (``m``, ``months``, ``شهر``),
    weeks or days, converted to years. Values that are not ages (``"twelve"``, negative, over
    125) are ``bad``; blanks are NaN and not bad.
    """
    values = pd.Series(values).reset_index(drop=True)
    n = len(values)
    age = np.full(n, np.nan)
    blank = _is_blank(values)
    obj = values.astype(object)
    numeric = pd.to_numeric(obj.where(~blank), errors="coerce").to_numpy(dtype=float, copy=True)
    has_num = ~np.isnan(numeric)
    age[has_num] = numeric[has_num]
    rest = ~blank & ~has_num
    bad = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(rest):
        m = _AGE.match(str(obj.iloc[i]).translate(_DIGITS))
        if m is None:
            bad[i] = True
            continue
        num = float(m.group("num").replace(",", "."))
        unit = (m.group("unit") or "").lower()
        kind = _UNIT_KIND.get(unit)
        age[i] = num * _UNIT_YEARS[kind] if kind else num
    out_of_range = ~np.isnan(age) & ((age < 0) | (age > MAX_AGE))
    bad |= out_of_range
    age[out_of_range] = np.nan
    return age, bad


def age_heaped(age: np.ndarray | pd.Series, *, base: int = 5, min_age: float = 20) -> np.ndarray:
    """Ages that are whole multiples of ``base`` (5; use 10 for decades), from ``min_age`` up."""
    a = np.asarray(age, dtype=float)
    with np.errstate(invalid="ignore"):
        return (a >= min_age) & (a == np.round(a)) & (np.mod(a, base) == 0)
