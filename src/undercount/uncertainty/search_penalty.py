r"""What a model search spent: the effective number of parameters of a selected log-linear
model, counting the search that chose it.

The AIC of a selected log-linear model, :math:`-2\hat\ell + 2k`, counts the :math:`k`
parameters of the model kept. The search that chose it tried many more, and kept the terms
that happened to fit this sample's noise, so :math:`-2\hat\ell` is lower than a fixed model
with :math:`k` parameters would reach, and the AIC is optimistic beside a family that was
not searched (the logit-normal model has one parameter for all the dependence between the
lists). On eight sparse lists a forward stepwise search tries 28 pairwise interactions first.

**The covariance penalty.** For a model of the observed capture histories, with counts
:math:`y_c` in the observed cells :math:`c` and conditional cell probabilities
:math:`\hat\pi_c(y)` fitted *by the whole procedure, search included*, the expected excess of
the in-sample log-likelihood over that of new data is

.. math::

    \mathrm{E}\Big[\sum_c y_c \log\hat\pi_c(y)\Big]
      - \mathrm{E}\Big[\sum_c y^{\mathrm{new}}_c \log\hat\pi_c(y)\Big]
      = \sum_c \mathrm{cov}\big(y_c, \log\hat\pi_c(y)\big)
      \approx \sum_c \frac{\mathrm{cov}(y_c, \hat\mu_c(y))}{\mu_c} =: \mathrm{df},

with :math:`\hat\mu_c = n\hat\pi_c`, to first order in :math:`\log\hat\mu_c` (Efron 2004,
the covariance penalty; Ye 1998, generalized degrees of freedom). For a fixed model fitted by
maximum likelihood df is :math:`k`; for a search it is larger, by what the search spent.
:math:`\mathrm{AIC} = -2\hat\ell + 2\,\mathrm{df}` is then comparable across families. The
first-order form keeps cells the model fits at zero (an interaction at the boundary) finite.

**Estimate.** ``replicates`` resamples of the observed people,
:math:`y^* \sim \mathrm{Multinomial}(n, y/n)` (so :math:`\mu_c = y_c`), each refitted by
the same procedure; df is the sum over observed cells of the resamples' covariance of
:math:`y^*_c` and :math:`\hat\mu^*_c`, divided by :math:`y_c`: Efron's parametric
bootstrap estimate of the covariance penalty, drawn from the saturated model of the observed
cells (he resamples from a model bigger than the one selected). At 400 resamples its Monte Carlo
standard deviation is 0.2 to 0.35 parameters (six seeds each on a sparse8 and a kosovo_bic
table of the validation battery). The procedure is the one the default's bootstrap re-runs: the
forward stepwise search beyond 5 lists; on up to 5 lists re-selection among the 10 best
models by BIC, which spends less than the search over all models (so the penalty there is a
lower bound).

**Where it is used.**

* Beyond 5 lists, in the default's weights
  (:func:`undercount.uncertainty.crossfamily.cross_family`): the stepwise search's AIC and
  BIC add :math:`2(\mathrm{df} - k)`, so the default's estimate and interval depend on it
  there.
* In the family check (:func:`undercount.uncertainty.families.supported_reach`), which asks
  whether another family describes the people observed about as well as the best one, by
  AIC. Where the best is a log-linear search, its AIC there counts ``df`` instead of the
  parameters kept (beyond 5 lists, the penalty the weights counted). On 3 to 5 lists the
  weights count the parameters kept, and only the check uses the penalty.

The latent-class family's choice between 2 and 3 classes is a search too, over two models;
it is not penalised: its 20 starts for 2 and 3 classes take about 0.5 s of one core a fit on
eight sparse lists, minutes over the resamples.

References
----------
.. [1] Efron, B. (2004). The estimation of prediction error: covariance penalties and
   cross-validation. JASA 99:619-632. doi:10.1198/016214504000000692
.. [2] Ye, J. (1998). On measuring and correcting the effects of data mining and model
   selection. JASA 93:120-131. doi:10.1080/01621459.1998.10474094
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from undercount.core.estimator import Estimator
from undercount.core.parallel import available_cores, map_tasks
from undercount.core.result import MSEResult
from undercount.core.table import CaptureTable, patterns_from_codes
from undercount.errors import EstimationError
from undercount.uncertainty.bootstrap import replicate_table

__all__ = [
    "SEARCH_REPLICATES",
    "SearchPenalty",
    "effective_parameters",
    "is_stepwise_search",
    "search_penalty",
    "search_procedure",
]

#: Resamples behind the estimate of the search's effective parameters.
SEARCH_REPLICATES = 400


@dataclass(frozen=True)
class SearchPenalty:
    """The effective parameters of a selected log-linear model (module docstring).

    Attributes
    ----------
    family : str
        ``"method: model"`` of the result searched.
    kept : int
        Parameters of the model kept, as its AIC counts them.
    df : float
        Effective parameters of the search that chose it.
    replicates, failed : int
        Resamples drawn, and those with no fit (left out).
    """

    family: str
    kept: int
    df: float
    replicates: int
    failed: int

    @property
    def extra(self) -> float:
        """What the AIC adds for the search: ``2 (df - kept)``, never below 0 (the Monte
        Carlo error must not make a search cheaper than the model it kept)."""
        return 2.0 * max(self.df - self.kept, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "kept": self.kept, "df": self.df,
                "aic_added": self.extra, "replicates": self.replicates,
                "failed": self.failed, "method": "covariance penalty (Efron 2004)"}


def _search_settings(result: MSEResult) -> dict[str, Any] | None:
    """The settings of the log-linear search behind ``result`` (a bootstrap's base), or
    None when no log-linear search chose its model."""
    from undercount.models.loglinear import LogLinearResult
    from undercount.uncertainty.bootstrap import BootstrapResult

    base = result.base if isinstance(result, BootstrapResult) else result
    if not isinstance(base, LogLinearResult) or base.fitted is None:
        return None
    settings = dict(base.settings)
    if settings.get("model") is not None or settings.get("select") not in (
            "aic", "bic", "stepwise"):
        return None
    return settings


def is_stepwise_search(result: MSEResult) -> bool:
    """Whether a forward stepwise search chose ``result``'s log-linear model: the search
    the resamples of :func:`search_procedure` re-run whole."""
    settings = _search_settings(result)
    return settings is not None and settings["select"] == "stepwise"


def search_procedure(
    result: MSEResult, table: CaptureTable, ntop: int | None = None,
) -> Estimator | None:
    """The log-linear search that produced ``result`` as the default's bootstrap re-runs it
    (re-selection among its ``ntop`` best models, or the stepwise search), with a Wald
    interval (the resamples need only the fit); None when ``result`` is no log-linear
    search. ``ntop`` is the bootstrap's where ``result`` does not carry it (a stratum of
    the stratified default, whose bootstrap is joint)."""
    from undercount.models.loglinear import LogLinearEstimator
    from undercount.uncertainty.bootstrap import BootstrapResult

    settings = _search_settings(result)
    if settings is None:
        return None
    est = LogLinearEstimator(**settings)
    if isinstance(result, BootstrapResult):
        ntop = result.ntop
    if ntop and est.select != "stepwise":
        base = result.base if isinstance(result, BootstrapResult) else result
        est = est.restrict_to_top(table, ntop, fitted=base)
    return dataclasses.replace(est, interval="wald")


def _fitted_counts(args: tuple[Estimator, tuple[str, ...], np.ndarray, np.ndarray]) -> np.ndarray:
    """Each resample's fitted counts of the observed cells given capture (NaN rows where
    the procedure has no fit)."""
    est, lists, codes, rows = args
    patterns = patterns_from_codes(codes, len(lists))
    out = np.full(rows.shape, np.nan)
    for i, counts in enumerate(rows):
        keep = counts > 0
        table = replicate_table(lists, patterns[keep], counts[keep])
        if table is None:
            continue
        try:
            fitted = getattr(est.fit(table), "fitted", None)
        except EstimationError:
            continue
        if fitted is None:
            continue
        mu = np.asarray(fitted, dtype=float)[codes]
        out[i] = counts.sum() * mu / mu.sum()
    return out


def effective_parameters(
    procedure: Estimator, table: CaptureTable, rng: np.random.Generator, *,
    replicates: int = SEARCH_REPLICATES, n_jobs: int | None = None,
) -> tuple[float, int] | None:
    """The covariance-penalty estimate of the parameters ``procedure`` spends on ``table``
    (module docstring), and the number of resamples it could not fit (left out); None when
    fewer than half could be fitted."""
    agg = table.aggregate()
    full = agg.full_counts()
    codes = np.flatnonzero(full[1:]) + 1
    y = full[codes].astype(float)
    draws = rng.multinomial(int(y.sum()), y / y.sum(), size=replicates)
    jobs = n_jobs or available_cores()
    chunks = np.array_split(draws, max(1, min(jobs * 4, replicates)))
    fitted = np.concatenate(map_tasks(
        _fitted_counts, [(procedure, agg.lists, codes, c) for c in chunks], jobs))
    ok = np.isfinite(fitted).all(axis=1)
    if ok.sum() < max(replicates // 2, 2):
        return None
    ys, mus = draws[ok].astype(float), fitted[ok]
    cov = ((ys - ys.mean(axis=0)) * (mus - mus.mean(axis=0))).sum(axis=0) / (len(ys) - 1)
    return float((cov / y).sum()), int((~ok).sum())


def search_penalty(
    result: MSEResult, table: CaptureTable, kept: int, rng: np.random.Generator, *,
    ntop: int | None = None, replicates: int = SEARCH_REPLICATES, n_jobs: int | None = None,
) -> SearchPenalty | None:
    """The covariance penalty of the search behind ``result`` on ``table`` (``ntop`` as in
    :func:`search_procedure`), whose model kept ``kept`` parameters; None when ``result`` is
    no log-linear search or fewer than half the resamples could be fitted."""
    from undercount.uncertainty.families import label

    procedure = search_procedure(result, table.aggregate(), ntop)
    spent = None if procedure is None else effective_parameters(
        procedure, table, rng, replicates=replicates, n_jobs=n_jobs)
    if spent is None:
        return None
    return SearchPenalty(label(result), int(kept), spent[0], replicates, spent[1])
