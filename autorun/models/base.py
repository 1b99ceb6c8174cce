"""The model seam: given the conversation, stream the assistant's next message."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from autorun.errors import ModelError


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str
    name: str | None = None
    published: tuple[dict[str, Any], ...] = ()  # values the blocks of an execution result published (published.py)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


class ReplyRestart(str):
    """The type of :data:`RESTART`; an empty string so ``Iterator[str]`` stays true."""


RESTART = ReplyRestart("")
"""Yielded by ``Model.reply`` when a stream broke after some chunks and a retry starts
producing text: the caller discards the chunks it received before this marker. Compare
with ``chunk is RESTART``: the marker is falsy and equals ``""``."""


class PartialReplyError(ModelError):
    """The model failed for good after streaming part of a reply.

    ``partial_text`` is exactly the text yielded since the last :data:`RESTART`.
    """

    def __init__(self, message: str, partial_text: str) -> None:
        super().__init__(message)
        self.partial_text = partial_text


class Model(Protocol):
    """Produces assistant replies: everything the session loop uses of a model.

    ``reply`` streams the next assistant message as text chunks. A retried stream
    yields :data:`RESTART` and the message starts again; a reply that breaks off for
    good raises :class:`PartialReplyError` carrying what had arrived. ``usage``
    describes the last reply (None when the server gave none); ``cost`` prices a
    usage in USD (None when the price is unknown).
    """

    @property
    def name(self) -> str: ...

    @property
    def usage(self) -> Usage | None: ...

    def cost(self, usage: Usage | None) -> float | None: ...

    def reply(self, messages: Sequence[Message]) -> Iterator[str]: ...
