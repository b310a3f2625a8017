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
from undercount.uncertainty.identifying import unobserved_without_interaction

__all__ = [
    "TABLE_DESIGNS",
    "TWIN_DESIGNS",
    "CovariateDesign",
    "Design",
    "FittedModelDesign",
    "LatentClassDesign",
    "LogitNormalDesign",
    "TwinDesign",
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


def _codes_bits(J: int) -> np.ndarray:
    """``(2^J, J)`` booleans: whether cell ``c`` has list ``j`` (the inverse of
    :func:`_codes`)."""
    return (np.arange(2**J)[:, None] >> np.arange(J - 1, -1, -1)[None, :]) & 1 == 1


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

    def cell_probabilities(self) -> np.ndarray:
        """Each person's probability of each of the ``2^J`` capture patterns, in the code
        order of :func:`table_from_full` (pattern 0, on no list, first)."""
        raise NotImplementedError(f"design {self.name!r} gives no cell probabilities")


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

    def cell_probabilities(self) -> np.ndarray:
        r""":math:`\sum_k w_k \prod_j p_{kj}^{s_j} (1 - p_{kj})^{1 - s_j}`, with
        :math:`w_k` the classes' shares of N."""
        J = self.n_lists
        on = _codes_bits(J)
        probs = np.asarray(self.probs, dtype=float)
        per_class = np.prod(np.where(on[None, :, :], probs[:, None, :],
                                     1.0 - probs[:, None, :]), axis=2)
        shares = np.asarray(self.sizes, dtype=float) / sum(self.sizes)
        return shares @ per_class


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

    def cell_probabilities(self) -> np.ndarray:
        return _fitted_truth(self.dataset)[1].copy()


@dataclass(frozen=True)
class TwinDesign(Design):
    r"""A log-linear population whose observed capture patterns are distributed exactly as
    another design's: the lists cannot tell the two apart.

    Take the other design's cell probabilities :math:`\pi_s` and keep the distribution of
    the observed patterns, :math:`q_s = \pi_s / (1 - \pi_0)` for :math:`s \ne 0`. Of all
    populations with that distribution, exactly one has no K-way interaction, the assumption
    of every hierarchical log-linear model (Aleshin-Guendel, Sadinle & Wakefield 2024): its
    unobserved share solves :math:`\lambda_K = 0`,
    :math:`\pi'_0 / (1 - \pi'_0) = \prod_{s \ne 0} q_s^{(-1)^{|s| + 1}}`
    (:func:`~undercount.uncertainty.identifying.unobserved_without_interaction`). The twin
    is that population, its size chosen so that as many people are observed on average,
    :math:`N' = \mathrm{round}(N (1 - \pi_0) / (1 - \pi'_0))`, and each replicate draws
    :math:`\mathrm{Multinomial}(N', \pi')` and drops the unobserved cell.

    Given the number observed, a twin's table has the distribution of a multinomial draw
    from the original's population; only the spread of the number observed differs
    (:meth:`total_variation`). Any interval that covers the original's N in a share
    :math:`a` of its replicates therefore covers the twin's in at most
    :math:`1 - a + d + \delta` of the twin's, where :math:`\delta` is that total variation
    distance and :math:`d` the share of the original's intervals that contain both sizes.
    An estimator cannot cover both well unless its intervals span the two.
    """

    of: Design | None = None

    @property
    def truth(self) -> int:
        return _twin(self._original())[0]

    def sample(self, rng: np.random.Generator) -> CaptureTable:
        total, probs = _twin(self._original())
        full = rng.multinomial(total, probs)
        return table_from_full(full, list_names(self.n_lists), self.name)

    def cell_probabilities(self) -> np.ndarray:
        return _twin(self._original())[1].copy()

    def total_variation(self) -> float:
        r"""The total variation distance between the twin's tables and those of a
        multinomial draw of the original's N from its cell probabilities: the distance
        between :math:`\mathrm{Binomial}(N, 1 - \pi_0)` and
        :math:`\mathrm{Binomial}(N', 1 - \pi'_0)`, since given the number observed the two
        tables have the same distribution. (A latent-class design with fixed class sizes
        draws its tables stratified by class, so its own tables differ from that
        multinomial draw a little.)"""
        from scipy.stats import binom

        original = self._original()
        total, probs = _twin(original)
        k = np.arange(max(total, original.truth) + 1)
        a = binom.pmf(k, original.truth, 1.0 - original.cell_probabilities()[0])
        b = binom.pmf(k, total, 1.0 - probs[0])
        return float(0.5 * np.abs(a - b).sum())

    def _original(self) -> Design:
        if self.of is None:
            raise ValueError(f"twin design {self.name!r} names no original")
        return self.of


@cache
def _twin(original: Design) -> tuple[int, np.ndarray]:
    pi = original.cell_probabilities()
    observed = pi[1:] / pi[1:].sum()
    odds = unobserved_without_interaction(np.concatenate([[0.0], observed]))
    p0 = odds / (1.0 + odds)
    total = round(original.truth * (1.0 - pi[0]) / (1.0 - p0))
    return int(total), np.concatenate([[p0], (1.0 - p0) * observed])


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


def _twin_designs() -> dict[str, Design]:
    designs = {}
    for name in ("negdep4", "sim1"):
        original = TABLE_DESIGNS[name]
        designs[f"{name}_twin"] = TwinDesign(
            f"{name}_twin",
            f"Log-linear twin of {name}: its observed patterns distributed as {name}'s, no "
            f"{original.n_lists}-way interaction, N = {_twin(original)[0]:,}",
            original.n_lists,
            of=original,
        )
    return designs


#: Log-linear twins of the latent-class designs (:class:`TwinDesign`; run only when named).
TWIN_DESIGNS: dict[str, Design] = _twin_designs()
