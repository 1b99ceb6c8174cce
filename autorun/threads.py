"""Background threads that never take the signals meant for the main thread.

A process-directed SIGINT or SIGTERM goes to any thread that does not block it.
Python runs its handler in the main thread only when that thread notices; one
sitting in ``input()`` (the chat prompt) does not, and the signal is lost until a
key is pressed. So every thread autorun starts blocks SIGINT and SIGTERM, and so
do the threads those start (jupyter_client's channel threads): a thread inherits
the signal mask of the thread that started it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

MAIN_THREAD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def start_background(target: Callable[..., Any], name: str, args: tuple[Any, ...] = ()) -> threading.Thread:
    """Start a daemon thread whose signal mask blocks SIGINT and SIGTERM from its first instruction.

    The mask is set in the starting thread around ``start()`` (the new thread inherits it);
    a signal that arrives in that instant stays pending for the starting thread.
    """
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, MAIN_THREAD_SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return thread
