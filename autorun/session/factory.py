"""`open_session`: the one place a session is put together, for analyse, chat and batch.

It owns, in this order: the work-dir check, the transcript, the redactor and the
sinks, SIGTERM handling, the executor (closed on the way out, whatever happens),
the model, the ``SessionStart`` event and the :class:`Session` itself. The caller
only decides what to say to the session (one request for ``analyse``, a conversation
for ``chat``) and is handed everything else ready.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from autorun.artifacts import ArtifactWatcher
from autorun.config.model_choice import ModelKind
from autorun.config.schema import Config
from autorun.errors import AutorunError, ConfigError, ExitCode
from autorun.events import Notice, SessionStart, Sink
from autorun.executors.base import Executor
from autorun.executors.work_dir_checks import refuse_data_through_work_dir_links
from autorun.models.base import Model
from autorun.render.sinks import Fanout
from autorun.session.components import (
    DataInput,
    build_executor,
    build_model,
    builtin_timeout,
    executor_choice,
    executor_kind,
    large_file_warning,
    prepared_llm,
    replay_transcript,
    require_data_for_builtin,
    system_message,
)
from autorun.session.human_input import HumanInput
from autorun.session.loop import Session, SessionTerminated
from autorun.session.origin import Origin
from autorun.session.values import SessionSettings
from autorun.snapshots import Snapshots, snapshot_folder
from autorun.threads import forget_request, raise_or_hold, shielded

# Where autorun writes in the work dir from the host: the builtin's helpers, and the Docker data mounts.
WRITTEN_PATHS = (".autorun", "data")


def new_session_id() -> str:
    return secrets.token_hex(4)


def work_dir_of(config: Config) -> Path:
    return Path(config.executor.work_dir).expanduser().resolve()


def check_work_dir_links(work_dir: Path) -> None:
    """Refuse a work dir in which code planted a symlink out of it where autorun writes."""
    for name in WRITTEN_PATHS:
        path = work_dir / name
        if path.is_symlink() and not path.resolve().is_relative_to(work_dir):
            raise ConfigError(
                f"{path} is a symlink to {os.readlink(path)}, outside the work directory, and autorun "
                "will not write through it (code run in an earlier session may have planted it); remove it"
            )


class TerminatedError(AutorunError):
    """SIGTERM outside the session's loop (set-up, clean-up): one line and exit 143, as Ctrl-C gives 130."""

    exit_code = ExitCode.TERMINATED


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into SessionTerminated so cleanup runs as it does for Ctrl-C.

    Raised where the main thread is, unless it is in a shielded call (see autorun.threads):
    then as soon as that call returns.
    """

    def handler(signum: int, frame: object) -> None:
        raise_or_hold(SessionTerminated())

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        forget_request()


@contextlib.contextmanager
def closed_on_exit(executor: Executor) -> Iterator[Executor]:
    """``executor``, closed on the way out with signals held: a SIGTERM does not cut its clean-up short."""
    try:
        yield executor
    finally:
        with shielded():
            executor.close()


def check_inputs(paths: Sequence[Path], sheet: str | None = None) -> list[Path]:
    """The data files resolved, once each is a readable file of a supported type (a cheap check, no reading).

    ``sheet`` (``--sheet``) names the sheet to read in the workbooks among them.
    """
    from autorun.datafile import WORKBOOK_SUFFIXES, check_data_file

    resolved = [Path(p).expanduser().resolve() for p in paths]
    if sheet is not None and not any(path.suffix.lower() in WORKBOOK_SUFFIXES for path in resolved):
        raise ConfigError(f"--sheet {sheet} needs a workbook (.xlsx, .xlsm, .xls) among the data files")
    for path in resolved:
        check_data_file(path)
    return resolved


def check_context_files(paths: Sequence[Path]) -> list[Path]:
    """Context files (``--context``) resolved, once each is a readable regular file of any type."""
    resolved = [Path(p).expanduser().resolve() for p in paths]
    for path in resolved:
        if not path.is_file() or not os.access(path, os.R_OK):
            raise ConfigError(f"context file {path}: not a readable file; check the path given to --context")
    return resolved


def described(paths: Sequence[Path], sheet: str | None, seen_as: Sequence[str] = ()) -> list[DataInput]:
    """Checked ``paths`` described from a sample of each, with their paths as code sees them."""
    from autorun.datafile import inspect_data_files

    infos = inspect_data_files(paths, sheet)
    return [
        DataInput(path, info, seen_as[n] if n < len(seen_as) else "")
        for n, (path, info) in enumerate(zip(paths, infos, strict=True))
    ]


@dataclass
class OpenedSession:
    """A session ready to run, and what its caller may still need of its set-up."""

    session: Session
    sink: Sink
    model: Model
    executor: Executor
    data: list[DataInput]
    transcript: Path
    transcript_sink: Sink

    def notice(self, text: str, level: str = "info") -> None:
        self.sink.handle(Notice(text=text, level=level))


@contextlib.contextmanager
def open_session(
    config: Config,
    files: Sequence[Path],
    display: Sink,
    *,
    sheet: str | None = None,
    human: HumanInput | None = None,
    env: Mapping[str, str] | None = None,
    session_id: str | None = None,
    notices: Sequence[str] = (),
    interruptible_blocks: bool = False,
    context_files: Sequence[Path] = (),
    extract_answers: Callable[[str], dict[str, str]] | None = None,
    origin: Origin | None = None,
) -> Iterator[OpenedSession]:
    """Open a session on the data ``files``; every event goes to ``display`` and the transcript.

    The files are checked first (a missing or unsupported file opens nothing); they are inspected
    once the executor is warming up: by the kernel when it runs autorun's interpreter (pandas
    then loads once, in the kernel, while autorun imports its model client), else by autorun.
    ``sheet`` names the sheet to read in workbooks; ``notices`` are shown right after the session
    starts. ``context_files`` are further files the code may read (documents, lookup tables): exposed
    read-only and listed to the model, never inspected. ``extract_answers`` reads the answers off the
    final message for ``session_end`` (an answer format). ``origin`` says where the settings came
    from (header, transcript). Raises ConfigError, InputFileError, ModelError or ExecutorError when
    the session cannot be opened; the transcript is complete up to the failure in every case, and
    the executor is closed and the sinks closed on the way out. A SIGTERM outside the session's
    loop raises TerminatedError (exit 143).
    """
    from autorun.config.show import redacted_config_dict
    from autorun.record.state import new_session
    from autorun.redact import Redactor, redacting_model, redacting_sink
    from autorun.secrets import known_secrets
    from autorun.transcripts.store import TranscriptWriter

    env = dict(os.environ if env is None else env)
    paths = check_inputs(files, sheet)
    context = check_context_files(context_files)
    require_data_for_builtin(config, paths, env)
    if config.model.choice.kind is ModelKind.REPLAY:
        replay_transcript(config, env)  # refused before anything starts
    config = builtin_timeout(config, paths, env)
    session_id = session_id or new_session_id()
    work_dir = work_dir_of(config)
    check_work_dir_links(work_dir)
    choice = executor_choice(config)
    if executor_kind(choice.kind).confined:
        refuse_data_through_work_dir_links(work_dir, list(files))
    transcript_path = new_session(work_dir, session_id, datetime.now(), env).transcript
    transcript = TranscriptWriter(transcript_path)
    redactor = Redactor(known_secrets(env, config.model.api_key_env))
    sink = redacting_sink(Fanout(display, transcript), redactor)

    held: list[str] = []  # notices before the session's start (the executor warms up on a thread), shown after it
    started = threading.Event()
    hold = threading.Lock()

    def notice(text: str) -> None:
        with hold:
            if not started.is_set():
                held.append(text)
                return
        sink.handle(Notice(text=text))

    def start() -> None:
        with hold:
            started.set()
            early = held[:]
        for text in early:
            sink.handle(Notice(text=text))

    try:
        with (
            sigterm_as_interrupt(),
            closed_on_exit(
                build_executor(config, session_id=session_id, env=env, on_notice=notice, choice=choice)
            ) as executor,
        ):
            seen_as = [executor.expose(path) for path in paths]
            context_seen = [(executor.expose(path), path.stat().st_size) for path in context]
            executor.warm_up()  # the container and the kernel start while the data and the first reply are made
            early: Model | None = prepared_llm(config, env=env, on_notice=notice)
            inspected = executor.inspect_files(paths, sheet)  # in a kernel that loads pandas anyway
            if inspected is None:
                exposed = described(paths, sheet, seen_as)  # checked above
            else:
                exposed = [DataInput(*item) for item in zip(paths, inspected, seen_as, strict=True)]
            model = early
            if model is None:
                model = build_model(
                    config,
                    exposed,
                    env=env,
                    on_notice=notice,
                    stateful=lambda: executor.stateful,
                    runtime_root=executor.runtime_root,
                )
            model = redacting_model(model, redactor)
            sink.handle(
                SessionStart(
                    session_id=session_id,
                    model=model.name,
                    executor=executor.name,
                    executor_reason=choice.reason,
                    limits=executor.limits_summary(),
                    work_dir=str(work_dir),
                    data_file=str(exposed[0].path) if exposed else None,
                    data_path=exposed[0].seen_as if exposed else None,
                    code_work_dir=executor.code_work_dir,
                    transcript=str(transcript_path),
                    config=redacted_config_dict(config),
                    started_at=datetime.now().astimezone().isoformat(timespec="seconds"),
                    approval=origin.approval if origin else "",
                    config_files=origin.config_files if origin else (),
                )
            )
            start()
            if choice.warning:
                sink.handle(Notice(text=choice.warning, level="warning"))
            for text in notices:
                notice(text)
            for item in exposed:
                warning = large_file_warning(item.path, item.info.size_bytes, config, env)
                if warning:
                    sink.handle(Notice(text=warning, level="warning"))
            session = Session(
                model,
                executor,
                sink,
                settings=SessionSettings.from_config(config),
                system_message=system_message(
                    config, exposed, env=env, stateful=executor.stateful, context=context_seen
                ),
                human=human,
                work_dir=str(work_dir),
                transcript=str(transcript_path),
                interruptible_blocks=interruptible_blocks,
                artifacts=ArtifactWatcher(
                    work_dir,
                    ignore=executor.placed_files(),
                    keep=Snapshots(snapshot_folder(transcript_path)).keep,
                ),
                extract_answers=extract_answers,
            )
            yield OpenedSession(session, sink, model, executor, exposed, transcript_path, transcript)
    except SessionTerminated:  # the session itself records a SIGTERM; this one came before it started or after it
        when = "" if started.is_set() else " while the session was being set up"
        raise TerminatedError(f"interrupted by SIGTERM{when}") from None
    finally:
        if not started.is_set():
            start()  # a session that never started still records what it was told
        sink.close()
