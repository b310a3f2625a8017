"""The typed objects a project file is read into (:func:`undercount.io.project.load_project`).

Frozen dataclasses, one per table of the file: :class:`ProjectConfig` holds the whole
project, :class:`ListSource` one ``[[lists]]`` entry, :class:`LinkConfig` the ``[link]``
table, :class:`CaptureHistoriesSpec`, :class:`StrataSpec`, :class:`EstimateSpec` and
:class:`ReportSpec` the others. They hold validated values only; reading and checking the
file is :mod:`undercount.io.project`'s job, reading the input lists :mod:`undercount.io.lists`'.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "NAME_ROLES",
    "ROLES",
    "CaptureHistoriesSpec",
    "EstimateSpec",
    "LinkConfig",
    "ListSource",
    "ProjectConfig",
    "ReportSpec",
    "StrataSpec",
]

#: Name roles a list may map (whole names or parts, Arabic or Latin script).
NAME_ROLES: tuple[str, ...] = (
    "name_ar",
    "name_lat",
    "given_ar",
    "father_ar",
    "grandfather_ar",
    "family_ar",
    "given_lat",
    "father_lat",
    "grandfather_lat",
    "family_lat",
)
#: Every role a list's ``[lists.columns]`` table may use.
ROLES: tuple[str, ...] = (
    *NAME_ROLES, "sex", "age", "dob", "dod", "place", "national_id", "postcode", "occupation",
)


@dataclass(frozen=True)
class ListSource:
    """One input list.

    Attributes
    ----------
    name : str
        The list's name; becomes its 0/1 column in the capture histories.
    file : Path
        Absolute path of the input file (opened read-only).
    format : {"csv", "parquet", "excel"}
    id_column : str
        Column holding the list's own record identifier (unique within the list).
    columns : dict
        ``role -> source column`` for the roles in :data:`ROLES`.
    covariates : tuple of str
        Extra source columns carried through to the capture histories.
    sheet : str or int or None
        Excel sheet (default: the first).
    on_bad_value : {"raise", "coerce"}
        What to do with an unparseable value (a date like ``19399222``, an age ``"twelve"``,
        an unknown sex code): ``"raise"`` (default) stops with an error naming every bad
        cell; ``"coerce"`` treats them as missing and warns.
    encoding : str or None
        Text encoding of a CSV file (default UTF-8; ``"latin-1"``, ``"cp1252"``, ...).
    date_order : {"day-first", "month-first"} or None
        How the list writes numeric dates: ``03/11/2023`` is 3 November or 11 March. Unset,
        dates are read day-first and a column whose order is a guess is warned about.
    """

    name: str
    file: Path
    format: str
    id_column: str
    columns: dict[str, str]
    covariates: tuple[str, ...] = ()
    sheet: str | int | None = None
    on_bad_value: str = "raise"
    encoding: str | None = None
    date_order: str | None = None

    @property
    def source_columns(self) -> list[str]:
        """Every source column the list needs, id first, without repeats."""
        out = [self.id_column]
        for col in [*self.columns.values(), *self.covariates]:
            if col not in out:
                out.append(col)
        return out


@dataclass(frozen=True)
class SparkConfig:
    """Options of the ``[link.spark]`` table (used with ``backend = "spark"``).

    Attributes
    ----------
    master : str
        Spark master URL: ``local[*]`` (default), ``spark://host:7077``, ``yarn``,
        ``k8s://https://host:443``, or a Spark Connect URL ``sc://host:15002``.
    conf : tuple of (str, str)
        Spark configuration passed through to the session (``spark.executor.memory`` ...),
        in file order.
    """

    master: str = "local[*]"
    conf: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"master": self.master, "conf": dict(self.conf)}


@dataclass(frozen=True)
class LinkConfig:
    """Options of the ``[link]`` table.

    Attributes
    ----------
    backend : {"duckdb", "spark"}
        SQL engine Splink runs on. Spark needs ``pip install undercount[spark]`` and Java.
    threshold : float
        Match probability at or above which a pair may join two records into one cluster.
    blocking_rules : tuple of tuple of str, or None
        Each rule is a set of standardised columns that must all be equal (and non-missing)
        for a pair to be compared. None: the default rules for the columns the lists have.
    em_blocking_rules : tuple of tuple of str, or None
        Blocking rules of the EM training sessions. None: defaults.
    max_pairs : float or None
        Record pairs sampled at random to estimate the u probabilities. None (default):
        ``min(5e6, max(2e6, 20 × records))``: every level with u >= 2e-5 gets 100 sampled
        pairs, and an exact-match level the sample never sees (an exact national ID, u ~
        1e-7) is counted exactly (``undercount.link.pipeline.U_MAX_PAIRS``).
    em_max_iterations, em_convergence
        EM stopping rules.
    prior : float or None
        Probability that two random records match. None: estimated from deterministic rules
        with an assumed recall ``prior_recall``.
    prior_recall : float
        Assumed recall of the deterministic rules used to estimate ``prior``.
    threads : int
        DuckDB threads (Spark: local cores).
    memory_limit : str
        DuckDB memory limit, e.g. ``"6GB"``.
    spark : SparkConfig
        The ``[link.spark]`` table: master URL and session configuration.
    """

    backend: str = "duckdb"
    threshold: float = 0.9
    blocking_rules: tuple[tuple[str, ...], ...] | None = None
    em_blocking_rules: tuple[tuple[str, ...], ...] | None = None
    max_pairs: float | None = None
    em_max_iterations: int = 25
    em_convergence: float = 1e-4
    prior: float | None = None
    prior_recall: float = 0.7
    threads: int = 2
    memory_limit: str = "6GB"
    spark: SparkConfig = field(default_factory=SparkConfig)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("blocking_rules", "em_blocking_rules"):
            if out[key] is not None:
                out[key] = [list(r) for r in out[key]]
        out["spark"] = self.spark.to_dict()
        return out


@dataclass(frozen=True)
class CaptureHistoriesSpec:
    """Already-linked, individual-level capture histories (one row per person)."""

    file: Path
    lists: tuple[str, ...]
    strata: tuple[str, ...] = ()
    id_column: str | None = None
    identifying: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        out = [*self.lists, *self.strata]
        for c in (self.id_column, *self.identifying):
            if c and c not in out:
                out.append(c)
        return out


@dataclass(frozen=True)
class StrataSpec:
    """Stratum columns, derived age/number bins, and what to do with missing values."""

    columns: tuple[str, ...] = ()
    bins: dict[str, tuple[str, tuple[float, ...]]] = field(default_factory=dict)
    missing: str = "impute"
    imputations: int = 20

    def sources(self) -> tuple[str, ...]:
        """Columns the strata are computed from (a binned stratum: the column it bins)."""
        out = [self.bins[c][0] if c in self.bins else c for c in self.columns]
        return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class EstimateSpec:
    """The ``[estimate]`` table: ``options`` are ``undercount estimate``'s, by its names."""

    method: str = "loglinear"
    options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    sensitivity: bool = True
    replicates: int = 200
    headline: str = "stratified"
    linkage_draws: int = 0
    reported: float | None = None
    reported_label: str = "the reported figure"


@dataclass(frozen=True)
class ReportSpec:
    title: str = ""
    subtitle: str = ""
    subject: str = "people in total"
    redact: bool = False
    pdf: bool = True
    identifying: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectConfig:
    """A validated project file (see the module docstring), as :func:`load_project` reads it.

    Attributes
    ----------
    name : str
    seed : int
        Seed of every random step (u sampling; the estimate's unless ``[estimate] seed``).
    output : Path
        Absolute output folder.
    lists : tuple of ListSource
        Lists to link, in file order (ties in covariate conflicts go to the earliest list);
        empty when the project starts from ``capture_histories``.
    link : LinkConfig
    strata : StrataSpec
        Stratum columns for estimation (covariates or standardised fields such as ``sex``),
        derived bins, and what to do with missing values.
    capture_histories : CaptureHistoriesSpec or None
        Capture histories already linked, instead of ``lists``.
    estimate : EstimateSpec
    report : ReportSpec
    path : Path or None
        The TOML file (None when built in memory).
    """

    name: str
    seed: int
    output: Path
    lists: tuple[ListSource, ...] = ()
    link: LinkConfig = field(default_factory=LinkConfig)
    strata: StrataSpec = field(default_factory=StrataSpec)
    capture_histories: CaptureHistoriesSpec | None = None
    estimate: EstimateSpec = field(default_factory=EstimateSpec)
    report: ReportSpec = field(default_factory=ReportSpec)
    path: Path | None = None

    @property
    def linked(self) -> bool:
        """True when the lists must be linked (``[[lists]]``), False for capture histories."""
        return bool(self.lists)

    @property
    def list_names(self) -> tuple[str, ...]:
        if self.capture_histories is not None:
            return self.capture_histories.lists
        return tuple(spec.name for spec in self.lists)

    @property
    def store_path(self) -> Path:
        """The run's store (``undercount run``)."""
        return self.output / "project.duckdb"

    def identifying_columns(self) -> dict[str, list[str]]:
        """Per input, the columns that hold names or IDs (never shown when redacting)."""
        out: dict[str, list[str]] = {}
        for spec in self.lists:
            cols = [spec.id_column]
            cols += [c for r, c in spec.columns.items()
                     if r in NAME_ROLES or r in ("national_id", "dob")]
            cols += [c for c in self.report.identifying if c in spec.source_columns]
            out[spec.name] = list(dict.fromkeys(cols))
        if self.capture_histories is not None:
            ch = self.capture_histories
            cols = [c for c in (ch.id_column, *ch.identifying, *self.report.identifying) if c]
            out["capture_histories"] = list(dict.fromkeys(cols))
        return out

    def to_dict(self) -> dict[str, Any]:
        def plain(obj: Any) -> Any:
            if isinstance(obj, Path):
                return str(obj)
            if isinstance(obj, dict):
                return {k: plain(v) for k, v in obj.items()}
            if isinstance(obj, list | tuple):
                return [plain(v) for v in obj]
            return obj

        return plain({
            "project": {"name": self.name, "seed": self.seed, "output": self.output},
            "lists": [
                {
                    "name": s.name,
                    "file": s.file,
                    "format": s.format,
                    "id_column": s.id_column,
                    "columns": dict(s.columns),
                    "covariates": list(s.covariates),
                    "on_bad_value": s.on_bad_value,
                    # Only when set, so the stage hashes of existing projects do not change.
                    **({"encoding": s.encoding} if s.encoding is not None else {}),
                    **({"date_order": s.date_order} if s.date_order is not None else {}),
                }
                for s in self.lists
            ],
            "link": self.link.to_dict(),
            "capture_histories": asdict(self.capture_histories)
            if self.capture_histories else None,
            "strata": asdict(self.strata),
            "estimate": asdict(self.estimate),
            "report": asdict(self.report),
        })
