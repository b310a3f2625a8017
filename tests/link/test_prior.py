"""The prior (probability that two random records match): deterministic rules, and the
blocked-pairs EM fallback when the rules cannot find matches across lists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from undercount.errors import LinkageError
from undercount.link.evaluate import load_truth
from undercount.link.pipeline import link_project
from undercount.uncertainty.linkage_effect import evaluate_linkage

# List b publishes no date of birth, so both default deterministic rules
# (national_id + birth_year, name_key + dob) can fire only within list a.
_NO_DOB_ON_B = """
[[lists]]
name = "a"
file = "febrl_a.csv"
id_column = "rec_id"
on_bad_value = "coerce"
[lists.columns]
given_lat = "given_name"
family_lat = "surname"
dob = "date_of_birth"
national_id = "soc_sec_id"
place = "suburb"
covariates = ["state"]

[[lists]]
name = "b"
file = "febrl_b.csv"
id_column = "rec_id"
on_bad_value = "coerce"
[lists.columns]
given_lat = "given_name"
family_lat = "surname"
national_id = "soc_sec_id"
place = "suburb"
covariates = ["state"]
"""


def _true_pairs(records: pd.DataFrame) -> int:
    _, k = np.unique(load_truth("febrl", records).astype(str), return_counts=True)
    return int((k * (k - 1) // 2).sum())


def test_deterministic_prior_on_the_fixture(make_project):
    result = link_project(make_project(), write=False)
    info = result.report["training"]["prior_estimate"]
    assert info["method"] == "deterministic rules"
    assert info["pairs_found"] >= 10
    assert result.report["training"]["prior"] == pytest.approx(info["prior"])
    n = len(result.records)
    # k / (recall T) with k pairs found: the module's formula, recomputed.
    assert info["prior"] == pytest.approx(info["pairs_found"] / (0.7 * n * (n - 1) / 2),
                                          rel=1e-6)


def test_rules_within_one_list_fall_back_to_blocked_pairs_em(make_project):
    """Regression: rules that can only fire within one list found (almost) no pairs, so
    Splink's prior was (nearly) 0 -- exactly 0 crashed predict with 'math domain error'."""
    result = link_project(make_project(lists_block=_NO_DOB_ON_B), write=False)
    training = result.report["training"]
    info = training["prior_estimate"]
    assert info["method"] == "blocked-pairs EM"
    assert info["deterministic_rules"] == []
    assert {tuple(d["rule"]) for d in info["rules_within_one_list"]} == {
        ("national_id", "birth_year"), ("name_key", "dob")}
    assert all(d["lists"] == ["a"] for d in info["rules_within_one_list"])
    assert any("no deterministic rule can match records across lists" in w
               for w in training["warnings"])
    n = len(result.records)
    total = n * (n - 1) / 2
    assert info["total_pairs"] == total
    assert info["prior"] == pytest.approx(info["share_matches"] * info["blocked_pairs"] / total)
    assert training["prior"] == pytest.approx(info["prior"])
    assert 0 < info["prior"] <= info["blocked_pairs"] / total
    # The EM count of matches among the blocked pairs is close to the true number of
    # match pairs (FEBRL ids), and the linkage stays good.
    truth = _true_pairs(result.records)
    assert info["expected_matches"] == pytest.approx(truth, rel=0.15)
    ev = evaluate_linkage(result.records, load_truth("febrl", result.records),
                          lists=["a", "b"])
    assert ev.pairwise["precision"] >= 0.95
    assert ev.pairwise["recall"] >= 0.9


def test_no_blocked_pairs_is_a_clear_linkage_error(monkeypatch):
    import undercount.link.train as train

    empty = (("given",), np.zeros((0, 1), dtype=np.int64), np.zeros(0, dtype=np.int64))
    monkeypatch.setattr(train, "_blocked_level_counts", lambda linker: empty)
    with pytest.raises(LinkageError, match="blocking rules admit no pair"):
        train.blocked_pairs_prior(object(), 100)


@pytest.mark.slow
def test_harsh_simulated_variant_links(tmp_path):
    """The variant that crashed (N = 1,500, seed 1): the e2e4noisy lists with the hospital
    list missing 50% of IDs and 40% of dates of birth. Dates of birth are on the hospital
    list only, so the deterministic rules found no pair and the prior was 0."""
    from dataclasses import replace

    from undercount.io.project_types import LinkConfig
    from undercount.link.pipeline import link_records, settings_for
    from undercount.simulate import simulate_lists
    from undercount.validate import DESIGNS
    from undercount.validate.record_designs import _standardised_lists

    specs = list(DESIGNS["e2e4noisy"].lists)
    h = specs[0]
    specs[0] = replace(h, noise=replace(
        h.noise, missing={**h.noise.missing, "national_id": 0.5, "dob": 0.4}))
    sim = simulate_lists(n_people=1500, lists=specs, rng=np.random.default_rng(1),
                         mean_group_size=4.0, seed=1)
    std = _standardised_lists(sim)
    settings = settings_for(std, replace(LinkConfig(), threads=1), n_lists=4, seed=1)
    linked, _, _, report = link_records(std, lists=sim.list_names, settings=settings,
                                        threads=1)
    info = report["training"]["prior_estimate"]
    assert info["method"] == "blocked-pairs EM"
    assert info["rules_within_one_list"][0]["lists"] == ["hospital"]
    person = sim.truth.set_index(["list", "record_id"])["person_id"].reindex(
        pd.MultiIndex.from_arrays([std["list"].astype(str), std["record_id"].astype(str)])
    ).to_numpy()
    _, k = np.unique(person, return_counts=True)
    # 791 true match pairs; the EM count was 910 (+15%) when this test was written.
    assert info["expected_matches"] == pytest.approx((k * (k - 1) // 2).sum(), rel=0.25)
    # Siblings (mean group 4) who share three name parts pull precision down (0.78 when
    # written; recall 0.98): the heavy-noise lists are hard, but the linkage runs.
    ev = evaluate_linkage(linked, person, lists=list(sim.list_names))
    assert ev.pairwise["recall"] >= 0.9
    assert ev.pairwise["precision"] >= 0.7


def test_fallback_prior_counts_the_strict_rules_only():
    """The partial-name rules pair relatives and namesakes far more than matches; the
    blocked-pairs EM took their correlated agreement for matches (4,596 expected against
    791 true in the harsh variant below), so the fallback prior leaves them out."""
    from undercount.link.settings import (
        DEFAULT_BLOCKING_FOUR_PART,
        DEFAULT_BLOCKING_TWO_PART,
        PARTIAL_BLOCKING_FOUR_PART,
        PARTIAL_BLOCKING_TWO_PART,
    )
    from undercount.link.train import strict_rules

    assert strict_rules((*DEFAULT_BLOCKING_FOUR_PART, *PARTIAL_BLOCKING_FOUR_PART)) == \
        DEFAULT_BLOCKING_FOUR_PART
    assert strict_rules((*DEFAULT_BLOCKING_TWO_PART, *PARTIAL_BLOCKING_TWO_PART)) == \
        DEFAULT_BLOCKING_TWO_PART
    # Only partial rules (a user's choice): all of them, rather than none.
    assert strict_rules(PARTIAL_BLOCKING_FOUR_PART) == PARTIAL_BLOCKING_FOUR_PART


def test_a_failed_em_session_leaves_the_model_whole(make_project, monkeypatch):
    """Splink's EM session removes the comparisons its blocking rule uses from the linker's
    own model and puts the model back only when it succeeds. A session that fails (as EM
    does when an m underflows) must not leave the model without them: the retry, and every
    later step, sees every comparison."""
    import splink.internals.em_training_session as session

    real = session.expectation_maximisation
    calls = {"n": 0}

    def fail_first(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("m_probability value 1e-311 is below the minimum allowed value")
        return real(*args, **kwargs)

    monkeypatch.setattr(session, "expectation_maximisation", fail_first)
    result = link_project(make_project(), write=False)
    first = result.report["training"]["em_sessions"][0]
    assert first["detail"] == "ok (retried)" and "below the minimum" in first["first_failure"]
    trained = [c["output_column_name"] for c in result.settings.model["comparisons"]]
    untouched = link_project(make_project(), write=False)
    assert trained == [c["output_column_name"]
                       for c in untouched.settings.model["comparisons"]]
