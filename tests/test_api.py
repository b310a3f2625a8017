"""The public API: what ``import undercount as uc`` offers, pinned, and its match with the CLI."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import subprocess
import sys
import typing

import numpy as np
import pytest

import undercount as uc
from undercount.core.draws import n_draws
from undercount.core.estimator import check_settings
from undercount.models.graphical import GraphicalResult
from undercount.models.latent_class import LatentClassResult
from undercount.uncertainty.bootstrap import BootstrapResult

PUBLIC = [
    "Bootstrap",
    "CaptureTable",
    "ChapmanEstimator",
    "Comparison",
    "ConfigError",
    "DataWarning",
    "Diagnostic",
    "EstimationError",
    "Estimator",
    "GraphicalEstimator",
    "HeterogeneityEstimator",
    "InputError",
    "Interval",
    "LatentClassEstimator",
    "LincolnPetersenEstimator",
    "LinkageAveraging",
    "LinkageError",
    "LogLinearEstimator",
    "MLENotFoundError",
    "MSEResult",
    "ModelRecord",
    "MultipleImputation",
    "NotIdentifiableError",
    "Project",
    "ProjectConfig",
    "StratifiedEstimator",
    "UndercountError",
    "UndercountWarning",
    "__version__",
    "datasets",
    "estimate",
    "link",
    "load_project",
    "read_table",
]

ESTIMATORS = [
    "LogLinearEstimator",
    "HeterogeneityEstimator",
    "ChapmanEstimator",
    "LincolnPetersenEstimator",
    "LatentClassEstimator",
    "GraphicalEstimator",
    "StratifiedEstimator",
    "Bootstrap",
    "MultipleImputation",
]


def test_all_is_pinned_and_every_name_resolves():
    assert sorted(uc.__all__) == sorted(PUBLIC)
    for name in uc.__all__:
        assert getattr(uc, name) is not None, name
    assert set(uc.__all__) <= set(dir(uc))
    with pytest.raises(AttributeError):
        uc.no_such_name  # noqa: B018


@pytest.mark.parametrize("name", ESTIMATORS)
def test_estimators_follow_the_contract(name):
    cls = getattr(uc, name)
    assert issubclass(cls, uc.Estimator)
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen


def test_version_has_one_source():
    from importlib import metadata

    assert uc.__version__ == metadata.version("undercount")


def test_import_is_cheap():
    # The datasets and core types (pandas), the estimator families (scipy, numba) and linkage
    # (splink) load on first use only, so `undercount --help` does not pay for them.
    code = ("import sys, undercount, undercount.cli; "
            "print(sorted(m for m in ('pandas', 'scipy', 'numba', 'splink', "
            "'undercount.models', 'undercount.pipeline', 'undercount.link', "
            "'undercount.datasets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_estimate_takes_the_cli_options_with_the_cli_defaults():
    from undercount.cli import estimate as cli_estimate

    cli = inspect.signature(cli_estimate).parameters
    api = inspect.signature(uc.estimate).parameters
    assert set(cli) - {"format"} == set(api)
    for name, p in cli.items():
        if name == "format":
            continue
        default = p.default.value if isinstance(p.default, enum.Enum) else p.default
        assert api[name].default == default, name


@pytest.fixture(scope="module")
def kosovo_default():
    """``uc.estimate("kosovo", seed=1)``: the CLI default (BIC, 1,000 bootstrap replicates,
    percentile), fitted once for the tests below (about 10 s)."""
    return uc.estimate("kosovo", seed=1)


def test_estimate_matches_the_cli_json(kosovo_default):
    res = kosovo_default
    out = subprocess.run(
        [sys.executable, "-c", "from undercount.cli import main; main()", "estimate", "kosovo",
         "--seed", "1", "--format", "json"],
        capture_output=True, text=True, check=True,
    )
    cli = json.loads(out.stdout)
    api = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert api["estimate"] == cli["estimate"]
    assert api["interval"] == cli["interval"]
    assert api["model"] == cli["model"]
    assert api == cli


def test_default_bootstrap_lcm_and_dga_results_have_draws(kosovo_default):
    # One draws container across families: the bootstrap's replicates, the latent-class
    # posterior and dga's exact posterior on a grid (sampled with an rng) are all
    # `result.draws`, and `n_draws` reads N from each.
    lcm = uc.estimate("spina_bifida_my", method="lcm", chains=2, iterations=2000, burn_in=500,
                      seed=1)
    dga = uc.estimate("spina_bifida_my", method="dga", seed=1)
    assert isinstance(kosovo_default, BootstrapResult)
    assert isinstance(lcm, LatentClassResult) and isinstance(dga, GraphicalResult)
    for res, rng in ((kosovo_default, None), (lcm, None), (dga, np.random.default_rng(1))):
        assert res.draws is not None, res.method
        draws = n_draws(res, rng=rng)
        assert draws is not None and draws.ndim == 1 and draws.size >= 400, res.method
        finite = draws[np.isfinite(draws)]
        assert finite.size > 0.9 * draws.size and np.all(finite >= res.n_observed), res.method
        assert res.interval.lower <= np.median(finite) <= res.interval.upper, res.method
    assert n_draws(kosovo_default).size == 1000  # the CLI's default replicates
    assert n_draws(dga) is None  # an exact posterior has no stored draws without an rng


def test_cli_choices_come_from_the_estimators_literals():
    from undercount import cli
    from undercount.core.estimator import literal_options

    def values(enum_cls):
        return {m.value for m in enum_cls}

    def field_options(cls, name):
        return set(literal_options(typing.get_type_hints(cls, include_extras=True)[name]))

    assert values(cli.Select) == field_options(uc.LogLinearEstimator, "select")
    assert field_options(uc.LogLinearEstimator, "interval") <= values(cli.IntervalKind)
    assert field_options(uc.ChapmanEstimator, "interval") <= values(cli.IntervalKind)
    assert field_options(uc.Bootstrap, "interval") <= values(cli.IntervalKind)
    assert values(cli.Prior) == field_options(uc.GraphicalEstimator, "prior") - {"custom"}
    assert values(cli.ImputerKind) == field_options(uc.MultipleImputation, "imputer")


def test_ranges_are_checked_with_one_message():
    with pytest.raises(uc.ConfigError, match=r"LogLinearEstimator: level=1\.0 is too large; "
                       r"allowed: a number in \(0, 1\)"):
        uc.LogLinearEstimator(level=1.0)
    with pytest.raises(uc.ConfigError, match="Bootstrap: replicates=5 is too few"):
        uc.Bootstrap(estimator=uc.LogLinearEstimator(), replicates=5)
    with pytest.raises(uc.ConfigError, match="LatentClassEstimator: chains=True is not an "
                       "integer"):
        uc.LatentClassEstimator(chains=True)
    with pytest.raises(uc.ConfigError, match=r"GraphicalEstimator: delta=-1\.0 is too small"):
        uc.GraphicalEstimator(delta=-1.0)
    check_settings(uc.LogLinearEstimator(max_order=None))  # None passes where allowed


def test_bootstrap_hooks_are_protocols():
    from undercount.core.estimator import PointEstimator, TopRestrictable

    assert isinstance(uc.LogLinearEstimator(), PointEstimator)
    assert isinstance(uc.LogLinearEstimator(), TopRestrictable)
    assert not isinstance(uc.ChapmanEstimator(), TopRestrictable)
