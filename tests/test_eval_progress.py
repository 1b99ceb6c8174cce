"""An eval's progress: done/total, the running accuracy and the time left, on a terminal and off it."""

from __future__ import annotations

import io

from autorun.evaluation.progress import LiveProgress, PlainProgress, Tally


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _result(qid: str, correct: bool | None, outcome: str = "right") -> dict[str, object]:
    return {"id": qid, "correct": correct, "outcome": outcome, "duration_s": 2.0, "reason": "why"}


def test_the_time_left_is_the_pace_so_far_times_the_questions_left() -> None:
    clock = Clock()
    tally = Tally(10, clock=clock)
    assert tally.eta() == "ETA -" and tally.accuracy() == "accuracy -"
    clock.now += 30
    tally.add(_result("1", True))
    tally.add(_result("2", False, "wrong"))
    assert tally.eta() == "ETA 2 min 00.0 s"  # 15 s a question, 8 to go
    tally.add(_result("3", None, "unscored"))
    assert tally.accuracy() == "accuracy 1/2 = 50.0%", "an unscored question does not count"


def test_off_a_terminal_each_result_is_one_line() -> None:
    err = io.StringIO()
    clock = Clock()
    progress = PlainProgress(Tally(2, clock=clock), err)
    progress.start()
    clock.now += 4
    progress.finished(_result("7", False, "failed"))
    progress.finished(_result("8", True))
    assert err.getvalue().splitlines() == [
        "autorun: eval: 2 questions to ask",
        "[1/2] 7: failed (why) in 2.00 s; accuracy 0/1 = 0.0%; ETA 4.00 s",
        "[2/2] 8: right in 2.00 s; accuracy 1/2 = 50.0%; ETA 0 s",
    ]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_bar_shows_the_same() -> None:
    err = Terminal()
    progress = LiveProgress(Tally(3), err)
    progress.start()
    progress.started()
    progress.finished(_result("1", True))
    progress.close()
    shown = err.getvalue()
    assert "1/3" in shown and "accuracy 1/1 = 100.0%" in shown and "ETA" in shown and "0 running" in shown
