"""What a transcript holds for `autorun chat --resume`: its messages, data file and block count."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autorun.errors import ConfigError
from autorun.events import CodeBlockEvent, MessageEvent
from autorun.models.base import Message


@dataclass(frozen=True)
class ChatHistory:
    """What a transcript holds for ``--resume``."""

    path: Path
    messages: tuple[Message, ...]
    data_file: Path | None
    blocks_seen: int


def load_history(path: Path) -> ChatHistory:
    from autorun.record.reader import read_transcript

    transcript = read_transcript(path)
    messages = tuple(
        Message(m.role, m.content, m.name) for m in transcript.of(MessageEvent) if m.role in ("user", "assistant")
    )
    if not messages:
        raise ConfigError(f"{path} holds no messages to resume; give the transcript of an earlier session")
    start = transcript.start
    data_file = start.data_file if start is not None else None
    blocks = [block.index for block in transcript.of(CodeBlockEvent)]
    return ChatHistory(Path(path), messages, Path(data_file) if data_file else None, max(blocks, default=0))
