"""From the CLI's words to configured estimators.

``build_estimator("loglinear", select="bic", ...)`` returns an estimator object; the CLI and
the Python API use the same names. Families are imported lazily so that ``undercount --help``
stays fast and a missing optional part fails only when used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from undercount.core.estimator import Estimator
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError

__all__ = [
    "METHODS",
    "EstimateOptions",
    "applicable_methods",
    "build_estimator",
    "is_family_model",
]

METHODS = ("loglinear", "chapman", "lincoln-petersen", "heterogeneity", "lcm", "dga", "all")

#: Rcapture's closed-population family names (Baillargeon & Rivest 2007).
HETEROGENEITY_MODELS = (
    "M0",
    "Mt",
    "Mh-Chao",
    "Mh-Poisson2",
    "Mh-Darroch",
    "Mh-Gamma3.5",
    "Mth-Chao",
    "Mth-Poisson2",
    "Mth-Darroch",
    "Mth-Gamma3.5",
)


def is_family_model(model: str | None) -> bool:
    return model is not None and model in HETEROGENEITY_MODELS


@dataclass(frozen=True, kw_only=True)
class EstimateOptions:
    """Options shared by the CLI's ``estimate`` command and :func:`estimate`.

    ``None`` means "the family's default".
    """

    method: str = "loglinear"
    select: str | None = None
    model: str | None = None
    interval: str | None = None
    level: float = 0.95
    max_order: int | None = None
    chains: int | None = None
    iterations: int | None = None
    burn_in: int | None = None
    delta: float | None = None
    prior: str | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(
                f"method={self.method!r} is not allowed; choose one of {', '.join(METHODS)}"
            )
        if not 0 < self.level < 1:
            raise ConfigError(f"level={self.level!r} must be strictly between 0 and 1")


def _drop_none(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None}


def _refuse(opts: EstimateOptions, method: str, *names: str) -> None:
    for name in names:
        if getattr(opts, name) is not None:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} does not apply to --method {method}")


def build_estimator(opts: EstimateOptions, method: str | None = None) -> Estimator:
    """A configured estimator for one method (not ``"all"``)."""
    method = method or opts.method
    if method == "loglinear" and is_family_model(opts.model):
        method = "heterogeneity"
    if method == "loglinear":
        from undercount.models.loglinear import LogLinearEstimator

        _refuse(opts, method, "chains", "iterations", "burn_in", "delta", "prior")
        return LogLinearEstimator(
            **_drop_none(
                model=opts.model,
                select=opts.select,
                max_order=opts.max_order,
                interval=opts.interval,
                level=opts.level,
            )
        )
    if method == "heterogeneity":
        from undercount.models.heterogeneity import HeterogeneityEstimator

        _refuse(opts, method, "chains", "iterations", "burn_in", "delta", "prior", "max_order")
        select = opts.select
        if select is not None and select not in ("aic", "bic"):
            raise ConfigError(
                f"--select {select} does not apply to --method heterogeneity; use aic or bic"
            )
        if opts.model is not None and not is_family_model(opts.model):
            raise ConfigError(
                f"--model {opts.model!r} is not a heterogeneity model; choose one of "
                f"{', '.join(HETEROGENEITY_MODELS)}"
            )
        return HeterogeneityEstimator(
            **_drop_none(model=opts.model, select=select, interval=opts.interval, level=opts.level)
        )
    if method in ("chapman", "lincoln-petersen"):
        from undercount.models.twolist import ChapmanEstimator, LincolnPetersenEstimator

        _refuse(opts, method, "chains", "iterations", "burn_in", "delta", "prior", "max_order",
                "select", "model")
        cls = ChapmanEstimator if method == "chapman" else LincolnPetersenEstimator
        return cls(**_drop_none(interval=opts.interval, level=opts.level))
    if method == "lcm":
        from undercount.models.latent_class import LatentClassEstimator

        _refuse(opts, method, "select", "model", "max_order", "delta", "prior")
        if opts.interval not in (None, "posterior"):
            raise ConfigError("--interval does not apply to --method lcm (posterior quantiles)")
        return LatentClassEstimator(
            **_drop_none(
                n_chains=opts.chains, n_iter=opts.iterations, burn_in=opts.burn_in,
                level=opts.level,
            )
        )
    if method == "dga":
        from undercount.models.graphical import GraphicalEstimator

        _refuse(opts, method, "select", "model", "max_order", "chains", "iterations", "burn_in")
        if opts.interval not in (None, "posterior"):
            raise ConfigError("--interval does not apply to --method dga (posterior quantiles)")
        return GraphicalEstimator(
            **_drop_none(delta=opts.delta, prior=opts.prior, level=opts.level)
        )
    raise ConfigError(f"method={method!r} is not allowed; choose one of {', '.join(METHODS)}")


def applicable_methods(table: CaptureTable) -> list[str]:
    """The families that apply to a table, for ``--method all``."""
    if table.n_lists == 2:
        return ["chapman", "lincoln-petersen"]
    methods = ["loglinear", "heterogeneity", "lcm"]
    if table.n_lists <= 6:
        methods.append("dga")
    return methods
