"""The display sinks of the event stream, and the choice between them.

``rich`` for a terminal, ``plain`` for pipes and NO_COLOR, ``json`` for
JSON Lines on stdout, ``quiet`` for the final message only. Each sink has
``handle(event)`` and an idempotent ``close()``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TextIO

from autorun.events import Event, ExecutionOutput, SessionEnd, SessionStart, Sink
from autorun.render.common import safe, termination_keyword, without_keyword
from autorun.render.plain import PlainRenderer

__all__ = [
    "MODES",
    "Fanout",
    "JsonLinesWriter",
    "PlainRenderer",
    "QuietRenderer",
    "Sink",
    "make_renderer",
]

MODES = ("auto", "rich", "plain", "json", "quiet")


def event_json(event: Event) -> str:
    """One event as one line of ASCII-only JSON (control characters escaped)."""
    return json.dumps(event.to_dict(), ensure_ascii=True, default=str)


class JsonLinesWriter:
    """``--json``: one JSON object per complete event (plus live block output), nothing else."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def handle(self, event: Event) -> None:
        if event.live and not isinstance(event, ExecutionOutput):
            return
        self.out.write(event_json(event) + "\n")
        self.out.flush()

    def close(self) -> None:
        self.out.flush()


class QuietRenderer:
    """``--quiet``: the assistant's final message, without the termination keyword, at the end."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._keyword = termination_keyword(None)

    def handle(self, event: Event) -> None:
        if isinstance(event, SessionStart):
            self._keyword = termination_keyword(event)
        elif isinstance(event, SessionEnd):
            final = safe(without_keyword(event.final_message, self._keyword)).strip("\n")
            if final:
                self.out.write(final + "\n")
                self.out.flush()

    def close(self) -> None:
        self.out.flush()


class Fanout:
    """Passes every event to each sink; one failing sink does not starve the others."""

    def __init__(self, *sinks: Sink) -> None:
        self.sinks = sinks

    def handle(self, event: Event) -> None:
        self._each(lambda sink: sink.handle(event))

    def close(self) -> None:
        self._each(lambda sink: sink.close())

    def _each(self, call: Callable[[Sink], None]) -> None:
        failure: BaseException | None = None
        for sink in self.sinks:
            try:
                call(sink)
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure


def wants_rich(stdout: TextIO, env: Mapping[str, str]) -> bool:
    """A terminal, and neither NO_COLOR (non-empty, see no-color.org) nor TERM=dumb."""
    isatty = getattr(stdout, "isatty", None)
    return bool(isatty and isatty()) and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def make_renderer(mode: str, *, stdout: TextIO, stderr: TextIO, env: Mapping[str, str]) -> Sink:
    """The display sink for ``mode``; ``auto`` and ``rich`` fall back to plain off a terminal."""
    if mode == "json":
        return JsonLinesWriter(stdout)
    if mode == "quiet":
        return QuietRenderer(stdout)
    if mode == "plain" or (mode in ("auto", "rich") and not wants_rich(stdout, env)):
        return PlainRenderer(stdout, stderr)
    if mode in ("auto", "rich"):
        from rich.console import Console

        from autorun.render.rich_display import RichRenderer  # rich's Markdown and Syntax: only for a terminal

        return RichRenderer(Console(file=stdout, highlight=False), Console(file=stderr, highlight=False))
    raise ValueError(f"unknown output mode {mode!r}; expected one of {', '.join(MODES)}")
