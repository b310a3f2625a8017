"""``link_project``: ingest → standardise → block → train → predict → cluster → write.

Outputs (in the project's output folder, written atomically: everything goes to a temporary
sibling folder that is renamed into place only when complete; inputs are only read). The
output folder must be new, empty or undercount's own (:mod:`undercount.link.outputs`): a
file or a folder of the user's in the way is an error naming it, raised before any work, and
the project store and reports of ``undercount run`` in the same folder are kept:

``records.parquet``
    One row per input record: ``list``, ``record_id``, ``row`` (spreadsheet row number in
    its file: header row 1, first record row 2), ``uid``, ``cluster_id``, ``cluster_size``,
    ``best_match_probability`` (its strongest edge inside its cluster; NaN for singletons),
    ``n_links`` (its edges inside the cluster),
    ``refused_links`` (its edges refused by a cannot-link), ``suspicious`` (its cluster is in
    ``suspicious_clusters.csv``).
``capture_histories.parquet``
    One row per cluster (see :mod:`undercount.tables.build`).
``capture_table.json``
    List names, strata and covariates of ``capture_histories.parquet``.
``suspicious_clusters.csv``
    Clusters to review and why.
``edges.parquet``
    Scored pairs at or above the threshold, with their clustering status.
``standardised.parquet``
    The standardised records (blocking keys etc.), for review and blocking-recall checks.
``link_settings.json``
    :class:`~undercount.link.settings.LinkSettings` with the trained Splink model.
``provenance.json``
    Project, versions, input hashes, seed, timings, training report and ``warnings``.

Counts: ``n_clusters`` (printed as "people") is the number of clusters, i.e. the distinct
people the lists name together after linkage; ``undercount run`` reports the same number
("the lists together name N people") from the same linkage.

Checks before linkage: a file named as two lists is an error
(:func:`~undercount.link.outputs.check_distinct_lists`); a list whose mapped name columns are
all empty, or hold no parseable name, is an error
(:func:`~undercount.link._standardise.check_names_present`). Warnings (in the result's
``report["warnings"]``, the provenance and the CLI's output): two lists with the same
standardised records, or one list's records all in another, and, after linkage, two lists
that name exactly the same people or one whose people are all on another
(:func:`list_overlaps`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from undercount.core.provenance import file_sha256, package_versions
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, InputError, LinkageError, UndercountWarning
from undercount.io.lists import read_list
from undercount.io.project import load_project
from undercount.io.project_types import ProjectConfig
from undercount.link._standardise import covariate_column, standardise_lists, standardiser_name
from undercount.link.backends import get_db_api
from undercount.link.cluster import constrained_clusters, suspicious_clusters
from undercount.link.outputs import (
    LINK_OUTPUTS,
    StagedOutputs,
    check_distinct_lists,
    check_output_folder,
    replace_folder,
)
from undercount.link.overlap import list_overlaps
from undercount.link.predict import predict_edges, score_candidates
from undercount.link.relatives import add_relative_columns, reliable_sex
from undercount.link.settings import LinkSettings
from undercount.link.train import build_linker, train
from undercount.tables.build import capture_histories, sidecar

__all__ = [
    "LinkResult",
    "cluster_standardised",
    "link_project",
    "link_records",
    "list_overlaps",
    "person_covariates",
    "read_linkage",
]

#: Standardised fields carried to the person level when present (besides covariates).
_PERSON_FIELDS = ("sex", "age", "birth_year", "place")


@dataclass(frozen=True, eq=False)
class LinkResult:
    """Everything a linkage run produced.

    Attributes
    ----------
    records, capture_histories, suspicious, edges, standardised : DataFrame
        As written to the output folder (see the module docstring).
    settings : LinkSettings
        With the trained model.
    lists, strata, covariates : tuple of str
    output : Path or None
        Where it was written.
    report : dict
        Timings (seconds per stage), counts, training report.
    """

    records: pd.DataFrame
    capture_histories: pd.DataFrame
    suspicious: pd.DataFrame
    edges: pd.DataFrame
    standardised: pd.DataFrame
    settings: LinkSettings
    lists: tuple[str, ...]
    strata: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    output: Path | None = None
    report: dict[str, Any] = field(default_factory=dict)

    def capture_table(self) -> CaptureTable:
        """The capture histories as a :class:`CaptureTable` (strata kept as covariates)."""
        return CaptureTable.from_individuals(
            self.capture_histories, lists=list(self.lists), covariates=list(self.strata)
        )


def link_records(
    standardised: pd.DataFrame,
    *,
    lists: tuple[str, ...],
    settings: LinkSettings,
    backend: str = "duckdb",
    threads: int = 2,
    memory_limit: str = "6GB",
    temp_directory: str | None = None,
    spark_session: Any = None,
    train_model: bool = True,
    must_link: Any = None,
    cannot_link_pairs: Any = None,
    candidates: bool = False,
) -> tuple[pd.DataFrame, LinkSettings, pd.DataFrame, dict[str, Any]]:
    """Train, predict and cluster already standardised records.

    Returns ``(records, settings, edges, report)``; ``records`` is ``standardised`` plus
    ``cluster_id`` and the per-record evidence columns. ``must_link`` / ``cannot_link_pairs``
    (uid pairs labelled a match / a non-match by clerical review) are passed to
    :func:`~undercount.link.cluster.constrained_clusters`. With ``candidates``,
    ``report["candidates"]`` holds every blocked pair scored
    (:func:`~undercount.link.predict.score_candidates`), for clerical review.
    """
    report: dict[str, Any] = {}
    clock = _Clock()
    db_api = get_db_api(
        backend, threads=threads, memory_limit=memory_limit, temp_directory=temp_directory,
        spark_session=spark_session,
    )
    # The relative-aware columns once, for the linker and the relatives' pattern counts.
    augmented = add_relative_columns(standardised)
    linker = build_linker(db_api, augmented, settings)
    if train_model and settings.model is None:
        settings, report["training"] = train(linker, settings, augmented)
    del augmented
    clock.stop("train")
    edges = predict_edges(linker, settings.threshold)
    if candidates:
        report["candidates"] = score_candidates(linker)
    clock.stop("predict")
    if not np.array_equal(standardised["uid"].to_numpy(), np.arange(len(standardised))):
        raise LinkageError("internal: uids must be 0..n-1 in order")
    result = cluster_standardised(standardised, edges, settings, must_link=must_link,
                                  cannot_link_pairs=cannot_link_pairs)
    clock.stop("cluster")
    report["timings"], report["cpu_timings"] = clock.wall, clock.cpu
    report["n_edges"] = len(edges)
    report["n_refused"] = result.n_refused
    records = _record_evidence(standardised, result)
    return records, settings, result.edges, report


def cluster_standardised(
    standardised: pd.DataFrame,
    edges: pd.DataFrame,
    settings: LinkSettings,
    *,
    several_lists: bool | None = None,
    must_link: Any = None,
    cannot_link_pairs: Any = None,
):
    """:func:`~undercount.link.cluster.constrained_clusters` of standardised records (row
    ``i`` is uid ``i``) with the constraints ``settings.cannot_link`` names.

    ``several_lists``: whether the linkage joins several lists (default: from the records'
    ``list`` column). The Spark backend clusters one group of connected components at a
    time and passes the whole linkage's answer.
    """
    if several_lists is None:
        several_lists = standardised["list"].nunique() > 1
    valid_id = standardised["national_id"].where(
        standardised["id_valid"].fillna(False).astype(bool), None
    )
    return constrained_clusters(
        len(standardised),
        edges,
        national_id=valid_id if "national_id" in settings.cannot_link else None,
        sex=reliable_sex(standardised) if "sex" in settings.cannot_link else None,
        records=standardised,  # issue 19: relative and same-list constraints
        relatives="relatives" in settings.cannot_link,
        # Deduplicating one list, every pair is within a list: the same-list rule (kept for
        # duplicates inside one of several lists) would refuse nearly every true match.
        same_list="same_list" in settings.cannot_link and bool(several_lists),
        must_link=must_link,
        cannot_link=cannot_link_pairs,
    )


def _record_evidence(std: pd.DataFrame, result) -> pd.DataFrame:
    n = len(std)
    cluster = result.cluster
    sizes = np.bincount(cluster)
    e = result.edges
    best = np.full(n, np.nan)
    links = np.zeros(n, dtype=np.int64)
    refused = np.zeros(n, dtype=np.int64)
    within = e["within"].to_numpy()
    is_refused = e["status"].to_numpy() == "refused"
    prob = e["match_probability"].to_numpy()[within]
    for side in ("uid_l", "uid_r"):
        uid = e[side].to_numpy(dtype=np.int64)
        np.fmax.at(best, uid[within], prob)
        links += np.bincount(uid[within], minlength=n)
        refused += np.bincount(uid[is_refused], minlength=n)
    # assign, not copy(): the standardised columns are shared, not copied (copy on write).
    return std.assign(cluster_id=cluster, cluster_size=sizes[cluster],
                      best_match_probability=best, n_links=links, refused_links=refused)


#: Most random pairs the u estimate samples by default. Splink counts a level as estimated
#: once it has 100 sampled pairs (``min_count_per_level``: a relative standard error of
#: 1/sqrt(100) = 10%, 0.14 bits of match weight); 5e6 pairs give that to every level with
#: u >= 2e-5 (on a million simulated records the rarest such level is the same, not
#: heaped, date of birth, u = 2.1e-5). Rarer levels are out of reach of any affordable
#: sample: 2e7 pairs saw an exact national ID 4 times (u = 1.8e-7; true matches) and the
#: "same letters but for dots" levels 20 to 60 times. An exact-match level the sample
#: never sees is counted exactly instead (:func:`undercount.link.train.count_unseen_exact_u`:
#: without that, 5e6 pairs left the national-ID level at its default u and its weight fell
#: from 22 to 10 bits). Up to 250,000 records the sample is as before (20 pairs a record);
#: at a million records it was 2e7 pairs, about 41 CPU seconds (docs/scale.md).
U_MAX_PAIRS = 5e6


def settings_for(std: pd.DataFrame, lk: Any, *, n_lists: int, seed: int | None) -> LinkSettings:
    """Linkage settings for standardised records and a project's ``[link]`` table.

    Without an explicit ``max_pairs``, u is estimated from ``min(U_MAX_PAIRS, max(2e6,
    20 x records))`` random pairs (:data:`U_MAX_PAIRS`: why no more are needed).
    """
    return LinkSettings.for_records(
        std,
        n_lists=n_lists,
        blocking_rules=lk.blocking_rules,
        em_blocking_rules=lk.em_blocking_rules,
        threshold=lk.threshold,
        max_pairs=(
            lk.max_pairs if lk.max_pairs is not None
            else float(min(U_MAX_PAIRS, max(2e6, 20 * len(std))))
        ),
        seed=seed,
        em_max_iterations=lk.em_max_iterations,
        em_convergence=lk.em_convergence,
        prior=lk.prior,
        prior_recall=lk.prior_recall,
    )


def link_project(
    config: ProjectConfig | str | Path,
    *,
    write: bool = True,
    spark_session: Any = None,
    on_stage: Callable[[str], None] | None = None,
) -> LinkResult:
    """Link every list of a project and write the outputs (see the module docstring).

    Parameters
    ----------
    config : ProjectConfig or path
        A validated project, or the path of its TOML file.
    write : bool
        Write the output folder (atomically). False: only return the result.
    spark_session : optional
        A Spark session for ``backend = "spark"`` (default: one on ``[link.spark] master``).
        With Spark the result is a :class:`undercount.link.spark_pipeline.SparkLinkResult`
        (the tables stay Spark DataFrames; the parquet outputs are folders of part files).
    on_stage : callable, optional
        Called with each stage's name as it starts (``read``, ``standardise``, ``link``,
        ``tables``, ``write``): the CLI uses it to say where an interrupt landed.

    Raises
    ------
    ConfigError, InputError
        Before any work: bad project file, missing files or columns, bad record ids, an
        output path that is a file or a folder of the user's, a file named as two lists, a
        list with no names.
    LinkageError
        Linkage failed; nothing is written.
    """
    if not isinstance(config, ProjectConfig):
        config = load_project(config)
    if not config.lists:
        raise ConfigError(f"{config.path}: no [[lists]] to link (the capture histories of this "
                          "project are already linked; `undercount run` estimates from them)")
    stage = on_stage or (lambda name: None)
    if write:
        check_output_folder(config.output, source=str(config.path))
    check_distinct_lists(config.lists, source=str(config.path))
    if config.link.backend == "spark":
        # The records stay in Spark: read, standardised, linked and written on the executors
        # (pyspark is optional and heavy: imported only for this backend).
        from undercount.link.spark_pipeline import link_project_spark

        return link_project_spark(config, write=write, spark_session=spark_session)
    t_all, c_all = time.perf_counter(), time.process_time()
    clock = _Clock()
    stage("read")
    frames = [read_list(spec) for spec in config.lists]  # every input error before any work
    clock.stop("read")
    stage("standardise")
    std_stats: dict[str, float] = {}
    std = standardise_lists(frames, config.lists, stats=std_stats)
    del frames  # the raw lists (a gigabyte at a million records) are not needed again
    coerced = dict(std.attrs.get("coerced", {}))
    std.attrs.clear()
    clock.stop("standardise")
    if "worker_cpu" in std_stats:
        clock.cpu["standardise_workers"] = std_stats["worker_cpu"]
    lk = config.link
    settings = settings_for(std, lk, n_lists=len(config.lists), seed=config.seed)
    stage("link")
    # DuckDB spills to a folder of its own (one per run, so nothing of the user's is ever
    # removed with it): next to the output, which is on a disk meant for this project.
    spill = config.output.parent if write and config.output.parent.is_dir() else None
    tmp = Path(tempfile.mkdtemp(prefix=".undercount_duckdb_tmp-", dir=spill))
    try:
        records, settings, edges, report = link_records(
            std,
            lists=config.list_names,
            settings=settings,
            backend=lk.backend,
            threads=lk.threads,
            memory_limit=lk.memory_limit,
            temp_directory=str(tmp),
            spark_session=spark_session,
        )
    except (LinkageError, ImportError):
        raise
    except Exception as exc:  # Splink/DuckDB/Spark errors surface as one typed error
        raise LinkageError(f"{config.path}: linkage failed: {type(exc).__name__}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    clock.wall.update(report.pop("timings"))
    clock.cpu.update(report.pop("cpu_timings"))
    return _tables_and_write(config, std, records, settings, edges, report, clock,
                             coerced=coerced, started=(t_all, c_all), write=write, stage=stage)


def _tables_and_write(
    config: ProjectConfig, std: pd.DataFrame, records: pd.DataFrame, settings: LinkSettings,
    edges: pd.DataFrame, report: dict[str, Any], clock: _Clock, *, coerced: dict,
    started: tuple[float, float], write: bool, stage: Callable[[str], None],
) -> LinkResult:
    """Capture histories, suspicious clusters and overlap warnings of linked records, and
    the output folder.

    The standardised records and the edges are final here: they are written in the
    background (:class:`~undercount.link.outputs.StagedOutputs`) while the tables are
    built."""
    staged = StagedOutputs(config.output) if write else None
    try:
        if staged is not None:
            staged.submit("standardised.parquet", partial(_parquet, std))
            staged.submit("edges.parquet", partial(_parquet, edges))
        clock.start()
        stage("tables")
        covariates = person_covariates(config, records)
        histories = capture_histories(records, lists=config.list_names, covariates=covariates)
        large = max(10, 3 * len(config.lists))
        suspicious = suspicious_clusters(
            _Result(records["cluster_id"].to_numpy(), edges), large_size=large
        )
        conflicted = histories.loc[histories["conflicts"] != "", ["cluster_id", "conflicts"]]
        suspicious = _add_conflicts(suspicious, conflicted, records)
        records["suspicious"] = records["cluster_id"].isin(suspicious["cluster_id"])
        overlaps = list_overlaps(records, histories, config.list_names)
        for message in overlaps:
            warnings.warn(message, UndercountWarning, stacklevel=3)
        clock.stop("tables")
        clock.wall["total"] = time.perf_counter() - started[0]
        clock.cpu["total"] = time.process_time() - started[1]
        report.update(
            standardiser=standardiser_name(),
            coerced=coerced,
            n_records=len(records),
            n_clusters=len(histories),
            n_suspicious=len(suspicious),
            warnings=overlaps,
            timings=clock.wall,
            cpu_timings=clock.cpu,
        )
        result = LinkResult(
            records=_records_out(records),
            capture_histories=histories,
            suspicious=suspicious,
            edges=edges,
            standardised=std,
            settings=settings,
            lists=config.list_names,
            strata=config.strata.sources(),
            covariates=tuple(covariates),
            output=config.output if write else None,
            report=report,
        )
        if staged is not None:
            stage("write")
            _write(result, config, staged)
    except BaseException:
        if staged is not None:
            staged.abandon()
        raise
    return result


class _Clock:
    """Seconds per stage: wall (``report["timings"]``) and this process's CPU
    (``report["cpu_timings"]``: DuckDB's threads included; the standardising workers' CPU,
    when the lists are standardised on workers, as ``standardise_workers``)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.start()

    def start(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def stop(self, stage: str) -> None:
        self.wall[stage] = time.perf_counter() - self._wall
        self.cpu[stage] = time.process_time() - self._cpu
        self.start()


class _Result:
    def __init__(self, cluster, edges):
        self.cluster = cluster
        self.edges = edges


def person_covariates(config: ProjectConfig, records: pd.DataFrame) -> list[str]:
    """The person-level covariates of linked ``records``: the strata, the standardised
    person fields and every list covariate (under its stored name) that has a value."""
    out = []
    for col in (*config.strata.sources(), *_PERSON_FIELDS):
        if col in records.columns and records[col].notna().any():
            out.append(col)
    for spec in config.lists:
        for col in spec.covariates:
            name = covariate_column(col)
            if name in records.columns:
                out.append(name)
    return list(dict.fromkeys(out))


def _add_conflicts(suspicious: pd.DataFrame, conflicted: pd.DataFrame, records) -> pd.DataFrame:
    if conflicted.empty:
        return suspicious.assign(conflicts="")
    merged = suspicious.merge(conflicted, on="cluster_id", how="outer")
    cid = records["cluster_id"].to_numpy()
    if cid.dtype.kind in "iu" and len(cid) and 0 <= cid.min() <= cid.max() < 2 * len(cid):
        merged["size"] = np.bincount(cid)[merged["cluster_id"].to_numpy()]
    else:
        sizes = records.groupby("cluster_id").size()
        merged["size"] = sizes.reindex(merged["cluster_id"]).to_numpy()
    has = merged["conflicts"].notna()
    merged["reasons"] = merged["reasons"].astype(object).fillna("")
    merged.loc[has, "reasons"] = (
        merged.loc[has, "reasons"].str.cat(["conflicting_covariates"] * int(has.sum()), sep=",")
        .str.strip(",")
    )
    merged["conflicts"] = merged["conflicts"].fillna("")
    return merged.sort_values("cluster_id", ignore_index=True)


def _records_out(records: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "list", "record_id", "row", "uid", "cluster_id", "cluster_size",
        "best_match_probability", "n_links", "refused_links", "suspicious",
    ]
    return records[cols].copy()


def _parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False)


def _write(result: LinkResult, config: ProjectConfig, staged: StagedOutputs | None = None) -> None:
    """Write the output folder atomically (``staged``: where some outputs are already being
    written in the background)."""
    out = config.output
    staged = staged if staged is not None else StagedOutputs(out)
    tmp = staged.tmp
    try:
        # One parquet file at a time, all on the background thread, so that no two are
        # held as Arrow tables at once (at most one was before): memory is what limits a
        # million records (the linkage peaks near 4 GB). Sampled every 5 ms, the peak of
        # clustering, tables and writing was 2.40 GB this way, 2.48 GB with the records
        # written here meanwhile, 2.46 GB before the background writes.
        for name, frame in (("standardised.parquet", result.standardised),
                            ("edges.parquet", result.edges),
                            ("records.parquet", result.records),
                            ("capture_histories.parquet", result.capture_histories)):
            if name not in staged.names:
                staged.submit(name, partial(_parquet, frame))
        result.suspicious.to_csv(tmp / "suspicious_clusters.csv", index=False)
        side = sidecar(
            lists=result.lists,
            strata=result.strata,
            covariates=result.covariates,
            source=str(config.path),
        )
        (tmp / "capture_table.json").write_text(json.dumps(side, indent=2) + "\n")
        result.settings.to_json(tmp / "link_settings.json")
        prov = {
            "project": config.to_dict(),
            "inputs": {str(s.file): file_sha256(s.file) for s in config.lists},
            "versions": {**package_versions(), **_link_versions()},
            "seed": config.seed,
            "warnings": list(result.report.get("warnings", [])),
            "report": result.report,
        }
        (tmp / "provenance.json").write_text(json.dumps(prov, indent=2, default=str) + "\n")
        staged.finish()
        # Checked again at the last moment: a file may have appeared while linking.
        check_output_folder(out, source=str(config.path))
        replace_folder(tmp, out, replaced=LINK_OUTPUTS)
    except BaseException:
        staged.abandon()
        raise


def _link_versions() -> dict[str, str]:
    out = {}
    for name in ("splink", "duckdb", "pyspark"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def read_linkage(folder: str | Path) -> dict[str, Any]:
    """Read a linkage output folder: records, capture histories, sidecar, settings."""
    folder = Path(folder)
    needed = ["records.parquet", "capture_histories.parquet", "capture_table.json"]
    # exists(): Spark writes each parquet output as a folder of part files.
    missing = [f for f in needed if not (folder / f).exists()]
    if missing:
        raise InputError(f"{folder}: not a linkage output folder (missing {missing})")
    out: dict[str, Any] = {
        "records": pd.read_parquet(folder / "records.parquet"),
        "capture_histories": pd.read_parquet(folder / "capture_histories.parquet"),
        "sidecar": json.loads((folder / "capture_table.json").read_text()),
    }
    if (folder / "link_settings.json").is_file():
        out["settings"] = LinkSettings.from_json(folder / "link_settings.json")
    if (folder / "standardised.parquet").exists():
        out["standardised"] = pd.read_parquet(folder / "standardised.parquet")
    if (folder / "edges.parquet").is_file():
        out["edges"] = pd.read_parquet(folder / "edges.parquet")
    return out
