r"""Simulation battery: do the estimators' intervals cover the truth?

Each *design* draws capture tables (or linked records) from a process whose population size
N is known; each *family* of estimators is run on every replicate; the battery reports, per
design and family, the bias, the RMSE, the coverage of the nominal 95% interval, the median
interval width and how many replicates failed (raised
:class:`~undercount.errors.EstimationError`) or errored otherwise. Failures are counted and
reported, never dropped silently: ``coverage`` is computed over the replicates that produced
an interval, and ``coverage_all`` counts every failure as a miss.

Designs
-------
Latent-class designs (table level): each of N people belongs to a class with fixed size and
is captured by list j independently with the class's probability :math:`p_{kj}`.

* ``sim1`` -- Manrique-Vallier (2016), simulation 1 (the HRDAG benchmark): N = 2,000; 1,800
  people with probabilities (.033, .033, .099, .132, .033) and 200 with (.660, .825, .759,
  .990, .693).
* ``negdep4`` -- negative list dependence: N = 2,000 in two equal classes with opposite
  profiles (.30, .25, .05, .05) and (.05, .05, .30, .25), so lists 1-2 and 3-4 recruit from
  different halves of the population.
* ``hetero5`` -- continuous heterogeneity: N = 2,000, :math:`\operatorname{logit} p_{ij} =
  \operatorname{logit} r_j + 1.5\,\eta_i`, :math:`\eta_i \sim N(0, 1)`, r = (.10, .15, .20,
  .10, .25) (a logit-normal :math:`M_{th}`, positive dependence between all lists).
* ``sparse6`` / ``sparse8`` -- many sparse lists: N = 2,000, r_j between .04 and .12,
  heterogeneity scale 0.5.

Fitted-model designs (Silverman-style): the BIC-best log-linear model is fitted to a shipped
dataset; its fitted cell probabilities over all :math:`2^J` cells (the unobserved one
included) and :math:`\hat N` are the truth; each replicate draws
:math:`\mathrm{Multinomial}(\mathrm{round}(\hat N), \hat p)` and drops the unobserved cell
(``kosovo_bic``, ``uk5_bic``, ``hiv_bic``). The truth lies inside the log-linear family here,
so these designs favour the log-linear estimators; they test inference *given* that
selection can find the model.

Linkage designs (``link*``): records with known identity are scored by a calibrated
probabilistic matcher, see :class:`LinkageDesign`; the linkage-fixed families run on the
table from thresholded clustering, the ``linkavg-*`` families average over plausible
linkages (:class:`~undercount.uncertainty.linkage.LinkageAveraging`).

End-to-end designs (``e2e*``): the lists are simulated with names, dates and IDs by the
simulator behind ``undercount simulate`` and linked by the package's own Splink pipeline;
the fixed-linkage families run on its clusters at the pipeline's threshold, the
``linkavg-*`` families on its scored pairs, see :class:`EndToEndDesign`. ``e2e3``: N =
1,500, 3 lists, the default (MoH-measured) recording noise; ``e2e4noisy``: N = 1,500, 4
lists, heavy name, date and ID noise, missing IDs and large sibling groups. Capture is
independent and homogeneous in both (:math:`M_t` holds), so only linkage can go wrong.
Linkage and end-to-end designs run only when named (``--designs``).

Families
--------
``bic`` (log-linear, BIC-best model, conditional multinomial profile interval; J <= 5),
``bootstrap`` (the same with nonparametric bootstrap re-selection among the 10 best models,
BCa; Silverman, Chan & Vincent 2024), ``stepwise`` (forward stepwise, profile interval;
Chan, Silverman & Vincent 2021), ``rcapture`` (best-AIC of Rcapture's M0/Mt/Mh/Mth models,
profile interval), ``lcm`` (LCMCR, posterior median and equal-tailed interval), ``dga``
(decomposable graphical model averaging; J <= 6). A family that does not apply to a design
(BIC beyond 5 lists, dga beyond 6) is reported as ``n/a``, not as a failure.

Record-level families (record designs only; :data:`LINKAGE_FAMILIES`), for each base
``stepwise``, ``rcapture``, ``dga`` and ``lcm``: ``linkavg-<base>`` (average over plausible
linkages, the match probabilities taken as known), ``linkavg-em-<base>`` (the same with a
bootstrap of the Fellegi--Sunter parameters refitted by EM on the pairs' comparison levels;
``n/a`` on the ``link*`` designs, whose pairs have none), ``linkavg-cal-<base>`` (the
probabilities first calibrated on a simulated, perfect clerical review of
``BatteryOptions.review_pairs`` pairs) and ``truth-<base>`` (the base family on the table of
the true linkage: estimator error without linkage error). See :func:`_linkage_family`.

Seeding
-------
Replicate r of design d draws its table from the stream
``SeedSequence(seed, spawn_key=(crc32(d), r, 0))`` and family f uses
``SeedSequence(seed, spawn_key=(crc32(d), r, 1, crc32(f)))``: results depend only on the
seed, the design, the replicate and the family -- not on which other designs or families
are run, nor on the number of worker processes.

References
----------
.. [1] Manrique-Vallier, D. (2016). Bayesian population size estimation using Dirichlet
   process mixtures. Biometrics 72:1246-1254. doi:10.1111/biom.12502
.. [2] Silverman, B. W., Chan, L. and Vincent, K. (2024). Bootstrapping multiple systems
   estimates to account for model selection. Statistics and Computing 34:44.
   doi:10.1007/s11222-023-10346-9
.. [3] Chan, L., Silverman, B. W. and Vincent, K. (2021). Multiple systems estimation for
   sparse capture data: inferential challenges when there are nonoverlapping lists. JASA
   116:1297-1306. doi:10.1080/01621459.2019.1708748
"""

from __future__ import annotations

import logging
import math
import os
import time
import traceback
import zlib
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from undercount.core.parallel import process_pool
from undercount.core.table import CaptureTable, _patterns_from_codes
from undercount.errors import ConfigError, EstimationError
from undercount.simulate.lists import ListSpec, NoiseSpec

__all__ = [
    "DESIGNS",
    "FAMILIES",
    "BatteryOptions",
    "Design",
    "EndToEndDesign",
    "FittedModelDesign",
    "LatentClassDesign",
    "LinkageDesign",
    "LogitNormalDesign",
    "RecordDesign",
    "describe_linkage_family",
    "load_replicates",
    "run_battery",
    "summarise",
    "summary_markdown",
    "write_outputs",
]


def _key(name: str) -> int:
    return zlib.crc32(name.encode())


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def table_from_full(full: np.ndarray, lists: Sequence[str], source: str) -> CaptureTable:
    """A :class:`CaptureTable` from counts over all ``2^J`` cells (cell 0 ignored)."""
    J = len(lists)
    observed = np.flatnonzero(full[1:]) + 1
    return CaptureTable(
        lists=tuple(lists),
        patterns=_patterns_from_codes(observed, J),
        counts=np.asarray(full[observed], dtype=np.int64),
        source=source,
    )


def _codes(captured: np.ndarray) -> np.ndarray:
    J = captured.shape[1]
    return captured.astype(np.int64) @ (1 << np.arange(J - 1, -1, -1))


# ------------------------------------------------------------------------------- designs
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
        return table_from_full(full, _list_names(self.n_lists), self.name)


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
        return table_from_full(full, _list_names(self.n_lists), self.name)


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
    from undercount import datasets
    from undercount.models.loglinear import LogLinearEstimator

    table = datasets.load(dataset).aggregate()
    result = LogLinearEstimator(select="bic").fit(table)
    mu = np.asarray(result.extra["fitted"], dtype=float)
    return round(result.estimate), mu / mu.sum(), table.lists


def _list_names(J: int) -> tuple[str, ...]:
    return tuple(f"L{j + 1}" for j in range(J))


@dataclass(frozen=True)
class RecordDesign(Design):
    """A design that draws linked *records*, not only a table.

    :meth:`sample_linkage` returns ``(fixed_table, records, pairs)``: the capture table of
    the fixed (thresholded) linkage, one row per record (``uid`` = row number, ``list``,
    ``person`` = true identity, and the cannot-link fields ``national_id``, ``sex``, with
    ``id_valid`` where IDs carry a check digit), and the scored candidate pairs (``uid_l``,
    ``uid_r``, ``match_probability``, ``is_match``, and ``gamma_<comparison>`` levels when
    the matcher has them). The fixed-linkage families run on the table, the
    :data:`LINKAGE_FAMILIES` on records and pairs. Such designs are not run unless
    named, and get :data:`DEFAULT_LINKAGE_FAMILIES` added by default.
    """

    def sample(self, rng: np.random.Generator) -> CaptureTable:
        return self.sample_linkage(rng)[0]

    def sample_linkage(
        self, rng: np.random.Generator
    ) -> tuple[CaptureTable, pd.DataFrame, pd.DataFrame]:
        raise NotImplementedError


@dataclass(frozen=True)
class LinkageDesign(RecordDesign):
    r"""Records with known identity, scored by a calibrated matcher (linkage uncertainty).

    N people carry a latent class as in :class:`LatentClassDesign` (sizes and probabilities
    below); every capture is one record. Each person has a recorded sex (a cannot-link) and,
    with probability ``id_share``, a valid national ID on each record (a cannot-link when two
    differ). Candidate pairs (the output of blocking) are every pair of records of the same
    person on different lists plus ``decoys`` random pairs per record of different people
    sharing the sex. Each candidate pair gets a match weight :math:`w \sim N(+\mu, 1)` for a
    true match and :math:`N(-\mu, 1)` for a non-match, and the *calibrated* match
    probability :math:`P(M \mid w) = \operatorname{logistic}(2\mu w + \log\{\pi/(1-\pi)\})`
    with :math:`\pi` the share of matches among candidates (exact by Bayes' rule, so the
    probabilities are calibrated by construction). A pair whose two records carry
    different IDs is a non-match by construction (IDs are error-free here).

    ``sample`` returns the table from clustering at ``threshold`` (what a fixed linkage
    would pass on); :meth:`sample_linkage` returns the records and scored pairs as well.
    """

    sizes: tuple[int, ...] = ()
    probs: tuple[tuple[float, ...], ...] = ()
    separation: float = 2.0
    decoys: float = 1.0
    id_share: float = 0.3
    threshold: float = 0.5

    @property
    def truth(self) -> int:
        return int(sum(self.sizes))

    def sample_linkage(
        self, rng: np.random.Generator
    ) -> tuple[CaptureTable, pd.DataFrame, pd.DataFrame]:
        """``(fixed_table, records, pairs)``.

        ``records``: ``uid``, ``list``, ``person``, ``sex``, ``national_id``; ``pairs``:
        ``uid_l``, ``uid_r``, ``match_probability``, ``is_match``.
        """
        from undercount.link.cluster import constrained_clusters
        from undercount.link.evaluate import same_label_pairs
        from undercount.uncertainty.linkage import table_from_clusters

        J = self.n_lists
        lists = _list_names(J)
        p = np.repeat(np.asarray(self.probs, dtype=float), self.sizes, axis=0)
        N = p.shape[0]
        captured = rng.random(p.shape) < p
        sex = rng.integers(0, 2, N)
        person, list_idx = np.nonzero(captured)
        n_rec = len(person)
        has_id = rng.random(n_rec) < self.id_share
        records = pd.DataFrame(
            {
                "uid": np.arange(n_rec),
                "list": np.asarray(lists, dtype=object)[list_idx],
                "person": person,
                "sex": np.where(sex[person] == 1, "F", "M").astype(object),
                "national_id": np.where(has_id, person.astype(str), None).astype(object),
            }
        )
        # True-match pairs: every pair of one person's records.
        tl, tr = same_label_pairs(person)
        # Decoy pairs: blocking lets through look-alikes of the same sex.
        n_decoy = rng.poisson(self.decoys * n_rec)
        dl = rng.integers(0, n_rec, n_decoy)
        dr = rng.integers(0, n_rec, n_decoy)
        ok = (person[dl] != person[dr]) & (records["sex"].to_numpy()[dl]
                                            == records["sex"].to_numpy()[dr])
        dl, dr = dl[ok], dr[ok]
        pairs = pd.DataFrame(
            {
                "uid_l": np.r_[np.minimum(tl, tr), np.minimum(dl, dr)],
                "uid_r": np.r_[np.maximum(tl, tr), np.maximum(dl, dr)],
                "is_match": np.r_[np.ones(len(tl), bool), np.zeros(len(dl), bool)],
            }
        ).drop_duplicates(["uid_l", "uid_r"], ignore_index=True)
        mu = self.separation
        w = rng.standard_normal(len(pairs)) + np.where(pairs["is_match"], mu, -mu)
        pi = float(pairs["is_match"].mean())
        logit = 2 * mu * w + math.log(pi / (1 - pi))
        pairs["match_probability"] = 1.0 / (1.0 + np.exp(-logit))
        fixed = constrained_clusters(
            n_rec,
            pairs[pairs["match_probability"] >= self.threshold],
            national_id=records["national_id"],
            sex=records["sex"],
        )
        table = table_from_clusters(fixed.cluster, list_idx, lists, source=self.name)
        return table, records, pairs


@dataclass(frozen=True)
class EndToEndDesign(RecordDesign):
    r"""End to end: lists from ``undercount simulate``, linked by the package's Splink pipeline.

    Each replicate

    1. simulates ``n`` people and the lists ``lists`` that record them, with four-part
       Arabic or Latin names, dates, national IDs and the lists' recording noise
       (:func:`~undercount.simulate.simulate_lists`, the simulator behind
       ``undercount simulate``);
    2. reads the lists as ``undercount link`` reads the files ``undercount simulate`` writes
       (a CSV round trip, the column mapping of :meth:`Simulation.project_toml`) and links
       them with the package's pipeline with the defaults of a project's ``[link]`` table:
       standardisation, a Splink 5 Fellegi--Sunter model on DuckDB (prior from
       deterministic rules, u from sampled pairs, m by EM), prediction, and greedy
       constrained clustering at ``threshold`` (:func:`undercount.link.link_records`). Its
       clusters give the fixed-linkage table. (In ``e2e4noisy`` the dates of birth, and so
       both deterministic rules, are on the hospital list only: the rules can find only
       that list's duplicates, and the pipeline estimates the prior from the blocked pairs
       by EM instead, see :mod:`undercount.link.train`; its warning is silenced here);
    3. scores the blocked pairs again with the trained model, with their comparison-vector
       levels (``gamma_<comparison>`` columns, for the Fellegi--Sunter refit of
       ``linkavg-em-*``), down to ``pair_floor`` -- by default (None) every blocked pair,
       which that refit needs (a floor truncates the sample on the comparison vectors
       themselves); with 1,500 people there are about 1,000-2,300 blocked pairs, scored
       in about half a second. These are the candidate pairs the ``linkavg-*`` families
       sample from, with ``is_match`` from the simulator's true person ids. Pairs outside
       blocking (or below a floor) count as non-matches there, as they would in practice.

    The truth is ``n``, the simulated population (people, not records). The matcher's
    probabilities are Splink's own, *not* calibrated by construction as in
    :class:`LinkageDesign`: these designs test the whole chain, calibration included.

    Determinism: the simulator's streams and the Splink seed (hash sampling of the u pairs)
    are drawn from ``rng``, and DuckDB runs on one thread, so the same ``rng`` gives the
    same table, records and pairs whatever the number of cores or worker processes. (With
    two DuckDB threads the probabilities differed from the one-thread run in their last
    digits: floating-point sums taken in another order.)
    """

    n: int = 1500
    lists: tuple[ListSpec, ...] = ()
    mean_group_size: float = 1.5
    threshold: float = 0.9
    pair_floor: float | None = None

    def __post_init__(self) -> None:
        if len(self.lists) != self.n_lists:
            raise ConfigError(
                f"EndToEndDesign {self.name!r}: n_lists={self.n_lists} but "
                f"{len(self.lists)} list specifications"
            )
        floor = self.pair_floor
        if not 0 < self.threshold <= 1 or (floor is not None and not 0 < floor <= self.threshold):
            raise ConfigError(
                f"EndToEndDesign {self.name!r}: need 0 < pair_floor ({self.pair_floor}) <= "
                f"threshold ({self.threshold}) <= 1, or pair_floor None (every blocked pair)"
            )

    @property
    def truth(self) -> int:
        return int(self.n)

    def sample_linkage(
        self, rng: np.random.Generator
    ) -> tuple[CaptureTable, pd.DataFrame, pd.DataFrame]:
        """``(fixed_table, records, pairs)``.

        ``records``: ``uid``, ``list``, ``record_id``, ``person`` (true person id), and the
        standardised ``sex``, ``national_id`` and ``id_valid``; ``pairs``: ``uid_l``,
        ``uid_r``, ``match_probability`` (Splink's), ``is_match`` and one
        ``gamma_<comparison>`` column (int64; -1 null) per comparison of the model.
        """
        from undercount.simulate.lists import simulate_lists
        from undercount.uncertainty.linkage import table_from_clusters

        sim_rng, link_rng = rng.spawn(2)
        sim = simulate_lists(
            n_people=self.n, lists=self.lists, rng=sim_rng,
            mean_group_size=self.mean_group_size,
        )
        std = _standardised_lists(sim)
        names = sim.list_names
        linked, scored = _link(
            std, names, threshold=self.threshold, pair_floor=self.pair_floor,
            seed=int(link_rng.integers(2**31 - 1)),
        )
        truth = pd.Series(
            sim.truth["person_id"].to_numpy(),
            index=pd.MultiIndex.from_frame(sim.truth[["list", "record_id"]].astype(str)),
        )
        person = truth.reindex(
            pd.MultiIndex.from_arrays([std["list"].astype(str), std["record_id"].astype(str)])
        )
        if person.isna().any():  # pragma: no cover - the simulator's ids are the records' ids
            from undercount.errors import LinkageError

            raise LinkageError(f"internal: {self.name}: records without a true person id")
        person = person.to_numpy(dtype=np.int64)
        list_idx = std["list"].map({name: i for i, name in enumerate(names)}).to_numpy()
        records = pd.DataFrame(
            {
                "uid": std["uid"].to_numpy(dtype=np.int64),
                "list": std["list"].to_numpy(dtype=object),
                "record_id": std["record_id"].to_numpy(dtype=object),
                "person": person,
                "sex": std["sex"].to_numpy(dtype=object),
                "national_id": std["national_id"].to_numpy(dtype=object),
                "id_valid": std["id_valid"],
            }
        )
        left = scored["uid_l"].to_numpy(dtype=np.int64)
        right = scored["uid_r"].to_numpy(dtype=np.int64)
        pairs = pd.DataFrame(
            {
                "uid_l": left,
                "uid_r": right,
                "match_probability": scored["match_probability"].to_numpy(dtype=float),
                "is_match": person[left] == person[right],
            }
        )
        for col in scored.columns:
            if str(col).startswith("gamma_"):
                pairs[col] = scored[col].to_numpy(dtype=np.int64)
        table = table_from_clusters(
            linked["cluster_id"].to_numpy(), list_idx, names, source=self.name
        )
        return table, records, pairs


def _standardised_lists(sim: Any) -> pd.DataFrame:
    """The simulation's lists standardised as ``undercount link`` reads the files that
    ``undercount simulate`` writes: each list through CSV text and back with
    :func:`~undercount.io.project.read_list`'s parsing options, mapped by the lists of
    :meth:`Simulation.project_toml`."""
    import io
    import tomllib

    from undercount.io.project import ListSource as InputList
    from undercount.link._standardise import standardise_lists

    frames, inputs = [], []
    for entry in tomllib.loads(sim.project_toml())["lists"]:
        spec = InputList(
            name=entry["name"],
            file=Path(f"<simulated>/{entry['file']}"),
            format=entry["format"],
            id_column=entry["id_column"],
            columns=dict(entry["columns"]),
        )
        text = io.StringIO()
        sim.lists[spec.name].to_csv(text, index=False, lineterminator="\n")
        text.seek(0)
        frame = pd.read_csv(
            text, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True
        )
        frames.append(frame[spec.source_columns].reset_index(drop=True))
        inputs.append(spec)
    return standardise_lists(frames, inputs)


@contextmanager
def _quiet_splink():
    """Splink logs a warning for every level EM never sees, and the pipeline one per
    replicate whose prior falls back to the blocked-pairs EM (e2e4noisy, every replicate);
    a battery would print thousands. Both are documented in :class:`EndToEndDesign`."""
    loggers = [logging.getLogger("splink"), logging.getLogger("undercount.link.train")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _link(
    std: pd.DataFrame, names: tuple[str, ...], *, threshold: float,
    pair_floor: float | None, seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train, predict and cluster with the pipeline; then re-score the blocked pairs down to
    the floor (None: all of them) with the trained model, with their comparison levels.
    Returns ``(linked_records, scored_pairs)``."""
    from dataclasses import replace

    from undercount.io.project import LinkConfig
    from undercount.link.backends import get_db_api
    from undercount.link.pipeline import link_records, settings_for
    from undercount.link.predict import predict_edges
    from undercount.link.train import build_linker

    config = replace(LinkConfig(), threshold=threshold, threads=1)
    settings = settings_for(std, config, n_lists=len(names), seed=seed)
    with _quiet_splink():
        linked, trained, _, _ = link_records(
            std, lists=names, settings=settings, threads=1, memory_limit="2GB"
        )
        db_api = get_db_api("duckdb", threads=1, memory_limit="2GB")
        scored = predict_edges(
            build_linker(db_api, std, trained), pair_floor, comparison_levels=True
        )
    return linked, scored


def _builtin_designs() -> dict[str, Design]:
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
        LinkageDesign(
            "link4",
            "Linkage noise only: N = 1,000, 4 independent homogeneous lists (Mt holds), "
            "calibrated match probabilities with separation 2, fixed linkage at 0.5",
            4,
            sizes=(1000,),
            probs=((0.25, 0.30, 0.20, 0.35),),
            separation=2.0,
        ),
        LinkageDesign(
            "link4noisy",
            "Heavy linkage noise: as link4 with separation 1.25 and two decoy pairs per "
            "record (many ambiguous pairs)",
            4,
            sizes=(1000,),
            probs=((0.25, 0.30, 0.20, 0.35),),
            separation=1.25,
            decoys=2.0,
        ),
        EndToEndDesign(
            "e2e3",
            "End to end, realistic noise: N = 1,500 simulated people on 3 lists (hospital and "
            "family in Arabic, media in Latin script without IDs or DOB) with the default "
            "MoH-measured recording noise, independent homogeneous capture (Mt holds), "
            "linked by Splink, fixed linkage at 0.9",
            3,
            n=1500,
            lists=_e2e_lists(noisy=False),
            mean_group_size=1.5,
        ),
        EndToEndDesign(
            "e2e4noisy",
            "End to end, heavy noise: N = 1,500 people in large sibling groups (mean 4) on "
            "4 lists (2 Arabic, 2 Latin-only) with heavy name, date and ID noise and many "
            "missing IDs and dates, independent homogeneous capture (Mt holds), linked by "
            "Splink, fixed linkage at 0.9",
            4,
            n=1500,
            lists=_e2e_lists(noisy=True),
            mean_group_size=4.0,
        ),
    ]
    return {d.name: d for d in designs}


def _e2e_lists(*, noisy: bool) -> tuple[ListSpec, ...]:
    """Lists of the end-to-end designs: the kinds of :func:`default_lists` (scripts, fields,
    the family list's PDF lam-alef reversal) with independent, homogeneous capture, so that
    every family's model holds for the true table and only linkage can go wrong."""
    if not noisy:
        return (
            ListSpec(name="hospital", rate=0.40, script="arabic"),
            ListSpec(
                name="family", rate=0.30, script="arabic",
                noise=NoiseSpec(lam_alef=1.0, id_typo=0.012, id_wrong=0.01,
                                missing={"dob": 0.02}),
            ),
            ListSpec(
                name="media", rate=0.25, script="latin", fields=("sex", "age", "dod", "place"),
                noise=NoiseSpec(missing={"age": 0.05, "place": 0.1}),
            ),
        )
    # Deliberately hard (well beyond what the MoH releases show): names misspelt, joined,
    # shortened and transliterated differently, heaped and revised ages, defaulted DOBs,
    # mistyped IDs, and most IDs and many dates missing, so that siblings (who share
    # father, grandfather, family name and governorate) are hard to tell apart.
    heavy: dict[str, Any] = dict(
        spelling=0.3, compound_spacing=0.3, drop_grandfather=0.4, latin_variation=0.8,
        dob_jan01=0.3, age_heaping=0.5, age_revision=0.02, dob_revision=0.02, id_typo=0.03,
        id_wrong=0.03, id_partial=0.02, duplicates=0.01,
    )
    return (
        ListSpec(
            name="hospital", rate=0.35, script="arabic",
            noise=NoiseSpec(**heavy, missing={"national_id": 0.3, "dob": 0.2, "dod": 0.3}),
        ),
        ListSpec(
            name="family", rate=0.30, script="arabic",
            fields=("sex", "age", "dod", "place", "national_id"),
            noise=NoiseSpec(**heavy, lam_alef=1.0,
                            missing={"national_id": 0.7, "dod": 0.4, "age": 0.3}),
        ),
        ListSpec(
            name="media", rate=0.25, script="latin", fields=("sex", "age", "place"),
            noise=NoiseSpec(**heavy, missing={"age": 0.4, "place": 0.3}),
        ),
        ListSpec(
            name="survey", rate=0.30, script="latin", fields=("sex", "age", "dod", "place"),
            noise=NoiseSpec(**heavy, missing={"age": 0.3, "dod": 0.5}),
        ),
    )


#: The built-in designs by name.
DESIGNS: dict[str, Design] = _builtin_designs()


# ------------------------------------------------------------------------------ families
@dataclass(frozen=True)
class BatteryOptions:
    """Settings of the families (chosen for the battery's time budget; see the docs).

    bootstrap_replicates : int
        Replicates of the bootstrap family (SparseMSE's default is 1,000).
    ntop : int
        Bootstrap re-selection among the ``ntop`` best models on the replicate's table.
    lcm_chains, lcm_iter, lcm_burn_in, lcm_thin : int
        Latent-class sampler settings.
    linkage_draws : int
        Plausible linkages per replicate for the ``linkavg-*`` families.
    review_pairs : int
        Pairs a (simulated, perfect) clerical reviewer labels for the ``linkavg-cal-*``
        families.
    linkage_em_centre : {"refit", "input"}
        ``em_centre`` of the ``linkavg-em-*`` families (see
        :class:`~undercount.uncertainty.linkage.LinkageAveraging`). ``"refit"`` samples
        edges from the Fellegi--Sunter refit's probabilities, right when the pairs are all
        the blocked pairs (as in the end-to-end designs); ``"input"`` keeps Splink's
        probabilities and adds only the bootstrap's spread.
    """

    bootstrap_replicates: int = 1000
    ntop: int = 10
    lcm_chains: int = 2
    lcm_iter: int = 20_000
    lcm_burn_in: int = 5_000
    lcm_thin: int = 10
    linkage_draws: int = 20
    review_pairs: int = 300
    linkage_em_centre: Literal["refit", "input"] = "refit"

    def __post_init__(self) -> None:
        if self.review_pairs < 2:
            raise ConfigError(f"BatteryOptions.review_pairs={self.review_pairs} must be >= 2")
        if self.linkage_em_centre not in ("refit", "input"):
            raise ConfigError(f"BatteryOptions.linkage_em_centre={self.linkage_em_centre!r}; "
                              "choose refit or input")


class _Context:
    """Per-replicate cache: the top-``ntop`` BIC models are selected once and shared by the
    ``bic`` and ``bootstrap`` families (the BIC-best model is the first of them, so the
    ``bic`` family's estimate and interval are exactly those of selection over all models)."""

    def __init__(self, table: CaptureTable, options: BatteryOptions) -> None:
        self.table = table
        self.options = options
        self._top: Any = None

    def top(self):
        if self._top is None:
            from undercount.models.loglinear import LogLinearEstimator

            self._top = LogLinearEstimator(select="bic").restrict_to_top(
                self.table, self.options.ntop
            )
        return self._top


def _not_applicable(why: str) -> None:
    raise ConfigError(why)


def _fam_bic(ctx: _Context, rng: np.random.Generator):
    if ctx.table.n_lists > 5:
        _not_applicable("BIC over all hierarchical models needs J <= 5")
    return ctx.top().fit(ctx.table)


def _fam_bootstrap(ctx: _Context, rng: np.random.Generator):
    from undercount.uncertainty.bootstrap import Bootstrap

    if ctx.table.n_lists > 5:
        _not_applicable("BIC over all hierarchical models needs J <= 5")
    boot = Bootstrap(
        estimator=ctx.top(),
        replicates=ctx.options.bootstrap_replicates,
        interval="bca",
        n_jobs=1,
    )
    return boot.fit(ctx.table, rng=rng)


def _fam_stepwise(ctx: _Context, rng: np.random.Generator):
    from undercount.models.loglinear import LogLinearEstimator

    return LogLinearEstimator(select="stepwise").fit(ctx.table)


def _fam_rcapture(ctx: _Context, rng: np.random.Generator):
    from undercount.models.heterogeneity import HeterogeneityEstimator

    return HeterogeneityEstimator(select="aic").fit(ctx.table)


def _lcm(options: BatteryOptions):
    from undercount.models.latent_class import LatentClassEstimator

    return LatentClassEstimator(
        chains=options.lcm_chains,
        iterations=options.lcm_iter,
        burn_in=options.lcm_burn_in,
        thin=options.lcm_thin,
        n_jobs=1,
    )


def _fam_lcm(ctx: _Context, rng: np.random.Generator):
    return _lcm(ctx.options).fit(ctx.table, rng=rng)


def _fam_dga(ctx: _Context, rng: np.random.Generator):
    from undercount.models.graphical import GraphicalEstimator

    if ctx.table.n_lists > 6:
        _not_applicable("dga enumerates decomposable graphs for J <= 6 only")
    return GraphicalEstimator().fit(ctx.table)


#: Families: name -> (description, function(context, rng) -> MSEResult).
FAMILIES: dict[str, tuple[str, Callable[[_Context, np.random.Generator], Any]]] = {
    "bic": ("Log-linear, BIC-best model, conditional profile interval", _fam_bic),
    "bootstrap": ("Log-linear BIC with bootstrap re-selection (top 10), BCa", _fam_bootstrap),
    "stepwise": ("Log-linear forward stepwise (Chan et al. 2021), profile interval",
                 _fam_stepwise),
    "rcapture": ("Rcapture best-AIC of M0/Mt/Mh/Mth, profile interval", _fam_rcapture),
    "lcm": ("Latent class (LCMCR), posterior median, 95% equal-tailed interval", _fam_lcm),
    "dga": ("Decomposable graphical model averaging (dga), 95% credible interval", _fam_dga),
}

_LINKAGE_BASES = ("stepwise", "rcapture", "dga", "lcm")
#: Kinds of record-level family, by name prefix (see :func:`describe_linkage_family`).
_LINKAGE_KINDS = {
    "linkavg-": "average over plausible linkages sampled from the scored pairs",
    "linkavg-em-": "average over plausible linkages with a bootstrap of the "
                   "Fellegi-Sunter parameters (EM on the pairs' comparison levels)",
    "linkavg-cal-": "average over plausible linkages after calibrating the probabilities "
                    "on a simulated clerical review of BatteryOptions.review_pairs pairs",
    "truth-": "the estimator on the table of the TRUE linkage (reference: estimator error "
              "without linkage error)",
}

#: Families that need records with known identity (record designs only): name -> base
#: estimator. ``linkavg-<base>``, ``linkavg-em-<base>``, ``linkavg-cal-<base>`` and
#: ``truth-<base>`` for each base (see :func:`describe_linkage_family`).
LINKAGE_FAMILIES: dict[str, str] = {
    f"{prefix}{base}": base for prefix in _LINKAGE_KINDS for base in _LINKAGE_BASES
}

DEFAULT_FAMILIES = ("bic", "bootstrap", "stepwise", "rcapture", "lcm", "dga")
#: Added by default on record designs: every kind for stepwise, rcapture and dga (one
#: replicate of each took 0.03-5 s on one core on link4noisy and e2e4noisy, 20 draws). The
#: ``-lcm`` variants (M sampler runs each) are opt-in: ask with ``--families``.
DEFAULT_LINKAGE_FAMILIES = tuple(
    f"{prefix}{base}" for prefix in _LINKAGE_KINDS for base in ("stepwise", "rcapture", "dga")
)


def _linkage_kind(name: str) -> str:
    """The prefix of a record-level family's name (longest match)."""
    return max((k for k in _LINKAGE_KINDS if name.startswith(k)), key=len)


def describe_linkage_family(name: str) -> str:
    """One line describing a family of :data:`LINKAGE_FAMILIES`."""
    return f"{LINKAGE_FAMILIES[name]}: {_LINKAGE_KINDS[_linkage_kind(name)]}"


def _base_estimator(base: str, options: BatteryOptions):
    from undercount.models.graphical import GraphicalEstimator
    from undercount.models.heterogeneity import HeterogeneityEstimator
    from undercount.models.loglinear import LogLinearEstimator

    return {
        "lcm": lambda: _lcm(options),
        "stepwise": lambda: LogLinearEstimator(select="stepwise"),
        "rcapture": lambda: HeterogeneityEstimator(select="aic"),
        "dga": lambda: GraphicalEstimator(),
    }[base]()


def _linkage_family(name: str, options: BatteryOptions, table, records, pairs, rng):
    """Run a family of :data:`LINKAGE_FAMILIES` on one replicate's records and pairs.

    * ``linkavg-<base>``: :class:`~undercount.uncertainty.linkage.LinkageAveraging` of the
      base estimator over ``options.linkage_draws`` plausible linkages, the match
      probabilities taken as known.
    * ``linkavg-em-<base>``: the same with ``parameter_uncertainty="em_bootstrap"`` (centre
      ``options.linkage_em_centre``): every draw re-scores the pairs with a bootstrap
      replicate of the Fellegi--Sunter m, u and lambda refitted by EM on the pairs'
      ``gamma_*`` comparison levels. Not applicable (``n/a``) on designs whose pairs carry
      no comparison levels (:class:`LinkageDesign` scores pairs without a comparison
      vector).
    * ``linkavg-cal-<base>``: a simulated clerical review. A reviewer labels
      ``options.review_pairs`` candidate pairs (see :func:`_review_sample`: stratified over
      ten equal-width bands of match weight, the log-odds of the probability), drawn from
      the family's own stream; the labels are
      the simulation's truth (``is_match``), i.e. the reviewer is **perfect**: never wrong,
      never undecided, and able to judge every pair from the records alone. Real clerical
      review errs, most on the ambiguous pairs this sample favours, so this is an upper
      bound on what review-based calibration can do. The labels calibrate the
      probabilities (isotonic regression of the label on the probability,
      :class:`~undercount.uncertainty.linkage.Calibrator`; sampling on the probability
      alone leaves :math:`P(M \\mid p)` unbiased) before the averaging. The reviewed pairs
      are not then fixed to their labels: only the calibration uses them.
    * ``truth-<base>``: the base family (as in :data:`FAMILIES`) on the capture table of
      the true linkage (records clustered by ``records["person"]``): the estimator's own
      error, with no linkage error, for reference.
    """
    from undercount.uncertainty.linkage import LinkageAveraging, table_from_clusters

    base = LINKAGE_FAMILIES[name]
    kind = _linkage_kind(name)
    if kind == "truth-":
        list_idx = records["list"].map({n: i for i, n in enumerate(table.lists)})
        true_table = table_from_clusters(
            records["person"].to_numpy(), list_idx.to_numpy(dtype=np.int64), table.lists,
            source=f"{table.source} (true linkage)",
        )
        return FAMILIES[base][1](_Context(true_table, options), rng)
    estimator = _base_estimator(base, options)
    common = dict(lists=table.lists, cannot_link=("national_id", "sex"))
    if kind == "linkavg-":
        # One process per replicate: the battery already runs replicates in parallel.
        averaging = LinkageAveraging(
            estimator=estimator, n_draws=options.linkage_draws, n_jobs=1
        )
        return averaging.fit(pairs, records, **common, rng=rng)
    if kind == "linkavg-em-":
        if not any(str(c).startswith("gamma_") for c in pairs.columns):
            _not_applicable(
                "the Fellegi-Sunter bootstrap needs the pairs' comparison levels (gamma_*), "
                "which this design's matcher does not produce"
            )
        averaging = LinkageAveraging(
            estimator=estimator, n_draws=options.linkage_draws,
            parameter_uncertainty="em_bootstrap", em_centre=options.linkage_em_centre,
            n_jobs=1,
        )
        return averaging.fit(pairs, records, **common, rng=rng)
    review_rng, fit_rng = rng.spawn(2)
    labels = _review_sample(pairs, options.review_pairs, rng=review_rng)
    averaging = LinkageAveraging(
        estimator=estimator, n_draws=options.linkage_draws, calibration="isotonic", n_jobs=1
    )
    return averaging.fit(pairs, records, **common, labels=labels, rng=fit_rng)


def _review_sample(pairs: pd.DataFrame, n_review: int, *, rng: np.random.Generator):
    """Labels of a simulated clerical review: ``is_match`` on ``n_review`` sampled pairs,
    NaN elsewhere.

    The pairs are stratified by match weight (the log-odds of the match probability,
    clipped to +-20), in 10 bins of equal width between the smallest and the largest
    weight, and the budget is split equally over the bins, each drawn without replacement;
    what a bin cannot use passes to the others, so that ``min(n_review, len(pairs))`` pairs
    are labelled. Reviewing across match-weight bands, rather than across quantiles of the
    probability, spends the labels where the calibration curve can bend even when most
    probabilities pile up near 0 or 1 (as Splink's do); a first version that put 80% of the
    labels in deciles of 0.05 < p < 0.95 wasted them on e2e4noisy, where Splink's errors sit
    above 0.95 (smoke run of 8 replicates: RMSE 87 against 52 for weight bands).
    """
    p = pairs["match_probability"].to_numpy(dtype=float)
    n = len(p)
    n_review = min(int(n_review), n)
    with np.errstate(divide="ignore"):
        weight = np.clip(np.log(p) - np.log1p(-p), -20.0, 20.0)
    edges = np.linspace(weight.min(), weight.max(), 11) if n else np.zeros(11)
    bins = np.clip(np.searchsorted(edges, weight, side="right") - 1, 0, 9)
    strata = [np.flatnonzero(bins == b) for b in range(10)]
    k = len(strata)
    target = np.full(k, n_review // k, dtype=np.int64)
    target[: n_review % k] += 1
    size = np.array([len(x) for x in strata])
    take = np.minimum(target, size)
    # Hand what a stratum cannot use to those with pairs left, one at a time, in order.
    short = n_review - int(take.sum())
    while short > 0:
        room = np.flatnonzero(take < size)
        for j in room[:short]:
            take[j] += 1
        short = n_review - int(take.sum())
    chosen = [rng.choice(x, size=t, replace=False) for x, t in zip(strata, take, strict=True)
              if t > 0]
    labels = np.full(n, np.nan)
    if chosen:
        idx = np.concatenate(chosen)
        labels[idx] = pairs["is_match"].to_numpy(dtype=float)[idx]
    return labels


# -------------------------------------------------------------------------------- runner
def _sampling_failed(name: str, design: Design, families, r: int, exc: Exception) -> list:
    """One ``error`` row per family when the replicate's data could not be drawn."""
    message = f"sampling the data failed: {type(exc).__name__}: {exc}"[:300]
    trace = traceback.format_exc(limit=3)
    return [
        {"design": name, "replicate": r, "family": fam, "truth": design.truth,
         "n_observed": math.nan, "estimate": math.nan, "lower": math.nan, "upper": math.nan,
         "status": "error", "message": message, "traceback": trace, "seconds": 0.0}
        for fam in families
    ]


def _run_replicate(args: tuple[str, tuple[str, ...], int, int, BatteryOptions, dict]) -> list:
    design_name, families, r, seed, options, extra_designs = args
    design = extra_designs.get(design_name) or DESIGNS[design_name]
    dkey = _key(design_name)
    data_rng = _rng(seed, dkey, r, 0)
    records = pairs = None
    try:
        if isinstance(design, RecordDesign):
            table, records, pairs = design.sample_linkage(data_rng)
        else:
            table = design.sample(data_rng)
    except Exception as exc:  # e.g. the linkage of an end-to-end design broke: report it
        return _sampling_failed(design_name, design, families, r, exc)
    ctx = _Context(table, options)
    rows = []
    for fam in families:
        rng = _rng(seed, dkey, r, 1, _key(fam))
        row: dict[str, Any] = {
            "design": design_name,
            "replicate": r,
            "family": fam,
            "truth": design.truth,
            "n_observed": table.n_observed,
            "estimate": math.nan,
            "lower": math.nan,
            "upper": math.nan,
            "status": "ok",
            "message": "",
        }
        t0 = time.perf_counter()
        try:
            if fam in LINKAGE_FAMILIES:
                if records is None:
                    _not_applicable(
                        "the true linkage needs a record design (records with known "
                        "identity)" if fam.startswith("truth-")
                        else "linkage averaging needs a linkage design"
                    )
                result = _linkage_family(fam, options, table, records, pairs, rng)
            else:
                result = FAMILIES[fam][1](ctx, rng)
            row["estimate"] = float(result.estimate)
            row["lower"] = float(result.interval.lower)
            row["upper"] = float(result.interval.upper)
        except ConfigError as exc:
            row["status"] = "n/a"
            row["message"] = str(exc).splitlines()[0][:200]
        except EstimationError as exc:
            row["status"] = "failed"
            row["message"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        except Exception as exc:  # counted and reported as "error", never hidden
            row["status"] = "error"
            row["message"] = f"{type(exc).__name__}: {exc}"[:300]
            row["traceback"] = traceback.format_exc(limit=3)
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
    return rows


def run_battery(
    designs: Sequence[str] | None = None,
    families: Sequence[str] | None = None,
    *,
    replicates: int = 100,
    seed: int = 0,
    jobs: int = 1,
    first_replicate: int = 0,
    options: BatteryOptions | None = None,
    extra_designs: dict[str, Design] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run the battery; one row per (design, replicate, family).

    Parameters
    ----------
    designs, families : sequence of str, optional
        Names from :data:`DESIGNS` (or ``extra_designs``) and :data:`FAMILIES` /
        :data:`LINKAGE_FAMILIES`; default: every table-level design and
        :data:`DEFAULT_FAMILIES` (plus the linkage-averaging families on linkage designs).
    replicates : int
        R, replicates per design.
    first_replicate : int
        Number of the first replicate (replicates ``first .. first + R - 1`` are run), so a
        battery can be extended or split: replicate r is the same in every run.
    seed : int
        Master seed (see the module docstring for the streams).
    jobs : int
        Worker processes (results do not depend on it).
    options : BatteryOptions, optional
    extra_designs : dict, optional
        Additional designs by name (module-level picklable objects).
    progress : callable, optional
        Called with (done, total) replicates.

    Returns
    -------
    DataFrame
        ``design, replicate, family, truth, n_observed, estimate, lower, upper, status,
        message, seconds``; ``status`` is ``ok``, ``failed`` (EstimationError), ``n/a``
        (the family does not apply) or ``error`` (anything else; the message says what).
    """
    extra = dict(extra_designs or {})
    known = {**DESIGNS, **extra}
    names = list(designs) if designs else [
        n for n, d in DESIGNS.items() if not isinstance(d, RecordDesign)
    ]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"unknown design(s) {unknown}; choose from {sorted(known)}")
    fams = list(families) if families else list(DEFAULT_FAMILIES)
    bad = [f for f in fams if f not in FAMILIES and f not in LINKAGE_FAMILIES]
    if bad:
        raise ConfigError(
            f"unknown family(ies) {bad}; choose from {[*FAMILIES, *LINKAGE_FAMILIES]}"
        )
    if replicates < 1 or first_replicate < 0:
        raise ConfigError(f"replicates={replicates} must be at least 1 and "
                          f"first_replicate={first_replicate} at least 0")
    options = options or BatteryOptions()
    tasks = []
    for name in names:
        fam_here = list(fams)
        if isinstance(known[name], RecordDesign) and not families:
            fam_here += list(DEFAULT_LINKAGE_FAMILIES)
        tasks += [
            (name, tuple(fam_here), r, seed, options, extra)
            for r in range(first_replicate, first_replicate + replicates)
        ]
    rows: list[dict] = []
    if jobs <= 1:
        for i, t in enumerate(tasks):
            rows += _run_replicate(t)
            if progress:
                progress(i + 1, len(tasks))
    else:
        # Workers from the fork server: a child forked from this process could inherit
        # locks held by its threads (sampler chains, DuckDB) and crash.
        with process_pool(jobs) as pool:
            for i, part in enumerate(pool.map(_run_replicate, tasks)):
                rows += part
                if progress:
                    progress(i + 1, len(tasks))
    frame = pd.DataFrame(rows)
    if "traceback" not in frame:
        frame["traceback"] = ""
    frame["traceback"] = frame["traceback"].fillna("")
    return frame


def summarise(results: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Bias, RMSE, coverage, median width and failure counts per (design, family).

    ``coverage`` is over replicates with an interval (``ok``); ``coverage_all`` counts each
    ``failed``/``error`` replicate as a miss; ``coverage_se`` is the binomial Monte Carlo
    standard error of ``coverage``. Bias and RMSE are relative to the truth.
    """
    out = []
    for (design, family), g in results.groupby(["design", "family"], sort=False):
        ok = g[g["status"] == "ok"]
        truth = float(g["truth"].iloc[0])
        n_ok = len(ok)
        n_fail = int((g["status"] == "failed").sum())
        n_err = int((g["status"] == "error").sum())
        n_na = int((g["status"] == "n/a").sum())
        covered = (ok["lower"] <= truth) & (truth <= ok["upper"])
        width = ok["upper"] - ok["lower"]
        row = {
            "design": design,
            "family": family,
            "truth": int(truth),
            "replicates": len(g),
            "ok": n_ok,
            "failed": n_fail,
            "errors": n_err,
            "not_applicable": n_na,
            "mean_estimate": float(ok["estimate"].mean()) if n_ok else math.nan,
            "rel_bias": float((ok["estimate"].mean() - truth) / truth) if n_ok else math.nan,
            "rel_rmse": float(np.sqrt(np.mean((ok["estimate"] - truth) ** 2)) / truth)
            if n_ok else math.nan,
            "coverage": float(covered.mean()) if n_ok else math.nan,
            "coverage_se": float(math.sqrt(covered.mean() * (1 - covered.mean()) / n_ok))
            if n_ok else math.nan,
            "coverage_all": float(covered.sum() / (n_ok + n_fail + n_err))
            if n_ok + n_fail + n_err else math.nan,
            "median_width": float(np.median(width)) if n_ok else math.nan,
            "unbounded": int(np.sum(~np.isfinite(ok["upper"]))),
            "seconds_per_fit": float(g["seconds"].mean()),
        }
        out.append(row)
    return pd.DataFrame(out)


def _fmt(x: float, pct: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return f"{100 * x:.1f}%" if pct else f"{x:,.0f}"


def summary_markdown(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table."""
    head = (
        "| design | family | N | R | ok | failed | n/a | mean N̂ | rel. bias | rel. RMSE "
        "| coverage (±MC s.e.) | coverage incl. failures | median width |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for row in summary.itertuples(index=False):
        if row.ok == 0 and row.failed == 0 and row.errors == 0:
            lines.append(
                f"| {row.design} | {row.family} | {row.truth:,} | {row.replicates} | – | – | "
                f"{row.not_applicable} | n/a | | | | | |"
            )
            continue
        cov = _fmt(row.coverage, True)
        if not math.isnan(row.coverage_se):
            cov += f" (±{100 * row.coverage_se:.1f})"
        failed = row.failed + row.errors
        lines.append(
            f"| {row.design} | {row.family} | {row.truth:,} | {row.replicates} | {row.ok} | "
            f"{failed} | {row.not_applicable} | {_fmt(row.mean_estimate)} | "
            f"{_fmt(row.rel_bias, True)} | {_fmt(row.rel_rmse, True)} | {cov} | "
            f"{_fmt(row.coverage_all, True)} | {_fmt(row.median_width)} |"
        )
    return head + "\n".join(lines) + "\n"


_KEY = ["design", "family", "replicate"]


def _read_parts(paths: Sequence[str | os.PathLike[str]], what: str) -> pd.DataFrame:
    frames = [pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in paths]
    frame = pd.concat(frames, ignore_index=True)
    for col in ("estimate", "lower", "upper"):
        frame[col] = pd.to_numeric(frame[col].replace({"inf": math.inf}), errors="coerce")
    dup = frame.duplicated(_KEY)
    if dup.any():
        raise ConfigError(f"{int(dup.sum())} (design, family, replicate) rows appear twice "
                          f"in the {what}")
    return frame


def load_replicates(
    paths: Sequence[str | os.PathLike[str]],
    supersede: Sequence[str | os.PathLike[str]] = (),
) -> pd.DataFrame:
    """Concatenate ``replicates.csv`` files of several runs (parts of one battery).

    Raises :class:`ConfigError` when two files hold the same (design, family, replicate):
    parts must not overlap. Rows of the ``supersede`` files (e.g. one family rerun with a
    newer version; the replicate's streams do not depend on what else runs) replace the
    rows with the same (design, family, replicate); each of them must replace one, so
    that superseding never adds replicates that the parts did not have.
    """
    frame = _read_parts(paths, "parts")
    if supersede:
        new = _read_parts(supersede, "superseding files")
        old_keys = pd.MultiIndex.from_frame(frame[_KEY])
        new_keys = pd.MultiIndex.from_frame(new[_KEY])
        missing = ~new_keys.isin(old_keys)
        if missing.any():
            first = new.loc[missing, _KEY].iloc[0].to_dict()
            raise ConfigError(f"{int(missing.sum())} superseding row(s) replace no row of "
                              f"the parts, e.g. {first}")
        frame = pd.concat([frame[~old_keys.isin(new_keys)], new], ignore_index=True)
    frame["message"] = frame["message"].astype(object).where(frame["message"].notna(), "")
    order = {f: i for i, f in enumerate([*FAMILIES, *LINKAGE_FAMILIES])}
    frame["_order"] = frame["family"].map(order).fillna(len(order))
    frame = frame.sort_values(["design", "_order", "replicate"], kind="stable",
                              ignore_index=True)
    return frame.drop(columns="_order")


def write_outputs(
    results: pd.DataFrame, out: str | os.PathLike[str], *, command: str = ""
) -> dict[str, Path]:
    """Write ``replicates.csv``, ``summary.csv``, ``summary.md`` and the plots to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    summary = summarise(results)
    paths = {
        "replicates": folder / "replicates.csv",
        "summary_csv": folder / "summary.csv",
        "summary_md": folder / "summary.md",
        "coverage_png": folder / "coverage.png",
        "estimates_png": folder / "estimates.png",
    }
    results.drop(columns=["traceback"], errors="ignore").to_csv(paths["replicates"], index=False)
    summary.to_csv(paths["summary_csv"], index=False)
    text = summary_markdown(summary)
    if command:
        text = f"Command: `{command}`\n\n" + text
    failures = results[results["status"].isin(["failed", "error"])]
    if len(failures):
        text += "\nFailures (first message per design and family):\n\n"
        for (d, f), g in failures.groupby(["design", "family"], sort=False):
            text += f"- {d} / {f}: {len(g)} × {g['message'].iloc[0]}\n"
    paths["summary_md"].write_text(text, encoding="utf-8")

    designs = list(dict.fromkeys(summary["design"]))
    fams = list(dict.fromkeys(summary["family"]))
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(designs)), 4))
    width = 0.8 / max(1, len(fams))
    for i, f in enumerate(fams):
        s = summary[summary["family"] == f].set_index("design").reindex(designs)
        ax.bar(np.arange(len(designs)) + i * width, s["coverage"].fillna(0), width, label=f)
    ax.axhline(0.95, color="k", lw=1, ls="--")
    ax.axhline(0.93, color="r", lw=1, ls=":")
    ax.set_xticks(np.arange(len(designs)) + 0.4 - width / 2, designs, rotation=20)
    ax.set_ylabel("coverage of the 95% interval")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(paths["coverage_png"], dpi=120)
    plt.close(fig)

    ncol = min(5, len(designs))
    nrow = -(-len(designs) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 3.6 * nrow), squeeze=False)
    for ax in axes.ravel()[len(designs):]:
        ax.set_visible(False)
    for ax, d in zip(axes.ravel(), designs, strict=False):
        g = results[(results["design"] == d) & (results["status"] == "ok")]
        data = [np.log2(g[g["family"] == f]["estimate"] / g["truth"].iloc[0]) if len(g) else []
                for f in fams]
        ax.boxplot([np.asarray(x) for x in data], showfliers=False)
        ax.set_xticks(np.arange(1, len(fams) + 1), fams, rotation=60, fontsize=7)
        ax.axhline(0, color="k", lw=1)
        ax.set_title(d, fontsize=9)
    for row in axes:
        row[0].set_ylabel("log2(N̂ / N)")
    fig.tight_layout()
    fig.savefig(paths["estimates_png"], dpi=120)
    plt.close(fig)
    return paths
