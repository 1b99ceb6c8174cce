"""Background threads that never take the signals meant for the main thread, and the calls of
the main thread that a signal's exception must not interrupt.

A process-directed SIGINT or SIGTERM goes to any thread that does not block it.
Python runs its handler in the main thread only when that thread notices; one
sitting in ``input()`` (the chat prompt) does not, and the signal is lost until a
key is pressed. So every thread autorun starts blocks SIGINT and SIGTERM, and so
do the threads those start (jupyter_client's channel threads): a thread inherits
the signal mask of the thread that started it.

A handler that raises does so between any two bytecodes of the main thread, and some library
code does not survive that: asyncio's ``Handle._run`` swallows a BaseException other than
KeyboardInterrupt and SystemExit raised in a callback, so the event loop jupyter_client runs
each ``get_iopub_msg`` in was never told to stop and waited forever; a ``Popen`` interrupted
after its fork loses the child; a thread interrupted while it starts is never joined. Such
calls run ``shielded()``: an exception a handler raises with ``raise_or_hold`` meanwhile is
held and raised as the outermost shield ends, in autorun's own code.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

MAIN_THREAD_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_PLAIN_DATA = (str, bytes, int, float, bool, dict, list, tuple, type(None))
_MAIN_THREAD_ID = threading.main_thread().ident


class _Shield:
    """The main thread's shield depth, and the exception held while it is up."""

    def __init__(self) -> None:
        self.depth = 0
        self.held: BaseException | None = None
        self.requested: BaseException | None = None  # until the code it stops says it got it

    def __enter__(self) -> None:
        if threading.get_ident() == _MAIN_THREAD_ID:
            self.depth += 1

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if threading.get_ident() != _MAIN_THREAD_ID:
            return
        self.depth -= 1
        if self.depth == 0 and self.held is not None:
            held, self.held = self.held, None
            raise held


_SHIELD = _Shield()


def shielded() -> _Shield:
    """A region of the main thread that a signal's exception must not interrupt (see the module doc).

    Keep it short: the exception waits for its end. In other threads it does nothing.
    """
    return _SHIELD


def raise_or_hold(error: BaseException) -> None:
    """For a signal handler: raise ``error`` now, or at the end of the shielded region it arrived in.

    It also stays requested until ``forget_request()``: raised in code that swallows it (a weakref
    callback, which Python reports as "Exception ignored"), ``raise_requested()`` raises it again.
    """
    _SHIELD.requested = error
    if _SHIELD.depth:
        _SHIELD.held = _SHIELD.held or error
        return
    raise error


def raise_requested() -> None:
    """At a safe point of the main thread: raise the signal's exception that has not been handled yet."""
    if _SHIELD.requested is not None and threading.get_ident() == _MAIN_THREAD_ID:
        raise _SHIELD.requested


def forget_request() -> None:
    """The signal's exception was handled (or its handler is gone)."""
    _SHIELD.requested = None


class ShieldedCalls:
    """``target`` through a proxy whose every method call, and every call through its attributes, runs shielded.

    For a library whose calls must not be interrupted (jupyter_client's client: ``client.execute(...)``,
    ``client.control_channel.send(...)``); what the calls return is not wrapped.
    """

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        with _SHIELD:  # a property may do work (jupyter_client makes its channels on first use)
            value = getattr(self._target, name)
        if isinstance(value, _PLAIN_DATA):
            return value
        if not callable(value):
            return ShieldedCalls(value)

        def call(*args: Any, **kwargs: Any) -> Any:
            with _SHIELD:
                return value(*args, **kwargs)

        setattr(self, name, call)  # a method is looked up once: the kernel's poll calls it every few ms
        return call


def start_background(target: Callable[..., Any], name: str, args: tuple[Any, ...] = ()) -> threading.Thread:
    """Start a daemon thread whose signal mask blocks SIGINT and SIGTERM from its first instruction.

    The mask is set in the starting thread around ``start()`` (the new thread inherits it);
    a signal that arrives in that instant stays pending for the starting thread.
    """
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    with _SHIELD:  # start() waits for the thread to run: interrupted there, nobody would join it
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, MAIN_THREAD_SIGNALS)
        try:
            thread.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return thread
