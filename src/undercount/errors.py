"""Every error and warning undercount raises.

The tree::

    UndercountError                 base of everything raised on purpose
    ├── InputError                  a bad input file or table (names file, row, column)
    ├── ConfigError                 a bad parameter or option (names it, the value, what is allowed)
    ├── LinkageError                record linkage could not proceed
    └── EstimationError             no honest number can be produced
        ├── MLENotFoundError        the maximum-likelihood estimate does not exist (names the cells)
        └── NotIdentifiableError    the model's parameters are not identifiable

    UndercountWarning (UserWarning) base of every warning, so users can filter on it
    └── DataWarning                 input was repaired (all-zero rows dropped, repeats summed)

The CLI catches :class:`UndercountError` once and maps each subclass to an exit code
(:data:`EXIT_CODES`); user errors never print a traceback.
"""

from __future__ import annotations

__all__ = [
    "EXIT_CODES",
    "ConfigError",
    "DataWarning",
    "EstimationError",
    "InputError",
    "LinkageError",
    "MLENotFoundError",
    "NotIdentifiableError",
    "UndercountError",
    "UndercountWarning",
]


class UndercountError(Exception):
    """Base class of every error undercount raises on purpose."""


class InputError(UndercountError, ValueError):
    """A bad input file or table.

    Messages name the file (or ``<table>`` for in-memory input), the row and the column,
    and what is wrong. Several problems are collected and raised together.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        if self.problems:
            shown = self.problems[:20]
            more = len(self.problems) - len(shown)
            message = message + "\n" + "\n".join(f"  - {p}" for p in shown)
            if more > 0:
                message += f"\n  ... and {more} more"
        super().__init__(message)


class ConfigError(UndercountError, ValueError):
    """A bad parameter or option: names the parameter, the value and what is allowed."""


class LinkageError(UndercountError):
    """Record linkage could not proceed."""


class EstimationError(UndercountError):
    """No honest estimate can be produced for this table and method."""


class MLENotFoundError(EstimationError):
    """The maximum-likelihood estimate does not exist (some parameter runs to infinity)."""

    def __init__(self, message: str, cells: list[str] | None = None) -> None:
        self.cells = list(cells or [])
        super().__init__(message)


class NotIdentifiableError(EstimationError):
    """The model's design is rank-deficient, so its parameters are not identifiable."""


class UndercountWarning(UserWarning):
    """Base class of every warning undercount emits."""


class DataWarning(UndercountWarning):
    """Input was repaired rather than rejected (all-zero rows dropped, repeats summed)."""


#: CLI exit codes by error class (most specific first).
EXIT_CODES: dict[type[UndercountError], int] = {
    InputError: 2,
    ConfigError: 3,
    MLENotFoundError: 4,
    NotIdentifiableError: 4,
    EstimationError: 4,
    LinkageError: 5,
    UndercountError: 1,
}
