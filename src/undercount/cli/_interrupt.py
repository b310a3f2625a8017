"""Ctrl-C and SIGTERM in the long commands (``link``, ``run``): one plain line, no traceback.

While :func:`interruptible` is active, SIGINT and SIGTERM raise :class:`KeyboardInterrupt`
in the main thread (SIGTERM would otherwise end the process without running any cleanup),
and the signal is remembered. Whatever exception then comes out of the command (the
KeyboardInterrupt itself, or the error Splink, DuckDB or the linkage step wrapped it in) is
replaced by the line ``interrupted during <stage>; ...`` on stderr and exit status
128 + signal number: 130 for SIGINT, 143 for SIGTERM. A second signal while cleaning up
exits at once with the same status.

The stores and output folders stay consistent on their own: every stage of ``undercount run``
commits in one transaction, and ``undercount link`` renames its finished folder into place
with the signals held (:func:`undercount.link.outputs.replace_folder`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType

import typer

__all__ = ["Interrupts", "interruptible"]


class Interrupts:
    """The stage now running, and the signal received (if any)."""

    def __init__(self) -> None:
        self.stage: str | None = None
        self.signum: int | None = None

    def enter(self, stage: str) -> None:
        """Record the stage that starts now; a signal that some library swallowed is raised
        again here, at the next stage boundary."""
        if self.signum is not None:
            raise KeyboardInterrupt
        self.stage = stage

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            os._exit(128 + self.signum)
        self.signum = signum
        raise KeyboardInterrupt


@contextlib.contextmanager
def interruptible(kept: str) -> Iterator[Interrupts]:
    """Turn SIGINT/SIGTERM inside the block into one line and exit 130/143.

    ``kept`` ends the line: what survives an interrupt (``"completed stages are kept"``).
    """
    state = Interrupts()
    old = {s: signal.signal(s, state._handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
    except BaseException as exc:
        if state.signum is None or isinstance(exc, typer.Exit | SystemExit):
            raise
        sys.stderr.write(f"interrupted during {state.stage or 'startup'}; {kept}\n")
        sys.stderr.flush()
        raise typer.Exit(128 + state.signum) from None
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
