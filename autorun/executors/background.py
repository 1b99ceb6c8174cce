"""Run a start-up step in a thread now and collect its outcome at the first use."""

from __future__ import annotations

import threading
from collections.abc import Callable

from autorun.threads import start_background


class BackgroundStart:
    """``begin()`` runs ``step`` in a daemon thread; ``finish()`` waits and raises what it raised."""

    def __init__(self, step: Callable[[], None], name: str) -> None:
        self._step = step
        self._name = name
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def begin(self) -> None:
        if self._thread is None:
            self._thread = start_background(self._run, self._name)

    def _run(self) -> None:
        try:
            self._step()
        except BaseException as exc:  # raised again by finish(), in the thread that needs the result
            self._error = exc

    def finish(self, timeout: float | None = None) -> None:
        """Wait for the step (not from within it); raise its exception, once.

        A step still running when ``timeout`` passes, or when a signal ends the wait, is still
        waited for by the next call (``close`` must know what it started).
        """
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                return
        self._thread = None
        error, self._error = self._error, None
        if error is not None:
            raise error
