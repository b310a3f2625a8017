"""undercount: multiple systems estimation for counting victims from incomplete lists.

The whole package from one import::

    import undercount as uc

    res = uc.estimate("kosovo", seed=1)          # exactly `undercount estimate kosovo --seed 1`
    res = uc.estimate("kosovo", method="lcm", chains=2, seed=1)
    table = uc.datasets.load("kosovo")
    fit = uc.Bootstrap(estimator=uc.LogLinearEstimator(select="bic"), replicates=1000,
                       ntop=10).fit(table, rng=np.random.default_rng(1))
    uc.Project("project.toml").run()             # exactly `undercount run project.toml`

:func:`estimate` takes the CLI's options under the CLI's names and defaults (``--burn-in`` is
``burn_in``; ``--bootstrap N`` is ``bootstrap=N``, which the estimators call
``replicates=N``). Every estimator family is a subclass of :class:`Estimator`; ``fit`` never
changes the estimator. Everything but the errors (the datasets, the core types, the
estimator families, the uncertainty wrappers, linkage and the project runner) is imported
on first use (PEP 562), so ``import undercount`` and ``undercount --help`` import neither
pandas nor scipy.
"""

from typing import TYPE_CHECKING, Any

from undercount._lazy import lazy_names
from undercount.errors import (
    ConfigError,
    DataWarning,
    EstimationError,
    InputError,
    LinkageError,
    MLENotFoundError,
    NotIdentifiableError,
    UndercountError,
    UndercountWarning,
)

if TYPE_CHECKING:
    from undercount import datasets
    from undercount.core import (
        CaptureTable,
        Diagnostic,
        Estimator,
        Interval,
        ModelRecord,
        MSEResult,
    )
    from undercount.io import read_table

#: Names imported on first use: module, and the attribute in it (None: the module itself).
_LAZY: dict[str, tuple[str, str | None]] = {
    "datasets": ("undercount.datasets", None),
    **{name: ("undercount.core", name) for name in (
        "CaptureTable", "Diagnostic", "Estimator", "Interval", "ModelRecord", "MSEResult")},
    "read_table": ("undercount.io", "read_table"),
    "estimate": ("undercount.pipeline.estimate", "estimate"),
    "Comparison": ("undercount.pipeline.estimate", "Comparison"),
    "Project": ("undercount.pipeline.runner", "Project"),
    "ProjectConfig": ("undercount.io.project_types", "ProjectConfig"),
    "load_project": ("undercount.io.project", "load_project"),
    "LogLinearEstimator": ("undercount.models.loglinear", "LogLinearEstimator"),
    "HeterogeneityEstimator": ("undercount.models.heterogeneity", "HeterogeneityEstimator"),
    "ChapmanEstimator": ("undercount.models.twolist", "ChapmanEstimator"),
    "LincolnPetersenEstimator": ("undercount.models.twolist", "LincolnPetersenEstimator"),
    "LatentClassEstimator": ("undercount.models.latent_class", "LatentClassEstimator"),
    "GraphicalEstimator": ("undercount.models.graphical", "GraphicalEstimator"),
    "StratifiedEstimator": ("undercount.strata", "StratifiedEstimator"),
    "Bootstrap": ("undercount.uncertainty.bootstrap", "Bootstrap"),
    "MultipleImputation": ("undercount.uncertainty.imputation", "MultipleImputation"),
    "LinkageAveraging": ("undercount.uncertainty.linkage", "LinkageAveraging"),
    "link": ("undercount.link", None),
}

__all__ = [
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


def _version() -> str:
    # The one version source is pyproject.toml's [project] version; the run cache keys on it.
    # Looked up on first use: importlib.metadata costs ~30 ms, a tenth of `--help`.
    from importlib import metadata

    try:
        return metadata.version("undercount")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree not installed
        return "unknown"


_lazy_getattr, __dir__ = lazy_names(__name__, globals(), _LAZY, __all__)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = _version()
        return globals()[name]
    return _lazy_getattr(name)
