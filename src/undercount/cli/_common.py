"""What every command shares: the consoles and the one place user errors are turned into
a message and an exit code (:data:`undercount.errors.EXIT_CODES`), never a traceback."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from undercount.core.choices import choices
from undercount.errors import EXIT_CODES, UndercountError

__all__ = ["choice_enum", "err", "error_text", "exit_code", "out", "user_errors"]

# emoji=False: a list called ":family:" (or a header with ":x:") must not become an emoji.
# Markup stays on for our own styling, so every string from a user's file or arguments is
# printed as rich.text.Text (never parsed as markup) or with markup=False (see _render.py).
out = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)


def choice_enum(name: str, literal: Any) -> type[StrEnum]:
    """A string enum of a ``Literal``'s values, for Typer's choices (``--method`` ...)."""
    return StrEnum(name, [(v, v) for v in choices(literal)])


def exit_code(exc: UndercountError) -> int:
    """The exit code of the most specific error class that has one."""
    return next((EXIT_CODES[c] for c in type(exc).__mro__ if c in EXIT_CODES), 1)


def error_text(exc: BaseException) -> Text:
    """``ErrorName: message``, the name in bold red, the message literal (not markup)."""
    return Text.assemble((type(exc).__name__, "bold red"), ": ", str(exc))


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except UndercountError as exc:
        # Messages quote things like [estimate], [12,13] and the user's own column names:
        # print them as text, never markup.
        err.print(error_text(exc), highlight=False)
        raise typer.Exit(exit_code(exc)) from None
