"""Comparisons for victim lists, written as Splink ``ComparisonCreator`` classes.

Each class only lists its comparison levels (most to least specific); Splink turns them into
SQL for the chosen backend. All work on the standardised columns of
:func:`undercount.names.standardise`.

In the Fellegi–Sunter model each comparison :math:`k` puts a record pair into one level
:math:`\\gamma_k`; its evidence is the log-likelihood ratio

.. math:: w_k = \\log_2 \\frac{m_{k,\\gamma_k}}{u_{k,\\gamma_k}}, \\qquad
    m_{k,l} = P(\\gamma_k = l \\mid \\text{match}),\\;
    u_{k,l} = P(\\gamma_k = l \\mid \\text{non-match}),

and the match probability of a pair is
:math:`\\operatorname{logit}_2^{-1}(\\log_2 \\tfrac{\\lambda}{1-\\lambda} + \\sum_k w_k)`.
Null levels carry no evidence (weight 0). Term-frequency adjustments replace the u of an
exact-match level by the frequency of the agreed value, so agreeing on a rare name counts for
more than agreeing on a common one.

References
----------
Fellegi, I. P. & Sunter, A. B. (1969). A theory for record linkage. *JASA* 64(328),
1183–1210. https://doi.org/10.1080/01621459.1969.10501049

Linacre, R. et al. (2022). Splink: free software for probabilistic record linkage at scale.
*International Journal of Population Data Science* 7(3). https://doi.org/10.23889/ijpds.v7i3.1794
"""

from __future__ import annotations

from collections.abc import Sequence

from splink.internals import comparison_level_library as cll
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

from undercount.link.relatives_levels import rasm_level, variant_level

__all__ = [
    "AgeComparison",
    "CrossScriptNameComparison",
    "DateOfDeathComparison",
    "NameTokenSetComparison",
    "NationalIdComparison",
    "OccupationComparison",
    "PlaceComparison",
    "PlacePostcodeComparison",
    "PostcodeComparison",
    "SexComparison",
    "build_comparison",
]


def _both_null(*columns: str) -> str:
    return " AND ".join(f"({c}_l IS NULL OR {c}_r IS NULL)" for c in columns)


class CrossScriptNameComparison(ComparisonCreator):
    """One name part (``given``, ``father``, ``grandfather``, ``family``) or the whole name.

    Levels:

    1. null: the part or its skeleton key is missing on either side;
    2. same cross-script consonant skeleton ``<part>_key`` (term-frequency adjusted on the
       key) — this includes exact agreement of the part, except for the family name of a
       given + family list (``crossed``), where the same spelling (term-frequency adjusted)
       is a level of its own before it;
       (family) the same key but for one side's "Abu" (``ابوجوده`` / ``جوده``);
       the same letters but for their dots (``جبر`` / ``جير``: a misread of the same
       name, :func:`undercount.link.relatives.rasm`; never fires on Latin text);
       (father, grandfather, where names have three parts or more) one is the other with
       an article, an al-Din or an Abd al- (``نورالدين`` / ``نور``,
       :func:`undercount.link.relatives_levels.variant_level`);
    3. Jaro–Winkler similarity of the parts ≥ ``jw_high`` (typos);
    4. Jaro–Winkler similarity of the keys ≥ ``jw_key`` (typos across scripts);
    5. (``crossed``, for given + family lists; given name) one given name is a nickname or
       the canonical form of the other (``given_variants``, :mod:`undercount.names.nicknames`:
       Bill / William); then one is the other's initial;
       (given name) the given key is the other record's family
       key: a list that writes a person by one name writes it in the given-name column
       whether it is the given or the family name (Splink's historical_50k: "varley" for
       "fleetwood varley"), and some records swap the two (FEBRL 4); for the family name,
       both parts swapped (the given name's level has counted one of the two agreements);
    6. (father, grandfather, family) the key is one of the other name's parts in another
       position (``name_token_set``), where one of the names has three parts or more (a
       two-part given + family list has no positions to shift between, and there the
       level found swapped given and family names, at a cost in precision on FEBRL): a
       two- or three-part name leaves out a part, and
       what it calls the family or father name sits elsewhere in the four-part form
       (Airwars' "Walaa Muhammad Al-Khawaja Adwan" against the MoH's "ولاء محمد محمد
       الخواجه"); the given name is not shifted this way;
    7. everything else.

    Exact spelling is deliberately *not* a level of its own. With one, every Arabic–Latin
    pair falls to the skeleton level on all four parts at once; the levels' m then depend
    on the mix of scripts among matches, which violates the conditional independence the
    model assumes. On 1M simulated records that gave the skeleton level a *negative*
    weight and a pairwise recall of 0.33. Agreement on the skeleton carries the same
    evidence in either script; the term-frequency adjustment keeps rare names strong.
    """

    def __init__(self, part: str, *, jw_high: float = 0.92, jw_key: float = 0.88,
                 elsewhere: bool = True, crossed: bool = False):
        self.part = part
        self.jw_high = jw_high
        self.jw_key = jw_key
        self.elsewhere = elsewhere and part != "given"
        self.crossed = crossed and part in ("given", "family")
        super().__init__({"part": part, "key": f"{part}_key"})

    def create_comparison_levels(self) -> list[ComparisonLevelCreator]:
        part = self.col_expressions["part"]
        key = self.col_expressions["key"]
        key_exact = cll.ExactMatchLevel(key, term_frequency_adjustments=True)
        key_exact.configure(label_for_charts=f"Same skeleton key {self.part}_key")
        null = cll.CustomLevel(
            f"({self.part}_l IS NULL OR {self.part}_r IS NULL) AND "
            f"({self.part}_key_l IS NULL OR {self.part}_key_r IS NULL)",
            label_for_charts=f"{self.part} missing",
        )
        null.configure(is_null_level=True)
        levels = [null, key_exact]
        if self.crossed and self.part == "family":
            # Latin family names of a given + family list: the skeleton, built to join
            # transliterations of one Arabic name, also joins different European names
            # (burn, brown, bourne, braine: BRN). On historical_50k 25% of the pairs with the
            # same family name are one person, 2.5% of those with only the same skeleton.
            exact = cll.ExactMatchLevel(part, term_frequency_adjustments=True)
            exact.configure(label_for_charts="Same family name")
            levels = [null, exact, key_exact]
        if self.part == "family":
            levels.append(_abu_family_level())
        levels.append(rasm_level(self.part))
        if self.elsewhere and self.part != "family":
            # Four-part names: the father's and grandfather's names are written with or
            # without an article, al-Din or Abd al- (the family key drops the article).
            levels.append(variant_level(self.part))
        levels += [
            cll.JaroWinklerLevel(part, self.jw_high),
            cll.JaroWinklerLevel(key, self.jw_key),
        ]
        if self.crossed and self.part == "given":
            levels.append(cll.CustomLevel(
                "list_contains(string_split(given_variants_l, ' '), given_r) OR "
                "list_contains(string_split(given_variants_r, ' '), given_l)",
                label_for_charts="given names a nickname of one another",
                base_dialect_str="duckdb",
            ))
            levels.append(cll.CustomLevel(
                "(length(given_l) = 1 OR length(given_r) = 1) AND "
                "substr(given_l, 1, 1) = substr(given_r, 1, 1)",
                label_for_charts="given name an initial of the other",
            ))
            levels.append(cll.CustomLevel(
                "given_key_l = family_key_r OR given_key_r = family_key_l",
                label_for_charts="given found as the other's family name",
            ))
        elif self.crossed:
            levels.append(cll.CustomLevel(
                "given_key_l = family_key_r AND given_key_r = family_key_l",
                label_for_charts="given and family names swapped",
            ))
        if self.elsewhere:
            k = f"{self.part}_key"
            levels.append(cll.CustomLevel(
                f"(list_contains(name_token_set_r, {k}_l) OR "
                f"list_contains(name_token_set_l, {k}_r)) AND "
                "greatest(array_length(name_token_set_l), array_length(name_token_set_r)) >= 3",
                label_for_charts=f"{self.part} found elsewhere in the other name",
                base_dialect_str="duckdb",
            ))
        levels.append(cll.ElseLevel())
        return levels

    def create_description(self) -> str:
        return f"Cross-script name comparison of {self.part}"

    def create_output_column_name(self) -> str:
        return self.part


#: How a family name written with "Abu" starts, in its standardised form (the compound is
#: one part, joined: ``ابوجوده``, ``abujouda``).
_ABU_PREFIXES = ("ابو", "abu", "abou", "abo")


def _abu_family_level() -> ComparisonLevelCreator:
    """The family names agree once one side's "Abu" is dropped: ``ابوجوده`` / ``جوده``,
    Abu Aoun / Aoun. Lists write a family's "Abu" or leave it out (the keys of the
    compound keep its B: BJD against JD), and the two forms of one name are the commonest
    family-name disagreement between Airwars and the MoH list."""
    sides = []
    for a, b in (("l", "r"), ("r", "l")):
        starts = " OR ".join(f"family_{a} LIKE '{p}%'" for p in _ABU_PREFIXES)
        sides.append(f"(family_key_{a} = concat('B', family_key_{b}) AND ({starts}))")
    return cll.CustomLevel(" OR ".join(sides),
                           label_for_charts="Same family key but for an Abu")


class NameTokenSetComparison(ComparisonCreator):
    """Order-insensitive agreement of the sets of name-part skeletons (``name_tokens``).

    A two- or three-part name is a subset of the four-part form of the same person, but its
    parts sit in other positions (Airwars' "Mamdouh Musa Zoroub" is the MoH's given,
    grandfather and family), so the positional comparisons see a disagreement where the sets
    agree. Levels (shared skeletons, compared as sets, so order and position do not matter):

    1. null: no name on either side;
    2. every part of the shorter name is in the longer one, and it has at least 3 parts;
    3. the same with at least 2 parts;
    4. at least 2 shared parts;
    5. 1 shared part;
    6. none.
    """

    def __init__(self) -> None:
        super().__init__("name_token_set")

    def create_comparison_levels(self) -> list[ComparisonLevelCreator]:
        col = self.col_expression
        null = cll.NullLevel(col)
        return [
            null,
            cll.CustomLevel(
                "array_length(array_intersect(name_token_set_l, name_token_set_r)) >= 3 AND "
                "array_length(array_intersect(name_token_set_l, name_token_set_r)) = "
                "least(array_length(name_token_set_l), array_length(name_token_set_r))",
                label_for_charts="All of the shorter name's parts (3 or more)",
                base_dialect_str="duckdb",
            ),
            cll.CustomLevel(
                "array_length(array_intersect(name_token_set_l, name_token_set_r)) = 2 AND "
                "least(array_length(name_token_set_l), array_length(name_token_set_r)) = 2",
                label_for_charts="All of the shorter name's 2 parts",
                base_dialect_str="duckdb",
            ),
            cll.ArrayIntersectLevel(col, min_intersection=2),
            cll.ArrayIntersectLevel(col, min_intersection=1),
            cll.ElseLevel(),
        ]

    def create_description(self) -> str:
        return "Name parts as a set (skeleton keys)"

    def create_output_column_name(self) -> str:
        return "name_tokens"


class AgeComparison(ComparisonCreator):
    """Date of birth and age, with levels that know about heaping.

    Levels:

    1. null: neither DOB, birth year nor age on both sides;
    2. same DOB, neither heaped (a 1 January DOB is weak evidence: ~27× its chance rate);
    3. same DOB, at least one heaped;
    3a. both heaped (1 January), one digit apart in the year;
    3b. DOBs one typing slip apart otherwise: one digit different, or day and month swapped
       (on Splink's historical_50k, 91% of the true pairs with two different DOBs and 3.3%
       of the other compared pairs);
    4. same birth year;
    5. same reported age;
    6. ages (or birth years) within 1 year;
    7. within 5 years when either side's age or DOB is heaped (rounded ages);
    8. everything else.
    """

    def __init__(self) -> None:
        super().__init__("dob")

    def create_comparison_levels(self) -> list[ComparisonLevelCreator]:
        heaped = (
            "(coalesce(age_heaped_l, false) OR coalesce(age_heaped_r, false) OR "
            "coalesce(dob_heaped_l, false) OR coalesce(dob_heaped_r, false))"
        )
        null = cll.CustomLevel(
            "(coalesce(dob_l, dob_text_l) IS NULL OR coalesce(dob_r, dob_text_r) IS NULL)"
            " AND " + _both_null("birth_year") + " AND " + _both_null("age"),
            label_for_charts="DOB, birth year and age missing",
        )
        null.configure(is_null_level=True)
        return [
            null,
            cll.CustomLevel(
                "dob_l = dob_r AND NOT coalesce(dob_heaped_l, false) "
                "AND NOT coalesce(dob_heaped_r, false)",
                label_for_charts="Same DOB (not heaped)",
            ),
            cll.CustomLevel("dob_l = dob_r", label_for_charts="Same DOB (heaped)"),
            *_dob_typo_levels(),
            cll.CustomLevel("birth_year_l = birth_year_r", label_for_charts="Same birth year"),
            cll.CustomLevel("age_l = age_r", label_for_charts="Same age"),
            cll.CustomLevel(
                "abs(age_l - age_r) <= 1 OR abs(birth_year_l - birth_year_r) <= 1",
                label_for_charts="Age within 1 year",
            ),
            cll.CustomLevel(
                f"{heaped} AND (abs(age_l - age_r) <= 5 OR abs(birth_year_l - birth_year_r) <= 5)",
                label_for_charts="Heaped age within 5 years",
            ),
            _fixed_else(0.05),
        ]

    def create_description(self) -> str:
        return "Heaping-aware DOB / age comparison"

    def create_output_column_name(self) -> str:
        return "dob_age"


def _dob_typo_levels() -> list[ComparisonLevelCreator]:
    """DOBs (ISO ``YYYY-MM-DD``) one slip apart: Levenshtein distance 1 (one digit wrong,
    the strings have equal length), or day and month swapped. A date of birth that is no
    date but is written year, month, day (``dob_text``: ``1857-14-12``) takes part here,
    and only here."""
    left, right = "coalesce(dob_l, dob_text_l)", "coalesce(dob_r, dob_text_r)"
    swapped = (
        f"(substr({left}, 1, 4) = substr({right}, 1, 4) AND substr({left}, 6, 2) = "
        f"substr({right}, 9, 2) AND substr({left}, 9, 2) = substr({right}, 6, 2))"
    )
    slip = f"(levenshtein({left}, {right}) <= 1 OR {swapped})"
    # Two dates heaped on 1 January (a year only) one digit apart in the year are most often
    # two people born a year or a decade apart (a third of such blocked pairs on
    # historical_50k are one person, against 96% where either date has a day): a level of
    # their own.
    both_heaped_year = (
        f"coalesce(dob_heaped_l, false) AND coalesce(dob_heaped_r, false) AND "
        f"substr({left}, 1, 4) <> substr({right}, 1, 4)"
    )
    # The heaped level first, its cheap conditions before the edit distance: the distance is
    # then computed once for most pairs (the levels are disjoint, so the order is only cost).
    heaped = cll.CustomLevel(f"{both_heaped_year} AND {slip}", base_dialect_str="duckdb")
    heaped.configure(label_for_charts="Heaped DOBs one digit apart in the year")
    level = cll.CustomLevel(slip, base_dialect_str="duckdb")
    level.configure(label_for_charts="DOB one digit apart or day and month swapped")
    return [heaped, level]


class DateOfDeathComparison(ComparisonCreator):
    """Date of death: exact, within ``days`` days, else."""

    def __init__(self, days: int = 3) -> None:
        self.days = days
        super().__init__("dod")

    def create_comparison_levels(self) -> list[ComparisonLevelCreator]:
        col = self.col_expression
        return [
            cll.NullLevel(col),
            cll.ExactMatchLevel(col),
            cll.AbsoluteDateDifferenceLevel(
                col, input_is_string=True, threshold=self.days, metric="day"
            ),
            cll.ElseLevel(),
        ]

    def create_description(self) -> str:
        return f"Date of death (exact / within {self.days} days)"

    def create_output_column_name(self) -> str:
        return "dod"


def _fixed_else(m: float) -> ComparisonLevelCreator:
    """An else level whose m is fixed, not estimated.

    EM can drive the m of a disagreement level to exactly zero when training pairs never
    disagree on the field (Splink then refuses the value and the session fails, as seen at
    1M records); a fixed small m keeps a disagreement strong but finite evidence.
    """
    level = cll.ElseLevel()
    level.configure(m_probability=m, fix_m_probability=True)
    return level


class PlaceComparison(ComparisonCreator):
    """Place: exact (term-frequency adjusted), Jaro–Winkler ≥ 0.9, one place's name a
    whole-word part of the other's ("edinburgh" / "city of edinburgh", "bath" / "bath and
    north east somerset": a town and its district), else (m fixed at 0.05)."""

    def __init__(self) -> None:
        super().__init__("place")

    def create_comparison_levels(self) -> list[ComparisonLevelCreator]:
        col = self.col_expression
        return [
            cll.NullLevel(col),
            cll.ExactMatchLevel(col, term_frequency_adjustments=True),
            cll.JaroWinklerLevel(col, 0.9),
            cll.CustomLevel(
                "(length(place_l) >= 4 AND strpos(' ' || place_r || ' ', ' ' || place_l || ' ')"
                " > 0) OR (length(place_r) >= 4 AND "
                "strpos(' ' || place_l || ' ', ' ' || place_r || ' ') > 0)",
                label_for_charts="One place's name within the other's",
                base_dialect_str="duckdb",
            ),
            _fixed_else(0.05),
        ]

    def create_output_column_name(self) -> str:
        return "place"


class PostcodeComparison(ComparisonCreator):
    """Postal code (``postcode``, letters and digits): exact (term-frequency adjusted), one
    character apart (a substitution, insertion, deletion or transposition: ``TQ138DF`` /
    ``TQ1W8DF``), the same district (``postcode_district``: ``TQ13``; a move within a town,
    or a code mistyped in its second half), else.

    A person's records carry one address or several; on Splink's historical_50k 63% of the
    true pairs with a postcode on both sides agree exactly and 78% on the district, against
    0.02% and 0.11% of random pairs.
    """

    def __init__(self) -> None:
        super().__init__("postcode")

    def create_comparison_levels(self) -> list[ComparisonLevelCreator]:
        col = self.col_expression
        one = cll.DamerauLevenshteinLevel(col, 1)
        one.configure(label_for_charts="Postcodes one character apart")
        return [
            cll.NullLevel(col),
            cll.ExactMatchLevel(col, term_frequency_adjustments=True),
            one,
            cll.CustomLevel("postcode_district_l = postcode_district_r",
                            label_for_charts="Same postcode district"),
            cll.ElseLevel(),
        ]

    def create_output_column_name(self) -> str:
        return "postcode"


class PlacePostcodeComparison(ComparisonCreator):
    """Place and postal code as one comparison, for lists that give both.

    The two are far from independent among non-matches: a postcode lies in a place, so two
    records of different people with the same place share the postcode district far more
    often than two random records (on Splink's historical_50k 7.6% against 0.08%), and the
    model, which multiplies the evidence of its comparisons, would count the place twice
    (6.5 bits too many for a shared district: 1,380 wrong edges at the default threshold
    whose single-linkage merges cut pairwise precision to 0.89). As one comparison the
    levels are exclusive and each level's m and u are those of the pattern:

    1. null: neither the postcodes nor the places can be compared;
    2. same postcode (term-frequency adjusted);
    3. postcodes one character apart (``TQ138DF`` / ``TQ1W8DF``);
    4. same postcode district and same place;
    5. same postcode district;
    6. same place (term-frequency adjusted; the postcodes, where both are given, are in
       different districts), then the place levels of :class:`PlaceComparison`;
    7. else (m fixed at 0.05, as for the place).
    """

    def __init__(self) -> None:
        super().__init__("place")

    def create_comparison_levels(self) -> list[ComparisonLevelCreator]:
        null = cll.CustomLevel(
            "(postcode_l IS NULL OR postcode_r IS NULL) AND (place_l IS NULL OR place_r IS NULL)",
            label_for_charts="Place and postcode missing",
        )
        null.configure(is_null_level=True)
        postcode = PostcodeComparison().create_comparison_levels()
        place = PlaceComparison().create_comparison_levels()
        return [
            null,
            postcode[1],  # same postcode
            postcode[2],  # one character apart
            cll.CustomLevel("postcode_district_l = postcode_district_r AND place_l = place_r",
                            label_for_charts="Same postcode district and place"),
            postcode[3],  # same district
            *place[1:],   # same place, similar place, within, else
        ]

    def create_description(self) -> str:
        return "Postcode and place"

    def create_output_column_name(self) -> str:
        return "place_postcode"


class OccupationComparison(ComparisonCreator):
    """Occupation (normalised text): exact (term-frequency adjusted, so "cricketer" counts
    for less than "liturgist"), else. On Splink's historical_50k 87% of the true pairs with
    an occupation on both sides agree, against 3.9% of random pairs."""

    def __init__(self) -> None:
        super().__init__("occupation")

    def create_comparison_levels(self) -> list[ComparisonLevelCreator]:
        col = self.col_expression
        return [
            cll.NullLevel(col),
            cll.ExactMatchLevel(col, term_frequency_adjustments=True),
            cll.ElseLevel(),
        ]

    def create_output_column_name(self) -> str:
        return "occupation"


class SexComparison(ComparisonCreator):
    """Sex: same; different (m fixed at ``differ_m``, by default 0.01, or the share of
    near-certain duplicate pairs that differ, :func:`undercount.link.settings.sex_conflicts`;
    also a cannot-link in clustering where sex is reliable); missing."""

    def __init__(self, differ_m: float = 0.01) -> None:
        self.differ_m = differ_m
        super().__init__("sex")

    def create_comparison_levels(self) -> list[ComparisonLevelCreator]:
        col = self.col_expression
        return [cll.NullLevel(col), cll.ExactMatchLevel(col), _fixed_else(self.differ_m)]

    def create_output_column_name(self) -> str:
        return "sex"


class NationalIdComparison(ComparisonCreator):
    """National ID: exact; one substitution/insertion/deletion; one transposition; else."""

    def __init__(self) -> None:
        super().__init__("national_id")

    def create_comparison_levels(self) -> list[ComparisonLevelCreator]:
        col = self.col_expression
        transposition = cll.DamerauLevenshteinLevel(col, 1)
        transposition.configure(label_for_charts="One transposition")
        return [
            cll.NullLevel(col),
            cll.ExactMatchLevel(col),
            cll.LevenshteinLevel(col, 1),
            transposition,
            cll.ElseLevel(),
        ]

    def create_output_column_name(self) -> str:
        return "national_id"


#: Name comparisons the relative levels of the given name need: they fire only when father,
#: grandfather and family keys all agree.
_RELATIVE_PARTS = ("name:father", "name:grandfather", "name:family")


def build_comparison(
    name: str, comparisons: Sequence[str] | None = None, *, sex_differ_m: float = 0.01
) -> ComparisonCreator:
    """Comparison for a name in :data:`undercount.link.settings.COMPARISONS`.

    ``name:<part>`` is a :class:`CrossScriptNameComparison` on that part. ``comparisons``
    (all the model's comparison names) decides the given name's form (``sex_differ_m``: the
    m of different sexes, :class:`SexComparison`): the relative-aware
    :class:`~undercount.link.relatives_levels.GivenNameComparison` where the model compares
    father, grandfather and family names, else a plain
    :class:`CrossScriptNameComparison` with, for a given + family list, the level for a
    given name found as the other record's last name. On a given + family list the relative
    levels can never fire, so EM never trains them; they kept Splink's starting m (0.95 for
    the first level) and, renormalised with the trained levels, halved the m of every real
    given-name level: on FEBRL 4 the given-name agreement lost a bit of weight and recall
    fell from 0.989 to 0.984.
    """
    if name == "name:given" and (
        comparisons is None or all(p in comparisons for p in _RELATIVE_PARTS)
    ):  # issue 19: relative-aware levels (undercount.link.relatives)
        from undercount.link.relatives_levels import GivenNameComparison

        return GivenNameComparison()
    if name == "name_tokens":
        return NameTokenSetComparison()
    if name.startswith("name:"):
        # A given + family list: no positions to shift between ("found elsewhere" needs a
        # three-part name, never fires, and an untrained level dilutes the others), but
        # given and family names cross (a one-name record, a swap).
        two_part = comparisons is not None and not any(
            p in comparisons for p in ("name:father", "name:grandfather"))
        return CrossScriptNameComparison(name.split(":", 1)[1], elsewhere=not two_part,
                                         crossed=two_part)
    if name == "sex":
        return SexComparison(sex_differ_m)
    table = {
        "dob_age": AgeComparison,
        "dod": DateOfDeathComparison,
        "place": PlaceComparison,
        "sex": SexComparison,
        "national_id": NationalIdComparison,
        "postcode": PostcodeComparison,
        "place_postcode": PlacePostcodeComparison,
        "occupation": OccupationComparison,
    }
    return table[name]()
