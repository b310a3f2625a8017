"""Record linkage of victim lists with Splink 5 (DuckDB by default, Spark optional).

The pipeline verbs have one module each: :mod:`~undercount.link.train`,
:mod:`~undercount.link.predict`, :mod:`~undercount.link.cluster`,
:mod:`~undercount.link.evaluate`; :func:`link_project` runs them all for a project file.
Fellegi–Sunter refits (:mod:`~undercount.link.fellegi_sunter`), calibration against labels
(:mod:`~undercount.link.calibrate`) and plausible partitions
(:mod:`~undercount.link.partitions`) serve linkage averaging.
The effect of linkage errors on the estimate runs estimators, so it lives a layer up, in
:mod:`undercount.uncertainty.linkage_effect`.
Splink is imported lazily, on first use of a name that needs it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "Calibrator",
    "FellegiSunter",
    "LinkResult",
    "LinkSettings",
    "LinkageEvaluation",
    "constrained_clusters",
    "get_db_api",
    "link_project",
    "link_records",
    "read_linkage",
    "sample_partitions",
    "score_linkage",
    "table_from_clusters",
]

_WHERE = {
    "LinkResult": "undercount.link.pipeline",
    "link_project": "undercount.link.pipeline",
    "link_records": "undercount.link.pipeline",
    "read_linkage": "undercount.link.pipeline",
    "LinkSettings": "undercount.link.settings",
    "constrained_clusters": "undercount.link.cluster",
    "LinkageEvaluation": "undercount.link.evaluate",
    "score_linkage": "undercount.link.evaluate",
    "get_db_api": "undercount.link.backends",
    "Calibrator": "undercount.link.calibrate",
    "FellegiSunter": "undercount.link.fellegi_sunter",
    "sample_partitions": "undercount.link.partitions",
    "table_from_clusters": "undercount.link.partitions",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'undercount.link' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
