"""The published method of the 2025 Lancet Gaza capture-recapture study, step by step.

Jamaluddine et al. (2025) estimated 64,260 (95% CI 55,298-78,525) traumatic-injury deaths
from three linked lists (hospital, survey, social media). Their method, from the authors'
code (``2.gaza_capture_recapture_code.R``, ``3.bespoke_functions.R``):

1. impute missing age and sex ``m`` times (``mice``, random forests, m = 100);
2. split into 10 strata, age group (0-14, 15-29, 30-44, 45-59, 60+) x sex;
3. in each stratum fit the 8 log-linear models without a three-way term: independence,
   each two-way interaction, each pair, and all three (saturated for three lists);
   each model's bounds are ``n + exp(beta_0 +- 1.96 se)``;
4. drop a model when unlisted/listed > 5, or when its estimate or a bound is not finite;
5. average the estimate **and each bound** with AIC weights ``exp(-dAIC/2)``;
6. per stratum take the **median** over imputations of the estimate and of each bound;
7. sum the stratum estimates, and **sum the stratum bounds**.

Steps 5-7 do not give an interval of any stated level: averaging bounds ignores the
spread between models, medians over imputations ignore the variance between imputations,
and summing bounds treats strata as if they were all at their extremes together. This
recipe reproduces the published figure so that it can be checked; ``undercount estimate
gaza-lancet-2025 --strata age_group,sex`` gives the same data through undercount's defaults
(multiple imputation, a joint bootstrap across strata with model re-selection, Rubin's
rules), and ``docs/gaza-lancet-2025.md`` sets the two side by side.

References
----------
.. [1] Jamaluddine, Z., Abukmail, H., Aly, S., Campbell, O. M. R. and Checchi, F. (2025).
   Traumatic injury mortality in the Gaza Strip from Oct 7, 2023, to June 30, 2024: a
   capture-recapture analysis. Lancet 405:469-477. doi:10.1016/S0140-6736(24)02678-3
.. [2] Rossi, R. (2010). Model averaging of capture-recapture estimates (the AIC weights
   used by the study).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from undercount.core.result import Diagnostic, Interval, ModelRecord, MSEResult
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, EstimationError, InputError
from undercount.models.loglinear import LogLinearEstimator
from undercount.uncertainty.imputation import (
    ChainedForestImputer,
    HotDeckImputer,
    individual_frame,
)

__all__ = ["LANCET_MODELS", "Lancet2025", "Lancet2025Result", "stratum_average"]

#: The 8 models of the study, for three lists.
LANCET_MODELS = (
    "[1,2,3]", "[12,3]", "[13,2]", "[23,1]", "[12,13]", "[12,23]", "[13,23]", "[12,13,23]",
)

PUBLISHED = {"estimate": 64260.0, "interval": (55298.0, 78525.0), "reported": 37877}


@dataclass(frozen=True)
class StratumAverage:
    estimate: float
    lower: float
    upper: float
    weights: dict[str, float]
    excluded: dict[str, str]


def stratum_average(table: CaptureTable, plausibility: float = 5.0) -> StratumAverage:
    """Steps 3-5 for one stratum: fit the 8 models, exclude, AIC-average estimate and bounds."""
    fits = []
    excluded: dict[str, str] = {}
    n = table.n_observed
    for spec in LANCET_MODELS:
        try:
            res = LogLinearEstimator(model=spec, interval="wald").fit(table)
        except EstimationError as exc:
            excluded[spec] = str(exc).splitlines()[0]
            continue
        lo, hi = res.interval.lower, res.interval.upper
        if not all(math.isfinite(v) for v in (res.estimate, lo, hi)):
            excluded[spec] = "estimate or bound not finite"
            continue
        if (res.estimate - n) / n > plausibility:
            excluded[spec] = f"unlisted/listed = {(res.estimate - n) / n:.1f} > {plausibility:g}"
            continue
        aic = next(m.aic for m in res.models if m.usable)
        fits.append((spec, res.estimate, lo, hi, aic))
    if not fits:
        raise EstimationError(f"{table.source}: every model was excluded: {excluded}")
    aics = np.array([f[4] for f in fits])
    w = np.exp(-(aics - aics.min()) / 2)
    w /= w.sum()
    est = float(np.dot(w, [f[1] for f in fits]))
    lower = float(np.dot(w, [f[2] for f in fits]))
    upper = float(np.dot(w, [f[3] for f in fits]))
    return StratumAverage(est, lower, upper, {f[0]: float(x) for f, x in zip(fits, w,
                                                                              strict=True)},
                          excluded)


@dataclass(frozen=True, kw_only=True, eq=False)
class Lancet2025Result(MSEResult):
    """The published method's figure (:class:`Lancet2025`).

    Attributes
    ----------
    strata_table : pandas.DataFrame
        Per stratum: the stratum columns, the medians over imputations of the AIC-averaged
        ``estimate``, ``lower`` and ``upper``, and ``imputations``. JSON: a list of records.
    published : dict
        The study's published ``estimate`` and ``interval``.
    relative_difference : float
        This estimate over the published one, minus 1.
    records_imputed : int
        Records lacking a stratum value.

    The interval (summed AIC-averaged bounds) has no stated level, so there is no
    :meth:`conf_int`.
    """

    strata_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    published: dict[str, Any] = field(default_factory=dict)
    relative_difference: float = math.nan
    records_imputed: int = 0

    methods: ClassVar[tuple[str, ...]] = ("lancet2025 recipe",)
    json_fields: ClassVar[tuple[str, ...]] = (
        "strata_table", "published", "relative_difference", "records_imputed",
    )

    @classmethod
    def family_kwargs(cls, data: dict[str, Any]) -> dict[str, Any]:
        kwargs = super().family_kwargs(data)
        kwargs["strata_table"] = pd.DataFrame(kwargs.get("strata_table", []))
        return kwargs


@dataclass(frozen=True, kw_only=True)
class Lancet2025:
    """The published method (see the module docstring).

    Parameters
    ----------
    imputations : int
        Imputations, Rubin's *m* (the study used 100; the CLI's ``--imputations``).
    imputer : {"chained-forest", "hotdeck"}
        ``chained-forest`` follows the study's ``mice`` random forests (on age groups here,
        since the shipped table has age groups, not single years).
    strata : tuple of str
        Stratum columns; the study's are age group and sex.
    plausibility : float
        A model is excluded when unlisted/listed exceeds this (the study's 5).
    """

    imputations: int = 100
    imputer: Literal["chained-forest", "hotdeck"] = "chained-forest"
    strata: tuple[str, ...] = ("age_group", "sex")
    plausibility: float = 5.0
    level: float = 0.95

    def fit(self, table: CaptureTable, *, rng: np.random.Generator) -> MSEResult:
        if table.n_lists != 3:
            raise ConfigError("the lancet2025 recipe is defined for three lists")
        if not table.has_covariates:
            raise InputError(f"{table.source}: the recipe needs the stratum columns")
        missing_cols = [c for c in self.strata if c not in table.covariates.columns]
        if missing_cols:
            raise InputError(f"{table.source}: stratum column(s) {missing_cols} not found")
        if self.imputations < 1:
            raise ConfigError(f"imputations={self.imputations} must be at least 1")
        frame = individual_frame(table)
        needs = frame[list(self.strata)].isna().any(axis=1)
        imputer = ChainedForestImputer() if self.imputer == "chained-forest" else HotDeckImputer()
        per_stratum: dict[tuple, list[StratumAverage]] = {}
        for stream in rng.spawn(self.imputations):
            imputed = (
                imputer.impute(frame, table.lists, list(self.strata), stream)
                if needs.any() else frame
            )
            t = CaptureTable.from_individuals(
                imputed[[*table.lists, *self.strata]], lists=list(table.lists),
                source=table.source,
            )
            for key, st in t.by_stratum(list(self.strata)).items():
                per_stratum.setdefault(key, []).append(stratum_average(st, self.plausibility))
        rows = []
        for key, avgs in sorted(per_stratum.items(), key=lambda kv: tuple(map(str, kv[0]))):
            rows.append({
                **dict(zip(self.strata, key, strict=True)),
                "estimate": float(np.median([a.estimate for a in avgs])),
                "lower": float(np.median([a.lower for a in avgs])),
                "upper": float(np.median([a.upper for a in avgs])),
                "imputations": len(avgs),
            })
        strata_table = pd.DataFrame(rows)
        total = float(strata_table["estimate"].sum())
        lo, hi = float(strata_table["lower"].sum()), float(strata_table["upper"].sum())
        records = tuple(
            ModelRecord(
                model=", ".join(f"{c}={r[c]}" for c in self.strata),
                estimate=r["estimate"],
                interval=Interval(r["lower"], r["upper"], self.level, "AIC-weighted bounds"),
            )
            for r in rows
        )
        return Lancet2025Result(
            method="lancet2025 recipe",
            model="AIC-weighted average of 8 log-linear models per stratum",
            estimate=total,
            interval=Interval(lo, hi, self.level, "sum of AIC-averaged stratum bounds"),
            n_observed=table.n_observed,
            lists=table.lists,
            models=records,
            diagnostics=(
                Diagnostic(
                    "published_method",
                    "this reproduces the published method, whose interval is the sum of "
                    "AIC-averaged stratum bounds with medians over imputations: it has no "
                    "stated coverage. For a valid interval drop --recipe and use --strata "
                    "age_group,sex (multiple imputation, joint bootstrap, Rubin's rules); see "
                    "docs/gaza-lancet-2025.md",
                ),
            ),
            settings={"recipe": "lancet2025", "imputations": self.imputations,
                      "imputer": self.imputer, "strata": list(self.strata),
                      "plausibility": self.plausibility},
            assumptions=(
                "No three-way interaction among hospital, survey and social-media lists "
                "(untestable with three lists).",
                "Within each age x sex stratum the lists' dependence is the same for people on "
                "no list as for people on at least one.",
                "Missing age and sex are missing at random given the capture pattern (and, "
                "for the forest imputer, the other covariates).",
            ),
            strata_table=strata_table,
            published={"estimate": PUBLISHED["estimate"],
                       "interval": list(PUBLISHED["interval"])},
            relative_difference=total / PUBLISHED["estimate"] - 1,
            records_imputed=int(needs.sum()),
        )
