"""The simulation battery's machinery: designs, seeding, failure accounting, outputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from undercount import datasets
from undercount.errors import ConfigError
from undercount.models.loglinear import LogLinearEstimator
from undercount.uncertainty.bootstrap import quantile_type8, smoothed_interval
from undercount.validate import (
    DESIGNS,
    TABLE_DESIGNS,
    TWIN_DESIGNS,
    BatteryOptions,
    FittedModelDesign,
    LatentClassDesign,
    TwinDesign,
    load_replicates,
    run_battery,
    summarise,
    summary_markdown,
    write_outputs,
)
from undercount.validate.families import ReplicateContext
from undercount.validate.runner import _key, _rng

COLS = ["design", "replicate", "family", "truth", "n_observed", "estimate", "lower", "upper",
        "status", "message"]


def test_sim1_design_matches_manrique_vallier_2016():
    d = DESIGNS["sim1"]
    assert d.truth == 2000
    assert d.sizes == (1800, 200)
    assert d.probs[0] == (0.033, 0.033, 0.099, 0.132, 0.033)
    assert d.probs[1] == (0.660, 0.825, 0.759, 0.990, 0.693)
    table = d.sample(np.random.default_rng(0))
    assert table.n_lists == 5
    # Expected observed: 1800 * (1 - prod(1 - p1)) + 200 * (1 - prod(1 - p2)) = 701.2;
    # sd about 20, so 5 sd is 100.
    expected = 1800 * (1 - np.prod(1 - np.array(d.probs[0]))) + 200 * (
        1 - np.prod(1 - np.array(d.probs[1])))
    assert abs(table.n_observed - expected) < 100


def test_fitted_model_design_truth_is_the_bic_fit():
    d = DESIGNS["hiv_bic"]
    assert isinstance(d, FittedModelDesign)
    fit = LogLinearEstimator(select="bic").fit(datasets.load("hiv_rome"))
    assert d.truth == round(fit.estimate)
    table = d.sample(np.random.default_rng(1))
    assert table.lists == ("c1", "c2", "c3", "c4")
    # n ~ Binomial(N, 1 - p0); the observed share of the fit is n_obs/N-hat.
    share = datasets.load("hiv_rome").n_observed / fit.estimate
    sd = math.sqrt(d.truth * share * (1 - share))
    assert abs(table.n_observed - d.truth * share) < 5 * sd


def test_latent_class_cell_probabilities_are_the_class_mixture():
    d = DESIGNS["negdep4"]
    pi = d.cell_probabilities()
    assert pi.shape == (16,) and pi.sum() == pytest.approx(1.0, abs=1e-15)
    # On no list: each class misses all four lists with .7 * .75 * .95 * .95.
    assert pi[0] == pytest.approx(0.7 * 0.75 * 0.95 * 0.95, rel=1e-14)
    # Cell 0b1000 is list L1 only (the code order of table_from_full).
    only_l1 = 0.5 * (0.30 * 0.75 * 0.95 * 0.95) + 0.5 * (0.05 * 0.95 * 0.70 * 0.75)
    assert pi[0b1000] == pytest.approx(only_l1, rel=1e-14)
    # The sampler agrees: mean counts over 400 tables within 5 standard errors.
    rng = np.random.default_rng(3)
    full = np.zeros(16)
    for _ in range(400):
        t = d.sample(rng)
        full += np.asarray(t.full_counts(), dtype=float)
    mean = full[1:] / 400
    se = np.sqrt(d.truth * pi[1:] * (1 - pi[1:]) / 400)
    assert np.all(np.abs(mean - d.truth * pi[1:]) < 5 * se)


@pytest.mark.parametrize("name,size,tv", [("negdep4", 3119, 0.08096), ("sim1", 1125, 0.14113)])
def test_a_twin_has_the_same_observed_patterns_and_no_top_interaction(name, size, tv):
    twin, original = TWIN_DESIGNS[f"{name}_twin"], TABLE_DESIGNS[name]
    assert isinstance(twin, TwinDesign) and twin.of is original
    pi, pt = original.cell_probabilities(), twin.cell_probabilities()
    # The same distribution of the observed patterns...
    np.testing.assert_allclose(pt[1:] / pt[1:].sum(), pi[1:] / pi[1:].sum(), rtol=1e-13)
    # ... a K-way interaction of zero ...
    k = twin.n_lists
    signs = (-1.0) ** (k - np.array([bin(c).count("1") for c in range(2**k)]))
    assert float(signs @ np.log(pt)) == pytest.approx(0.0, abs=1e-12)
    # ... as many people observed on average, and a different N.
    assert twin.truth == size != original.truth
    assert twin.truth * (1 - pt[0]) == pytest.approx(original.truth * (1 - pi[0]), abs=0.5)
    assert twin.total_variation() == pytest.approx(tv, abs=1e-5)
    table = twin.sample(np.random.default_rng(0))
    assert table.n_lists == k and table.lists == original.sample(
        np.random.default_rng(0)).lists


def test_twins_run_only_when_named():
    assert set(TWIN_DESIGNS) <= set(DESIGNS) and not set(TWIN_DESIGNS) & set(TABLE_DESIGNS)
    res = run_battery(["negdep4_twin"], ["rcapture"], replicates=1, seed=1)
    assert list(res["truth"]) == [3119] and list(res["status"]) == ["ok"]


def test_the_percentile_family_reads_the_bootstrap_familys_own_replicates():
    opts = BatteryOptions(bootstrap_replicates=200)
    both = run_battery(["hiv_bic"], ["bootstrap", "bootstrap-pct"], replicates=1, seed=3,
                       options=opts)
    alone = run_battery(["hiv_bic"], ["bootstrap-pct"], replicates=1, seed=3, options=opts)
    bca, pct = both.iloc[0], both.iloc[1]
    assert pct["family"] == "bootstrap-pct" and pct["estimate"] == bca["estimate"]
    # The same draws whether or not the BCa family ran beside it...
    pd.testing.assert_frame_equal(alone[COLS], both.iloc[[1]][COLS].reset_index(drop=True))
    # ... and the interval is their 2.5% and 97.5% quantiles, not BCa's.
    ctx = ReplicateContext(DESIGNS["hiv_bic"].sample(_rng(3, _key("hiv_bic"), 0, 0)), opts)
    reps = ctx.bootstrap(_rng(3, _key("hiv_bic"), 0, 1, _key("bootstrap"))).replicates
    # (at the level's own probabilities: (1 - 0.95) / 2 is 0.025 + 2e-17, which can move
    # the last digit)
    assert (pct["lower"], pct["upper"]) == tuple(quantile_type8(reps, [(1 - 0.95) / 2,
                                                                       (1 + 0.95) / 2]))
    assert (bca["lower"], bca["upper"]) != (pct["lower"], pct["upper"])


def test_same_seed_same_results_regardless_of_jobs_and_other_families():
    a = run_battery(["negdep4"], ["stepwise", "rcapture"], replicates=2, seed=7)
    b = run_battery(["negdep4"], ["stepwise", "rcapture"], replicates=2, seed=7, jobs=2)
    c = run_battery(["negdep4"], ["rcapture"], replicates=2, seed=7)
    pd.testing.assert_frame_equal(a[COLS], b[COLS])
    pd.testing.assert_frame_equal(
        a[a["family"] == "rcapture"][COLS].reset_index(drop=True), c[COLS]
    )
    d = run_battery(["negdep4"], ["stepwise"], replicates=2, seed=8)
    assert not np.array_equal(d["n_observed"], a[a["family"] == "stepwise"]["n_observed"])


def test_not_applicable_and_failures_are_counted_not_dropped():
    tiny = LatentClassDesign("tiny", "almost nobody is listed", 3, sizes=(30,),
                             probs=((0.02, 0.02, 0.02),))
    res = run_battery(["tiny", "sparse8"], ["stepwise", "dga"], replicates=3, seed=1,
                      extra_designs={"tiny": tiny})
    assert len(res) == 2 * 3 * 2
    tiny_rows = res[res["design"] == "tiny"]
    assert set(tiny_rows["status"]) <= {"failed", "ok"}
    assert (tiny_rows["status"] == "failed").sum() >= 1
    assert (res[(res["design"] == "sparse8") & (res["family"] == "dga")]["status"]
            == "n/a").all()
    s = summarise(res).set_index(["design", "family"])
    assert s.loc[("sparse8", "dga"), "not_applicable"] == 3
    assert s.loc[("sparse8", "dga"), "ok"] == 0
    row = s.loc[("tiny", "stepwise")]
    assert row["ok"] + row["failed"] + row["errors"] == 3
    assert "n/a" in summary_markdown(summarise(res))


def test_summarise_arithmetic():
    frame = pd.DataFrame({
        "design": "d", "family": "f", "replicate": range(5), "truth": 100, "n_observed": 50,
        "estimate": [90.0, 100.0, 110.0, 120.0, math.nan],
        "lower": [80.0, 95.0, 101.0, 90.0, math.nan],
        "upper": [99.0, 105.0, 130.0, math.inf, math.nan],
        "status": ["ok", "ok", "ok", "ok", "failed"], "message": "", "seconds": 0.0,
    })
    s = summarise(frame).iloc[0]
    assert s["ok"] == 4 and s["failed"] == 1
    assert s["coverage"] == pytest.approx(0.5)  # 95-105 and 90-inf cover 100
    assert s["coverage_all"] == pytest.approx(2 / 5)
    assert s["rel_bias"] == pytest.approx(0.05)
    assert s["rel_rmse"] == pytest.approx(math.sqrt((100 + 0 + 100 + 400) / 4) / 100)
    assert s["median_width"] == pytest.approx(np.median([19.0, 10.0, 29.0, math.inf]))
    assert s["unbounded"] == 1


def test_smoke_all_families_and_outputs(tmp_path):
    # Short sampler and bootstrap settings: this checks the machinery, not the methods.
    fast = BatteryOptions(bootstrap_replicates=200, lcm_iter=4000, lcm_burn_in=1000)
    res = run_battery(["hiv_bic"], None, replicates=1, seed=3, options=fast)
    assert list(res["family"]) == ["bic", "bootstrap", "stepwise", "rcapture", "lcm", "dga",
                                   "default"]
    assert (res["status"] == "ok").all(), res[["family", "message"]]
    ok = res.set_index("family")
    assert (ok["lower"] <= ok["estimate"]).all() and (ok["estimate"] <= ok["upper"]).all()
    paths = write_outputs(res, tmp_path, command="undercount validate --replicates 1")
    for p in paths.values():
        assert p.exists() and p.stat().st_size > 0
    summary = pd.read_csv(paths["summary_csv"])
    assert len(summary) == 7
    assert "undercount validate" in paths["summary_md"].read_text()
    back = load_replicates([paths["replicates"]])
    np.testing.assert_allclose(back["estimate"], res["estimate"])
    np.testing.assert_allclose(back["upper"], res["upper"])
    with pytest.raises(ConfigError):  # parts must not overlap
        load_replicates([paths["replicates"], paths["replicates"]])
    # A rerun of one family supersedes that family's rows and nothing else.
    rerun = back[back["family"] == "lcm"].assign(estimate=123.0)
    rerun_path = tmp_path / "rerun.csv"
    rerun.to_csv(rerun_path, index=False)
    merged = load_replicates([paths["replicates"]], supersede=[rerun_path])
    assert len(merged) == len(back)
    assert list(merged["family"]) == list(back["family"])
    assert merged.set_index("family").loc["lcm", "estimate"] == 123.0
    others = merged["family"] != "lcm"
    np.testing.assert_allclose(merged.loc[others, "estimate"], back.loc[others, "estimate"])
    extra = rerun.assign(replicate=7)
    extra.to_csv(rerun_path, index=False)
    with pytest.raises(ConfigError, match="replace no row"):
        load_replicates([paths["replicates"]], supersede=[rerun_path])


@pytest.mark.slow
def test_linkage_averaging_covers_more_often_than_fixed_linkage():
    """Acceptance: on lists with known truth and linkage noise, intervals that average over
    plausible linkages cover N at least as often as those that fix the linkage."""
    res = run_battery(["link4"], ["stepwise", "linkavg-stepwise"], replicates=40, seed=11,
                      jobs=2, options=BatteryOptions(linkage_draws=20))
    s = summarise(res).set_index("family")
    assert s.loc["linkavg-stepwise", "coverage"] >= s.loc["stepwise", "coverage"]
    assert s.loc["linkavg-stepwise", "median_width"] > s.loc["stepwise", "median_width"]


# ----------------------------------------------------------- record-level (linkage) families
LINK_FAMS = ["stepwise", "linkavg-stepwise", "linkavg-em-stepwise", "linkavg-cal-stepwise",
             "truth-stepwise", "linkavg-cal-dga", "linkavg-em-dga", "truth-dga"]


def test_linkage_family_registry():
    from undercount.validate import (
        DEFAULT_LINKAGE_FAMILIES,
        LINKAGE_FAMILIES,
        describe_linkage_family,
    )

    for base in ("stepwise", "rcapture", "dga", "lcm"):
        for prefix in ("linkavg-", "linkavg-em-", "linkavg-cal-", "truth-"):
            assert LINKAGE_FAMILIES[prefix + base] == base
    assert set(DEFAULT_LINKAGE_FAMILIES) <= set(LINKAGE_FAMILIES)
    assert not any(f.endswith("-lcm") for f in DEFAULT_LINKAGE_FAMILIES)
    assert "Fellegi-Sunter" in describe_linkage_family("linkavg-em-dga")
    assert "clerical review" in describe_linkage_family("linkavg-cal-stepwise")
    assert "TRUE linkage" in describe_linkage_family("truth-stepwise")
    assert describe_linkage_family("linkavg-stepwise").startswith("stepwise: average")
    with pytest.raises(ConfigError, match="review_pairs"):
        BatteryOptions(review_pairs=1)


def test_record_families_on_link4():
    """One replicate of link4: the new families run (em is n/a: no comparison levels), the
    truth rows are the estimators on the true table, and the same seed gives the same rows."""
    from undercount.models.graphical import GraphicalEstimator
    from undercount.uncertainty.linkage import table_from_clusters
    from undercount.validate.runner import _key, _rng

    opts = BatteryOptions(linkage_draws=10)
    res = run_battery(["link4"], LINK_FAMS, replicates=1, seed=4, options=opts)
    assert list(res["family"]) == LINK_FAMS
    by = res.set_index("family")
    for fam in ("linkavg-em-stepwise", "linkavg-em-dga"):
        assert by.loc[fam, "status"] == "n/a"
        assert "comparison levels (gamma_*)" in by.loc[fam, "message"]
    ok = by.drop(index=["linkavg-em-stepwise", "linkavg-em-dga"])
    assert (ok["status"] == "ok").all(), ok[["status", "message"]]
    assert np.isfinite(ok[["estimate", "lower", "upper"]].to_numpy()).all()
    assert ((ok["lower"] <= ok["estimate"]) & (ok["estimate"] <= ok["upper"])).all()

    # truth-*: the estimator on the table of the true linkage, computed here independently.
    design = DESIGNS["link4"]
    table, records, _ = design.sample_linkage(_rng(4, _key("link4"), 0, 0))
    list_idx = records["list"].map({n: i for i, n in enumerate(table.lists)}).to_numpy()
    true = table_from_clusters(records["person"].to_numpy(), list_idx, table.lists)
    for fam, est in (("truth-stepwise", LogLinearEstimator(select="stepwise")),
                     ("truth-dga", GraphicalEstimator())):
        fit = est.fit(true)
        assert by.loc[fam, "estimate"] == fit.estimate
        assert (by.loc[fam, "lower"], by.loc[fam, "upper"]) == (
            fit.interval.lower, fit.interval.upper)
    assert by.loc["truth-stepwise", "estimate"] != by.loc["stepwise", "estimate"]

    again = run_battery(["link4"], LINK_FAMS, replicates=1, seed=4, options=opts)
    pd.testing.assert_frame_equal(res[COLS], again[COLS])


def test_record_families_not_applicable_on_table_designs():
    res = run_battery(["negdep4"], ["truth-stepwise", "linkavg-cal-stepwise"], replicates=1)
    assert (res["status"] == "n/a").all()
    assert "true linkage needs a record design" in res["message"].iloc[0]
    assert "linkage averaging needs a linkage design" in res["message"].iloc[1]


def test_calibrated_family_uses_the_review_labels():
    from undercount.validate.families import run_linkage_family
    from undercount.validate.runner import _key, _rng

    table, records, pairs = DESIGNS["link4noisy"].sample_linkage(
        _rng(2, _key("link4noisy"), 0, 0))
    opts = BatteryOptions(linkage_draws=5, review_pairs=120)
    res = run_linkage_family("linkavg-cal-stepwise", opts, table, records, pairs,
                          np.random.default_rng(0))
    messages = [d.message for d in res.diagnostics]
    assert any("calibrated (isotonic) on 120 labelled pairs" in m for m in messages)
    assert res.settings["calibration"] == "isotonic"


def test_review_sample_is_stratified_and_labelled_by_the_truth():
    from undercount.validate.families import _review_sample

    rng = np.random.default_rng(0)
    p = np.r_[rng.uniform(0, 0.05, 2000), rng.uniform(0.05, 0.95, 1000),
              rng.uniform(0.95, 1, 500)]
    pairs = pd.DataFrame({"match_probability": p, "is_match": rng.random(len(p)) < p})
    labels = _review_sample(pairs, 300, rng=np.random.default_rng(1))
    seen = ~np.isnan(labels)
    assert seen.sum() == 300
    assert np.array_equal(labels[seen], pairs["is_match"].to_numpy(float)[seen])
    # The budget is split equally over ten equal-width bands of match weight (log-odds)
    # from the smallest to the largest; a band with fewer pairs than its share is labelled
    # whole and passes the rest on, so every other band gets at least its 30.
    weight = np.log(p) - np.log1p(-p)
    edges = np.linspace(weight.min(), weight.max(), 11)
    band = np.clip(np.searchsorted(edges, weight, side="right") - 1, 0, 9)
    size = np.bincount(band, minlength=10)
    taken = np.bincount(band[seen], minlength=10)
    assert (size < 30).any() and (size >= 30).any()
    assert (taken[size < 30] == size[size < 30]).all()
    assert (taken[size >= 30] >= 30).all()
    # Reproducible from the stream; a budget above the number of pairs labels them all.
    again = _review_sample(pairs, 300, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(labels, again)
    small = pairs.iloc[:50].copy()
    assert not np.isnan(_review_sample(small, 300, rng=np.random.default_rng(2))).any()
    # Few uncertain pairs: the strata that run short pass their budget on.
    few = pd.DataFrame({"match_probability": np.r_[np.full(400, 0.01), [0.5] * 5,
                                                   np.full(400, 0.99)],
                        "is_match": np.r_[np.zeros(400, bool), [True] * 5,
                                          np.ones(400, bool)]})
    lab = _review_sample(few, 300, rng=np.random.default_rng(3))
    assert (~np.isnan(lab)).sum() == 300 and (~np.isnan(lab[400:405])).all()


def test_the_smoothed_family_reads_the_augmented_bootstrap_familys_own_replicates():
    opts = BatteryOptions(bootstrap_replicates=200)
    both = run_battery(["hiv_bic"], ["bootstrap-aug", "bootstrap-smooth"], replicates=1,
                       seed=3, options=opts)
    alone = run_battery(["hiv_bic"], ["bootstrap-smooth"], replicates=1, seed=3, options=opts)
    aug, smooth = both.iloc[0], both.iloc[1]
    assert smooth["estimate"] == aug["estimate"]
    pd.testing.assert_frame_equal(alone[COLS], both.iloc[[1]][COLS].reset_index(drop=True))
    ctx = ReplicateContext(DESIGNS["hiv_bic"].sample(_rng(3, _key("hiv_bic"), 0, 0)), opts)
    res = ctx.bootstrap(_rng(3, _key("hiv_bic"), 0, 1, _key("bootstrap-aug")), "augmented")
    assert res.kind == "augmented"
    assert (aug["lower"], aug["upper"]) == tuple(quantile_type8(res.replicates, [
        (1 - 0.95) / 2, (1 + 0.95) / 2]))
    assert (smooth["lower"], smooth["upper"]) == smoothed_interval(
        res.smoothed_centre, res.smoothed_sd, 0.95)
    assert smooth["upper"] - smooth["lower"] != aug["upper"] - aug["lower"]


def test_the_parametric_and_averaged_families_draw_the_augmented_familys_stream():
    opts = BatteryOptions(bootstrap_replicates=100)
    rows = run_battery(["hiv_bic"], ["bootstrap-param", "bootstrap-avg", "bootstrap-aic-world"],
                       replicates=1, seed=3, options=opts)
    ctx = ReplicateContext(DESIGNS["hiv_bic"].sample(_rng(3, _key("hiv_bic"), 0, 0)), opts)
    stream = _key("bootstrap-aug")
    param = ctx.bootstrap(_rng(3, _key("hiv_bic"), 0, 1, stream), "parametric")
    avg = ctx.bootstrap(_rng(3, _key("hiv_bic"), 0, 1, stream), "augmented", select="average")
    world = ctx.bootstrap(_rng(3, _key("hiv_bic"), 0, 1, stream), "parametric", world="aic")
    assert param.kind == "parametric" and avg.kind == "augmented"
    # the AIC world's replicates come from the AIC-best model's fit; the estimate and the
    # candidates they re-select among stay the BIC member's
    assert world.kind == "parametric" and param.bootstrap_settings["world"] is None
    assert world.bootstrap_settings["world"]["select"] == "aic"
    assert world.estimate == param.estimate and world.base.candidates.equals(
        param.base.candidates)
    # The averaged family's estimate is the BIC-weighted mean of the top models, not the
    # best model's estimate that the parametric family keeps.
    assert avg.base.settings["select"] == "average" and avg.base.settings["weights"] == "bic"
    assert param.estimate == ctx.top().fit(ctx.table).estimate != avg.estimate
    for row, res in zip(rows.itertuples(), (param, avg, world), strict=True):
        assert (row.estimate, row.lower, row.upper) == (
            res.estimate, res.interval.lower, res.interval.upper)


def test_the_model_average_families_are_the_estimators_own_average_of_their_ten_best():
    rows = run_battery(["hiv_bic"], ["average", "average-aic"], replicates=1, seed=3)
    table = DESIGNS["hiv_bic"].sample(_rng(3, _key("hiv_bic"), 0, 0))
    for row, weights in zip(rows.itertuples(), ("bic", "aic"), strict=True):
        est = LogLinearEstimator(select="average", weights=weights)
        res = est.restrict_to_top(table, 10).fit(table)
        assert res.selection == "average" and res.weights == weights
        assert len(res.candidates) == 10
        assert (row.estimate, row.lower, row.upper) == (
            res.estimate, res.interval.lower, res.interval.upper)
    # AIC weighs the richer models up: a different average from BIC's.
    assert rows.iloc[0]["estimate"] != rows.iloc[1]["estimate"]
    wide = run_battery(["sparse6"], ["average"], replicates=1, seed=3)
    assert wide.iloc[0]["status"] == "n/a"
