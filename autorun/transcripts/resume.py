"""What a transcript holds for `autorun chat --resume`, and which of it a resume may reuse.

A resume reproduces the session: its model, endpoint, config file, work dir and executor are
used again unless an option or an ``AUTORUN_*`` variable given now says otherwise. Only a
transcript in autorun's protected record is trusted that far. A file from anywhere else
could be a forgery (a forged ``base_url`` would send the API key elsewhere, a forged data
file would show the model a file of the user's), so of such a file only the messages are used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autorun.config.loading import env_var_name
from autorun.config.model_choice import ModelChoice, ModelKind
from autorun.errors import ConfigError
from autorun.events import CodeBlockEvent, Event, ExecutionResultEvent, MessageEvent, SessionStart
from autorun.models.base import Message
from autorun.record.find import chosen_transcripts
from autorun.record.state import is_recorded_transcript, recorded_work_dir_holding


@dataclass(frozen=True)
class Recorded:
    """The settings a transcript says its session ran with (only as trustworthy as the file)."""

    model: str = ""  # the model that answered: builtin, gpt-4o-mini, ...
    base_url: str | None = None
    work_dir: str = ""
    executor: str = ""  # the executor that ran the code: sandbox, local, docker, none
    config_files: tuple[str, ...] = ()
    executor_type: str = ""  # what executor.type said (auto, sandbox, ...)
    image: str | None = None  # the Docker image, for a docker session

    @classmethod
    def from_start(cls, start: SessionStart) -> Recorded:
        model = start.config.get("model")
        executor = start.config.get("executor")
        base_url = model.get("base_url") if isinstance(model, dict) else None
        kind = executor.get("type") if isinstance(executor, dict) else None
        image = executor.get("image") if isinstance(executor, dict) else None
        return cls(
            model=start.model,
            base_url=base_url if isinstance(base_url, str) else None,
            work_dir=start.work_dir,
            executor=start.executor,
            config_files=start.config_files,
            executor_type=kind if isinstance(kind, str) else start.executor,
            image=image if isinstance(image, str) else None,
        )

    def settings(self) -> dict[str, object]:
        """The recorded settings as config keys (what a resume gives the session unless told otherwise).

        A replayed model is not reused: it would replay the old session from its start.
        """
        replayed = ModelChoice.parse(self.model).kind is ModelKind.REPLAY
        keys: dict[str, object] = {
            "model.name": None if replayed else self.model or None,
            "model.base_url": self.base_url,
            "executor.work_dir": self.work_dir or None,
            "executor.type": self.executor_type or None,
            "executor.image": self.image,  # the config's value then, used by whichever executor has an image
        }
        return {key: value for key, value in keys.items() if value is not None}

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


@dataclass(frozen=True)
class ResumePlan:
    """How ``chat --resume`` goes on: the history, the flags and config file to load, what to tell the person."""

    history: ChatHistory
    flags: dict[str, object]
    config_file: Path | None
    notices: tuple[str, ...] = ()
    trusted: bool = True  # in the protected record: its settings were reused


def plan_resume(
    selector: str, flags: Mapping[str, object], config_file: Path | None, env: Mapping[str, str]
) -> ResumePlan:
    """Resume the session ``selector`` names (an id prefix or a path) with its recorded settings.

    ``flags`` are the options given now (None: not given) and win over the record, as does an
    ``AUTORUN_*`` variable; ``config_file`` (--config) wins over the recorded config file.
    """
    (path,) = chosen_transcripts([selector], None, env)
    history = load_history(path)
    if not is_recorded_transcript(path, env):
        notice = (
            f"{path} is not in autorun's session record, so only its messages are resumed, not its model, "
            "endpoint, work dir, executor or data file (a file from elsewhere could name any of them); "
            "give them as options"
        )
        return ResumePlan(dataclasses.replace(history, data_file=None), dict(flags), config_file, (notice,), False)
    merged = dict(flags)
    for key, value in history.recorded.settings().items():
        if merged.get(key) is None and env_var_name(key) not in env:
            merged[key] = value
    notices: list[str] = []
    if config_file is None and history.recorded.config_files:
        config_file, why = _recorded_config(Path(history.recorded.config_files[-1]), env)
        notices += [why] if why else []
    return ResumePlan(history, merged, config_file, tuple(notices))


def _recorded_config(path: Path, env: Mapping[str, str]) -> tuple[Path | None, str]:
    """The recorded config file, if it is still there and out of every work dir's reach; else why not."""
    holder = recorded_work_dir_holding(path, env)
    if holder is not None:
        return None, (
            f"the session's config file {path} lies in the work dir {holder}, where code could have rewritten it, "
            f"so it is not read again; if you trust it, pass --config {path}"
        )
    if not path.is_file():
        return None, f"the session's config file {path} is gone: resuming without it"
    return path, ""


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
