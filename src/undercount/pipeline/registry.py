"""From the CLI's words to configured estimators.

``build_estimator("loglinear", select="bic", ...)`` returns an estimator object; the CLI and
the Python API use the same names. Families are imported lazily so that ``undercount --help``
stays fast and a missing optional part fails only when used.

The default log-linear interval
-------------------------------
A log-linear analysis that leaves the interval to the package (no ``--model``; ``--select``
unset or ``bic``; no ``--interval profile/wald``, ``--bootstrap``, ``--strata`` or
``--recipe``) gets the configuration the coverage battery supports (``docs/validation.md``,
"The default estimator, and the 93% target"): the BIC-best hierarchical model over all
models as the point estimate, and a percentile interval from 1,000 bootstrap replicates
that re-run the BIC selection among the 10 best models on the data in each replicate
(Silverman, Chan & Vincent 2024). On more than 5 lists, where BIC over all models
is not offered, the model is chosen by forward stepwise selection and the bootstrap re-runs
the whole stepwise search (Chan, Silverman & Vincent 2021). The BIC default covered the
truth at least as often as the BIC model's conditional profile interval in every simulated
design where both apply but one (within Monte Carlo error there).
The interval is the replicates' equal-tailed percentiles, not BCa [2]_: BCa's bias correction
reads the instability of re-selection as bias (on the battery's ``uk5_bic`` tables whose
selected model extrapolates low, z0 near -0.8 moves both ends further down), and on the
same draws the percentile interval covered ``uk5_bic`` 96% of the time against BCa's 89%,
with a narrower median width and no design covered less (``docs/validation.md``, "BCa or
percentile for the re-selecting bootstrap"). ``--interval bca`` still asks for BCa.
On 3 to 5 lists each replicate is drawn from the fitted cell probabilities and N-hat of
the AIC-best model of the same search, and the unobserved cell is dropped (``--resample
parametric-aic``; Chatterjee & Lahiri 2011 [4]_): a world resampled from the BIC-best
model's own fit lacks the interactions BIC left out, so its replicates cannot show how
often the selection misses them, and AIC's lighter penalty keeps them. The world's ranking
comes from the BIC search's own records, so it costs one more model fit. On the battery's
log-linear designs this narrowed the interval without lowering coverage beyond Monte
Carlo error (``docs/validation.md``, "The default's member drawn from the AIC-best model").
Beyond 5 lists, and with ``--interval smoothed``, which needs a resample of the people,
each replicate resamples the observed people together with ``round(N_hat) - n``
unobserved ones and drops those unobserved (``--resample augmented``, Buckland &
Garthwaite 1991 [3]_), so the number observed varies between replicates as it does between
samples; SparseMSE's resample, which holds it fixed (``--resample nonparametric``), leaves
that part of the variance out, and the percentile interval then falls short where the
lists observe most people (``docs/validation.md``, "The augmented resample").
:func:`resolve_options` fills these in for a given table; ``--bootstrap 0`` or an explicit
``--interval profile``/``wald`` keeps the selected model's conditional interval.

References
----------
.. [1] Silverman, B. W., Chan, L. and Vincent, K. (2024). Bootstrapping multiple systems
   estimates to account for model selection. Statistics and Computing 34:44.
   doi:10.1007/s11222-023-10346-9
.. [2] Efron, B. (1987). Better bootstrap confidence intervals. Journal of the American
   Statistical Association 82(397):171-185. doi:10.1080/01621459.1987.10478410
.. [3] Buckland, S. T. and Garthwaite, P. H. (1991). Quantifying precision of
   mark-recapture estimates using the bootstrap and related methods. Biometrics
   47:255-268. doi:10.2307/2532510
.. [4] Chatterjee, A. and Lahiri, S. N. (2011). Bootstrapping lasso estimators. Journal of
   the American Statistical Association 106(494):608-625. doi:10.1198/jasa.2011.tm10159
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from undercount.core.choices import (
    BootstrapInterval,
    DgaPrior,
    ImputerName,
    IntervalChoice,
    Method,
    Recipe,
    Resample,
    Select,
    choices,
)
from undercount.core.constraints import AtLeast, Open
from undercount.core.estimator import Estimator, check_settings
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError

__all__ = [
    "METHODS",
    "RECIPES",
    "EstimateOptions",
    "applicable_methods",
    "build_estimator",
    "build_recipe",
    "defaults_applied",
    "is_family_model",
    "resolve_options",
    "wrap_estimator",
]

METHODS = choices(Method)

RECIPES = choices(Recipe)
IMPUTERS = choices(ImputerName)
BOOTSTRAP_INTERVALS = choices(BootstrapInterval)

#: The default log-linear interval: replicates, re-selection among the top models, interval.
DEFAULT_BOOTSTRAP = 1000
DEFAULT_NTOP = 10
DEFAULT_BOOTSTRAP_INTERVAL = "percentile"
#: How the default's replicates are drawn on 3 to MAX_LISTS_ALL_MODELS lists.
DEFAULT_BOOTSTRAP_RESAMPLING_ALL_MODELS = "parametric-aic"
#: ... and elsewhere: stepwise selection beyond them, ``--bootstrap N`` alone, and the joint
#: bootstrap over strata, which resamples each stratum's people.
DEFAULT_BOOTSTRAP_RESAMPLING = "augmented"
#: BIC over all hierarchical models is offered for at most this many lists.
MAX_LISTS_ALL_MODELS = 5


def is_family_model(model: str | None) -> bool:
    if model is None:
        return False
    # Lazy: the heterogeneity family loads only when a model is named (module docstring).
    from undercount.models.heterogeneity import MODELS as HETEROGENEITY_MODELS

    return model in HETEROGENEITY_MODELS


@dataclass(frozen=True, kw_only=True)
class EstimateOptions:
    """Options shared by the CLI's ``estimate`` command and :func:`estimate`.

    ``None`` means "the family's default"; :func:`resolve_options` fills in the defaults that
    depend on the table (the log-linear bootstrap). ``bootstrap=0`` turns the bootstrap off.

    The names are the CLI's (``--burn-in`` is ``burn_in``) and the project file's
    ``[estimate]`` keys; the estimators take them under the same names, except that
    ``bootstrap=N`` becomes :class:`~undercount.uncertainty.bootstrap.Bootstrap`'s
    ``replicates=N`` (and the strata's joint-bootstrap ``replicates``). The choices are the
    ``Literal`` types of :mod:`undercount.core.choices`, which the CLI's choices come from.
    """

    method: Method = "loglinear"
    select: Select | None = None
    model: str | None = None
    interval: Literal[IntervalChoice, "posterior"] | None = None
    level: Annotated[float, Open(0, 1)] = 0.95
    max_order: int | None = None
    chains: int | None = None
    iterations: int | None = None
    burn_in: int | None = None
    delta: float | None = None
    prior: DgaPrior | None = None
    prior_params: tuple[float, float] | None = None
    bootstrap: int | None = None
    ntop: Annotated[int, AtLeast(1)] | None = None
    resample: Resample | None = None
    strata: tuple[str, ...] | None = None
    imputations: int | None = None
    imputer: ImputerName | None = None
    reported: float | None = None
    recipe: Recipe | None = None

    def __post_init__(self) -> None:
        check_settings(self)
        if self.bootstrap is not None:
            if self.bootstrap < 0:
                raise ConfigError(
                    f"--bootstrap {self.bootstrap}: give a number of replicates, or 0 for no "
                    "bootstrap"
                )
            if self.bootstrap == 0:
                if self.interval in BOOTSTRAP_INTERVALS:
                    raise ConfigError(
                        f"--interval {self.interval} needs bootstrap replicates; --bootstrap 0 "
                        "turns the bootstrap off"
                    )
                if self.ntop is not None:
                    raise ConfigError("--ntop restricts the bootstrap; --bootstrap 0 turns it off")
                if self.resample is not None:
                    raise ConfigError(
                        "--resample says how bootstrap replicates are drawn; --bootstrap 0 "
                        "turns the bootstrap off")
                if self.strata:
                    raise ConfigError(
                        "--bootstrap 0 cannot be combined with --strata: the total over strata "
                        "takes its interval from a joint bootstrap"
                    )
            elif self.interval not in (None, *BOOTSTRAP_INTERVALS):
                raise ConfigError(
                    f"--interval {self.interval} cannot be combined with --bootstrap; choose "
                    f"one of {', '.join(BOOTSTRAP_INTERVALS)}"
                )
        elif not self.default_bootstrap:
            if self.interval in BOOTSTRAP_INTERVALS:
                raise ConfigError(f"--interval {self.interval} needs --bootstrap N")
            if self.ntop is not None and not self.strata:
                raise ConfigError("--ntop restricts the bootstrap; it needs --bootstrap N")
            if self.resample is not None and not self.strata:
                raise ConfigError(f"--resample {self.resample} needs --bootstrap N")
        if self.parametric and self.strata:
            raise ConfigError(
                f"--resample {self.resample} does not apply to --strata: the joint bootstrap "
                "over strata resamples each stratum's people (augmented or nonparametric)")
        if self.parametric and self.interval == "smoothed":
            raise ConfigError(
                "--interval smoothed needs a resample of the people (--resample augmented or "
                "nonparametric): its variance comes from how each replicate resamples them, "
                f"and --resample {self.resample} draws from a fitted model instead")
        if self.resample == "parametric-aic" and (
                self.method not in ("loglinear", "all") or self.model is not None
                or self.select not in (None, "aic", "bic")):
            raise ConfigError(
                "--resample parametric-aic draws from the AIC-best log-linear model and "
                "re-selects in each replicate: it needs --method loglinear with selection "
                "over all models (no --model; --select bic or aic)")

    @property
    def parametric(self) -> bool:
        """Whether the bootstrap's replicates are drawn from a fitted model."""
        return self.resample in ("parametric", "parametric-aic")

    @property
    def resampling(self) -> Resample:
        """How bootstrap replicates are drawn: ``resample``, or the package's default where
        no table says more (:func:`resolve_options` gives 3 to 5 lists theirs)."""
        return self.resample or DEFAULT_BOOTSTRAP_RESAMPLING

    @property
    def default_bootstrap(self) -> bool:
        """Whether these options leave a log-linear interval to the package default.

        True for ``method="loglinear"`` without ``model``, with ``select`` unset or ``"bic"``,
        ``interval`` unset or a bootstrap interval, ``bootstrap`` unset, and no ``strata`` or
        ``recipe``. Such options get the bootstrap with BIC re-selection among the top models
        (see the module docstring); ``interval``, ``ntop`` and ``resample``, when given,
        adjust it.
        """
        return (
            self.method == "loglinear"
            and self.model is None
            and self.select in (None, "bic")
            and self.interval in (None, *BOOTSTRAP_INTERVALS)
            and self.bootstrap is None
            and not self.strata
            and self.recipe is None
        )


def resolve_options(opts: EstimateOptions, table: CaptureTable) -> EstimateOptions:
    """The options with the package's table-dependent defaults filled in.

    * ``bootstrap=0`` becomes ``None``: no bootstrap, the estimator's own interval.
    * When :attr:`EstimateOptions.default_bootstrap` holds and the table has 3 to
      :data:`MAX_LISTS_ALL_MODELS` lists: ``select="bic"``,
      ``bootstrap=DEFAULT_BOOTSTRAP`` (1,000), ``ntop`` = the one given or
      ``DEFAULT_NTOP`` (10), ``interval`` = the one given or ``"percentile"``, and
      ``resample`` = the one given or ``"parametric-aic"`` (``"augmented"`` with
      ``interval="smoothed"``, which needs a resample of the people).
    * With more lists there is no BIC over all models: the default is forward stepwise
      selection (Chan, Silverman & Vincent 2021; SparseMSE's ``estimatepopulation``) with
      ``bootstrap=DEFAULT_BOOTSTRAP`` replicates that re-run the whole stepwise search,
      ``interval`` as above and ``resample`` the one given or ``"augmented"``.
      ``select="bic"``, ``ntop`` or ``resample="parametric-aic"`` asked for there stop with
      a :class:`~undercount.errors.ConfigError` naming the alternatives.
    * Anything else is returned unchanged (fewer than 3 lists: the log-linear estimator
      itself explains that it needs 3).
    """
    if opts.bootstrap == 0:
        return dataclasses.replace(opts, bootstrap=None)
    if not opts.default_bootstrap or table.n_lists < 3:
        return opts
    if table.n_lists > MAX_LISTS_ALL_MODELS:
        asked = ("--select bic" if opts.select == "bic" else "--ntop" if opts.ntop is not None
                 else "--resample parametric-aic" if opts.resample == "parametric-aic"
                 else None)
        if asked:
            raise ConfigError(
                f"{asked} needs the BIC search "
                f"over all hierarchical models, which is offered for at most "
                f"{MAX_LISTS_ALL_MODELS} lists (this table has {table.n_lists}); leave it out "
                "for the default (stepwise selection, re-run in 1,000 bootstrap replicates), "
                "or use --method lcm or --method dga"
            )
        return dataclasses.replace(
            opts,
            select="stepwise",
            bootstrap=DEFAULT_BOOTSTRAP,
            interval=opts.interval or DEFAULT_BOOTSTRAP_INTERVAL,
            resample=opts.resampling,
        )
    return dataclasses.replace(
        opts,
        select="bic",
        bootstrap=DEFAULT_BOOTSTRAP,
        ntop=opts.ntop if opts.ntop is not None else DEFAULT_NTOP,
        interval=opts.interval or DEFAULT_BOOTSTRAP_INTERVAL,
        resample=opts.resample or (DEFAULT_BOOTSTRAP_RESAMPLING if opts.interval == "smoothed"
                                   else DEFAULT_BOOTSTRAP_RESAMPLING_ALL_MODELS),
    )


def defaults_applied(given: EstimateOptions, resolved: EstimateOptions) -> dict[str, Any]:
    """The options :func:`resolve_options` filled in (for the output and provenance)."""
    return {
        name: getattr(resolved, name)
        for name in ("select", "bootstrap", "ntop", "interval", "resample")
        if getattr(given, name) is None and getattr(resolved, name) is not None
    }


def _drop_none(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None}


def _refuse(opts: EstimateOptions, method: str, *names: str) -> None:
    for name in names:
        if getattr(opts, name) is not None:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} does not apply to --method {method}")


def build_estimator(opts: EstimateOptions, method: str | None = None) -> Estimator:
    """A configured estimator for one method (not ``"all"``), without wrappers."""
    method = method or opts.method
    if opts.interval in BOOTSTRAP_INTERVALS:
        opts = dataclasses.replace(opts, interval=None)
    if method == "loglinear" and is_family_model(opts.model):
        method = "heterogeneity"
    if method == "loglinear":
        _refuse(opts, method, "chains", "iterations", "burn_in", "delta", "prior")
        # Each family is imported where chosen: only the one used loads (module docstring).
        from undercount.models.loglinear import LogLinearEstimator

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
        _refuse(opts, method, "chains", "iterations", "burn_in", "delta", "prior", "max_order")
        select = opts.select
        if select is not None and select not in ("aic", "bic"):
            raise ConfigError(
                f"--select {select} does not apply to --method heterogeneity; use aic or bic"
            )
        # Lazy: only the family used loads (module docstring).
        from undercount.models.heterogeneity import MODELS as HETEROGENEITY_MODELS
        from undercount.models.heterogeneity import HeterogeneityEstimator

        if opts.model is not None and not is_family_model(opts.model):
            raise ConfigError(
                f"--model {opts.model!r} is not a heterogeneity model; choose one of "
                f"{', '.join(HETEROGENEITY_MODELS)}"
            )
        return HeterogeneityEstimator(
            **_drop_none(model=opts.model, select=select, interval=opts.interval, level=opts.level)
        )
    if method == "logitnormal":
        _refuse(opts, method, "chains", "iterations", "burn_in", "delta", "prior", "max_order",
                "select")
        if opts.interval not in (None, "profile"):
            raise ConfigError("--interval does not apply to --method logitnormal (profile "
                              "likelihood)")
        # Lazy: only the family used loads (module docstring).
        from undercount.models.heterogeneity import LOGIT_NORMAL_MODELS, LogitNormalEstimator

        if opts.model is not None and opts.model not in LOGIT_NORMAL_MODELS:
            raise ConfigError(f"--model {opts.model!r} is not a logit-normal model; choose one "
                              f"of {', '.join(LOGIT_NORMAL_MODELS)}")
        return LogitNormalEstimator(**_drop_none(model=opts.model, level=opts.level))
    if method == "lcm-ml":
        _refuse(opts, method, "chains", "iterations", "burn_in", "delta", "prior", "max_order",
                "select", "model")
        if opts.interval not in (None, "profile"):
            raise ConfigError("--interval does not apply to --method lcm-ml (profile "
                              "likelihood)")
        # Lazy: only the family used loads (module docstring).
        from undercount.models.latent_class import FiniteClassEstimator

        return FiniteClassEstimator(level=opts.level)
    if method in ("chapman", "lincoln-petersen"):
        _refuse(opts, method, "chains", "iterations", "burn_in", "delta", "prior", "max_order",
                "select", "model")
        # Lazy: only the family used loads (module docstring).
        from undercount.models.twolist import ChapmanEstimator, LincolnPetersenEstimator

        cls = ChapmanEstimator if method == "chapman" else LincolnPetersenEstimator
        return cls(**_drop_none(interval=opts.interval, level=opts.level))
    if method == "lcm":
        _refuse(opts, method, "select", "model", "max_order", "delta", "prior")
        if opts.interval not in (None, "posterior"):
            raise ConfigError("--interval does not apply to --method lcm (posterior quantiles)")
        # Lazy: only the family used loads (module docstring).
        from undercount.models.latent_class import LatentClassEstimator

        return LatentClassEstimator(
            **_drop_none(
                chains=opts.chains, iterations=opts.iterations, burn_in=opts.burn_in,
                level=opts.level,
            )
        )
    if method == "dga":
        _refuse(opts, method, "select", "model", "max_order", "chains", "iterations", "burn_in")
        if opts.interval not in (None, "posterior"):
            raise ConfigError("--interval does not apply to --method dga (posterior quantiles)")
        # Lazy: only the family used loads (module docstring).
        from undercount.models.graphical import GraphicalEstimator

        return GraphicalEstimator(
            **_drop_none(delta=opts.delta, prior=opts.prior, prior_params=opts.prior_params,
                         level=opts.level)
        )
    if method == "stacked":
        _refuse(opts, method, "select", "model", "max_order", "chains", "iterations", "burn_in",
                "delta", "prior", "ntop")
        if opts.interval is not None:
            raise ConfigError("--interval does not apply to --method stacked (quantiles of "
                              "the pooled mixture)")
        # Lazy: stacking loads its families only when chosen.
        from undercount.uncertainty.stacking import StackedEstimator

        return StackedEstimator(**_drop_none(replicates=opts.bootstrap, level=opts.level))
    raise ConfigError(f"method={method!r} is not allowed; choose one of {', '.join(METHODS)}")


def applicable_methods(table: CaptureTable) -> list[str]:
    """The families that apply to a table, for ``--method all``."""
    if table.n_lists == 2:
        return ["chapman", "lincoln-petersen"]
    methods = ["loglinear", "heterogeneity", "logitnormal", "lcm", "lcm-ml"]
    if table.n_lists <= 6:
        methods.append("dga")
    return methods


def wrap_estimator(
    base: Estimator, opts: EstimateOptions, table: CaptureTable, *, n_jobs: int | None = None
) -> Estimator:
    """Add the bootstrap, stratification and imputation the options ask for.

    ``opts`` should already be resolved (:func:`resolve_options`); this function adds no
    default of its own, so unresolved options give the estimator's conditional interval.
    ``n_jobs`` is the bootstrap's number of worker processes (default: the available cores;
    results do not depend on it).
    """
    if opts.bootstrap == 0:
        opts = dataclasses.replace(opts, bootstrap=None)
    interval = (opts.interval if opts.interval in BOOTSTRAP_INTERVALS
                else DEFAULT_BOOTSTRAP_INTERVAL)
    if not opts.strata:
        if opts.bootstrap is None or type(base).method == "stacked":
            # Stacking spends --bootstrap on its own log-linear member.
            return base
        if type(base).stochastic:
            raise ConfigError(
                f"--bootstrap does not apply to --method {opts.method}: it reports posterior "
                "uncertainty already"
            )
        # Lazy, like the families: loaded only when a bootstrap is asked for.
        from undercount.uncertainty.bootstrap import Bootstrap

        return Bootstrap(estimator=base, replicates=opts.bootstrap, interval=interval,
                         ntop=opts.ntop, level=opts.level, n_jobs=n_jobs,
                         **_resample_settings(base, opts.resampling))
    if opts.bootstrap is not None and interval != "percentile" and opts.interval is not None:
        raise ConfigError("totals over strata use percentile intervals of the joint bootstrap")
    if not table.has_covariates:
        raise ConfigError(
            f"--strata needs covariate columns; {table.source} has none (individual-level data "
            "or an aggregated table with covariate columns)"
        )
    unknown = [c for c in opts.strata if c not in table.covariates.columns]
    if unknown:
        raise ConfigError(
            f"--strata column(s) {unknown} not found; covariates are "
            f"{list(table.covariates.columns)}"
        )
    # Lazy, like the families: strata and imputation load only when asked for.
    from undercount.strata import StratifiedEstimator
    from undercount.uncertainty.imputation import MultipleImputation

    stratified = StratifiedEstimator(
        estimator=base, strata=tuple(opts.strata), replicates=opts.bootstrap or 1000,
        level=opts.level, ntop=opts.ntop, kind=opts.resampling,
    )
    if table.covariates[list(opts.strata)].isna().any().any():
        return MultipleImputation(
            estimator=stratified, columns=tuple(opts.strata), imputations=opts.imputations or 20,
            imputer=opts.imputer or "hotdeck", level=opts.level,
        )
    return stratified


def _resample_settings(base: Estimator, resample: Resample) -> dict[str, Any]:
    """``Bootstrap``'s ``kind`` and ``world`` for ``--resample``. ``parametric-aic`` draws
    from the AIC-best model of the same search: ``base`` choosing by AIC, whose ranking the
    bootstrap takes from ``base``'s own records (``docs/validation.md``, "A resample from
    the AIC-best model")."""
    if resample != "parametric-aic":
        return {"kind": resample}
    if getattr(base, "model", None) is not None or getattr(base, "select", None) not in (
            "aic", "bic"):
        raise ConfigError(
            "--resample parametric-aic needs log-linear selection over all models (--select "
            "bic or aic, at most 5 lists)")
    return {"kind": "parametric", "world": dataclasses.replace(base, select="aic")}


def build_recipe(opts: EstimateOptions) -> Any:
    # Lazy, like the families: the recipe (and what it uses) loads only when asked for.
    from undercount.recipes import Lancet2025

    return Lancet2025(
        **_drop_none(imputations=opts.imputations, imputer=opts.imputer,
                     strata=tuple(opts.strata) if opts.strata else None, level=opts.level)
    )


def estimate_options_problem(method: str, options: dict[str, Any]) -> str | None:
    """Why ``undercount estimate`` would refuse these options, or None.

    A project file's ``[estimate]`` is checked with it (``load_project(...,
    check_estimate=estimate_options_problem)``), so a project file accepts exactly what the
    command line does.
    """
    try:
        opts = EstimateOptions(method=method, **options)
        if method != "all":
            build_estimator(opts)
    except (ConfigError, TypeError) as exc:  # TypeError: a wrongly typed option
        return str(exc)
    return None
