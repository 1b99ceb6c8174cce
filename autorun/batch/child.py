"""The child side of a batch: what an `autorun analyse` run by a batch does differently.

The batch starts each child in its own session (so the terminal's Ctrl-C reaches only the
batch, which then stops every child in order) and names itself in ``PARENT_ENV``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Mapping

from autorun.events import Event, Sink

# Set in each child's environment: the batch's pid, so a child stops (cleanly, by SIGTERM) if the batch dies.
PARENT_ENV = "AUTORUN_BATCH_PARENT"
_PR_SET_PDEATHSIG = 1


class ToBatch:
    """A batch child's display (JSON Lines to the batch): dropped once the batch is gone.

    When the batch dies, the child gets SIGTERM and ends its session, but its stdout pipe
    is closed by then; without this, the first write would fail and cut the session's
    cleanup short of its ``session_end`` record.
    """

    def __init__(self, display: Sink) -> None:
        self.display: Sink | None = display

    def handle(self, event: Event) -> None:
        self._call(lambda display: display.handle(event))

    def close(self) -> None:
        self._call(lambda display: display.close())

    def _call(self, action: Callable[[Sink], None]) -> None:
        if self.display is None:
            return
        try:
            action(self.display)
        except BrokenPipeError:
            self.display = None


def for_batch(display: Sink, env: Mapping[str, str]) -> Sink:
    """``display`` as a batch child uses it (see :class:`ToBatch`); unchanged outside a batch."""
    return ToBatch(display) if env.get(PARENT_ENV) else display


def stop_with_parent(env: Mapping[str, str]) -> None:
    """In a batch's child: receive SIGTERM when the batch process dies, even by SIGKILL (Linux).

    The children run in their own sessions (so the terminal's Ctrl-C reaches only the
    batch); without this, a batch killed outright would leave them running.
    """
    parent = env.get(PARENT_ENV, "")
    if not parent.isdigit() or not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(parent):  # the batch died before the call above
        os.kill(os.getpid(), signal.SIGTERM)
