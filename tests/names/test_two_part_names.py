"""Latin given + family name columns: titles, lone names, nicknames (issue 13)."""

from __future__ import annotations

import pandas as pd
import pytest

from undercount.errors import DataWarning
from undercount.names import standardise
from undercount.names.nicknames import given_variants, nickname_related
from undercount.names.victims import is_latin_title

ROLES = {"given_lat": "first", "family_lat": "last"}


def _std(first: list, last: list) -> pd.DataFrame:
    frame = pd.DataFrame({"id": [str(i) for i in range(len(first))], "first": first,
                          "last": last})
    return standardise(frame, ROLES, list_name="x", id_column="id")


def test_a_title_in_the_given_name_column_is_no_given_name():
    std = _std(["sir", "Miss", "Lady", "sirius", "dr."], ["clarke", "clarke", "jane", "black",
                                                         "watson"])
    assert std["given"].tolist()[:3] == [None, None, None]
    assert std["family"].tolist()[:3] == ["clarke", "clarke", "jane"]
    assert std["given"][3] == "sirius"
    assert std["given"][4] is None
    assert std["name_lat"][0] == "clarke"
    assert is_latin_title("Sir") and is_latin_title("rev.") and not is_latin_title("sirius")


def test_a_lone_name_the_list_uses_as_a_family_name_is_placed_as_family():
    first = ["fleetwood", "fleetwood", "varley", "edith", "edith", "edith", "mancherjee"]
    last = ["varley", "varley", None, "arendrup", None, "brown", None]
    std = _std(first, last)
    # "varley": twice a family name, never a given name -> family.
    assert std["given"][2] is None and std["family"][2] == "varley"
    assert std["last_key"][2] == std["family_key"][0]
    # "edith": a given name in this list -> stays given.
    assert std["given"][4] == "edith" and std["family"][4] is None
    assert std["last_key"][4] == std["given_key"][4]
    # A word the list uses neither way stays where the list put it.
    assert std["given"][6] == "mancherjee"


def test_lone_names_left_alone_without_a_family_name_column():
    frame = pd.DataFrame({"id": ["1", "2"], "first": ["varley", "fleetwood"]})
    std = standardise(frame, {"given_lat": "first"}, list_name="x", id_column="id")
    assert std["given"].tolist() == ["varley", "fleetwood"]


def test_nicknames():
    assert "william" in given_variants("bill").split()
    assert "kate" in given_variants("katherine").split()
    assert given_variants("zzqx") is None
    assert given_variants("محمد") is None
    assert given_variants(None) is None
    assert nickname_related("bill", "william") and nickname_related("william", "bill")
    assert nickname_related("jake", "jacob")
    assert not nickname_related("bill", "walter")
    assert not nickname_related("william", "william")  # the same name is not a nickname
    std = _std(["bill", "walter", "zzqx"], ["x", "y", "z"])
    assert "william" in std["given_variants"][0].split()
    assert std["given_variants"][2] is None


def test_a_date_of_birth_with_a_slipped_digit_is_kept_as_text_only():
    frame = pd.DataFrame({"id": ["1", "2", "3", "4", "5"],
                          "first": ["a", "b", "c", "d", "e"],
                          "dob": ["1857-14-12", "19450493", "1857-04-12", "not a date", None]})
    with pytest.warns(DataWarning, match="3 bad value"):
        std = standardise(frame, {"given_lat": "first", "dob": "dob"}, list_name="x",
                          id_column="id", errors="coerce")
    assert std["dob"].tolist()[:2] == [None, None]
    assert std["birth_year"].isna().tolist()[:2] == [True, True]
    assert std["dob_text"].tolist() == ["1857-14-12", "1945-04-93", None, None, None]
    assert std["dob"][2] == "1857-04-12"
