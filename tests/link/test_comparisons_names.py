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
        ("الحارث", "حارث", True),       # the article
        ("براء", "البراء", True),
        ("al-yaman", "yaman", True),
        ("علاءالدين", "علاء", True),    # al-Din shortened
        ("nour", "nouraldin", True),
        ("عبدالناصر", "ناصر", True),    # Abd al- shortened
        ("abdalkarim", "karim", True),
        ("حارث", "حارث", False),        # the same spelling is another level
        ("علاء", "الاء", False),
        ("عبدالله", "له", False),        # too short to be a name
        ("محمد", "محمود", False),
    ],
)
def test_name_but_for_an_article_al_din_or_abd(left, right, agree):
    from undercount.link.relatives_levels import variant_level

    for part in ("given", "father"):
        sql = variant_level(part).get_comparison_level("duckdb").sql_condition
        got = duckdb.connect().execute(
            f"select coalesce({sql}, false) from (select ? as {part}_l, ? as {part}_r)",
            [left, right]).fetchone()[0]
        assert bool(got) is agree
