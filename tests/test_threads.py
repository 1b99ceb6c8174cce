"""autorun's background threads leave SIGINT and SIGTERM to the main thread (the chat prompt must get them)."""

from __future__ import annotations

import signal
import threading

from autorun.threads import MAIN_THREAD_SIGNALS, start_background


def test_a_background_thread_and_its_children_block_the_main_threads_signals() -> None:
    masks: dict[str, set[int]] = {}

    def child() -> None:
        masks["child"] = set(signal.pthread_sigmask(signal.SIG_BLOCK, []))

    def parent() -> None:
        masks["thread"] = set(signal.pthread_sigmask(signal.SIG_BLOCK, []))
        grandchild = threading.Thread(target=child)  # as jupyter_client starts its channel threads
        grandchild.start()
        grandchild.join()

    before = set(signal.pthread_sigmask(signal.SIG_BLOCK, []))
    start_background(parent, "test").join(timeout=10)
    assert masks["thread"] >= MAIN_THREAD_SIGNALS and masks["child"] >= MAIN_THREAD_SIGNALS
    assert set(signal.pthread_sigmask(signal.SIG_BLOCK, [])) == before, "the starting thread's mask is restored"
    assert not MAIN_THREAD_SIGNALS & before
