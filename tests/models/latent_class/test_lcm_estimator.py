"""LatentClassEstimator: contract, reproducibility, degenerate inputs, caps and priors."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from undercount import CaptureTable, datasets
from undercount.core.draws import make_draws
from undercount.errors import ConfigError, EstimationError, InputError, NotIdentifiableError
from undercount.models.latent_class import LatentClassEstimator, beta_prior_from_expansion_factor
from undercount.models.latent_class.priors import implied_expansion_quantiles

KOSOVO = datasets.load("kosovo")
SPINA = datasets.load("spina_bifida_my")
# Short runs: these tests check behaviour, not the posterior (see test_lcm_reference.py).
SHORT = LatentClassEstimator(chains=2, iterations=4_000, burn_in=1_000, thin=4)


def _fit(est: LatentClassEstimator, table: CaptureTable, seed: int = 0):
    return est.fit(table, rng=np.random.default_rng(seed))


def test_result_contract() -> None:
    res = _fit(SHORT, KOSOVO)
    assert res.method == "lcm"
    assert res.n_observed == 4400
    assert res.lists == KOSOVO.lists
    assert res.interval.method == "posterior quantiles"
    assert res.interval.level == 0.95
    assert res.interval.lower <= res.estimate <= res.interval.upper
    assert res.estimate >= res.n_observed
    for key in ("mean", "rhat", "ess", "draws_summary", "convergence"):
        assert key in res.to_dict()
    assert set(res.ess) == {"bulk", "tail"}
    assert set(res.convergence) == {"N", "k_star", "alpha"}
    assert res.draws_summary["q50"] == res.estimate
    assert any("latent classes" in a for a in res.assumptions)
    # Draws: ArviZ container with the promised groups and shapes.
    d = res.draws
    for group in ("posterior", "sample_stats", "observed_data", "constant_data"):
        assert hasattr(d, group)
    assert dict(d.posterior.sizes) == {"chain": 2, "draw": 1000}
    for name in ("N", "n0", "alpha", "k_star"):
        assert name in d.posterior
    n = d.posterior["N"].values
    assert (n == d.posterior["n0"].values + 4400).all()
    assert float(np.median(n)) == res.estimate
    k_star = d.posterior["k_star"].values
    assert k_star.min() >= 1 and k_star.max() <= 10
    assert list(d.observed_data["counts"].values) == list(KOSOVO.counts)
    assert d.observed_data["cell"].values[0] == "0001"
    assert int(d.constant_data["max_classes"]) == 10
    assert float(d.constant_data["alpha_prior_shape"]) == 0.25
    assert list(d.constant_data["lambda_prior_a"].values) == [1.0] * 4
    text = str(res)
    assert "posterior quantiles" in text
    assert res.to_dict()["ess"]["bulk"] == res.ess["bulk"]


def test_same_seed_identical_draws() -> None:
    a = _fit(SHORT, KOSOVO, seed=5)
    b = _fit(SHORT, KOSOVO, seed=5)
    for v in ("N", "alpha", "k_star"):
        np.testing.assert_array_equal(a.draws.posterior[v].values, b.draws.posterior[v].values)
    c = _fit(SHORT, KOSOVO, seed=6)
    assert not np.array_equal(a.draws.posterior["N"].values, c.draws.posterior["N"].values)


def test_threads_do_not_change_draws() -> None:
    # Each chain owns a spawned generator, so how chains are spread over threads cannot
    # matter: one thread, two threads and more threads than cores give the same draws.
    est = dataclasses.replace(SHORT, chains=3, iterations=2_000)
    base = _fit(dataclasses.replace(est, n_jobs=1), KOSOVO, seed=9).draws.posterior["N"].values
    for jobs in (2, 3):
        other = _fit(dataclasses.replace(est, n_jobs=jobs), KOSOVO, seed=9)
        np.testing.assert_array_equal(other.draws.posterior["N"].values, base)
    # Chains differ from one another (dispersed starts, independent streams).
    assert not np.array_equal(base[0], base[1])


def test_chain_is_a_prefix_of_more_chains() -> None:
    # rng.spawn(k) gives the same first streams for every k: chain 0 of a 2-chain run is
    # chain 0 of a 3-chain run.
    two = _fit(SHORT, KOSOVO, seed=3).draws.posterior["N"].values
    three = _fit(dataclasses.replace(SHORT, chains=3), KOSOVO, seed=3).draws.posterior["N"]
    np.testing.assert_array_equal(three.values[:2], two)


def test_estimator_untouched_and_rng_required() -> None:
    est = SHORT
    before = est.get_params()
    _fit(est, SPINA)
    assert est.get_params() == before
    with pytest.raises(ConfigError, match="stochastic"):
        est.fit(SPINA)


def test_short_run_warns() -> None:
    res = _fit(LatentClassEstimator(chains=2, iterations=300, burn_in=100, thin=1), KOSOVO)
    codes = {d.code for d in res.diagnostics}
    assert "ess" in codes  # 600 autocorrelated draws cannot give a bulk ESS of 400
    assert all(d.severity == "warning" for d in res.diagnostics if d.code in ("ess", "rhat"))
    assert res.warnings


def test_single_chain_noted() -> None:
    res = _fit(dataclasses.replace(SHORT, chains=1), SPINA)
    assert "single_chain" in {d.code for d in res.diagnostics}


# ------------------------------------------------------------------ degenerate inputs
def test_two_lists_not_identifiable() -> None:
    two = SPINA.select_lists(["L1", "L2"])
    with pytest.raises(NotIdentifiableError, match="at least 3 lists"):
        _fit(SHORT, two)


def test_single_pattern_refused() -> None:
    # One pattern means every list either holds everyone observed or no one: the table
    # readers refuse it, and so does fit() for a table built directly.
    frame = pd.DataFrame({"A": [1], "B": [1], "C": [0], "count": [7]})
    with pytest.raises(InputError):
        CaptureTable.from_frame(frame)
    table = CaptureTable(lists=("A", "B", "C"), patterns=np.array([[1, 1, 0]]),
                         counts=np.array([7]))
    with pytest.raises(EstimationError, match="no estimate is possible"):
        _fit(SHORT, table)


def test_no_overlap_not_identifiable() -> None:
    frame = pd.DataFrame({"A": [1, 0, 0], "B": [0, 1, 0], "C": [0, 0, 1], "count": [5, 6, 7]})
    with pytest.raises(NotIdentifiableError, match="more than one list"):
        _fit(SHORT, CaptureTable.from_frame(frame))


def test_list_with_no_records_refused() -> None:
    frame = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "C": [0, 0, 0], "count": [5, 6, 7]})
    with pytest.raises(InputError, match="no records"):
        CaptureTable.from_frame(frame)
    table = CaptureTable(lists=("A", "B", "C"), patterns=frame[["A", "B", "C"]].to_numpy(),
                         counts=frame["count"].to_numpy())
    with pytest.raises(EstimationError, match="no records"):
        _fit(SHORT, table)


@pytest.mark.parametrize(
    "params",
    [
        {"max_classes": 1},
        {"chains": 0},
        {"iterations": 10, "thin": 20},
        {"burn_in": -1},
        {"alpha_prior": (0.0, 1.0)},
        {"alpha_prior": "x"},
        {"list_priors": (1.0, -2.0)},
        {"list_priors": {"EXH": (1.0,)}},
        {"level": 1.0},
        {"max_n": 0},
        {"n_jobs": 0},
        {"thin": True},
    ],
)
def test_bad_config(params: dict) -> None:
    with pytest.raises(ConfigError):
        LatentClassEstimator(**params)


def test_list_priors_unknown_list() -> None:
    with pytest.raises(ConfigError, match="not in the table"):
        _fit(dataclasses.replace(SHORT, list_priors={"nope": (1.0, 2.0)}), KOSOVO)


def test_max_n_below_n_observed() -> None:
    with pytest.raises(ConfigError, match="below"):
        _fit(dataclasses.replace(SHORT, max_n=4000), KOSOVO)


# ------------------------------------------------------------------ cap on N
def test_max_n_is_reported_every_time() -> None:
    # A bound well inside the posterior (N's median is about 10,400) binds often.
    res = _fit(dataclasses.replace(SHORT, max_n=9_000), KOSOVO)
    n = res.draws.posterior["N"].values
    assert n.max() <= 9_000
    hits = res.draws.sample_stats["hit_max_n"].values
    assert hits.sum() > 0
    assert res.n_capped >= hits.sum()
    diag = [d for d in res.diagnostics if d.code == "max_n"]
    assert len(diag) == 1 and diag[0].severity == "warning"
    assert f"{res.n_capped:,}" in diag[0].message
    assert int(res.draws.constant_data["max_n"]) == 9_000


def test_max_n_not_binding_is_info() -> None:
    res = _fit(dataclasses.replace(SHORT, max_n=10_000_000), KOSOVO)
    diag = [d for d in res.diagnostics if d.code == "max_n"]
    assert res.n_capped == 0
    assert diag[0].severity == "info"


def test_no_cap_by_default() -> None:
    # LCMCR rejects any draw above 21 n; we do not. With a flat-ish posterior (three lists,
    # little overlap) draws beyond 21 n must appear.
    frame = pd.DataFrame(
        {"A": [1, 0, 0, 1], "B": [0, 1, 0, 1], "C": [0, 0, 1, 0], "count": [30, 30, 30, 1]}
    )
    table = CaptureTable.from_frame(frame)
    est = LatentClassEstimator(chains=2, iterations=4_000, burn_in=500, thin=2)
    res = _fit(est, table)
    assert res.draws.posterior["N"].values.max() > 21 * table.n_observed
    assert res.estimate > 0


# ------------------------------------------------------------------ informative priors
def test_expansion_factor_prior_reproduces_quantiles() -> None:
    # Monte Carlo check of the moment-matched prior: 200,000 draws give quantiles of the
    # implied expansion factor with standard error well under 1%; moment matching is not
    # exact, so allow 2% (HRDAG's StanLCMCR makes the same approximation).
    for low, high, lists in [(1.01, 3.0, 4), (1.5, 4.0, 4), (1.2, 2.0, 6)]:
        a, b = beta_prior_from_expansion_factor(low, high, lists)
        lo, hi = implied_expansion_quantiles(a, b, lists, rng=np.random.default_rng(0))
        assert lo == pytest.approx(low, rel=0.02)
        assert hi == pytest.approx(high, rel=0.02)


def test_expansion_factor_prior_errors() -> None:
    with pytest.raises(ConfigError):
        beta_prior_from_expansion_factor(0.9, 3.0, 4)
    with pytest.raises(ConfigError):
        beta_prior_from_expansion_factor(3.0, 2.0, 4)
    with pytest.raises(ConfigError):
        beta_prior_from_expansion_factor(1.1, 3.0, 0)
    with pytest.raises(ConfigError):
        beta_prior_from_expansion_factor(1.1, 3.0, 4, prob=(0.9, 0.1))


def test_list_priors_move_the_posterior() -> None:
    # A prior saying every class is well covered by the lists (expansion factor 1.05-1.3)
    # rules out the poorly listed classes that make the right tail: the flat-prior 97.5%
    # quantile is about 13,900 (LCMCR), well above what this prior allows.
    prior = beta_prior_from_expansion_factor(1.05, 1.3, KOSOVO.n_lists)
    est = dataclasses.replace(SHORT, list_priors=prior)
    res = _fit(est, KOSOVO)
    assert res.interval.upper < 12_500
    assert list(res.draws.constant_data["lambda_prior_a"].values) == [prior[0]] * 4
    # Per-list priors: only the named list changes.
    res2 = _fit(dataclasses.replace(SHORT, list_priors={"HRW": (2.0, 5.0)}), KOSOVO)
    assert list(res2.draws.constant_data["lambda_prior_a"].values) == [1.0, 1.0, 1.0, 2.0]


# ------------------------------------------------------------------ make_draws
def test_make_draws_generic() -> None:
    d = make_draws(
        {"N": np.arange(20).reshape(2, 10), "w": np.ones((2, 10, 3))},
        sample_stats={"lp": np.zeros((2, 10))},
        observed_data={"y": np.arange(3)},
        constant_data={"k": 3},
        attrs={"method": "x"},
        dims={"w": ["cls"], "y": ["cell"]},
        coords={"cls": ["a", "b", "c"], "cell": ["1", "2", "3"]},
    )
    assert dict(d.posterior.sizes) == {"chain": 2, "draw": 10, "cls": 3}
    assert d.posterior.attrs["method"] == "x"
    assert int(d.constant_data["k"]) == 3
    with pytest.raises(ValueError, match="chain, draw"):
        make_draws({"N": np.arange(3)})
    with pytest.raises(ValueError, match="expected"):
        make_draws({"N": np.zeros((2, 10)), "M": np.zeros((3, 10))})


def test_summary_json_serialisable() -> None:
    import json

    res = _fit(SHORT, SPINA)
    json.dumps(res.to_dict())
    assert math.isfinite(res.mean)
