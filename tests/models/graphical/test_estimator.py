"""GraphicalEstimator against R dga 2.0.2 (bma.cr), numbers from shared/data/mse/REFERENCE.md.

Every [R run] below used dga 2.0.2 (cran/dga @ ef1a128), R 4.2.2. Posterior medians and
interval ends are the smallest N on the grid whose posterior CDF reaches 0.5 / 0.025 / 0.975.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from undercount import datasets
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, EstimationError
from undercount.models.graphical import GraphicalEstimator, GraphicalResult

# dga's own data vectors (examples and tests of R/BMAfunctions.R), read as array(Y, dim=2^J):
# the first list varies fastest, Y[k] holds the pattern with sum_j x_j 2^(j-1) = k - 1.
DGA_Y = {
    "spina_bifida_my": "0 60 49 4 247 112 142 12",
    "my5": "0 27 37 19 4 4 1 1 97 22 37 25 2 1 3 5 83 36 34 18 3 5 0 2 30 5 23 8 0 3 0 2",
}


@pytest.mark.parametrize("name", sorted(DGA_Y))
def test_shipped_tables_match_dga_vectors(name):
    y = [int(v) for v in DGA_Y[name].split()]
    j = len(y).bit_length() - 1
    table = datasets.load(name)
    cells = table.cells()
    for k, count in enumerate(y[1:], start=1):
        pattern = "".join(str(k >> i & 1) for i in range(j))  # list 1 first
        assert cells.get(pattern, 0) == count, pattern


def _fit(name, **kw):
    return GraphicalEstimator(**kw).fit(datasets.load(name))


def _check(res, mean, median, mode, lo, hi):
    assert isinstance(res, GraphicalResult)
    assert res.method == "dga"
    assert round(res.mean, 2) == pytest.approx(mean, abs=0.006)
    assert res.estimate == median
    assert res.mode == mode
    assert (res.interval.lower, res.interval.upper) == (lo, hi)
    assert res.interval.method == "posterior quantiles"


def test_spina_bifida_negbin_prior_dga_test_settings():
    # dga test-BMAfunctions.R: delta = 1, negative-binomial prior a = 13.14, b = 55.17,
    # Nmissing = 1:300, graphs3. [R run]: mean 733.45, median 731, mode 728, 95% [682, 797].
    res = _fit(
        "spina_bifida_my",
        delta=1.0,
        prior="negbin",
        prior_params=(13.14, 55.17),
        n_missing=(1, 300),
    )
    _check(res, 733.45, 731, 728, 682, 797)
    p = res.model_probabilities
    assert res.top_model == "[12][3]"
    assert round(p["[12][3]"], 4) == 0.3738  # dga's test: round(., 2) == 0.37
    assert round(p["[12][23]"], 4) == 0.3099
    assert round(p["[12][13]"], 4) == 0.2818
    assert round(p["[123]"], 4) == 0.0345
    by_name = {m.model: m for m in res.models}
    assert round(by_name["[12][3]"].estimate, 1) == 731.8
    assert round(by_name["[12][23]"].estimate, 1) == 757.6
    assert round(by_name["[12][13]"].estimate, 1) == 712.5
    assert round(by_name["[123]"].estimate, 1) == 705.5
    # dga's test: Bayes estimate under relative squared error sum(w/N)/sum(w/N^2) = 731.
    n = res.n_values.astype(float)
    assert round(np.sum(res.pmf / n) / np.sum(res.pmf / n**2)) == 731
    # The 1..300 grid leaves out some mass; it is reported, not hidden.
    assert any(d.code == "dga_fixed_grid" and d.severity == "warning" for d in res.diagnostics)


def test_my5_readme_settings():
    # [R run] delta = 0.5, prior 1/N, Nmissing 1:300, graphs5:
    # mean 617.8, median 616, mode 614, 95% [588, 655].
    res = _fit("my5", delta=0.5, n_missing=(1, 300))
    assert round(res.mean, 1) == 617.8
    assert (res.estimate, res.mode) == (616, 614)
    assert (res.interval.lower, res.interval.upper) == (588, 655)
    expected = [
        ("[12][13][24][45]", 0.2171, 627.6),
        ("[12][13][45]", 0.1603, 615.8),
        ("[124][13][45]", 0.0823, 613.8),
        ("[12][13][14][45]", 0.0654, 610.2),
        ("[12][13][34][45]", 0.0519, 616.5),
    ]
    for rec, (name, prob, mean) in zip(res.models[:5], expected, strict=True):
        assert rec.model == name
        assert round(rec.weight, 4) == prob
        assert round(rec.estimate, 1) == mean
    assert res.n_graphs == 822


def test_my5_small_delta():
    # [R run] delta = 2^-5, Nmissing 0:2000: mean 618.9, median 618, mode 615, [590, 656].
    res = _fit("my5", delta=2**-5, n_missing=(0, 2000))
    assert round(res.mean, 1) == 618.9
    assert (res.estimate, res.mode) == (618, 615)
    assert (res.interval.lower, res.interval.upper) == (590, 656)
    top = [(m.model, round(m.weight, 4), round(m.estimate, 1)) for m in res.models[:3]]
    assert top == [
        ("[12][13][45]", 0.4414, 620.5),
        ("[13][2][45]", 0.2205, 609.9),
        ("[12][13][24][45]", 0.1225, 634.7),
    ]


def test_kosovo_default_delta():
    # [R run] delta = 2^-4, prior 1/N, Nmissing 0:30000: mean 12,749.3, median 12,595,
    # mode 12,267, 95% [9,827, 16,544]; [123][134] 0.9855 (12,813.2), [123][34] 0.0108
    # (8,654.9), [123][234] 0.0037 (7,678.1).
    res = _fit("kosovo", n_missing=(0, 30000))
    assert res.delta == 2**-4
    assert round(res.mean, 1) == 12749.3
    assert (res.estimate, res.mode) == (12595, 12267)
    assert (res.interval.lower, res.interval.upper) == (9827, 16544)
    top = [(m.model, round(m.weight, 4), round(m.estimate, 1)) for m in res.models[:3]]
    assert top == [
        ("[123][134]", 0.9855, 12813.2),
        ("[123][34]", 0.0108, 8654.9),
        ("[123][234]", 0.0037, 7678.1),
    ]
    # The saturated graph's tail ~ N^-1.9375 makes the exact posterior mean infinite.
    assert res.mean_exists is False
    assert any(d.code == "dga_mean_infinite" for d in res.diagnostics)


def test_kosovo_delta_one():
    # [R run] delta = 1: mean 4,828.0, median 4,616, mode 4,400, 95% [4,407, 6,844];
    # [1234] has posterior 0.976.
    res = _fit("kosovo", delta=1.0, n_missing=(0, 30000))
    assert round(res.mean, 1) == 4828.0
    assert (res.estimate, res.mode) == (4616, 4400)
    assert (res.interval.lower, res.interval.upper) == (4407, 6844)
    assert round(res.model_probabilities["[1234]"], 3) == 0.976


def test_hiv_rome():
    # [R run] delta = 2^-4, Nmissing 0:37,920: median 11,220 (9,404-14,095), mean 11,357.1.
    res = _fit("hiv_rome", n_missing=(0, 37920))
    assert res.estimate == 11220
    assert (res.interval.lower, res.interval.upper) == (9404, 14095)
    assert round(res.mean, 1) == 11357.1


def test_uk_2013_5():
    # [R run] delta = 2^-5, Nmissing 0:54,880, 822 graphs: median 22,990 (10,387-33,508),
    # mean 21,281.6.
    res = _fit("uk_2013_5", n_missing=(0, 54880))
    assert res.estimate == 22990
    assert (res.interval.lower, res.interval.upper) == (10387, 33508)
    assert round(res.mean, 1) == 21281.6
    # dga's grid cuts off ~1.6e-5 of the posterior: reported as a warning.
    d = [d for d in res.diagnostics if d.code == "dga_fixed_grid"]
    assert d and d[0].severity == "warning"
    assert 1e-5 < res.mass_beyond_grid < 1e-4


# ---------------------------------------------------------------- the growing grid
def test_growing_grid_matches_fixed_where_the_fixed_grid_is_wide():
    fixed = _fit("kosovo", n_missing=(0, 30000))
    auto = _fit("kosovo")
    assert auto.mass_beyond_grid < 1e-6
    assert (auto.estimate, auto.interval.lower, auto.interval.upper) == (12595, 9827, 16544)
    assert auto.mean == pytest.approx(fixed.mean, rel=1e-6)
    assert any(d.code == "dga_grid" for d in auto.diagnostics)


def test_growing_grid_extends_past_a_truncating_fixed_grid():
    # dga's 0:54,880 grid for uk_2013_5 leaves out ~1.6e-5: the growing grid goes on and the
    # upper 97.5% point moves from 33,508 to 33,510.
    auto = _fit("uk_2013_5")
    assert auto.mass_beyond_grid < 1e-6
    assert auto.grid[1] > 54880 + 2744
    assert auto.estimate == 22990
    assert (auto.interval.lower, auto.interval.upper) == (10387, 33510)


def test_explicit_cap_reports_the_mass_beyond():
    res = _fit("kosovo", n_missing_max=15000)
    d = [d for d in res.diagnostics if d.code == "dga_grid_truncated"]
    assert d and d[0].severity == "warning"
    assert res.grid[1] == 4400 + 15000
    assert res.mass_beyond_grid > 1e-6
    # Half the posterior lies beyond m = 3,000: no honest median.
    with pytest.raises(EstimationError, match="median"):
        _fit("kosovo", n_missing_max=3000)


def test_cap_makes_interval_unbounded_when_the_upper_tail_is_cut():
    res = _fit("kosovo", n_missing_max=11000)  # N <= 15,400 < 16,544
    assert math.isinf(res.interval.upper)


def test_negbin_growing_grid():
    res = _fit("spina_bifida_my", delta=1.0, prior="negbin", prior_params=(13.14, 55.17))
    assert res.mass_beyond_grid < 1e-6
    assert res.mean_exists is True
    assert res.estimate == 731
    assert res.n_values[0] == 626  # m = 0 is on the growing grid


def test_custom_prior_equals_builtin():
    inv = _fit("my5", delta=0.5, n_missing=(1, 300))
    custom = _fit(
        "my5", delta=0.5, n_missing=(1, 300), prior="custom", log_prior=lambda n: -np.log(n)
    )
    np.testing.assert_allclose(custom.pmf, inv.pmf, rtol=1e-12)
    assert any(
        d.code == "dga_custom_prior_tail"
        for d in _fit(
            "my5", delta=0.5, prior="custom", log_prior=lambda n: -2 * np.log(n)
        ).diagnostics
    )


def test_result_is_deterministic_and_sampleable():
    a, b = _fit("my5", delta=0.5), _fit("my5", delta=0.5)
    np.testing.assert_array_equal(a.pmf, b.pmf)
    d1 = a.sample(1000, rng=np.random.default_rng(1))
    d2 = a.sample(1000, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(d1, d2)
    assert a.quantile(0.5) == a.estimate
    assert a.to_dict()["method"] == "dga"


# ---------------------------------------------------------------- six lists
def test_six_lists_hare_runs_all_18154_graphs():
    res = _fit("hare")
    assert res.n_graphs == 18154
    assert res.mass_beyond_grid < 1e-6
    assert res.interval.lower <= res.estimate <= res.interval.upper
    assert abs(sum(res.graph_probabilities) - 1) < 1e-9


@pytest.mark.slow
def test_six_lists_uk_2013_fixed_grid_consistent_with_growing():
    fixed = _fit("uk_2013", n_missing=(0, 54880))
    auto = _fit("uk_2013")
    assert auto.mass_beyond_grid < 1e-6
    assert fixed.estimate == pytest.approx(auto.estimate, abs=2)


# ---------------------------------------------------------------- refusals
def test_two_lists_refused():
    t = CaptureTable.from_mapping({"10": 30, "01": 20, "11": 10})
    with pytest.raises(EstimationError, match="at least 3 lists"):
        GraphicalEstimator().fit(t)


def test_seven_lists_refused():
    cells = {format(k, "07b"): 5 for k in range(1, 128)}
    with pytest.raises(ConfigError, match="max_lists"):
        GraphicalEstimator().fit(CaptureTable.from_mapping(cells))


def test_one_pattern_table_refused():
    t = CaptureTable(lists=("A", "B", "C"), patterns=np.array([[1, 1, 0]]), counts=np.array([9]))
    with pytest.raises(EstimationError):
        GraphicalEstimator().fit(t)


def test_non_overlapping_list_flagged():
    t = CaptureTable.from_mapping({"100": 30, "010": 20, "110": 10, "001": 15})
    res = GraphicalEstimator(prior="negbin", prior_params=(2.0, 50.0)).fit(t)
    assert any(d.code == "dga_no_overlap" for d in res.diagnostics)


@pytest.mark.parametrize(
    "kw",
    [
        {"delta": 0.0},
        {"delta": -1.0},
        {"prior": "negbin"},
        {"prior": "negbin", "prior_params": (1.0, -2.0)},
        {"prior_params": (1.0, 2.0)},
        {"prior": "custom"},
        {"log_prior": np.log},
        {"prior": "flat"},
        {"n_missing": (10, 5)},
        {"n_missing": (0, 10), "n_missing_max": 20},
        {"tail_mass": 0.5},
        {"level": 1.0},
        {"max_lists": 7},
    ],
)
def test_bad_parameters(kw):
    with pytest.raises(ConfigError):
        GraphicalEstimator(**kw)
