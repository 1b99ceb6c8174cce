"""What a transcript holds for `autorun chat --resume`: its messages, data file and block count."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autorun.errors import ConfigError
from autorun.events import CodeBlockEvent, Event, ExecutionResultEvent, MessageEvent, SessionStart
from autorun.models.base import Message


@dataclass(frozen=True)
class Recorded:
    """The settings a transcript says its session ran with (only as trustworthy as the file)."""

    model: str = ""  # the model that answered: builtin, gpt-4o-mini, ...
    base_url: str | None = None
    work_dir: str = ""
    executor: str = ""  # the executor that ran the code: sandbox, local, docker, none
    config_files: tuple[str, ...] = ()

    @classmethod
    def from_start(cls, start: SessionStart) -> Recorded:
        model = start.config.get("model")
        base_url = model.get("base_url") if isinstance(model, dict) else None
        return cls(
            model=start.model,
            base_url=base_url if isinstance(base_url, str) else None,
            work_dir=start.work_dir,
            executor=start.executor,
            config_files=start.config_files,
        )

    def differences(self, now: Recorded) -> list[str]:
        """What ``now`` does differently, as "model gpt-4o-mini, now builtin" phrases."""
        pairs = [
            ("model", self.model, now.model),
            ("endpoint", self.base_url or "OpenAI", now.base_url or "OpenAI"),
            ("work dir", self.work_dir, now.work_dir),
            ("executor", self.executor, now.executor),
            ("config", ", ".join(self.config_files) or "none", ", ".join(now.config_files) or "none"),
        ]
        return [f"{what} {then}, now {current}" for what, then, current in pairs if then and then != current]


@dataclass(frozen=True)
class ChatHistory:
    """What a transcript holds for ``--resume``."""

    path: Path
    messages: tuple[Message, ...]
    data_file: Path | None
    blocks_seen: int
    recorded: Recorded = Recorded()


def load_history(path: Path) -> ChatHistory:
    from autorun.record.reader import read_transcript

    transcript = read_transcript(path)
    messages = tuple(_messages(transcript.events))
    if not messages:
        raise ConfigError(f"{path} holds no messages to resume; give the transcript of an earlier session")
    start = transcript.start
    data_file = start.data_file if start is not None else None
    blocks = [block.index for block in transcript.of(CodeBlockEvent)]
    return ChatHistory(
        Path(path),
        messages,
        Path(data_file) if data_file else None,
        max(blocks, default=0),
        Recorded.from_start(start) if start is not None else Recorded(),
    )


def _messages(events: Sequence[Event]) -> Iterator[Message]:
    """The conversation's messages; each result message with the values its blocks published (recorded
    in their ``execution_result`` events), as the session had them."""
    published: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, ExecutionResultEvent):
            published += [value for value in event.published if isinstance(value, dict)]
        if not isinstance(event, MessageEvent) or event.role not in ("user", "assistant"):
            continue
        values = tuple(published) if event.role == "user" else ()
        published = []
        yield Message(event.role, event.content, event.name, values)
