"""What happens in a session, as frozen values.

The session reports everything through these events; the Rich renderer, the
`--json` writer and the transcript are three sinks of the same stream.
Events whose ``live`` flag is true (streamed chunks) exist for live display:
the transcript and JSON Lines record the complete message or result instead.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"
    live: ClassVar[bool] = False

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class SessionStart(Event):
    kind: ClassVar[str] = "session_start"
    session_id: str
    model: str
    executor: str
    work_dir: str
    data_file: str | None
    transcript: str | None
    config: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""
    executor_reason: str = ""  # why this executor: "auto: bwrap works (/usr/bin/bwrap)", "executor.type: local"
    limits: str = ""  # how memory and disk are bounded: "memory 1g by cgroup v2 (memory.max); ..."
    data_path: str | None = None  # the data file's path as the executed code sees it
    code_work_dir: str | None = None  # the work dir's path as the executed code sees it (None: not recorded)
    approval: str = ""  # whether blocks run unasked and which setting says so, for the header
    config_files: tuple[str, ...] = ()  # the config files the settings were read from (absolute paths)


@dataclass(frozen=True)
class Notice(Event):
    """A one-line status message for the user (model fallback, retries, ...)."""

    kind: ClassVar[str] = "notice"
    text: str
    level: str = "info"


@dataclass(frozen=True)
class MessageStart(Event):
    kind: ClassVar[str] = "message_start"
    live: ClassVar[bool] = True
    role: str
    name: str


@dataclass(frozen=True)
class MessageChunk(Event):
    kind: ClassVar[str] = "message_chunk"
    live: ClassVar[bool] = True
    role: str
    text: str


@dataclass(frozen=True)
class MessageEvent(Event):
    """A complete message; ``partial`` when a streamed reply broke off."""

    kind: ClassVar[str] = "message"
    role: str
    name: str
    content: str
    turn: int
    partial: bool = False
    usage: dict[str, int] | None = None


@dataclass(frozen=True)
class CodeBlockEvent(Event):
    kind: ClassVar[str] = "code_block"
    index: int
    language: str
    code: str
    turn: int
    will_run: bool = True


@dataclass(frozen=True)
class ExecutionOutput(Event):
    kind: ClassVar[str] = "execution_output"
    index: int
    text: str


@dataclass(frozen=True)
class Artifact:
    """A file a block created or changed; ``path`` is relative to the work dir, POSIX style."""

    path: str
    size: int
    sha256: str | None
    media_type: str
    change: str  # "created" | "modified"


@dataclass(frozen=True)
class HtmlOutput:
    """A result the kernel displayed in two forms: ``text`` (also in the block's output) and ``html``.

    The HTML is the code's: untrusted, shown only after sanitising (reports keep its tables).
    """

    text: str
    html: str


@dataclass(frozen=True)
class ExecutionResultEvent(Event):
    kind: ClassVar[str] = "execution_result"
    index: int
    language: str
    exit_code: int
    duration_s: float
    timed_out: bool
    output: str
    artifacts: tuple[Artifact, ...] = ()  # files the block created or changed in the work dir
    published: tuple[dict[str, Any], ...] = ()  # values the block published (autorun/published.py)
    html: tuple[HtmlOutput, ...] = ()  # results the kernel also sent as HTML (DataFrames), in order


@dataclass(frozen=True)
class Interrupted(Event):
    kind: ClassVar[str] = "interrupted"
    signal: str


@dataclass(frozen=True)
class SessionEnd(Event):
    kind: ClassVar[str] = "session_end"
    status: str
    exit_code: int
    reason: str
    turns: int
    blocks_run: int
    blocks_ok: int
    blocks_failed: int
    duration_s: float
    model: str
    executor: str
    work_dir: str
    transcript: str | None
    usage: dict[str, int] | None = None
    cost_usd: float | None = None
    final_message: str = ""
    peak_memory_bytes: int | None = None  # the executor's memory high-water mark, where it can tell
    answers: dict[str, str] | None = None  # with --answer-format: the answers of the final message


class Sink(Protocol):
    """Consumes the session's events: a renderer, the JSON Lines writer, the transcript, redaction around them."""

    def handle(self, event: Event) -> None: ...

    def close(self) -> None:
        """Flush and release; called once when the session is over (also after a failure)."""
        ...
