"""The contract every estimator follows.

An estimator is a frozen dataclass holding configuration only (scikit-learn's convention);
``fit(table, *, rng=None)`` returns an immutable :class:`~undercount.core.result.MSEResult`
and never mutates the estimator or the table, so one estimator can be refitted thousands of
times in parallel (bootstrap, strata, linkage averaging).

Parameters annotated with ``Literal[...]`` are checked in ``__post_init__`` by
:func:`check_literals`, which raises a :class:`~undercount.errors.ConfigError` naming the
parameter, the value and the allowed values.
"""

from __future__ import annotations

import dataclasses
import typing
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal, get_args, get_origin

import numpy as np

from undercount.core.result import MSEResult
from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, EstimationError, InputError

__all__ = ["Estimator", "check_literals"]


def check_literals(obj: Any) -> None:
    """Check every ``Literal``-annotated dataclass field of ``obj`` against its options."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        hint = hints.get(f.name)
        options = _literal_options(hint)
        if options is None:
            continue
        value = getattr(obj, f.name)
        if value not in options:
            allowed = ", ".join(repr(o) for o in options if o is not None)
            raise ConfigError(
                f"{type(obj).__name__}: {f.name}={value!r} is not allowed; choose one of {allowed}"
            )


def _literal_options(hint: Any) -> tuple | None:
    if hint is None:
        return None
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
        check_literals(self)

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
