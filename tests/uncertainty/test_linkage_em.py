"""Fellegi–Sunter EM, its pairs bootstrap, and linkage averaging with parameter uncertainty."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from undercount.errors import ConfigError, InputError
from undercount.link.fellegi_sunter import FellegiSunter, comparison_levels, em_bootstrap
from undercount.models.heterogeneity import HeterogeneityEstimator
from undercount.uncertainty.linkage import LinkageAveraging
from undercount.validate import DESIGNS

from ._toy import Independence

#: 3 comparisons with 3, 2 and 4 levels (higher = closer agreement), 20% matches.
TRUE = FellegiSunter(
    ("name", "dob", "place"),
    (np.array([0.05, 0.15, 0.80]), np.array([0.1, 0.9]), np.array([0.05, 0.10, 0.25, 0.60])),
    (np.array([0.70, 0.20, 0.10]), np.array([0.8, 0.2]), np.array([0.50, 0.30, 0.15, 0.05])),
    0.2,
)


def _flat(fs: FellegiSunter) -> np.ndarray:
    return np.r_[fs.lam, np.concatenate(fs.m), np.concatenate(fs.u)]


def _sample(n: int, rng: np.random.Generator, fs: FellegiSunter = TRUE) -> np.ndarray:
    return fs.simulate(rng.random(n) < fs.lam, rng=rng)


# ------------------------------------------------------------------------------------ EM
def test_match_probability_by_hand_with_a_null_level():
    fs = FellegiSunter(("a", "b"), (np.array([0.2, 0.8]), np.array([0.5, 0.5])),
                       (np.array([0.9, 0.1]), np.array([0.75, 0.25])), 0.1)
    levels = np.array([[1, 0], [0, 1], [1, -1], [-1, -1]])
    bf = np.array([0.8 / 0.1 * 0.5 / 0.75, 0.2 / 0.9 * 0.5 / 0.25, 0.8 / 0.1, 1.0])
    odds = 0.1 / 0.9 * bf
    assert fs.match_probability(levels) == pytest.approx(odds / (1 + odds), rel=1e-12)
    assert fs.log_bayes_factor(levels) == pytest.approx(np.log(bf), rel=1e-12)
    with pytest.raises(InputError):
        fs.match_probability(np.array([[2, 0]]))


def test_em_recovers_the_parameters_exactly_from_expected_counts():
    # Weights = the expected count of every comparison vector under TRUE: the likelihood is
    # maximised at TRUE itself (3 conditionally independent comparisons identify the model).
    G = np.array(list(itertools.product(range(3), range(2), range(4))))
    w = 20000 * (TRUE.lam * np.exp(np.log(TRUE.m[0][G[:, 0]]) + np.log(TRUE.m[1][G[:, 1]])
                                   + np.log(TRUE.m[2][G[:, 2]]))
                 + (1 - TRUE.lam) * TRUE.u[0][G[:, 0]] * TRUE.u[1][G[:, 1]]
                 * TRUE.u[2][G[:, 2]])
    fit = FellegiSunter.fit(G, weights=w, pseudo_count=0.0, tol=1e-12, max_iter=100_000)
    assert fit.converged
    assert np.max(np.abs(_flat(fit) - _flat(TRUE))) < 1e-8


def test_em_recovers_the_parameters_from_20000_sampled_pairs():
    fit = FellegiSunter.fit(_sample(20000, np.random.default_rng(123)))
    assert fit.converged and fit.n_iter < 500
    # Sampling sd of each estimate (lam, m..., u...) at 20,000 pairs, from 300 simulated
    # data sets (Monte Carlo, this design); the test allows 4.5 sd per parameter.
    sd = np.array([0.0045, 0.0071, 0.0070, 0.0099, 0.0076, 0.0076, 0.0063, 0.0065, 0.0075,
                   0.0103, 0.0041, 0.0032, 0.0030, 0.0041, 0.0041, 0.0040, 0.0036, 0.0032,
                   0.0023])
    err = _flat(fit) - _flat(TRUE)
    assert np.all(np.abs(err) < 4.5 * sd), err / sd


def test_em_start_from_responsibilities_and_label_identification():
    levels = _sample(5000, np.random.default_rng(4))
    plain = FellegiSunter.fit(levels)
    # Starting from the true posterior probabilities lands on the same maximum.
    resp = TRUE.match_probability(levels)
    warm = FellegiSunter.fit(levels, responsibilities=resp)
    assert np.max(np.abs(_flat(warm) - _flat(plain))) < 1e-5
    # Started from swapped components, EM converges to the mirrored maximum, which the
    # agreement rule swaps back.
    mirrored = FellegiSunter(TRUE.comparisons, TRUE.u, TRUE.m, 1 - TRUE.lam)
    back = FellegiSunter.fit(levels, start=mirrored)
    assert np.max(np.abs(_flat(back) - _flat(plain))) < 1e-5


# ----------------------------------------------------------------------------- bootstrap
def test_bootstrap_spread_is_positive_and_shrinks_with_the_number_of_pairs():
    rng = np.random.default_rng(7)
    grid = np.array(list(itertools.product(range(3), range(2), range(4))))
    spread = {}
    for n in (2000, 20000):
        levels = _sample(n, rng)
        point = FellegiSunter.fit(levels)
        reps = em_bootstrap(levels, point, n_draws=40, rng=rng)
        assert all(r.converged for r in reps)
        p = np.array([r.match_probability(grid) for r in reps])
        lam = np.array([r.lam for r in reps])
        spread[n] = (lam.std(ddof=1), p.std(axis=0, ddof=1).mean())
        assert spread[n][0] > 0 and spread[n][1] > 0
    # sd ~ 1/sqrt(n): expected ratio sqrt(10) = 3.16; with 40 replicates each sd is known
    # to ~11%, so the ratio to ~16%; [2, 5] is about 3 sd wide either side.
    for small, large in zip(spread[2000], spread[20000], strict=True):
        assert 2.0 < small / large < 5.0


def test_bootstrap_sd_of_lambda_matches_its_sampling_sd():
    rng = np.random.default_rng(11)
    n = 3000
    sampling = np.std([FellegiSunter.fit(_sample(n, rng)).lam for _ in range(100)], ddof=1)
    levels = _sample(n, rng)
    boot = np.std([r.lam for r in em_bootstrap(levels, FellegiSunter.fit(levels),
                                                n_draws=100, rng=rng)], ddof=1)
    # Each sd from 100 values carries ~7% Monte Carlo error (and the bootstrap sd varies by
    # data set, ~5%): the ratio should lie within about 3.5 sd of 1.
    assert 0.7 < boot / sampling < 1.4


def test_bootstrap_is_reproducible():
    levels = _sample(3000, np.random.default_rng(2))
    point = FellegiSunter.fit(levels)
    a = em_bootstrap(levels, point, n_draws=5, rng=np.random.default_rng(9))
    b = em_bootstrap(levels, point, n_draws=5, rng=np.random.default_rng(9))
    assert [_flat(x).tolist() for x in a] == [_flat(x).tolist() for x in b]


def test_comparison_levels_columns():
    pairs = pd.DataFrame({"uid_l": [0], "uid_r": [1], "gamma_a": [2], "gamma_b": [-1]})
    names, levels = comparison_levels(pairs)
    assert names == ("a", "b") and levels.tolist() == [[2, -1]]
    with pytest.raises(ConfigError, match=r"\['gamma_c'\]"):
        comparison_levels(pairs, ["gamma_a", "gamma_c"])
    with pytest.raises(InputError, match="gamma_b"):
        comparison_levels(pairs.assign(gamma_b=[-2]))


# ---------------------------------------------------------------------- linkage averaging
def _fs_linkage(seed: int):
    """link4 records and candidate pairs, scored from comparison vectors drawn from TRUE
    (with lambda the pairs' match share), so the probabilities are exact."""
    _, records, pairs = DESIGNS["link4"].sample_linkage(np.random.default_rng(seed))
    is_match = pairs["is_match"].to_numpy()
    fs = replace(TRUE, lam=float(is_match.mean()))
    levels = fs.simulate(is_match, rng=np.random.default_rng(seed + 1000))
    gammas = {f"gamma_{n}": levels[:, c] for c, n in enumerate(fs.comparisons)}
    return records, pairs.assign(match_probability=fs.match_probability(levels), **gammas), fs


LISTS = ("L1", "L2", "L3", "L4")


def test_em_bootstrap_linkage_averaging_reports_and_reproduces():
    records, pairs, fs = _fs_linkage(3)
    avg = LinkageAveraging(estimator=HeterogeneityEstimator(model="Mt"), n_draws=8,
                           parameter_uncertainty="em_bootstrap")
    res = avg.fit(pairs, records, lists=LISTS, rng=np.random.default_rng(4))
    info = res.em_bootstrap
    assert res.parameter_uncertainty == "em_bootstrap"
    assert res.settings["parameter_uncertainty"] == "em_bootstrap"
    assert info["comparisons"] == ["name", "dob", "place"] and info["n_levels"] == [3, 2, 4]
    assert info["n_pairs"] == len(pairs) and info["em_not_converged"] == 0
    # ~1,070 candidate pairs: the share of matches is estimated to a few points.
    assert info["lambda_point"] == pytest.approx(fs.lam, abs=0.05)
    assert info["lambda_sd"] > 0
    lam = res.per_draw["em_lambda"]
    assert lam.nunique() == 8 and lam.std() == pytest.approx(info["lambda_sd"], rel=1e-12)
    # The probabilities are exact here, so the refit's are close to them.
    assert info["refit_vs_input_mean_abs_diff"] < 0.05
    again = avg.fit(pairs, records, lists=LISTS, rng=np.random.default_rng(4))
    assert again.estimate == res.estimate and again.interval == res.interval
    pd.testing.assert_frame_equal(again.per_draw, res.per_draw)
    # The default ignores the level columns and keeps its own report.
    plain = LinkageAveraging(estimator=HeterogeneityEstimator(model="Mt"), n_draws=8).fit(
        pairs, records, lists=LISTS, rng=np.random.default_rng(4))
    assert plain.em_bootstrap is None and "em_lambda" not in plain.per_draw
    assert plain.parameter_uncertainty == "none"


def test_em_bootstrap_input_centre_and_calibration():
    records, pairs, _ = _fs_linkage(5)
    labels = np.where(np.arange(len(pairs)) % 3 == 0, pairs["is_match"].astype(float), np.nan)
    res = LinkageAveraging(estimator=Independence(), n_draws=4,
                           parameter_uncertainty="em_bootstrap", calibration="isotonic").fit(
        pairs, records, lists=LISTS, labels=labels, rng=np.random.default_rng(1))
    assert {d.code for d in res.diagnostics} >= {"linkage_calibrated", "linkage_em_calibrated"}
    centred = LinkageAveraging(estimator=Independence(), n_draws=4,
                               parameter_uncertainty="em_bootstrap", em_centre="input").fit(
        pairs, records, lists=LISTS, rng=np.random.default_rng(1))
    assert centred.em_bootstrap["centre"] == "input"
    # Shifting exact probabilities by a small log-odds change keeps their mean.
    means = centred.per_draw["mean_match_probability"]
    assert means.to_numpy() == pytest.approx(pairs["match_probability"].mean(), abs=0.03)


def test_em_bootstrap_needs_comparison_levels():
    records, pairs, _ = _fs_linkage(3)
    bare = pairs[["uid_l", "uid_r", "match_probability"]]
    avg = LinkageAveraging(estimator=Independence(), n_draws=2,
                           parameter_uncertainty="em_bootstrap")
    with pytest.raises(ConfigError, match=r"em_bootstrap.*gamma_<comparison>"):
        avg.fit(bare, records, lists=LISTS, rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match=r"\['gamma_dob', 'gamma_place'\]"):
        avg.fit(pairs.drop(columns=["gamma_dob", "gamma_place"]), records, lists=LISTS,
                fs_start=TRUE, rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match="em_pseudo_count"):
        LinkageAveraging(estimator=Independence(), em_pseudo_count=0.0)
    with pytest.raises(ConfigError, match="parameter_uncertainty"):
        LinkageAveraging(estimator=Independence(), parameter_uncertainty="bayes")


# --------------------------------------------------------------------------- with Splink
def test_splink_levels_reproduce_splinks_scores(tmp_path):
    pytest.importorskip("splink")
    from undercount.io.lists import read_list
    from undercount.io.project import load_project
    from undercount.link._standardise import standardise_lists
    from undercount.link.backends import get_db_api
    from undercount.link.pipeline import settings_for
    from undercount.link.predict import predict_edges
    from undercount.link.train import build_linker, train

    from ..link.conftest import write_project

    cfg = load_project(write_project(tmp_path))
    std = standardise_lists([read_list(s) for s in cfg.lists], cfg.lists)
    settings = settings_for(std, cfg.link, n_lists=2, seed=7)
    db = get_db_api("duckdb", threads=1, memory_limit="1GB", temp_directory=None,
                    spark_session=None)
    linker = build_linker(db, std, settings)
    settings, _ = train(linker, settings)
    plain = predict_edges(linker, None)
    pairs = predict_edges(linker, None, comparison_levels=True)
    # The opt-in adds columns only, and leaves the linker as it was.
    pd.testing.assert_frame_equal(pairs[plain.columns], plain)
    assert list(predict_edges(linker, None).columns) == list(plain.columns)
    model = settings.model
    names = [c["output_column_name"] for c in model["comparisons"]]
    assert [c for c in pairs.columns if c.startswith("gamma_")] == [f"gamma_{n}" for n in names]
    # Splink's own per-comparison match weights (log2 Bayes factors, before term-frequency
    # adjustments) equal log2(m/u) at our reading of the levels: this checks the numbering
    # (a wrong level is off by O(1); 1e-4 allows for the levels Splink left untrained --
    # u missing for three dob_age levels here -- which from_splink sets to 1e-6 before
    # renormalising, moving that comparison's weights by ~4e-6).
    linker._settings_obj._retain_intermediate_calculation_columns = True
    linker._settings_obj._retain_matching_columns = True
    sdf = linker.inference.predict(warning_mode="never")
    detail = sdf.as_pandas_dataframe()
    sdf.drop_table_from_database_and_remove_from_cache()
    fs = FellegiSunter.from_splink(model, lam=model["probability_two_random_records_match"])
    _, levels = comparison_levels(detail, [f"gamma_{n}" for n in names])
    for c, name in enumerate(names):
        one = FellegiSunter((name,), (fs.m[c],), (fs.u[c],), 0.5)
        ours = one.log_bayes_factor(levels[:, [c]]) / np.log(2)
        untrained = any(lv.get(k) is None for lv in model["comparisons"][c]["comparison_levels"]
                        if not lv.get("is_null_level") for k in ("m_probability", "u_probability"))
        tol = 1e-4 if untrained else 1e-9
        assert ours == pytest.approx(detail[f"mw_{name}"].to_numpy(), abs=tol), name
    tf = detail[[c for c in detail.columns if c.startswith("mw_tf_adj_")]].sum(axis=1)
    log_odds = np.log(fs.lam / (1 - fs.lam)) + fs.log_bayes_factor(levels)
    assert log_odds / np.log(2) == pytest.approx((detail["match_weight"] - tf).to_numpy(),
                                                 abs=1e-3)
    # Linkage averaging over the bootstrap, started from Splink's m and u.
    res = LinkageAveraging(estimator=Independence(), n_draws=3,
                           parameter_uncertainty="em_bootstrap").fit(
        pairs, std, lists=("a", "b"), fs_start=model, rng=np.random.default_rng(0))
    assert res.em_bootstrap["start"] == "Splink's m and u"
    assert res.em_bootstrap["comparisons"] == names


def test_em_bootstrap_warns_on_pairs_cut_at_a_score_floor():
    records, pairs, _ = _fs_linkage(3)
    cut = pairs[pairs["match_probability"] >= 0.05]
    res = LinkageAveraging(estimator=Independence(), n_draws=2,
                           parameter_uncertainty="em_bootstrap").fit(
        cut, records, lists=LISTS, rng=np.random.default_rng(0))
    # Truncation on the comparison vectors breaks the mixture: the refit's probabilities
    # move far from the exact ones (0.39 on average here, 0.014 on all 1,069 pairs).
    assert {d.code for d in res.diagnostics} >= {"linkage_pairs_truncated",
                                                 "linkage_em_refit_disagrees"}
    assert res.em_bootstrap["refit_vs_input_mean_abs_diff"] > 0.2
