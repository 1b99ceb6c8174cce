"""Replays the assistant messages of a recorded transcript, in order (deterministic reruns)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from autorun.errors import ModelError
from autorun.models.base import Message, Usage
from autorun.models.cache import chunk_text
from autorun.models.retry import PartialReplyError


@dataclass(frozen=True)
class RecordedReply:
    content: str
    usage: Usage | None
    partial: bool = False


def load_assistant_replies(path: Path) -> list[RecordedReply]:
    """The assistant messages of a transcript, read by autorun's one transcript reader."""
    from autorun.events import MessageEvent
    from autorun.record.reader import read_transcript

    return [
        RecordedReply(message.content, _usage(message.usage), message.partial)
        for message in read_transcript(path).of(MessageEvent)
        if message.role == "assistant"
    ]


def _usage(raw: dict[str, int] | None) -> Usage | None:
    if raw is None:
        return None
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
    if isinstance(prompt, int) and isinstance(completion, int):
        return Usage(prompt, completion)
    return None


class ReplayModel:
    """Streams the recorded replies one per call, whatever the messages.

    A reply recorded as partial is streamed and then fails the way the original did.
    """

    def __init__(self, transcript_path: Path | str) -> None:
        self.path = Path(transcript_path)
        self.name = f"replay:{self.path}"
        self.usage: Usage | None = None
        self.replies = load_assistant_replies(self.path)
        self._next = 0

    def cost(self, usage: Usage | None) -> float | None:
        """Nothing to pay: the reply is made here, not bought from a server."""
        return None

    def reply(self, messages: Sequence[Message]) -> Iterator[str]:
        self.usage = None
        if self._next >= len(self.replies):
            count = len(self.replies)
            noun = "message" if count == 1 else "messages"
            raise ModelError(f"replay exhausted: {self.path} has {count} assistant {noun}")
        recorded = self.replies[self._next]
        self._next += 1
        yield from chunk_text(recorded.content)
        if recorded.partial:
            raise PartialReplyError(f"the recorded reply {self._next} in {self.path} broke off here", recorded.content)
        self.usage = recorded.usage
