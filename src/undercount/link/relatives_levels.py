"""The relative-aware given-name comparison (Splink levels); see
:mod:`undercount.link.relatives` for the model. Kept apart because Splink is heavy to import."""

from __future__ import annotations

from splink.internals import comparison_level_library as cll
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

from undercount.link.relatives import DIFFERENT_GIVEN_M, NAME_VARIANTS, RELATIVE_LEVELS


def rasm_level(part: str) -> ComparisonLevelCreator:
    """The parts are spelled with the same letters but for their dots
    (:func:`undercount.link.relatives.rasm`): a misread of the same name."""
    return cll.CustomLevel(f"{part}_rasm_l = {part}_rasm_r",
                           label_for_charts=f"Same letters but for dots {part}")

__all__ = ["GivenNameComparison", "rasm_level", "variant_level"]


def variant_level(part: str) -> ComparisonLevelCreator:
    """One part is the other with an article, an al-Din or an Abd al- (:data:`NAME_VARIANTS`;
    the short form at least three letters): Arabic names of these forms are written both
    ways, and their skeletons differ by more than the added letters (the ``ي`` of ``يمان``
    counts only at the start of a part, :mod:`undercount.names.keys`). Same script only."""
    sides = " OR ".join(
        f"(length({part}_{b}) >= 3 AND {part}_{a} = concat('{pre}', {part}_{b}, '{suf}'))"
        for pre, suf in NAME_VARIANTS for a, b in (("l", "r"), ("r", "l"))
    )
    # Cheap first: the added letters are 2 (ال), 3 (al-) or 5 (الدين, عبدال, aldin, ...).
    added = sorted({len(pre) + len(suf) for pre, suf in NAME_VARIANTS})
    guard = f"abs(length({part}_l) - length({part}_r)) IN ({', '.join(map(str, added))})"
    return cll.CustomLevel(
        f"{guard} AND ({sides})",
        label_for_charts=f"Same {part} but for an article, al-Din or Abd al-")


def _rest_sql() -> str:
    # One precomputed column, not the three keys: Splink does not estimate a comparison in
    # an EM session blocked on columns it reads, and this comparison must be estimated in
    # the session blocked on the three keys (undercount.link.relatives.EM_RULE).
    return "rest_key_l = rest_key_r"


class GivenNameComparison(ComparisonCreator):
    """Given name, with the two relative levels first (see the module docstring).

    Levels: null; similar given name (same key, or the same letters but for their dots),
    rest agrees; different given name, rest agrees; same skeleton key (term-frequency
    adjusted); the same letters but for their dots; the same name but for an article, al-Din or
    Abd al- (:func:`variant_level`);
    Jaro--Winkler of the names >= ``jw_high``; of
    the keys >= ``jw_key``; else.
    """

    def __init__(self, *, jw_high: float = 0.92, jw_key: float = 0.88):
        self.jw_high = jw_high
        self.jw_key = jw_key
        super().__init__({"part": "given", "key": "given_key"})

    def create_comparison_levels(self) -> list[ComparisonLevelCreator]:
        null = cll.CustomLevel(
            "(given_l IS NULL OR given_r IS NULL) AND "
            "(given_key_l IS NULL OR given_key_r IS NULL)",
            label_for_charts="given missing",
        )
        null.configure(is_null_level=True)
        rest = _rest_sql()
        same_rasm = "given_rasm_l = given_rasm_r"
        similar = cll.CustomLevel(
            f"{rest} AND (given_key_l = given_key_r OR {same_rasm}) AND given_l <> given_r "
            "AND given_script_l = given_script_r",
            label_for_charts=RELATIVE_LEVELS[0],
        )
        different = cll.CustomLevel(
            f"{rest} AND given_key_l <> given_key_r", label_for_charts=RELATIVE_LEVELS[1]
        )
        # Fixed, not learned: in the session blocked on father, grandfather and family the
        # pairs are mostly siblings, and EM took them for the matches (m 0.68 on the
        # Airwars/MoH set), which also left the same-given-name level with m 0.29.
        different.configure(m_probability=DIFFERENT_GIVEN_M, fix_m_probability=True)
        key_exact = cll.ExactMatchLevel("given_key", term_frequency_adjustments=True)
        key_exact.configure(label_for_charts="Same skeleton key given_key")
        return [
            null,
            similar,
            different,
            key_exact,
            rasm_level("given"),
            variant_level("given"),
            cll.JaroWinklerLevel("given", self.jw_high),
            cll.JaroWinklerLevel("given_key", self.jw_key),
            cll.ElseLevel(),
        ]

    def create_description(self) -> str:
        return "Given name, relative-aware (different given name while the rest agrees)"

    def create_output_column_name(self) -> str:
        return "given"
