"""Postcode and occupation: optional fields a list may map, standardised, blocked on and
compared (Splink's historical_50k gives both)."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("splink")

from undercount.link.comparisons import (
    OccupationComparison,
    PlacePostcodeComparison,
    PostcodeComparison,
    build_comparison,
)
from undercount.link.settings import (
    PARTIAL_BLOCKING_TWO_PART,
    POSTCODE_BLOCKING,
    LinkSettings,
    rule_pairs,
)
from undercount.link.train import strict_rules, used_columns
from undercount.names import standardise


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


@pytest.mark.parametrize(("raw", "code", "district"), [
    ("tq13 8df", "TQ138DF", "TQ13"),
    ("TQ138DF", "TQ138DF", "TQ13"),     # a UK code written in one piece
    (" sw1a  2bj ", "SW1A2BJ", "SW1A"),
    ("K1A 0B1", "K1A0B1", "K1A"),       # Canada
    ("K1A0B1", "K1A0B1", "K1A"),
    ("1234 AB", "1234AB", "1234"),      # the Netherlands
    ("90210-1234", "902101234", "90210"),  # ZIP+4
    ("90210", "90210", "90210"),        # a ZIP is its own district
    ("  ", None, None),
    (None, None, None),
])
def test_postcode_and_its_district(raw, code, district):
    frame = pd.DataFrame({"id": ["1"], "name": ["ann smith"], "pc": [raw]})
    std = standardise(frame, {"name_lat": "name", "postcode": "pc"}, list_name="x",
                      id_column="id")
    assert std["postcode"][0] == code
    assert std["postcode_district"][0] == district


def test_occupation_is_normalised_text_and_absent_fields_are_missing():
    frame = pd.DataFrame({"id": ["1", "2", "3"], "name": ["ann smith"] * 3,
                          "job": ["  Painter ", "PAINTER", None]})
    std = standardise(frame, {"name_lat": "name", "occupation": "job"}, list_name="x",
                      id_column="id")
    assert std["occupation"].tolist() == ["painter", "painter", None]
    assert std["postcode"].isna().all() and std["postcode_district"].isna().all()
    plain = standardise(frame, {"name_lat": "name"}, list_name="x", id_column="id")
    assert plain[["postcode", "postcode_district", "occupation"]].isna().all().all()


def _records(n: int = 400, *, place: bool = True, postcode: bool = True) -> pd.DataFrame:
    return pd.DataFrame({
        "given_key": [f"G{i % 50}" for i in range(n)],
        "family_key": [f"F{i % 40}" for i in range(n)],
        "last_key": [f"F{i % 40}" for i in range(n)],
        "name_key": [f"G{i % 50} F{i % 40}" for i in range(n)],
        "father_key": [None] * n,
        "dob": [None] * n, "birth_year": [1900 + i % 3 for i in range(n)],
        "place": [f"town{i % 7}" if place else None for i in range(n)],
        "postcode": [f"AB{i % 9}{i % 20}XY" if postcode else None for i in range(n)],
        "postcode_district": [f"AB{i % 9}" if postcode else None for i in range(n)],
        "occupation": ["painter" if i % 2 else "poet" for i in range(n)],
    })


def test_place_and_postcode_are_one_comparison_when_both_are_given():
    both = LinkSettings.for_records(_records(), n_lists=1).comparisons
    assert "place_postcode" in both and "place" not in both and "postcode" not in both
    assert "occupation" in both
    only_pc = LinkSettings.for_records(_records(place=False), n_lists=1).comparisons
    assert "postcode" in only_pc and "place_postcode" not in only_pc
    only_place = LinkSettings.for_records(_records(postcode=False), n_lists=1).comparisons
    assert "place" in only_place and "place_postcode" not in only_place
    assert isinstance(build_comparison("place_postcode"), PlacePostcodeComparison)
    assert isinstance(build_comparison("postcode"), PostcodeComparison)
    assert isinstance(build_comparison("occupation"), OccupationComparison)
    s = LinkSettings.for_records(_records(), n_lists=1)
    cols = used_columns(s)
    assert {"place", "postcode", "postcode_district", "occupation"} <= set(cols)
    assert LinkSettings.from_json(s.to_json()).comparisons == s.comparisons


def test_postcode_blocking_takes_the_district_or_else_the_code_within_the_budget():
    std = _records()
    district, code = rule_pairs(std, ("postcode_district",)), rule_pairs(std, ("postcode",))
    assert code < district
    rules = LinkSettings.for_records(std, n_lists=1, pair_budget=district).blocking_rules
    assert ("postcode_district",) in rules and ("postcode",) not in rules
    rules = LinkSettings.for_records(std, n_lists=1, pair_budget=district - 1).blocking_rules
    assert ("postcode",) in rules and ("postcode_district",) not in rules
    rules = LinkSettings.for_records(std, n_lists=1, pair_budget=code - 1).blocking_rules
    assert not any(r in rules for r in POSTCODE_BLOCKING)
    no_pc = LinkSettings.for_records(_records(postcode=False), n_lists=1).blocking_rules
    assert not any(r in no_pc for r in POSTCODE_BLOCKING)
    # Place and occupation pair records whose names both changed, where a list gives both.
    assert ("place", "occupation") in PARTIAL_BLOCKING_TWO_PART
    assert ("place", "occupation") in LinkSettings.for_records(std, n_lists=1).blocking_rules
    no_occ = _records().assign(occupation=None)
    assert ("place", "occupation") not in LinkSettings.for_records(
        no_occ, n_lists=1).blocking_rules
    # Not near-certain: the blocked-pairs prior leaves them out.
    assert strict_rules((("given_key", "family_key"), ("postcode_district",))) == (
        ("given_key", "family_key"),)


def _where(place, postcode, district):
    return {"place": place, "postcode": postcode, "postcode_district": district}


@pytest.mark.parametrize(("a", "b", "label"), [
    (_where("devon", "TQ138DF", "TQ13"), _where("devon", "TQ138DF", "TQ13"),
     "Exact match on postcode"),
    (_where(None, "TQ138DF", "TQ13"), _where("devon", "TQ1W8DF", "TQ1W"),
     "Postcodes one character apart"),
    (_where("devon", "TQ138JR", "TQ13"), _where("devon", "TQ138DF", "TQ13"),
     "Same postcode district and place"),
    (_where("devon", "TQ138JR", "TQ13"), _where("west devon", "TQ138DF", "TQ13"),
     "Same postcode district"),
    (_where("devon", None, None), _where("devon", "TQ138DF", "TQ13"), "Exact match on place"),
    (_where("devon", "CF834JG", "CF83"), _where("devon", "TQ138DF", "TQ13"),
     "Exact match on place"),
    (_where("bristol", None, None), _where("bristol city of", None, None),
     "One place's name within the other's"),
    (_where(None, "CF834JG", "CF83"), _where("devon", "TQ138DF", "TQ13"),
     "All other comparisons"),
    (_where(None, "CF834JG", "CF83"), _where("devon", None, None),
     "Place and postcode missing"),
])
def test_place_postcode_levels(a, b, label):
    assert _level(PlacePostcodeComparison(), a, b) == label


def test_occupation_levels():
    assert _level(OccupationComparison(), {"occupation": "poet"},
                  {"occupation": "poet"}) == "Exact match on occupation"
    assert _level(OccupationComparison(), {"occupation": "poet"},
                  {"occupation": "painter"}) == "All other comparisons"


def test_project_file_maps_postcode_and_occupation(tmp_path):
    from undercount.io.project import load_project

    (tmp_path / "a.csv").write_text(
        "rid,first,last,pc,job\n1,ann,smith,TQ13 8DF,poet\n2,bob,jones,SW1A 2BJ,\n")
    (tmp_path / "p.toml").write_text(
        '[project]\nname = "t"\n\n[[lists]]\nname = "a"\nfile = "a.csv"\nid_column = "rid"\n'
        '[lists.columns]\ngiven_lat = "first"\nfamily_lat = "last"\npostcode = "pc"\n'
        'occupation = "job"\n')
    cfg = load_project(tmp_path / "p.toml")
    assert cfg.lists[0].columns["postcode"] == "pc"
    assert cfg.lists[0].columns["occupation"] == "job"


def test_postcode_and_occupation_have_no_bad_values():
    # Any text is a postcode or an occupation: on_bad_value = "raise" passes, and "coerce"
    # reports nothing for them (a postcode with no letter or digit is blank).
    frame = pd.DataFrame({"id": ["1", "2", "3"], "name": ["ann smith"] * 3,
                          "pc": ["t2227949951", "--", "12"], "job": ["?", "42", "x y"]})
    roles = {"name_lat": "name", "postcode": "pc", "occupation": "job"}
    std = standardise(frame, roles, list_name="x", id_column="id")
    assert std["postcode"].tolist() == ["T2227949951", None, "12"]
    assert std.attrs["coerced"] == {}
    coerced = standardise(frame, roles, list_name="x", id_column="id", errors="coerce")
    assert coerced.attrs["coerced"] == {}
