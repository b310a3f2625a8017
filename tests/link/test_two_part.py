"""Given + family (two-part) lists: the comparisons and blocking rules fitted to them."""

from __future__ import annotations

import pytest

pytest.importorskip("splink")

from undercount.link.comparisons import CrossScriptNameComparison, build_comparison
from undercount.link.relatives import RELATIVE_LEVELS
from undercount.link.relatives_levels import GivenNameComparison

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
