"""What a transcript holds for `autorun chat --resume`: its messages, data file and block count."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
    messages = tuple(
        Message(r["role"], r["content"], r.get("name") if isinstance(r.get("name"), str) else None)
        for r in records
        if r.get("event") == "message" and r.get("role") in ("user", "assistant") and isinstance(r.get("content"), str)
    )
    if not messages:
        raise ConfigError(f"{path} holds no messages to resume; give the transcript of an earlier session")
    start = next((r for r in records if r.get("event") == "session_start"), {})
    data_file = start.get("data_file")
    indexes = [r["index"] for r in records if r.get("event") == "code_block" and isinstance(r.get("index"), int)]
    return ChatHistory(
        Path(path), messages, Path(data_file) if isinstance(data_file, str) else None, max(indexes, default=0)
    )
