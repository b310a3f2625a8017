r"""Record-level designs of the validation battery: linked records with known identity.

A :class:`RecordDesign` draws records, scored candidate pairs and the table of a fixed
linkage; the battery runs the fixed-linkage families on the table and the record-level
families (:data:`~undercount.validate.families.LINKAGE_FAMILIES`) on the records and pairs.
:class:`LinkageDesign` simulates a calibrated matcher's output directly;
:class:`EndToEndDesign` simulates lists with names, dates and IDs and links them with the
package's own Splink pipeline.
"""

from __future__ import annotations

import io
import logging
import math
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, LinkageError
from undercount.io.project_types import LinkConfig
from undercount.io.project_types import ListSource as InputList
from undercount.link._standardise import standardise_lists
from undercount.link.backends import get_db_api
from undercount.link.cluster import constrained_clusters
from undercount.link.evaluate import same_label_pairs
from undercount.link.partitions import table_from_clusters
from undercount.link.pipeline import link_records, settings_for
from undercount.link.predict import predict_edges
from undercount.link.train import build_linker
from undercount.simulate import NoiseSpec, SimulatedList, Simulation, simulate_lists
from undercount.validate.designs import Design, list_names

__all__ = [
    "RECORD_DESIGNS",
    "EndToEndDesign",
    "LinkageDesign",
    "RecordDesign",
]


@dataclass(frozen=True)
class RecordDesign(Design):
    """A design that draws linked *records*, not only a table.

    :meth:`sample_linkage` returns ``(fixed_table, records, pairs)``: the capture table of
    the fixed (thresholded) linkage, one row per record (``uid`` = row number, ``list``,
    ``person`` = true identity, and the cannot-link fields ``national_id``, ``sex``, with
    ``id_valid`` where IDs carry a check digit), and the scored candidate pairs (``uid_l``,
    ``uid_r``, ``match_probability``, ``is_match``, and ``gamma_<comparison>`` levels when
    the matcher has them). The fixed-linkage families run on the table, the
    :data:`~undercount.validate.families.LINKAGE_FAMILIES` on records and pairs. Such designs
    are not run unless named, and get
    :data:`~undercount.validate.families.DEFAULT_LINKAGE_FAMILIES` added by default.
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

    N people carry a latent class as in
    :class:`~undercount.validate.designs.LatentClassDesign` (sizes and probabilities
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
        J = self.n_lists
        lists = list_names(J)
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
    lists: tuple[SimulatedList, ...] = ()
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


def _standardised_lists(sim: Simulation) -> pd.DataFrame:
    """The simulation's lists standardised as ``undercount link`` reads the files that
    ``undercount simulate`` writes: each list through CSV text and back with
    :func:`~undercount.io.lists.read_list`'s parsing options, mapped by the lists of
    :meth:`Simulation.project_toml`."""
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
def _quiet_splink() -> Iterator[None]:
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


def _record_designs() -> dict[str, Design]:
    designs: list[Design] = [
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


def _e2e_lists(*, noisy: bool) -> tuple[SimulatedList, ...]:
    """Lists of the end-to-end designs: the kinds of
    :func:`~undercount.simulate.default_lists` (scripts, fields, the family list's PDF
    lam-alef reversal) with independent, homogeneous capture, so that every family's model
    holds for the true table and only linkage can go wrong."""
    if not noisy:
        return (
            SimulatedList(name="hospital", rate=0.40, script="arabic"),
            SimulatedList(
                name="family", rate=0.30, script="arabic",
                noise=NoiseSpec(lam_alef=1.0, id_typo=0.012, id_wrong=0.01,
                                missing={"dob": 0.02}),
            ),
            SimulatedList(
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
        SimulatedList(
            name="hospital", rate=0.35, script="arabic",
            noise=NoiseSpec(**heavy, missing={"national_id": 0.3, "dob": 0.2, "dod": 0.3}),
        ),
        SimulatedList(
            name="family", rate=0.30, script="arabic",
            fields=("sex", "age", "dod", "place", "national_id"),
            noise=NoiseSpec(**heavy, lam_alef=1.0,
                            missing={"national_id": 0.7, "dod": 0.4, "age": 0.3}),
        ),
        SimulatedList(
            name="media", rate=0.25, script="latin", fields=("sex", "age", "place"),
            noise=NoiseSpec(**heavy, missing={"age": 0.4, "place": 0.3}),
        ),
        SimulatedList(
            name="survey", rate=0.30, script="latin", fields=("sex", "age", "dod", "place"),
            noise=NoiseSpec(**heavy, missing={"age": 0.3, "dod": 0.5}),
        ),
    )


#: The built-in record-level designs by name (run only when named).
RECORD_DESIGNS: dict[str, Design] = _record_designs()
