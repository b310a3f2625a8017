"""Words in another script are kept, not dropped; ambiguous day/month dates are warned about
(issue 16)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from undercount.errors import DataWarning
from undercount.names import clean_arabic, normalise_arabic, normalise_latin, standardise
from undercount.names.dates import date_order_evidence, parse_dates
from undercount.names.scripts import foreign_scripts


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("محمد Ahmad صالح", "محمد ahmad صالح"),
        ("محمدAhmad", "محمد ahmad"),
        ("Иван Петров", "ivan petrov"),
        ("王小明", "wangxiaoming"),
        ("محمد 12 حسن-علي", "محمد حسن علي"),  # digits and punctuation still go
    ],
)
def test_clean_arabic_keeps_foreign_words(raw, expected):
    assert clean_arabic(raw) == expected


def test_normalised_forms_keep_every_word():
    assert normalise_arabic("عبد الله Ahmad") == "عبدالله ahmad"
    assert normalise_latin("Иван al-Najjar") == "ivan al-najjar"
    assert normalise_latin("ʿAbd al-Raḥmān") == "abdalrahman"  # no script warning needed


def test_foreign_scripts():
    assert foreign_scripts("محمد Ahmad", "Arabic") == {"Latin"}
    assert foreign_scripts("ʿAbd Müller", "Latin") == set()
    assert foreign_scripts("Иван 王", "Latin") == {"Cyrillic", "CJK"}


def _std(frame: pd.DataFrame, columns: dict[str, str], **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = standardise(frame, columns, list_name="L", source="l.csv", **kw)
    return out, [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


def test_foreign_words_warning_counts_per_column():
    frame = pd.DataFrame({"n": ["محمد Ahmad صالح", "احمد علي", "Иван", None],
                          "l": ["Ahmad", "Иван", "王", "x"]})
    out, msgs = _std(frame, {"name_ar": "n", "name_lat": "l"})
    assert out["name_ar"].tolist()[:3] == ["محمد ahmad صالح", "احمد علي", "ivan"]
    assert out["father"][0] == "ahmad"  # "Ahmad" keeps its place as the second part
    assert msgs == [
        "l.csv, column 'n': 2 value(s) of this Arabic name column hold words in another "
        "script (Cyrillic, Latin); kept as name parts of their own in Latin letters, not "
        "dropped (e.g. row 2 'محمد Ahmad صالح', row 4 'Иван')",
        "l.csv, column 'l': 2 value(s) of this Latin name column hold words in another "
        "script (CJK, Cyrillic); transliterated to Latin letters, not dropped (e.g. row 3 "
        "'Иван', row 4 '王')",
    ]


def test_ambiguous_dates():
    values = pd.Series(["03/11/2023", "11/03/2023", "2023-01-05", "05.06.2020", "07/07/2021",
                        "25/03/2023", "03/25/2023", None])
    amb, day_only, month_only = date_order_evidence(values)
    assert amb.tolist() == [True, True, False, True, False, False, False, False]
    assert (day_only, month_only) == (1, 1)
    parsed = parse_dates(values)
    assert parsed.ambiguous.tolist() == amb.tolist()


def test_ambiguous_dates_warned_once_per_column_with_examples():
    frame = pd.DataFrame({"n": ["احمد", "علي", "حسن"],
                          "d": ["03/11/2023", "11/03/2023", "2023-01-05"]})
    out, msgs = _std(frame, {"name_ar": "n", "dod": "d"})
    assert out["dod"].tolist() == ["2023-11-03", "2023-03-11", "2023-01-05"]
    assert msgs == [
        "l.csv, column 'd': 2 date(s) read day-first are a real date in either order (e.g. "
        "row 2 '03/11/2023', row 3 '11/03/2023'; the first read as 03 November 2023), and no "
        "date in the column shows which order it uses. Set the order for this list: "
        "date_order = \"month-first\" (or \"day-first\") in its table of the project file."
    ]
    # An order given explicitly is not second-guessed, unless the column contradicts it.
    out, msgs = _std(frame, {"name_ar": "n", "dod": "d"}, dayfirst=False)
    assert out["dod"].tolist() == ["2023-03-11", "2023-11-03", "2023-01-05"]
    assert msgs == []
    _, msgs = _std(frame, {"name_ar": "n", "dod": "d"}, dayfirst=True)
    assert msgs == []
    frame.loc[2, "d"] = "25/12/2023"
    _, msgs = _std(frame, {"name_ar": "n", "dod": "d"}, dayfirst=False)
    assert len(msgs) == 1 and "1 other date(s) in the column can only be day-first" in msgs[0]


def test_column_that_shows_its_order_is_not_warned():
    frame = pd.DataFrame({"n": ["احمد", "علي"], "d": ["03/11/2023", "25/03/2023"]})
    _, msgs = _std(frame, {"name_ar": "n", "dod": "d"})
    assert msgs == []
    frame = pd.DataFrame({"n": ["احمد", "علي"], "d": ["03-11-2023", "03-25-2023"]})
    out, msgs = _std(frame, {"name_ar": "n", "dod": "d"}, dayfirst=False)
    assert msgs == [] and out["dod"].tolist() == ["2023-03-11", "2023-03-25"]
