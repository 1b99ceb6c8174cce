"""Replace the secret values autorun knows by ``[REDACTED]`` in everything shown, sent or recorded.

autorun knows two kinds of secret: the model's API key, and the value of every
environment variable it scrubbed from the code's environment because its name
looks like a secret (secrets.is_secret_name). Code run on the host can still
find them (``/proc/<autorun's pid>/environ``); redaction makes sure they never
reach the terminal, the transcript or the model, even when the code prints them.
Values shorter than MIN_SECRET_LENGTH are left alone: redacting every "1" or
"true" would mangle ordinary output and protect nothing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from autorun.events import Event, ExecutionOutput, ExecutionResultEvent, Interrupted, MessageChunk, SessionEnd, Sink
from autorun.models.base import Message, Model, Usage

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 6


class Redactor:
    """Replaces each known secret value by REDACTED; the longest value wins where two overlap."""

    def __init__(self, secrets: Iterable[str]) -> None:
        unique = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
        self.secrets = sorted(unique, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, self.secrets))) if self.secrets else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(REDACTED, text)

    def value(self, value: Any) -> Any:
        """Redact every string inside dicts, lists, tuples and dataclass values (an event's artifacts)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.value(item) for item in value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.replace(
                value, **{f.name: self.value(getattr(value, f.name)) for f in dataclasses.fields(value)}
            )
        return value

    def event(self, event: Event) -> Event:
        changes = {
            f.name: self.value(getattr(event, f.name))
            for f in dataclasses.fields(event)
            if isinstance(getattr(event, f.name), str | dict | list | tuple)
        }
        return dataclasses.replace(event, **changes) if changes else event

    def held_back(self, text: str) -> int:
        """How many trailing characters of ``text`` could be the start of a secret."""
        longest = 0
        for secret in self.secrets:
            start = text.find(secret[0], max(0, len(text) - len(secret) + 1))
            while start != -1 and len(text) - start > longest:
                if secret.startswith(text[start:]):
                    longest = len(text) - start
                    break
                start = text.find(secret[0], start + 1)
        return longest


class StreamRedactor:
    """Redacts text that arrives in chunks, holding back a tail that may be a secret cut in two."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._pending = ""

    def feed(self, chunk: str) -> str:
        text = self.redactor.text(self._pending + chunk)
        keep = self.redactor.held_back(text)
        self._pending = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return self.redactor.text(text)


class RedactingSink:
    """An event sink wrapper: what reaches ``inner`` (display, transcript, JSON) carries no known secret."""

    def __init__(self, inner: Sink, redactor: Redactor) -> None:
        self.inner = inner
        self.redactor = redactor
        self._message: StreamRedactor | None = None
        self._message_role = "assistant"
        self._outputs: dict[int, StreamRedactor] = {}

    def handle(self, event: Event) -> None:
        if isinstance(event, MessageChunk):
            if self._message is None:
                self._message, self._message_role = StreamRedactor(self.redactor), event.role
            self._send(MessageChunk(role=event.role, text=self._message.feed(event.text)))
            return
        self._flush_message()
        if isinstance(event, ExecutionOutput):
            stream = self._outputs.setdefault(event.index, StreamRedactor(self.redactor))
            self._send(ExecutionOutput(index=event.index, text=stream.feed(event.text)))
            return
        if isinstance(event, ExecutionResultEvent):
            self._flush_output(event.index)
        elif isinstance(event, Interrupted | SessionEnd):
            for index in list(self._outputs):
                self._flush_output(index)
        self.inner.handle(self.redactor.event(event))

    def close(self) -> None:
        self._flush_message()
        for index in list(self._outputs):
            self._flush_output(index)
        self.inner.close()

    def _send(self, event: MessageChunk | ExecutionOutput) -> None:
        if event.text:
            self.inner.handle(event)

    def _flush_message(self) -> None:
        stream, self._message = self._message, None
        if stream is not None:
            self._send(MessageChunk(role=self._message_role, text=stream.flush()))

    def _flush_output(self, index: int) -> None:
        stream = self._outputs.pop(index, None)
        if stream is not None:
            self._send(ExecutionOutput(index=index, text=stream.flush()))


class RedactingModel:
    """A model wrapper: every message sent to ``inner`` has known secrets redacted."""

    def __init__(self, inner: Model, redactor: Redactor) -> None:
        self.inner = inner
        self.redactor = redactor

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def usage(self) -> Usage | None:
        return self.inner.usage

    def cost(self, usage: Usage | None) -> float | None:
        return self.inner.cost(usage)

    def reply(self, messages: Sequence[Message]) -> Iterator[str]:
        clean = [dataclasses.replace(m, content=self.redactor.text(m.content)) for m in messages]
        return self.inner.reply(clean)


def redacting_sink(sink: Sink, redactor: Redactor) -> Sink:
    """``sink`` wrapped so no known secret is shown or recorded (``sink`` itself when there is none)."""
    return RedactingSink(sink, redactor) if redactor else sink


def redacting_model(model: Model, redactor: Redactor) -> Model:
    """``model`` wrapped so no known secret is sent to it (``model`` itself when there is none)."""
    return RedactingModel(model, redactor) if redactor else model
