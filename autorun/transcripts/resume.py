"""What a transcript holds for `autorun chat --resume`: its messages, data file and block count."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autorun.errors import ConfigError
from autorun.models.base import Message


@dataclass(frozen=True)
class ChatHistory:
    """What a transcript holds for ``--resume``."""

    path: Path
    messages: tuple[Message, ...]
    data_file: Path | None
    blocks_seen: int


def load_history(path: Path) -> ChatHistory:
    from autorun.transcripts.store import read_transcript

    records = read_transcript(path)
    messages = tuple(_messages(records))
    if not messages:
        raise ConfigError(f"{path} holds no messages to resume; give the transcript of an earlier session")
    start = next((r for r in records if r.get("event") == "session_start"), {})
    data_file = start.get("data_file")
    indexes = [r["index"] for r in records if r.get("event") == "code_block" and isinstance(r.get("index"), int)]
    return ChatHistory(
        Path(path), messages, Path(data_file) if isinstance(data_file, str) else None, max(indexes, default=0)
    )


def _messages(records: list[dict[str, Any]]) -> Iterator[Message]:
    """The conversation's messages; each result message with the values its blocks published (recorded
    in their ``execution_result`` events), as the session had them."""
    published: list[dict[str, Any]] = []
    for r in records:
        if r.get("event") == "execution_result" and isinstance(r.get("published"), list):
            published += [value for value in r["published"] if isinstance(value, dict)]
        if r.get("event") != "message" or r.get("role") not in ("user", "assistant"):
            continue
        if not isinstance(r.get("content"), str):
            continue
        name = r.get("name") if isinstance(r.get("name"), str) else None
        values = tuple(published) if r["role"] == "user" else ()
        published = []
        yield Message(r["role"], r["content"], name, values)
