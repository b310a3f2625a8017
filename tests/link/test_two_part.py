"""Given + family (two-part) lists: the comparisons and blocking rules fitted to them."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("splink")

from undercount.link.comparisons import CrossScriptNameComparison, build_comparison
from undercount.link.relatives import RELATIVE_LEVELS, add_rasm_columns
from undercount.link.relatives_levels import GivenNameComparison
from undercount.link.settings import (
    PARTIAL_BLOCKING_TWO_PART,
    LinkSettings,
    rule_pairs,
    sex_conflicts,
    sex_reliable,
)
from undercount.names import standardise

TWO_PART = ("name:given", "name:family", "dob_age", "place")
FOUR_PART = ("name:given", "name:father", "name:grandfather", "name:family", "dob_age")


def _labels(comparison) -> list[str]:
    return [lv.create_label_for_charts() for lv in comparison.create_comparison_levels()]


def test_given_name_has_relative_levels_only_with_father_grandfather_family():
    # The relative levels fire only when father, grandfather and family agree; on a given +
    # family list EM never trains them, and their untrained m diluted the given-name levels.
    assert isinstance(build_comparison("name:given", FOUR_PART), GivenNameComparison)
    plain = build_comparison("name:given", TWO_PART)
    assert isinstance(plain, CrossScriptNameComparison)
    assert not isinstance(plain, GivenNameComparison)
    assert not any(label in _labels(plain) for label in RELATIVE_LEVELS)
    # Without the model's comparisons (older callers): the relative-aware form, as before.
    assert isinstance(build_comparison("name:given"), GivenNameComparison)


def test_given_and_family_cross_on_two_part_lists_only():
    given = _labels(build_comparison("name:given", TWO_PART))
    family = _labels(build_comparison("name:family", TWO_PART))
    assert "given found as the other's family name" in given
    assert "given and family names swapped" in family
    # The same spelling before the same skeleton (burn, brown: BRN).
    levels = build_comparison("name:family", TWO_PART).get_comparison("duckdb").comparison_levels
    assert [lv.label_for_charts for lv in levels][1:3] == [
        "Same family name", "Same skeleton key family_key"]
    # Positions to shift between exist only with three parts or more.
    assert "family found elsewhere in the other name" not in family
    four = _labels(build_comparison("name:family", FOUR_PART))
    assert "family found elsewhere in the other name" in four
    assert "given and family names swapped" not in four


def _two_part_frame() -> pd.DataFrame:
    # A one-name record written in the given-name column ("varley"), the full name it belongs
    # to, a swapped record, and unrelated people.
    return pd.DataFrame({
        "id": ["1", "2", "3", "4", "5", "6"],
        "first": ["fleetwood", "varley", "ryan", "jack", "anne", "edith"],
        "last": ["varley", None, "jack", "ryan", "stanley", None],
        "dob": ["1862-07-12", None, "1919-04-24", "1919-04-24", "1580-05-02", "1846-09-01"],
        "place": ["london", "london", "taigum", "applecross", "coughton", "sevenoaks"],
        "sex": ["male", "male", "male", "male", "female", "female"],
    })


def test_last_key_is_the_family_key_or_a_one_part_names_only_key():
    std = standardise(_two_part_frame(), {"given_lat": "first", "family_lat": "last",
                                          "dob": "dob", "place": "place", "sex": "sex"},
                      list_name="h", id_column="id")
    last = std["last_key"].tolist()
    assert last[0] == std["family_key"][0] == last[1] == std["given_key"][1]
    assert last[2] == std["family_key"][2] != std["given_key"][2]
    assert last[5] == std["given_key"][5]



def _level(comparison, left: dict, right: dict) -> str:
    """The label of the first level of ``comparison`` whose SQL holds for the pair."""
    import duckdb

    comparison = comparison.get_comparison("duckdb")
    row = {f"{k}_l": [v] for k, v in left.items()}
    row.update({f"{k}_r": [v] for k, v in right.items()})
    frame = pd.DataFrame(row).astype(object)
    con = duckdb.connect()
    con.register("pair", frame)
    for lv in comparison.comparison_levels:
        sql = lv.sql_condition
        if sql.strip().upper() == "ELSE":
            return lv.label_for_charts
        if con.execute(f"select coalesce(({sql}), false) from pair").fetchone()[0]:
            return lv.label_for_charts
    raise AssertionError("no level")


def _rows(names: list[tuple[str | None, str | None]]) -> list[dict]:
    frame = pd.DataFrame({"id": [str(i) for i in range(len(names))],
                          "first": [g for g, _ in names], "last": [f for _, f in names]})
    std = standardise(frame, {"given_lat": "first", "family_lat": "last"}, list_name="x",
                      id_column="id")
    # The dotless forms are added when linking (build_linker), not by the standardiser.
    std = add_rasm_columns(std)
    cols = ["given", "given_key", "given_rasm", "family", "family_key", "family_rasm",
            "given_variants"]
    return std[cols].astype(object).where(std[cols].notna(), None).to_dict("records")


def test_crossed_levels_fire_for_a_lone_name_and_a_swap():
    given = build_comparison("name:given", TWO_PART)
    family = build_comparison("name:family", TWO_PART)
    lone, full, a, b, other = _rows([("farley", None), ("fleetwood", "farley"),
                                     ("ryan", "jack"), ("jack", "ryan"), ("anne", "stanley")])
    assert _level(given, lone, full) == "given found as the other's family name"
    assert _level(family, lone, full) == "family missing"
    assert _level(given, a, b) == "given found as the other's family name"
    assert _level(family, a, b) == "given and family names swapped"
    assert _level(given, other, full) == "All other comparisons"
    assert _level(family, other, full) == "All other comparisons"


def test_nickname_and_initial_levels():
    given = build_comparison("name:given", TWO_PART)
    bill, william, w, kate, katherine, walter = _rows([
        ("bill", "x"), ("william", "x"), ("w", "x"), ("kate", "x"), ("katherine", "x"),
        ("walter", "x")])
    assert _level(given, bill, william) == "given names a nickname of one another"
    assert _level(given, william, bill) == "given names a nickname of one another"
    assert _level(given, kate, katherine) == "given names a nickname of one another"
    assert _level(given, w, walter) == "given name an initial of the other"
    assert _level(given, walter, w) == "given name an initial of the other"
    assert _level(given, bill, walter) == "All other comparisons"
    assert _level(given, kate, walter) == "All other comparisons"


@pytest.mark.parametrize(("a", "b", "label"), [
    ("1855-03-01", "1855-03-01", "Same DOB (not heaped)"),
    ("1855-01-01", "1855-01-01", "Same DOB (heaped)"),
    ("1855-07-14", "1825-07-14", "DOB one digit apart or day and month swapped"),
    ("1855-07-14", "1855-07-19", "DOB one digit apart or day and month swapped"),
    ("1855-07-04", "1855-04-07", "DOB one digit apart or day and month swapped"),
    ("1855-07-14", "1855-12-30", "Same birth year"),
    ("1855-01-01", "1825-01-01", "Heaped DOBs one digit apart in the year"),
    ("1855-01-01", "1856-01-01", "Heaped DOBs one digit apart in the year"),
    ("1855-01-01", "1855-01-07", "DOB one digit apart or day and month swapped"),
    ("1855-07-14", "1856-08-15", "Age within 1 year"),
])
def test_dob_one_slip_apart(a, b, label):
    from undercount.link.comparisons import AgeComparison

    def rec(dob):
        return {"dob": dob, "dob_text": None, "birth_year": int(dob[:4]), "age": None,
                "dob_heaped": dob.endswith("-01-01"), "age_heaped": False}

    got = _level(AgeComparison(), rec(a), rec(b))
    assert got == label


def test_a_slipped_date_that_is_no_date_compares_only_as_a_slip():
    from undercount.link.comparisons import AgeComparison

    bad = {"dob": None, "dob_text": "1857-14-12", "birth_year": None, "age": None,
           "dob_heaped": False, "age_heaped": False}
    good = {**bad, "dob": "1857-04-12", "dob_text": None, "birth_year": 1857}
    other = {**good, "dob": "1901-06-30", "birth_year": 1901}
    none = {**good, "dob": None, "birth_year": None}
    typo = "DOB one digit apart or day and month swapped"
    assert _level(AgeComparison(), bad, good) == typo
    assert _level(AgeComparison(), good, bad) == typo
    assert _level(AgeComparison(), bad, other) == "All other comparisons"
    assert _level(AgeComparison(), bad, none) == "DOB, birth year and age missing"


def test_sex_disagreement_m_follows_the_records():
    from undercount.link.comparisons import SexComparison

    levels = build_comparison("sex", TWO_PART, sex_differ_m=0.05).get_comparison("duckdb")
    differ = next(lv for lv in levels.comparison_levels if lv.sql_condition == "ELSE")
    assert differ.m_probability == 0.05 and differ._fix_m_probability
    assert isinstance(build_comparison("sex"), SexComparison)


def test_sex_cannot_link_off_where_duplicates_disagree_on_sex():
    n = 200
    rows = pd.DataFrame({
        "name_key": [f"N{i // 2}" for i in range(n)],
        "dob": [f"1900-02-{1 + (i // 2) % 27:02d}" for i in range(n)],
        "dob_heaped": [False] * n,
        "sex": ["m"] * n,
        "given_key": [f"G{i // 2}" for i in range(n)],
        "family_key": [f"F{i // 2}" for i in range(n)],
    })
    assert sex_conflicts(rows) == (100, 0)
    assert sex_reliable(rows)
    assert "sex" in LinkSettings.for_records(rows, n_lists=1).cannot_link
    noisy = rows.copy()
    noisy.loc[noisy.index[1:20:2], "sex"] = "f"  # 10 of 100 duplicate pairs disagree
    assert sex_conflicts(noisy) == (100, 10)
    assert not sex_reliable(noisy)
    s = LinkSettings.for_records(noisy, n_lists=1)
    assert "sex" not in s.cannot_link and "national_id" in s.cannot_link
    # Heaped dates of birth (1 January) are not near-certain evidence of one person.
    heaped = noisy.assign(dob_heaped=True)
    assert sex_conflicts(heaped) == (0, 0) and sex_reliable(heaped)
    # An explicit choice is kept.
    assert "sex" in LinkSettings.for_records(noisy, n_lists=1,
                                             cannot_link=("sex",)).cannot_link
    # The m of the sex comparison's disagreement level: the share that differs, at least 1%.
    assert s.sex_differ_m == 0.1
    assert LinkSettings.for_records(rows, n_lists=1).sex_differ_m == 0.01


def test_two_part_partial_rules_fit_the_pair_budget():
    for rule in (("last_key", "place"), ("last_key", "birth_year"), ("place", "birth_year")):
        assert rule in PARTIAL_BLOCKING_TWO_PART
    n = 400
    std = pd.DataFrame({
        "given_key": [f"G{i % 50}" for i in range(n)],
        "family_key": [f"F{i % 40}" for i in range(n)],
        "last_key": [f"F{i % 40}" for i in range(n)],
        "father_key": [None] * n,
        "dob": [None] * n, "birth_year": [1900 + i % 3 for i in range(n)],
        "place": ["london"] * n, "name_key": [f"G{i % 50} F{i % 40}" for i in range(n)],
    })
    rules = LinkSettings.for_records(std, n_lists=1, pair_budget=2000).blocking_rules
    partial = [r for r in rules if r in PARTIAL_BLOCKING_TWO_PART]
    assert ("last_key", "place") in partial
    assert all(rule_pairs(std, r) <= 2000 for r in partial)
    assert sum(rule_pairs(std, r) for r in partial) <= 2.5 * 2000
    assert rule_pairs(std, ("place", "birth_year")) > 2000
    assert ("place", "birth_year") not in rules


@pytest.mark.parametrize(("a", "b", "label"), [
    ("edinburgh", "city of edinburgh", "One place's name within the other's"),
    ("bristol city of", "bristol", "One place's name within the other's"),
    ("bath", "bath and north east somerset", "One place's name within the other's"),
    ("hove", "brighton and hove", "One place's name within the other's"),
    ("of", "city of york", "All other comparisons"),  # too short to say anything
    ("hove", "north shove", "All other comparisons"),  # whole words only
    ("london", "westminster", "All other comparisons"),
])
def test_place_within_the_other(a, b, label):
    from undercount.link.comparisons import PlaceComparison

    assert _level(PlaceComparison(), {"place": a}, {"place": b}) == label
