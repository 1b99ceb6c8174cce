"""`autorun chat`: the user types requests, the assistant answers, code runs as human_input_mode says.

Each request starts one exchange of the session loop (assistant, execution, assistant, ...)
that lasts until the assistant says the termination keyword or the auto-reply limit is hit;
then the chat prompt asks for the next request. The whole chat is one session with one
transcript. ``--resume`` rebuilds the conversation from an earlier transcript's messages.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from autorun.codeblocks import CodeBlock
from autorun.config.schema import Config
from autorun.errors import AutorunError, ExitCode, ModelError
from autorun.events import CodeBlockEvent, Event, Interrupted, MessageEvent, Notice, Sink
from autorun.prompts import typed_part
from autorun.session.factory import OpenedSession, open_session
from autorun.session.loop import Session, SessionTerminated
from autorun.session.origin import Origin
from autorun.session.terminal import ChatHuman, EndChat
from autorun.session.values import SessionOutcome
from autorun.transcripts.resume import ChatHistory, Recorded, load_history

GREETING = (
    "Type a request and press Enter (end a line with \\ to continue it); "
    "/exit or Ctrl-D ends the chat, Ctrl-C stops a running block."
)
BACK_TO_PROMPT = "stopped: type a new request, or /exit"


def chat_files(files: Sequence[Path], history: ChatHistory | None, notices: list[str]) -> list[Path]:
    """The data files; on resume without files, the earlier session's file if it still exists."""
    paths = [Path(f) for f in files]
    if not paths and history is not None and history.data_file is not None:
        if history.data_file.is_file():
            paths = [history.data_file]
        else:
            notices.append(f"the earlier session's data file {history.data_file} is gone: chatting without it")
    return paths


class ChatDisplay:
    """The display as the chat needs it: the user's own messages are not echoed back (they are on
    the screen already, typed), and a block previewed before "Run it?" is not shown twice."""

    def __init__(self, display: Sink, human: ChatHuman) -> None:
        self.display = display
        self.human = human
        self._previewed: dict[int, str] = {}

    def preview(self, block: CodeBlock) -> None:
        self._previewed[block.index] = block.code
        self.display.handle(CodeBlockEvent(index=block.index, language=block.language, code=block.code, turn=0))

    def handle(self, event: Event) -> None:
        if (
            isinstance(event, MessageEvent)
            and event.role == "user"
            and self.human.was_entered(typed_part(event.content))
        ):
            return
        if isinstance(event, CodeBlockEvent) and self._previewed.get(event.index) == event.code:
            del self._previewed[event.index]
            return
        self.display.handle(event)

    def close(self) -> None:
        self.display.close()


def run_chat(
    config: Config,
    files: Sequence[Path],
    *,
    display: Sink,
    human: ChatHuman,
    resume_transcript: Path | None = None,
    env: Mapping[str, str] | None = None,
    session_id: str | None = None,
    sheet: str | None = None,
    origin: Origin | None = None,
) -> SessionOutcome:
    """Run an interactive chat until the user ends it; every event goes to ``display`` and a transcript.

    Raises ConfigError (bad file, bad transcript, builtin without a file) or ExecutorError;
    model errors are shown and the chat goes on.
    """
    notices: list[str] = []
    history = load_history(resume_transcript) if resume_transcript is not None else None
    data = chat_files(files, history, notices)
    shown = ChatDisplay(display, human)
    human.preview = shown.preview
    with open_session(
        config,
        data,
        shown,
        sheet=sheet,
        human=human,
        env=env,
        session_id=session_id,
        notices=notices,
        interruptible_blocks=True,
        origin=origin,
    ) as opened:
        if history is not None:
            _restore(opened.session, history, display, opened.transcript_sink)
            _warn_of_differences(history, opened, config, origin or Origin())
        opened.notice(GREETING)
        outcome = converse(opened.session, human, opened.sink)
        opened.notice(f"continue this chat later with: {resume_command(opened.transcript, origin or Origin())}")
        return outcome


def resume_command(transcript: Path, origin: Origin) -> str:
    """The command that continues this chat with its settings, from any directory."""
    return shlex.join(["autorun", "chat", "--resume", str(transcript), *origin.resume_args])


def _warn_of_differences(history: ChatHistory, opened: OpenedSession, config: Config, origin: Origin) -> None:
    """Say what the resumed chat does differently from the session it continues."""
    now = Recorded(
        model=opened.model.name,
        base_url=config.model.base_url,
        work_dir=opened.session.work_dir,
        executor=opened.executor.name,
        config_files=origin.config_files,
    )
    changed = history.recorded.differences(now)
    if changed:
        opened.notice(
            "this chat differs from the session it continues: " + "; ".join(changed) + " (the options in its "
            "'continue this chat later with' line give it the same settings)",
            level="warning",
        )


def _restore(session: Session, history: ChatHistory, display: Sink, transcript: Sink) -> None:
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


def converse(session: Session, human: ChatHuman, sink: Sink) -> SessionOutcome:
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
