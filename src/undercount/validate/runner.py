r"""The battery's runner: every family on every replicate of every design.

Seeding
-------
Replicate r of design d draws its table from the stream
``SeedSequence(seed, spawn_key=(crc32(d), r, 0))`` and family f uses
``SeedSequence(seed, spawn_key=(crc32(d), r, 1, crc32(f)))``: results depend only on the
seed, the design, the replicate and the family -- not on which other designs or families
are run, nor on the number of worker processes. A family listed in
:data:`~undercount.validate.families.FAMILY_STREAMS` draws the stream of the family it
names there instead (``bootstrap-pct`` reads the ``bootstrap`` family's replicates).
"""

from __future__ import annotations

import math
import time
import traceback
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from undercount.core.parallel import imap_tasks
from undercount.errors import ConfigError, EstimationError
from undercount.validate.designs import TABLE_DESIGNS, TWIN_DESIGNS, Design
from undercount.validate.families import (
    DEFAULT_FAMILIES,
    DEFAULT_LINKAGE_FAMILIES,
    FAMILIES,
    FAMILY_STREAMS,
    LINKAGE_FAMILIES,
    BatteryOptions,
    ReplicateContext,
    not_applicable,
    run_linkage_family,
)
from undercount.validate.record_designs import RECORD_DESIGNS, RecordDesign

__all__ = ["DESIGNS", "run_battery"]

#: The built-in designs by name: the table-level designs, their log-linear twins, then the
#: record-level ones. A battery without ``designs`` runs only the table-level designs.
DESIGNS: dict[str, Design] = {**TABLE_DESIGNS, **TWIN_DESIGNS, **RECORD_DESIGNS}


def _key(name: str) -> int:
    """A design's or family's name as a stream key (CRC-32, the same in every process)."""
    return zlib.crc32(name.encode())


def _rng(seed: int, *key: int) -> np.random.Generator:
    """The stream ``SeedSequence(seed, spawn_key=key)`` (see the module docstring)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


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
    ctx = ReplicateContext(table, options)
    rows = []
    for fam in families:
        rng = _rng(seed, dkey, r, 1, _key(FAMILY_STREAMS.get(fam, fam)))
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
                    not_applicable(
                        "the true linkage needs a record design (records with known "
                        "identity)" if fam.startswith("truth-")
                        else "linkage averaging needs a linkage design"
                    )
                result = run_linkage_family(fam, options, table, records, pairs, rng)
            else:
                result = FAMILIES[fam][1](ctx, rng)
            row["estimate"] = float(result.estimate)
            row["lower"] = float(result.interval.lower)
            row["upper"] = float(result.interval.upper)
            # The codes of the result's own warnings (a covariate that changes the answer,
            # N not identified), so the battery can ask whether a miss was warned of.
            row["warnings"] = ";".join(sorted({
                d.code for d in getattr(result, "diagnostics", ())
                if d.code and d.severity == "warning"}))
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
        Names from :data:`DESIGNS` (or ``extra_designs``) and
        :data:`~undercount.validate.families.FAMILIES` /
        :data:`~undercount.validate.families.LINKAGE_FAMILIES`; default: every table-level
        design and :data:`~undercount.validate.families.DEFAULT_FAMILIES` (plus the
        linkage-averaging families on linkage designs).
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
    names = list(designs) if designs else list(TABLE_DESIGNS)
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
    # loky workers are started afresh, not forked from this process, whose threads (sampler
    # chains, DuckDB) could leave the child holding their locks (core.parallel).
    for i, part in enumerate(imap_tasks(_run_replicate, tasks, jobs)):
        rows += part
        if progress:
            progress(i + 1, len(tasks))
    frame = pd.DataFrame(rows)
    if "traceback" not in frame:
        frame["traceback"] = ""
    frame["traceback"] = frame["traceback"].fillna("")
    if "warnings" not in frame:
        frame["warnings"] = ""
    frame["warnings"] = frame["warnings"].fillna("")
    return frame
