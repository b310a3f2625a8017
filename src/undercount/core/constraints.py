"""Parameter ranges declared once, as data, next to the parameter.

A settings dataclass writes ``level: Annotated[float, Open(0, 1)] = 0.95`` or
``replicates: Annotated[int, AtLeast(20)] = 1000``; :func:`undercount.core.estimator.check_settings`
reads the annotations and raises one uniform :class:`~undercount.errors.ConfigError`
naming the class, the parameter, the value and the allowed range. The bound is thus
declared once and cannot drift from its check or its message.

Each constraint knows its domain: :class:`AtLeast` and :class:`AtMost` on an ``int``
field also require an integer (``True`` is not one); the others require a finite real
number.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = ["AtLeast", "AtMost", "Closed", "Constraint", "HalfOpen", "Open", "Positive"]


@dataclass(frozen=True)
class Constraint:
    """Base class: :meth:`problem` returns why a value breaks the constraint, or None."""

    def allowed(self, integer: bool) -> str:
        """The allowed range in words, for messages (e.g. ``"a number in (0, 1)"``)."""
        raise NotImplementedError

    def _inside(self, value: float) -> str | None:
        raise NotImplementedError

    def problem(self, value: object, *, integer: bool) -> str | None:
        """``None`` if ``value`` is allowed, else a short verdict (``"too large"``, ...)."""
        if isinstance(value, bool):
            return "not an integer" if integer else "not a number"
        if integer:
            if not isinstance(value, numbers.Integral):
                return "not an integer"
        elif not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
            return "not a finite number"
        return self._inside(value)  # type: ignore[arg-type]


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class Open(Constraint):
    """``lo < value < hi`` (e.g. an interval level, a probability strictly inside (0, 1))."""

    lo: float
    hi: float

    def allowed(self, integer: bool) -> str:
        return f"a number in ({_num(self.lo)}, {_num(self.hi)})"

    def _inside(self, value: float) -> str | None:
        if value <= self.lo:
            return "too small"
        if value >= self.hi:
            return "too large"
        return None


@dataclass(frozen=True)
class Closed(Constraint):
    """``lo <= value <= hi``."""

    lo: float
    hi: float

    def allowed(self, integer: bool) -> str:
        return f"a number in [{_num(self.lo)}, {_num(self.hi)}]"

    def _inside(self, value: float) -> str | None:
        if value < self.lo:
            return "too small"
        if value > self.hi:
            return "too large"
        return None


@dataclass(frozen=True)
class HalfOpen(Constraint):
    """``lo < value <= hi``."""

    lo: float
    hi: float

    def allowed(self, integer: bool) -> str:
        return f"a number in ({_num(self.lo)}, {_num(self.hi)}]"

    def _inside(self, value: float) -> str | None:
        if value <= self.lo:
            return "too small"
        if value > self.hi:
            return "too large"
        return None


@dataclass(frozen=True)
class AtLeast(Constraint):
    """``value >= lo``; on an ``int`` field a count such as replicates or chains."""

    lo: float

    def allowed(self, integer: bool) -> str:
        return f"{'an integer' if integer else 'a number'} >= {_num(self.lo)}"

    def _inside(self, value: float) -> str | None:
        return "too few" if value < self.lo else None


@dataclass(frozen=True)
class AtMost(Constraint):
    """``value <= hi``."""

    hi: float

    def allowed(self, integer: bool) -> str:
        return f"{'an integer' if integer else 'a number'} <= {_num(self.hi)}"

    def _inside(self, value: float) -> str | None:
        return "too large" if value > self.hi else None


@dataclass(frozen=True)
class Positive(Constraint):
    """``value > 0`` (a concentration, a pseudo-count, a prior mass)."""

    def allowed(self, integer: bool) -> str:
        return f"{'an integer' if integer else 'a number'} > 0"

    def _inside(self, value: float) -> str | None:
        return "too small" if value <= 0 else None
