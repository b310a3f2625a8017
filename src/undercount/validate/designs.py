r"""Table-level designs of the validation battery: processes with a known N.

A :class:`Design` draws capture tables from a process whose population size N is known (see
:mod:`undercount.validate` for the built-in designs and what each one tests). The record-level
designs, which draw linked records, are in :mod:`undercount.validate.record_designs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from undercount import datasets
from undercount.core.table import CaptureTable, patterns_from_codes
from undercount.models.loglinear import LogLinearEstimator

__all__ = [
    "TABLE_DESIGNS",
    "CovariateDesign",
    "Design",
    "FittedModelDesign",
    "LatentClassDesign",
    "LogitNormalDesign",
    "list_names",
    "table_from_full",
]


def table_from_full(full: np.ndarray, lists: Sequence[str], source: str) -> CaptureTable:
    """A :class:`CaptureTable` from counts over all ``2^J`` cells (cell 0 ignored)."""
    J = len(lists)
    observed = np.flatnonzero(full[1:]) + 1
    return CaptureTable(
        lists=tuple(lists),
        patterns=patterns_from_codes(observed, J),
        counts=np.asarray(full[observed], dtype=np.int64),
        source=source,
    )


def _codes(captured: np.ndarray) -> np.ndarray:
    J = captured.shape[1]
    return captured.astype(np.int64) @ (1 << np.arange(J - 1, -1, -1))


@dataclass(frozen=True)
class Design:
    """A data-generating process with known N."""

    name: str
    description: str
    n_lists: int

    @property
    def truth(self) -> int:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> CaptureTable:
        raise NotImplementedError


@dataclass(frozen=True)
class LatentClassDesign(Design):
    """Fixed class sizes; independent capture within class with probabilities ``probs``."""

    sizes: tuple[int, ...] = ()
    probs: tuple[tuple[float, ...], ...] = ()

    @property
    def truth(self) -> int:
        return int(sum(self.sizes))

    def sample(self, rng: np.random.Generator) -> CaptureTable:
        p = np.repeat(np.asarray(self.probs, dtype=float), self.sizes, axis=0)
        captured = rng.random(p.shape) < p
        full = np.bincount(_codes(captured), minlength=2**self.n_lists)
        return table_from_full(full, list_names(self.n_lists), self.name)


@dataclass(frozen=True)
class CovariateDesign(LatentClassDesign):
    """A latent-class design whose classes are observed: groups of fixed ``sizes`` (named
    ``levels``), independent capture within each group with the group's ``probs``.

    The table carries the group as the covariate ``covariate``: pooled over it, the groups'
    different capture probabilities are heterogeneity (positive dependence between every
    pair of lists, and list-by-group interactions where a list favours one group); within a
    group the lists are independent, so stratifying by it removes the heterogeneity.
    """

    covariate: str = "group"
    levels: tuple[str, ...] = ()

    def sample(self, rng: np.random.Generator) -> CaptureTable:
        J = self.n_lists
        codes, counts, groups = [], [], []
        for level, size, probs in zip(self.levels, self.sizes, self.probs, strict=True):
            captured = rng.random((size, J)) < np.asarray(probs, dtype=float)
            full = np.bincount(_codes(captured), minlength=2**J)
            seen = np.flatnonzero(full[1:]) + 1
            codes.append(seen)
            counts.append(full[seen])
            groups += [level] * len(seen)
        code = np.concatenate(codes)
        return CaptureTable(
            lists=list_names(J),
            patterns=patterns_from_codes(code, J),
            counts=np.concatenate(counts).astype(np.int64),
            covariates=pd.DataFrame({self.covariate: groups}),
            source=self.name,
        )


@dataclass(frozen=True)
class LogitNormalDesign(Design):
    r"""``logit p_ij = logit r_j + sigma * eta_i`` with ``eta_i ~ N(0, 1)``."""

    n: int = 2000
    rates: tuple[float, ...] = ()
    sigma: float = 1.0

    @property
    def truth(self) -> int:
        return self.n

    def sample(self, rng: np.random.Generator) -> CaptureTable:
        r = np.asarray(self.rates)
        eta = rng.standard_normal(self.n)[:, None]
        logit = np.log(r / (1 - r))[None, :] + self.sigma * eta
        p = 1.0 / (1.0 + np.exp(-logit))
        captured = rng.random(p.shape) < p
        full = np.bincount(_codes(captured), minlength=2**self.n_lists)
        return table_from_full(full, list_names(self.n_lists), self.name)


@dataclass(frozen=True)
class FittedModelDesign(Design):
    """Silverman-style: the BIC-best log-linear fit to a shipped dataset is the truth."""

    dataset: str = ""

    @property
    def truth(self) -> int:
        return _fitted_truth(self.dataset)[0]

    def sample(self, rng: np.random.Generator) -> CaptureTable:
        total, probs, lists = _fitted_truth(self.dataset)
        full = rng.multinomial(total, probs)
        return table_from_full(full, lists, self.name)


@cache
def _fitted_truth(dataset: str) -> tuple[int, np.ndarray, tuple[str, ...]]:
    table = datasets.load(dataset).aggregate()
    result = LogLinearEstimator(select="bic").fit(table)
    mu = np.asarray(result.fitted, dtype=float)
    return round(result.estimate), mu / mu.sum(), table.lists


def list_names(J: int) -> tuple[str, ...]:
    """``L1`` .. ``LJ``: the list names of a design's tables."""
    return tuple(f"L{j + 1}" for j in range(J))


def _table_designs() -> dict[str, Design]:
    sim1_probs = (
        (0.033, 0.033, 0.099, 0.132, 0.033),
        (0.660, 0.825, 0.759, 0.990, 0.693),
    )
    designs: list[Design] = [
        LatentClassDesign(
            "sim1",
            "Manrique-Vallier (2016) simulation 1: N = 2,000 in two classes (1,800 hard to "
            "capture, 200 easy), 5 lists",
            5,
            sizes=(1800, 200),
            probs=sim1_probs,
        ),
        LatentClassDesign(
            "negdep4",
            "Negative dependence: N = 2,000 in two equal classes with opposite list "
            "profiles, 4 lists",
            4,
            sizes=(1000, 1000),
            probs=((0.30, 0.25, 0.05, 0.05), (0.05, 0.05, 0.30, 0.25)),
        ),
        LogitNormalDesign(
            "hetero5",
            "Continuous heterogeneity: logit-normal capture (scale 1.5), N = 2,000, 5 lists",
            5,
            n=2000,
            rates=(0.10, 0.15, 0.20, 0.10, 0.25),
            sigma=1.5,
        ),
        LogitNormalDesign(
            "sparse6",
            "Sparse many lists: N = 2,000, 6 lists with rates .04-.12, mild heterogeneity",
            6,
            n=2000,
            rates=(0.04, 0.06, 0.08, 0.10, 0.12, 0.05),
            sigma=0.5,
        ),
        LogitNormalDesign(
            "sparse8",
            "Sparse many lists: N = 2,000, 8 lists with rates .03-.10, mild heterogeneity",
            8,
            n=2000,
            rates=(0.03, 0.05, 0.07, 0.10, 0.04, 0.06, 0.08, 0.05),
            sigma=0.5,
        ),
        CovariateDesign(
            "cov4",
            "Observed two-group heterogeneity: N = 2,000 in two groups of 1,000 (a covariate "
            "on the table), one easy and one hard to capture, independent lists within each "
            "group, 4 lists",
            4,
            levels=("a", "b"),
            sizes=(1000, 1000),
            probs=((0.50, 0.40, 0.45, 0.35), (0.08, 0.12, 0.10, 0.06)),
        ),
        CovariateDesign(
            "cov3age",
            "Observed age groups with list-specific capture: N = 2,500 in three groups of "
            "600, 1,500 and 400 (a covariate on the table), each list favouring another "
            "group, independent lists within each group, 3 lists",
            3,
            covariate="age_group",
            levels=("child", "adult", "elderly"),
            sizes=(600, 1500, 400),
            probs=((0.30, 0.15, 0.25), (0.45, 0.35, 0.30), (0.20, 0.10, 0.40)),
        ),
        FittedModelDesign(
            "kosovo_bic",
            "BIC-best log-linear fit to Kosovo (4 lists) as the truth, multinomial draws",
            4,
            dataset="kosovo",
        ),
        FittedModelDesign(
            "uk5_bic",
            "BIC-best log-linear fit to UK 2013 (5 lists) as the truth, multinomial draws",
            5,
            dataset="uk_2013_5",
        ),
        FittedModelDesign(
            "hiv_bic",
            "BIC-best log-linear fit to HIV Rome (4 lists) as the truth, multinomial draws",
            4,
            dataset="hiv_rome",
        ),
    ]
    return {d.name: d for d in designs}


#: The built-in table-level designs by name.
TABLE_DESIGNS: dict[str, Design] = _table_designs()
