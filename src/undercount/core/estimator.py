r"""The contract every estimator follows.

An estimator is a frozen dataclass holding configuration only (scikit-learn's convention);
``fit(table, *, rng=None)`` returns an immutable :class:`~undercount.core.result.MSEResult`
and never mutates the estimator or the table, so one estimator can be refitted thousands of
times in parallel (bootstrap, strata, linkage averaging).

Parameters annotated with ``Literal[...]``, or with a range from
:mod:`undercount.core.constraints` (``level: Annotated[float, Open(0, 1)] = 0.95``), are
checked in ``__post_init__`` by :func:`check_settings`, which raises a
:class:`~undercount.errors.ConfigError` naming the class, the parameter, the value and what
is allowed. The bound is declared once, with the parameter.

The hooks an estimator may offer the bootstrap (a fast :meth:`point_estimate`, the same from
cell counts, :meth:`restrict_to_top`) are the :class:`typing.Protocol`\ s
:class:`PointEstimator`, :class:`CellPointEstimator` and :class:`TopRestrictable`.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from abc import ABC, abstractmethod
from typing import (
    Annotated,
    Any,
    ClassVar,
    Literal,
    Protocol,
    get_args,
    get_origin,
    runtime_checkable,
)

import numpy as np

from undercount.core.constraints import Constraint
from undercount.core.result import MSEResult
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, EstimationError, InputError

__all__ = [
    "CellPointEstimator",
    "Estimator",
    "PointEstimator",
    "TopRestrictable",
    "check_settings",
    "literal_options",
]


def check_settings(obj: Any) -> None:
    """Check every dataclass field of ``obj`` against its declared options and range.

    A ``Literal[...]`` field must hold one of its values; a field annotated
    ``Annotated[T, constraint, ...]`` (constraints from :mod:`undercount.core.constraints`)
    must satisfy each constraint, and be an integer where ``T`` is ``int``. ``None`` passes
    where the annotation allows it. Raises one :class:`~undercount.errors.ConfigError`:
    ``"Bootstrap: replicates=5 is too few; allowed: an integer >= 20"``.
    """
    cls = type(obj)
    for name, options, constraints, optional, integer in _field_rules(cls):
        value = getattr(obj, name)
        if options is not None:
            if value not in options:
                allowed = ", ".join(repr(o) for o in options if o is not None)
                raise ConfigError(
                    f"{cls.__name__}: {name}={value!r} is not allowed; choose one of {allowed}"
                )
            continue
        if value is None and optional:
            continue
        for c in constraints:
            verdict = c.problem(value, integer=integer)
            if verdict is not None:
                raise ConfigError(
                    f"{cls.__name__}: {name}={value!r} is {verdict}; allowed: "
                    f"{c.allowed(integer)}"
                )


@functools.cache
def _field_rules(
    cls: type,
) -> tuple[tuple[str, tuple | None, tuple[Constraint, ...], bool, bool], ...]:
    """Per field of a settings class: its Literal options, its constraints, whether None is
    allowed and whether it is an integer (read once per class; the bootstrap and the strata
    build estimators in loops)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    rules = []
    for f in dataclasses.fields(cls):
        hint = hints.get(f.name)
        if hint is None:
            continue
        options = literal_options(hint)
        base, constraints, optional = _constraints(hint)
        if options is not None or constraints:
            rules.append((f.name, options, tuple(constraints), optional, base is int))
    return tuple(rules)


def _constraints(hint: Any) -> tuple[Any, list[Constraint], bool]:
    """The base type, the constraints and whether None is allowed, for
    ``Annotated[T, c]``, ``Annotated[T, c] | None`` and ``Annotated[T | None, c]``."""
    optional = False
    if get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        optional = len(args) < len(get_args(hint))
        if len(args) != 1:
            return None, [], optional
        hint = args[0]
    if get_origin(hint) is not Annotated:
        return None, [], optional
    base, *meta = get_args(hint)
    if get_origin(base) in (typing.Union, types.UnionType):
        inner = [a for a in get_args(base) if a is not type(None)]
        optional = optional or len(inner) < len(get_args(base))
        base = inner[0] if len(inner) == 1 else None
    return base, [m for m in meta if isinstance(m, Constraint)], optional


def literal_options(hint: Any) -> tuple | None:
    """The values of a ``Literal[...]`` (or ``Optional[Literal[...]]``) annotation, else None.

    The CLI builds its choices from these, so they cannot drift from the estimators."""
    if hint is None:
        return None
    if get_origin(hint) is Annotated:
        hint = get_args(hint)[0]
    if get_origin(hint) is Literal:
        return get_args(hint)
    # Optional[Literal[...]] and Literal[...] | None
    args = get_args(hint)
    lits = [a for a in args if get_origin(a) is Literal]
    if lits and all(get_origin(a) is Literal or a is type(None) for a in args):
        opts: list = []
        for a in lits:
            opts += list(get_args(a))
        if type(None) in args:
            opts.append(None)
        return tuple(opts)
    return None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Estimator(ABC):
    """Base class: a configured estimator whose ``fit`` returns an :class:`MSEResult`.

    Subclasses set ``method`` (the family's name in results and on the CLI), declare their
    parameters as dataclass fields, and implement :meth:`_fit`. Deterministic families
    ignore ``rng``; stochastic ones require it.
    """

    method: ClassVar[str] = ""
    stochastic: ClassVar[bool] = False

    def __post_init__(self) -> None:
        check_settings(self)

    def get_params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def set_params(self, **params: Any) -> Estimator:
        """A copy with some parameters changed (the estimator itself is immutable)."""
        unknown = set(params) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"{type(self).__name__}: unknown parameter(s) {sorted(unknown)}")
        return dataclasses.replace(self, **params)

    def fit(self, table: CaptureTable, *, rng: np.random.Generator | None = None) -> MSEResult:
        if not isinstance(table, CaptureTable):
            raise InputError(
                f"{type(self).__name__}.fit expects a CaptureTable, got {type(table).__name__}"
            )
        if self.stochastic and rng is None:
            raise ConfigError(
                f"{type(self).__name__} is stochastic: pass rng=np.random.default_rng(seed)"
            )
        problems = table.degeneracies()
        if problems:
            raise EstimationError(
                f"{table.source}: no estimate is possible: " + "; ".join(problems)
            )
        return self._fit(table.aggregate(), rng=rng)

    @abstractmethod
    def _fit(self, table: CaptureTable, *, rng: np.random.Generator | None) -> MSEResult:
        """Fit an aggregated (covariate-free) table."""


@runtime_checkable
class PointEstimator(Protocol):
    """An estimator with a fast N-hat alone (no interval, no records): the inner loop of
    :class:`~undercount.uncertainty.bootstrap.Bootstrap`. Raises
    :class:`~undercount.errors.EstimationError` where no estimate exists."""

    def point_estimate(self, table: CaptureTable) -> float: ...


@runtime_checkable
class CellPointEstimator(Protocol):
    """An estimator whose N-hat can be computed from cell counts alone (``full``: length
    2^J, indexed by cell code, cell 0 empty), without building a table."""

    def _point_estimate_cells(self, lists: tuple[str, ...], full: np.ndarray) -> float: ...


@runtime_checkable
class TopRestrictable(Protocol):
    """An estimator with model selection that can be restricted to its ``ntop`` best models
    on a table (Silverman, Chan & Vincent 2024's bootstrap restriction); ``fitted`` is its
    result on that table, whose model records supply the ranking."""

    def restrict_to_top(
        self, table: CaptureTable, ntop: int, fitted: MSEResult | None = None
    ) -> Estimator: ...
