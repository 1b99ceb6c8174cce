"""An eval's progress on stderr: questions done of all, the running accuracy, the time left."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from autorun.render.common import format_duration, safe


@dataclass
class Tally:
    """The questions this run asks, counted as their results arrive."""

    total: int
    done: int = 0
    running: int = 0
    correct: int = 0
    scored: int = 0
    failed: int = 0
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def add(self, result: dict[str, Any]) -> None:
        self.done += 1
        self.running = max(0, self.running - 1)
        if result.get("correct") is not None:
            self.scored += 1
            self.correct += bool(result["correct"])
        if result.get("outcome") == "failed":
            self.failed += 1

    def accuracy(self) -> str:
        if not self.scored:
            return "accuracy -"
        return f"accuracy {self.correct}/{self.scored} = {self.correct / self.scored:.1%}"

    def eta(self) -> str:
        """The time left at the pace so far (sessions in parallel included), once one question is done."""
        if not self.done:
            return "ETA -"
        left = (self.clock() - self.started) / self.done * (self.total - self.done)
        return f"ETA {format_duration(left)}" if self.done < self.total else "ETA 0 s"


class Progress(Protocol):
    def start(self) -> None: ...

    def started(self) -> None: ...

    def finished(self, result: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class PlainProgress:
    """Off a terminal: one line per finished question, e.g. ``[12/100] 17: right in 3.10 s; accuracy ...; ETA ...``."""

    def __init__(self, tally: Tally, err: TextIO) -> None:
        self.tally = tally
        self.err = err

    def start(self) -> None:
        self.err.write(f"autorun: eval: {self.tally.total} questions to ask\n")
        self.err.flush()

    def started(self) -> None:
        self.tally.running += 1

    def finished(self, result: dict[str, Any]) -> None:
        t = self.tally
        t.add(result)
        why = f" ({safe(result['reason'])})" if result.get("outcome") in ("failed", "no answer") else ""
        line = f"[{t.done}/{t.total}] {safe(result['id'])}: {result['outcome']}{why} in "
        line += f"{format_duration(result['duration_s'])}; {t.accuracy()}; {t.eta()}\n"
        self.err.write(line)
        self.err.flush()

    def close(self) -> None:
        pass


class LiveProgress:
    """On a terminal: a Rich progress bar with the running accuracy and the time left."""

    def __init__(self, tally: Tally, err: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self.tally = tally
        self.bar = RichProgress(
            TextColumn("[bold]eval"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[running]} running"),
            TextColumn("{task.fields[accuracy]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
            console=Console(file=err, highlight=False),
            refresh_per_second=4,
        )
        self.task = self.bar.add_task("eval", total=tally.total, **self._fields())

    def _fields(self) -> dict[str, Any]:
        return {"running": self.tally.running, "accuracy": self.tally.accuracy(), "eta": self.tally.eta()}

    def start(self) -> None:
        self.bar.start()

    def started(self) -> None:
        self.tally.running += 1
        self.bar.update(self.task, **self._fields())

    def finished(self, result: dict[str, Any]) -> None:
        self.tally.add(result)
        self.bar.update(self.task, completed=self.tally.done, **self._fields())

    def close(self) -> None:
        self.bar.stop()


def make_progress(total: int, err: TextIO, *, terminal: bool) -> Progress:
    tally = Tally(total)
    return LiveProgress(tally, err) if terminal else PlainProgress(tally, err)
