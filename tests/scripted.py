"""Test doubles we own: a scripted model and a sink that records events."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from autorun.events import Event
from autorun.models.base import Message, Usage


class ScriptedModel:
    """Replies with the given texts in order, in small chunks, recording what it was sent."""

    def __init__(self, replies: Sequence[str], name: str = "scripted", usage: Usage | None = None) -> None:
        self.replies = list(replies)
        self.name = name
        self.usage: Usage | None = usage
        self.seen: list[list[Message]] = []

    def reply(self, messages: Sequence[Message]) -> Iterator[str]:
        self.seen.append(list(messages))
        if not self.replies:
            raise AssertionError("ScriptedModel ran out of replies")
        text = self.replies.pop(0)
        for start in range(0, len(text), 7):
            yield text[start : start + 7]


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events if not e.live]

    def of(self, kind: str) -> list:
        return [e for e in self.events if e.kind == kind]
