"""Every shipped dataset loads with its citation and the published cell totals."""

import pytest

from undercount import InputError, datasets

EXPECTED = {
    "kosovo": (4, 15, 4400),
    "korea": (3, 6, 123),
    "artificial_3": (3, 4, 96),
    "hare": (6, 33, 68),
    "spina_bifida_my": (3, 7, 626),
    "uk_2013": (6, 25, 2744),
    "uk_2013_5": (5, 18, 2744),
    "hiv_rome": (4, 13, 1896),
    "my5": (5, 28, 537),
    "duck": (6, 58, 896),
    "bunting": (8, 57, 1681),
    "gaza_lancet_2025": (3, 7, 29271),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load(name):
    t = datasets.load(name)
    lists, cells, n = EXPECTED[name]
    assert (t.n_lists, len(t.counts), t.n_observed) == (lists, cells, n)
    assert t.citation and t.citation == datasets.info(name).citation


def test_kosovo_list_sizes_and_gaza_overlaps():
    assert datasets.load("kosovo").list_sizes == {"EXH": 1910, "ABA": 1528, "OSCE": 1786,
                                                  "HRW": 685}
    g = datasets.load("gaza_lancet_2025").cells()
    assert g == {"100": 19048, "010": 5104, "001": 1469, "110": 1929, "101": 1173,
                 "011": 351, "111": 197}


def test_gaza_strata_table_matches_the_aggregate_and_the_paper():
    t = datasets.load("gaza-lancet-2025")
    assert t.lists == ("hospital", "survey", "social_media")
    assert list(t.covariates.columns) == ["age_group", "sex", "month_of_death"]
    assert t.aggregate().cells() == datasets.load("gaza_lancet_2025").cells()
    complete = t.covariates[["age_group", "sex"]].notna().all(axis=1).to_numpy()
    assert int(t.counts[complete].sum()) == 28257  # the paper's complete age x sex records


def test_supplement_and_unknown_names():
    with pytest.raises(InputError, match="cannot be estimated alone"):
        datasets.load("gaza_lancet_2025_missing_persons_strata")
    assert datasets.frame("gaza_lancet_2025_missing_persons_strata")["count"].sum() == 633
    with pytest.raises(InputError, match="unknown dataset 'nope'"):
        datasets.load("nope")
