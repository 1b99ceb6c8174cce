"""autorun's background threads leave SIGINT and SIGTERM to the main thread (the chat prompt must get them), and
shielded calls of the main thread are not interrupted by a signal's exception."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from autorun.threads import (
    MAIN_THREAD_SIGNALS,
    ShieldedCalls,
    forget_request,
    raise_or_hold,
    raise_requested,
    shielded,
    start_background,
)


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


class Stop(BaseException):
    pass


def _raise_stop(signum: int, frame: object) -> None:
    raise_or_hold(Stop())


def test_a_signal_in_a_shielded_call_is_raised_as_the_call_returns() -> None:
    previous = signal.signal(signal.SIGUSR1, _raise_stop)
    done: list[str] = []
    try:
        with pytest.raises(Stop), shielded():
            with shielded():
                os.kill(os.getpid(), signal.SIGUSR1)
                time.sleep(0.05)  # the handler has run by now: held, not raised
            done.append("inner shield ended")
            time.sleep(0.05)
            done.append("outer body finished")
        assert done == ["inner shield ended", "outer body finished"]
        with pytest.raises(Stop):
            raise_requested()  # until the code it stops forgets it
        forget_request()
        raise_requested()
        with pytest.raises(Stop):
            os.kill(os.getpid(), signal.SIGUSR1)
            time.sleep(1)  # unshielded: raised at once
    finally:
        signal.signal(signal.SIGUSR1, previous)
        forget_request()


def test_shielded_calls_run_every_method_of_the_target_and_of_its_attributes_shielded() -> None:
    depths: list[int] = []

    class Channel:
        def send(self, text: str) -> str:
            depths.append(shielded().depth)
            return text.upper()

    class Client:
        label = "client"
        channel = Channel()

        def execute(self) -> Channel:
            depths.append(shielded().depth)
            return self.channel

    proxy = ShieldedCalls(Client())
    assert proxy.label == "client"
    assert isinstance(proxy.execute(), Channel), "what a call returns is not wrapped"
    assert proxy.channel.send("ok") == "OK"
    assert depths == [1, 1] and shielded().depth == 0


def test_a_shield_in_a_background_thread_holds_nothing() -> None:
    seen: list[int] = []
    go = threading.Event()

    def body() -> None:
        go.wait(10)  # once start_background (shielded itself) has returned
        with shielded():
            seen.append(shielded().depth)

    thread = start_background(body, "test")
    go.set()
    thread.join(timeout=10)
    assert seen == [0]
