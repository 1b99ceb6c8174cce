"""What a transcript holds for `autorun chat --resume`: its messages, data file and block count."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autorun.errors import ConfigError
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
    def from_start(cls, start: Mapping[str, Any]) -> Recorded:
        def text(value: object) -> str:
            return value if isinstance(value, str) else ""

        config = start.get("config")
        config = config if isinstance(config, dict) else {}
        model = config.get("model")
        model = model if isinstance(model, dict) else {}
        files = start.get("config_files")
        return cls(
            model=text(start.get("model")),
            base_url=model.get("base_url") if isinstance(model.get("base_url"), str) else None,
            work_dir=text(start.get("work_dir")),
            executor=text(start.get("executor")),
            config_files=tuple(f for f in files if isinstance(f, str)) if isinstance(files, list) else (),
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
        Path(path),
        messages,
        Path(data_file) if isinstance(data_file, str) else None,
        max(indexes, default=0),
        Recorded.from_start(start),
    )
