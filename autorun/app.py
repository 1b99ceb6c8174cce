"""The library API behind the CLI: build a model and an executor from a Config and run a session."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from autorun.config_schema import Config
from autorun.errors import ConfigError, ModelError
from autorun.events import EventSink, Notice, SessionStart
from autorun.executors.base import Executor
from autorun.models.base import Model
from autorun.session import HumanInput, Session, SessionOutcome, SessionSettings, SessionTerminated

if TYPE_CHECKING:
    from autorun.datafile import DataFileInfo

NoticeFn = Callable[[str], None]
REPLAY_PREFIX = "replay:"
NO_KEY_PLACEHOLDER = "not-needed"


@dataclass(frozen=True)
class AnalyseRequest:
    data_file: Path
    config: Config
    question: str | None = None


def new_session_id() -> str:
    return secrets.token_hex(4)


def build_executor(config: Config, *, session_id: str, env: Mapping[str, str], on_notice: NoticeFn) -> Executor:
    ex = config.executor
    work_dir = Path(ex.work_dir).expanduser().resolve()
    from autorun.executors.envscrub import refused_passthrough

    for name in refused_passthrough(ex.env_passthrough):
        on_notice(f"executor.env_passthrough: {name} is not passed to the code, because its name looks secret")
    if ex.type == "none":
        from autorun.executors.none import NoExecutor

        return NoExecutor()
    if ex.type == "docker":
        from autorun.executors.docker import DockerExecutor, settings_from_config

        return DockerExecutor(
            work_dir,
            ex.timeout,
            settings_from_config(ex),
            env_passthrough=ex.env_passthrough,
            base_env=env,
            session_id=session_id,
            on_notice=on_notice,
        )
    from autorun.executors.limits import ProcessLimits, parse_memory
    from autorun.executors.local import LocalExecutor

    limits = ProcessLimits(parse_memory(ex.memory), ex.max_processes, ex.max_file_size, ex.max_open_files)
    return LocalExecutor(
        work_dir,
        ex.timeout,
        python=ex.python,
        env_passthrough=ex.env_passthrough,
        base_env=env,
        limits=limits,
        sandbox=ex.sandbox,
    )


# Where autorun writes in the work dir from the host: transcripts, and the Docker data mounts.
WRITTEN_PATHS = (".autorun", ".autorun/sessions", "data")


LARGE_FILE_BYTES = 256 * 1024**2


def large_file_warning(data_file: Path, size: int, config: Config) -> str | None:
    """A warning for a data file too big to load whole without thought (autorun itself reads only its head)."""
    if size < LARGE_FILE_BYTES:
        return None
    from autorun.executors.docker_engine import human_size

    limit = f"executor.memory is {config.executor.memory}" if config.executor.type != "none" else "mind your memory"
    return (
        f"{data_file.name} is {human_size(size)}: loading it whole takes several times that in memory "
        f"({limit}); read only the columns or rows needed, or in chunks"
    )


def check_work_dir_links(work_dir: Path) -> None:
    """Refuse a work dir in which code planted a symlink out of it where autorun writes."""
    for name in WRITTEN_PATHS:
        path = work_dir / name
        if path.is_symlink() and not path.resolve().is_relative_to(work_dir):
            raise ConfigError(
                f"{path} is a symlink to {os.readlink(path)}, outside the work directory, and autorun "
                "will not write through it (code run in an earlier session may have planted it); remove it"
            )


def uses_llm(config: Config, env: Mapping[str, str]) -> bool:
    name = config.model.name
    if name == "builtin" or name.startswith(REPLAY_PREFIX):
        return False
    if name == "auto":
        return bool(env.get(config.model.api_key_env))
    return True


def build_llm(config: Config, model_name: str, *, env: Mapping[str, str], on_notice: NoticeFn) -> Model:
    """An OpenAI-compatible model; needs its key unless a custom endpoint is configured."""
    from autorun.models.openai_model import OpenAIModel

    m = config.model
    key = env.get(m.api_key_env)
    if not key:
        if m.base_url is None:
            raise ModelError(
                f"model {model_name} needs an API key: set ${m.api_key_env}, "
                "or use --model builtin to run offline"
            )
        key = NO_KEY_PLACEHOLDER
    cache = None
    if m.cache:
        from autorun.models.cache import ReplyCache, default_cache_path

        cache = ReplyCache(default_cache_path(env))
    return OpenAIModel(
        model_name,
        base_url=m.base_url,
        api_key=key,
        api_key_env=m.api_key_env,
        temperature=m.temperature,
        max_tokens=m.max_tokens,
        extra_headers=m.extra_headers,
        request_timeout=m.request_timeout,
        max_retries=m.max_retries,
        prices={name: price.model_dump() for name, price in m.prices.items()},
        cache=cache,
        on_notice=on_notice,
    )


def build_model(
    config: Config,
    *,
    info: DataFileInfo,
    data_path: str,
    env: Mapping[str, str],
    on_notice: NoticeFn,
) -> Model:
    name = config.model.name
    if name.startswith(REPLAY_PREFIX):
        from autorun.models.replay import ReplayModel

        return ReplayModel(Path(name[len(REPLAY_PREFIX) :]).expanduser())
    if uses_llm(config, env):
        return build_llm(config, config.model.auto_model if name == "auto" else name, env=env, on_notice=on_notice)
    if name == "auto":
        on_notice(f"${config.model.api_key_env} is not set: using the builtin offline analyst")
    from autorun.models.builtin import BuiltinAnalyst

    return BuiltinAnalyst(info, data_path)


def system_message_for(config: Config, model: Model, info: DataFileInfo, data_path: str) -> str | None:
    if model.name == "builtin" or config.model.name.startswith(REPLAY_PREFIX):
        return None
    from autorun.datafile import describe_for_prompt
    from autorun.prompts import analyst_system_message

    description = describe_for_prompt(info, data_path)
    return analyst_system_message(
        description, keyword=config.session.termination_keyword, override=config.model.system_message
    )


def session_settings(config: Config) -> SessionSettings:
    return SessionSettings(
        last_n_messages=config.executor.last_n_messages,
        max_consecutive_auto_reply=config.session.max_consecutive_auto_reply,
        termination_keyword=config.session.termination_keyword,
        output_limit=config.executor.output_limit,
    )


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into SessionTerminated so cleanup runs as it does for Ctrl-C."""

    def handler(signum: int, frame: object) -> None:
        raise SessionTerminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def analyse(
    request: AnalyseRequest,
    display: EventSink,
    *,
    env: Mapping[str, str] | None = None,
    human: HumanInput | None = None,
    session_id: str | None = None,
) -> SessionOutcome:
    """Run one analysis session on ``request.data_file``; every event goes to ``display`` and the transcript.

    Raises ConfigError (bad input file), ModelError or ExecutorError; the transcript is
    complete up to the failure in every case.
    """
    from autorun.config_show import redacted_config_dict
    from autorun.datafile import inspect_data_file
    from autorun.redact import Redactor, known_secrets, redacting_model, redacting_sink
    from autorun.render import Fanout
    from autorun.transcript import TranscriptWriter, new_transcript_path

    env = dict(os.environ if env is None else env)
    config = request.config
    data_file = request.data_file.expanduser().resolve()
    info = inspect_data_file(data_file)
    session_id = session_id or new_session_id()
    work_dir = Path(config.executor.work_dir).expanduser().resolve()
    check_work_dir_links(work_dir)
    transcript_path = new_transcript_path(work_dir, session_id, datetime.now())
    transcript = TranscriptWriter(transcript_path)
    redactor = Redactor(known_secrets(env, config.model.api_key_env))
    sink = redacting_sink(Fanout(display, transcript), redactor)

    def notice(text: str) -> None:
        sink.handle(Notice(text=text))

    try:
        with sigterm_as_interrupt(), build_executor(
            config, session_id=session_id, env=env, on_notice=notice
        ) as executor:
            data_path = executor.expose(data_file)
            model = build_model(config, info=info, data_path=data_path, env=env, on_notice=notice)
            model = redacting_model(model, redactor)
            if request.question and model.name == "builtin":
                notice("--question needs an LLM: the builtin analyst runs its standard analysis")
            sink.handle(
                SessionStart(
                    session_id=session_id,
                    model=model.name,
                    executor=executor.name,
                    work_dir=str(work_dir),
                    data_file=str(data_file),
                    transcript=str(transcript_path),
                    config=redacted_config_dict(config),
                    started_at=datetime.now().astimezone().isoformat(timespec="seconds"),
                )
            )
            warning = large_file_warning(data_file, info.size_bytes, config)
            if warning:
                sink.handle(Notice(text=warning, level="warning"))
            session = Session(
                model,
                executor,
                sink,
                settings=session_settings(config),
                system_message=system_message_for(config, model, info, data_path),
                human=human,
                executor_name=executor.name,
                work_dir=str(work_dir),
                transcript=str(transcript_path),
            )
            from autorun.prompts import initial_user_message

            return session.run(initial_user_message(request.question, data_path))
    finally:
        sink.close()


def require_file_argument(path: Path) -> Path:
    if str(path).startswith("-") and not path.exists():
        raise ConfigError(f"no such data file: {path} (to name a file starting with '-', write ./{path})")
    return path
