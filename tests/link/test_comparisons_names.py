"""Name comparison levels on real victim-list spellings."""

import duckdb
import pytest

from undercount.names.keys import family_skeleton


@pytest.mark.parametrize(
    ("left", "right", "agree"),
    [
        ("ابوجوده", "جوده", True),      # Abu Jouda / Jouda
        ("جوده", "ابوجوده", True),
        ("abujouda", "jouda", True),
        ("aboujouda", "جوده", True),    # across scripts
        ("ابوعون", "عون", True),
        ("بكر", "كر", False),           # a B that is no Abu
        ("ابوجوده", "جبر", False),
    ],
)
def test_family_with_and_without_abu(left, right, agree):
    from undercount.link.comparisons import _abu_family_level

    sql = _abu_family_level().get_comparison_level("duckdb").sql_condition
    con = duckdb.connect()
    got = con.execute(
        f"select {sql} from (select ? as family_l, ? as family_r, ? as family_key_l, "
        "? as family_key_r)",
        [left, right, family_skeleton(left), family_skeleton(right)],
    ).fetchone()[0]
    assert bool(got) is agree


@pytest.mark.parametrize(
    ("left", "right", "agree"),
    [
        ("الحارث", "حارث", True),
        ("براء", "البراء", True),
        ("al-yaman", "yaman", True),
        ("حارث", "حارث", False),        # the same spelling is another level
        ("الهام", "هام", True),
        ("علاء", "الاء", False),
    ],
)
def test_given_name_but_for_the_article(left, right, agree):
    from undercount.link.relatives_levels import _article_level

    sql = _article_level().get_comparison_level("duckdb").sql_condition
    got = duckdb.connect().execute(
        f"select coalesce({sql}, false) from (select ? as given_l, ? as given_r)",
        [left, right]).fetchone()[0]
    assert bool(got) is agree
