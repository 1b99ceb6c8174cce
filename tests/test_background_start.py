"""BackgroundStart: a step still running when a wait gives up is waited for (and its error raised) later."""

from __future__ import annotations

import threading

import pytest

from autorun.executors.background import BackgroundStart


def test_a_step_outliving_the_wait_is_still_finished_by_the_next_call() -> None:
    release = threading.Event()

    def step() -> None:
        release.wait(10)
        raise RuntimeError("the start failed")

    start = BackgroundStart(step, "test-start")
    start.begin()
    start.finish(timeout=0.05)  # the step runs on: nothing to report yet
    release.set()
    with pytest.raises(RuntimeError, match="the start failed"):
        start.finish(timeout=10)
    start.finish()  # raised once
