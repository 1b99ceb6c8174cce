"""`autorun chat`: the user types requests, the assistant answers, code runs as human_input_mode says.

Each request starts one exchange of the session loop (assistant, execution, assistant, ...)
that lasts until the assistant says the termination keyword or the auto-reply limit is hit;
then the chat prompt asks for the next request. The whole chat is one session with one
transcript. ``--resume`` rebuilds the conversation from an earlier transcript's messages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from autorun.app import (
    REPLAY_PREFIX,
    build_executor,
    build_llm,
    build_model,
    new_session_id,
    session_settings,
    sigterm_as_interrupt,
    uses_llm,
)
from autorun.codeblocks import CodeBlock
from autorun.config_schema import Config
from autorun.errors import AutorunError, ConfigError, ExitCode, ModelError
from autorun.events import (
    CodeBlockEvent,
    Event,
    EventSink,
    Interrupted,
    MessageChunk,
    MessageEvent,
    MessageStart,
    Notice,
    SessionStart,
)
from autorun.human import ChatHuman, EndChat
from autorun.models.base import Message, Model
from autorun.session import Session, SessionOutcome, SessionTerminated

GREETING = (
    "Type a request and press Enter (end a line with \\ to continue it); "
    "/exit or Ctrl-D ends the chat, Ctrl-C stops a running block."
)
BACK_TO_PROMPT = "stopped: type a new request, or /exit"


@dataclass(frozen=True)
class DataInput:
    path: Path
    info: Any  # autorun.datafile.DataFileInfo
    seen_as: str = ""


@dataclass(frozen=True)
class ChatHistory:
    """What a transcript holds for ``--resume``."""

    path: Path
    messages: tuple[Message, ...]
    data_file: Path | None
    blocks_seen: int


def load_history(path: Path) -> ChatHistory:
    from autorun.transcript import read_transcript

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


def chat_files(files: Sequence[Path], history: ChatHistory | None, notice: Any) -> list[DataInput]:
    """The data files, checked; on resume without files, the earlier session's file if it still exists."""
    from autorun.datafile import inspect_data_file

    paths = [Path(f).expanduser().resolve() for f in files]
    if not paths and history is not None and history.data_file is not None:
        if history.data_file.is_file():
            paths = [history.data_file]
        else:
            notice(f"the earlier session's data file {history.data_file} is gone: chatting without it")
    return [DataInput(path, inspect_data_file(path)) for path in paths]


def require_data_for_builtin(config: Config, files: Sequence[Path], env: Mapping[str, str]) -> None:
    if files or uses_llm(config, env) or config.model.name.startswith(REPLAY_PREFIX):
        return
    raise ConfigError(
        "the builtin analyst needs a data file: give one (autorun chat data.csv), "
        f"or chat with an LLM (set ${config.model.api_key_env} or use --model NAME --base-url URL)"
    )


def chat_model(config: Config, data: Sequence[DataInput], env: Mapping[str, str], notice: Any) -> Model:
    if data:
        model = build_model(config, info=data[0].info, data_path=data[0].seen_as, env=env, on_notice=notice)
        if model.name == "builtin" and len(data) > 1:
            notice(f"the builtin analyst analyses only the first file, {data[0].path.name}")
        return model
    name = config.model.name
    if name.startswith(REPLAY_PREFIX):
        from autorun.models.replay import ReplayModel

        return ReplayModel(Path(name[len(REPLAY_PREFIX) :]).expanduser())
    return build_llm(config, config.model.auto_model if name == "auto" else name, env=env, on_notice=notice)


def chat_system_message(config: Config, model: Model, data: Sequence[DataInput]) -> str | None:
    if model.name == "builtin" or config.model.name.startswith(REPLAY_PREFIX):
        return None
    from autorun.datafile import describe_for_prompt
    from autorun.prompts import analyst_system_message

    description = "\n\n".join(describe_for_prompt(item.info, item.seen_as) for item in data)
    return analyst_system_message(
        description or None, keyword=config.session.termination_keyword, override=config.model.system_message
    )


class ChatDisplay:
    """The display as the chat needs it: the user's own messages are not echoed back (they are on
    the screen already, typed), and a block previewed before "Run it?" is not shown twice."""

    def __init__(self, display: EventSink, human: ChatHuman) -> None:
        self.display = display
        self.human = human
        self._previewed: dict[int, str] = {}

    def preview(self, block: CodeBlock) -> None:
        self._previewed[block.index] = block.code
        self.display.handle(CodeBlockEvent(index=block.index, language=block.language, code=block.code, turn=0))

    def handle(self, event: Event) -> None:
        if isinstance(event, MessageEvent) and event.role == "user" and self.human.was_entered(event.content):
            return
        if isinstance(event, CodeBlockEvent) and self._previewed.get(event.index) == event.code:
            del self._previewed[event.index]
            return
        self.display.handle(event)

    def close(self) -> None:
        close = getattr(self.display, "close", None)
        if close is not None:
            close()


def run_chat(
    config: Config,
    files: Sequence[Path],
    *,
    display: EventSink,
    human: ChatHuman,
    resume_transcript: Path | None = None,
    env: Mapping[str, str] | None = None,
    session_id: str | None = None,
) -> SessionOutcome:
    """Run an interactive chat until the user ends it; every event goes to ``display`` and a transcript.

    Raises ConfigError (bad file, bad transcript, builtin without a file) or ExecutorError;
    model errors are shown and the chat goes on.
    """
    from autorun.app import check_work_dir_links
    from autorun.redact import Redactor, known_secrets, redacting_model, redacting_sink
    from autorun.render import Fanout
    from autorun.transcript import TranscriptWriter, new_transcript_path

    env = dict(os.environ if env is None else env)
    early: list[str] = []
    history = load_history(resume_transcript) if resume_transcript is not None else None
    data = chat_files(files, history, early.append)
    require_data_for_builtin(config, [d.path for d in data], env)
    session_id = session_id or new_session_id()
    check_work_dir_links(executor_work_dir(config))
    transcript_path = new_transcript_path(executor_work_dir(config), session_id, datetime.now())
    transcript = TranscriptWriter(transcript_path)
    shown = ChatDisplay(display, human)
    human.preview = shown.preview
    redactor = Redactor(known_secrets(env, config.model.api_key_env))
    sink = redacting_sink(Fanout(shown, transcript), redactor)

    def notice(text: str) -> None:
        sink.handle(Notice(text=text))

    try:
        with (
            sigterm_as_interrupt(),
            build_executor(config, session_id=session_id, env=env, on_notice=notice) as executor,
        ):
            data = [DataInput(d.path, d.info, executor.expose(d.path)) for d in data]
            model = redacting_model(chat_model(config, data, env, notice), redactor)
            sink.handle(_session_start(config, session_id, model.name, executor.name, data, transcript_path))
            for text in early:
                notice(text)
            session = Session(
                model,
                executor,
                sink,
                settings=session_settings(config),
                system_message=chat_system_message(config, model, data),
                human=human,
                executor_name=executor.name,
                work_dir=str(executor_work_dir(config)),
                transcript=str(transcript_path),
                interruptible_blocks=True,
            )
            if history is not None:
                _restore(session, history, display, transcript)
            notice(GREETING)
            outcome = converse(session, human, sink)
            notice(f"continue this chat later with: autorun chat --resume {transcript_path}")
            return outcome
    finally:
        sink.close()


def executor_work_dir(config: Config) -> Path:
    return Path(config.executor.work_dir).expanduser().resolve()


def _session_start(
    config: Config, session_id: str, model: str, executor: str, data: Sequence[DataInput], transcript: Path
) -> SessionStart:
    from autorun.config_show import redacted_config_dict

    return SessionStart(
        session_id=session_id,
        model=model,
        executor=executor,
        work_dir=str(executor_work_dir(config)),
        data_file=str(data[0].path) if data else None,
        transcript=str(transcript),
        config=redacted_config_dict(config),
        started_at=datetime.now().astimezone().isoformat(timespec="seconds"),
    )


def _restore(session: Session, history: ChatHistory, display: EventSink, transcript: EventSink) -> None:
    """Load the earlier messages; the transcript records them so that it is complete on its own."""
    session.restore(history.messages, blocks_seen=history.blocks_seen)
    turn = 0
    for message in history.messages:
        turn += message.role == "assistant"
        transcript.handle(
            MessageEvent(role=message.role, name=message.name or message.role, content=message.content, turn=turn)
        )
    count = len(history.messages)
    display.handle(Notice(text=f"resumed {count} messages from {history.path}; their code is not run again"))
    last = next((m for m in reversed(history.messages) if m.role == "assistant"), None)
    if last is not None:
        display.handle(MessageEvent(role="assistant", name=last.name or "assistant", content=last.content, turn=turn))


def converse(session: Session, human: ChatHuman, sink: EventSink) -> SessionOutcome:
    """Requests and exchanges until the user ends the chat; the outcome is the chat's."""
    final = ""
    while True:
        try:
            status, reason, final = session.exchange(human.next_request())
        except EndChat as end:
            if end.exit_code != 0:
                sink.handle(Interrupted(signal="SIGINT"))
            return session.finish("ended" if end.exit_code == 0 else "interrupted", end.exit_code, end.reason, final)
        except KeyboardInterrupt:
            sink.handle(Interrupted(signal="SIGINT"))
            sink.handle(Notice(text=BACK_TO_PROMPT))
            continue
        except SessionTerminated:
            sink.handle(Interrupted(signal="SIGTERM"))
            return session.finish("interrupted", ExitCode.TERMINATED, "interrupted by SIGTERM", final)
        except ModelError as err:
            sink.handle(Notice(text=f"{err} (type your request again, or /exit)", level="error"))
            continue
        except AutorunError as err:
            session.finish("error", err.exit_code, str(err), final)
            raise
        if status == "max_turns":
            sink.handle(Notice(text=f"stopped: {reason}; type a request to go on, or /exit"))


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "dict[str, int] | None": (dict, type(None)),
    "dict[str, Any]": (dict,),
    "str | None": (str, type(None)),
}


def _event_classes() -> dict[str, type[Event]]:
    found: dict[str, type[Event]] = {}
    pending = list(Event.__subclasses__())
    while pending:
        cls = pending.pop()
        found[cls.kind] = cls
        pending.extend(cls.__subclasses__())
    return found


def replay_events(records: Sequence[Mapping[str, Any]], path: Path) -> list[Event]:
    """The transcript's records as events again; records of unknown kinds are skipped."""
    import dataclasses

    classes = _event_classes()
    events: list[Event] = []
    for number, record in enumerate(records, start=1):
        cls = classes.get(str(record.get("event")))
        if cls is None or cls.live:
            continue
        values = {}
        for spec in dataclasses.fields(cls):
            if spec.name not in record:
                continue
            value = record[spec.name]
            allowed = _FIELD_TYPES.get(str(spec.type))
            if allowed is not None and not isinstance(value, allowed):
                raise ConfigError(
                    f"{path}, record {number}: {cls.kind}.{spec.name}: wrong type; is this an autorun transcript?"
                )
            values[spec.name] = value
        try:
            events.append(cls(**values))
        except TypeError:
            raise ConfigError(
                f"{path}, record {number}: an incomplete {cls.kind} event; is this an autorun transcript?"
            ) from None
    return events


def show_transcript(path: Path, display: EventSink) -> None:
    """Show a recorded session through ``display`` as it looked; nothing is run.

    Assistant messages go through the renderer the way they streamed, so the output matches the live one.
    """
    from autorun.transcript import read_transcript

    records = read_transcript(path)
    events = replay_events(records, path)
    if not events:
        raise ConfigError(f"{path} holds no autorun events; give the .jsonl transcript of a session")
    for event in events:
        if isinstance(event, MessageEvent) and event.role == "assistant":
            display.handle(MessageStart(role=event.role, name=event.name))
            display.handle(MessageChunk(role=event.role, text=event.content))
        display.handle(event)
    if records.truncated:
        display.handle(Notice(text=f"{path} ends mid-record: the session was cut off here", level="warning"))
