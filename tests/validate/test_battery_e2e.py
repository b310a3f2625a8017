"""End-to-end battery designs: simulated lists -> Splink linkage -> estimators."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from undercount.errors import ConfigError
from undercount.models.loglinear import LogLinearEstimator
from undercount.uncertainty.linkage import table_from_clusters
from undercount.validate import (
    DEFAULT_LINKAGE_FAMILIES,
    DESIGNS,
    EndToEndDesign,
    RecordDesign,
    run_battery,
)
from undercount.validate.runner import _key, _rng

COLS = ["design", "replicate", "family", "truth", "n_observed", "estimate", "lower", "upper",
        "status", "message"]


def test_e2e_designs_are_registered_opt_in():
    for name, J in (("e2e3", 3), ("e2e4noisy", 4)):
        d = DESIGNS[name]
        assert isinstance(d, EndToEndDesign) and isinstance(d, RecordDesign)
        assert d.n_lists == len(d.lists) == J
        assert d.truth == d.n == 1500
    with pytest.raises(ConfigError, match="n_lists"):
        EndToEndDesign("bad", "", 2, lists=DESIGNS["e2e3"].lists)
    with pytest.raises(ConfigError, match="pair_floor"):
        EndToEndDesign("bad", "", 3, lists=DESIGNS["e2e3"].lists, pair_floor=0.0)
    EndToEndDesign("floor", "", 3, lists=DESIGNS["e2e3"].lists, pair_floor=0.01)


def test_e2e_replicate_runs_the_real_linkage_and_is_reproducible():
    """One replicate of ``e2e3`` through the battery, twice with the same seed, and its data
    drawn directly from the battery's stream (three simulate + Splink runs, ~10 s each)."""
    design = DESIGNS["e2e3"]
    fams = ["stepwise", "linkavg-stepwise", "linkavg-em-stepwise", "linkavg-cal-stepwise",
            "truth-stepwise"]
    res = run_battery(["e2e3"], fams, replicates=1, seed=5)
    assert list(res["family"]) == fams
    assert (res["status"] == "ok").all(), res[["family", "message", "traceback"]]
    assert (res["truth"] == design.n).all()
    for row in res.itertuples():
        assert math.isfinite(row.estimate) and math.isfinite(row.upper)
        assert row.lower <= row.estimate <= row.upper
        # Loose: 1,500 people, about 2/3 of them listed; a 3-list Mt estimate is within 25%.
        assert 0.75 * design.n < row.estimate < 1.25 * design.n

    # Same seed, same rows (Splink's EM included).
    again = run_battery(["e2e3"], fams, replicates=1, seed=5)
    pd.testing.assert_frame_equal(res[COLS], again[COLS])

    # The replicate's data, from the stream the battery documents.
    table, records, pairs = design.sample_linkage(_rng(5, _key("e2e3"), 0, 0))
    assert table.n_observed == res["n_observed"].iloc[0]
    assert table.lists == ("hospital", "family", "media")
    assert table.n_observed <= len(records)
    assert np.array_equal(records["uid"], np.arange(len(records)))
    assert {"list", "person", "sex", "national_id", "id_valid"} <= set(records.columns)
    assert records["person"].between(0, design.n - 1).all()
    gammas = [c for c in pairs.columns if c.startswith("gamma_")]
    assert set(pairs.columns) - set(gammas) == {"uid_l", "uid_r", "match_probability",
                                                "is_match"}
    # One level column per comparison of the model (names, dates, sex, place, ID), -1 null.
    assert {"gamma_given", "gamma_national_id", "gamma_sex"} <= set(gammas)
    assert all(pairs[c].dtype == np.int64 and pairs[c].min() >= -1 for c in gammas)
    assert (pairs["uid_l"] < pairs["uid_r"]).all()
    # No score floor: every blocked pair, down to near-zero probabilities.
    assert design.pair_floor is None
    assert pairs["match_probability"].between(0, 1).all()
    assert pairs["match_probability"].min() < 1e-3
    person = records["person"].to_numpy()
    assert np.array_equal(
        pairs["is_match"], person[pairs["uid_l"]] == person[pairs["uid_r"]]
    )
    # With realistic noise Splink links the lists almost perfectly: the fixed table is
    # within 1% of the true one (observed people), and the scored pairs hold nearly every
    # true match pair.
    list_idx = records["list"].map({n: i for i, n in enumerate(table.lists)}).to_numpy()
    true = table_from_clusters(person, list_idx, table.lists)
    assert abs(table.n_observed - true.n_observed) <= 0.01 * true.n_observed
    _, sizes = np.unique(person, return_counts=True)
    assert pairs["is_match"].sum() >= 0.97 * (sizes * (sizes - 1) // 2).sum()
    # truth-stepwise is the stepwise estimator on that true table.
    fit = LogLinearEstimator(select="stepwise").fit(true)
    row = res.set_index("family").loc["truth-stepwise"]
    assert (row["estimate"], row["lower"], row["upper"]) == (
        fit.estimate, fit.interval.lower, fit.interval.upper)


def test_e2e_designs_get_linkage_families_by_default(monkeypatch):
    """Without families, record designs get the linkage-averaging families added; without
    designs, they are left out (opt-in). Checked without running: the tasks are captured."""
    import undercount.validate.runner as runner

    seen: list = []
    monkeypatch.setattr(runner, "_run_replicate", lambda task: seen.append(task) or [
        {"design": task[0], "replicate": task[2], "family": f, "seconds": 0.0}
        for f in task[1]
    ])
    run_battery(["e2e4noisy", "negdep4"], replicates=1)
    fams = {t[0]: t[1] for t in seen}
    assert fams["e2e4noisy"][-len(DEFAULT_LINKAGE_FAMILIES):] == DEFAULT_LINKAGE_FAMILIES
    assert not set(DEFAULT_LINKAGE_FAMILIES) & set(fams["negdep4"])
    seen.clear()
    run_battery(None, ["stepwise"], replicates=1)
    assert not {t[0] for t in seen} & {"e2e3", "e2e4noisy", "link4", "link4noisy"}


def test_failed_sampling_is_reported_not_raised():
    class Broken(EndToEndDesign):
        def sample_linkage(self, rng):
            raise ValueError("math domain error")

    d = Broken("broken", "", 3, lists=DESIGNS["e2e3"].lists)
    res = run_battery(["broken"], ["stepwise", "linkavg-stepwise"], replicates=2,
                      extra_designs={"broken": d})
    assert len(res) == 4
    assert (res["status"] == "error").all()
    assert res["message"].str.contains("sampling the data failed: ValueError").all()
    assert (res["truth"] == 1500).all()
