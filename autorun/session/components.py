"""Build the parts of a session from a Config: the executor, the model, the system message, the settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autorun.config.model_choice import ModelKind
from autorun.config.schema import Config
from autorun.errors import ConfigError, ModelError
from autorun.executors.base import Executor
from autorun.models.base import Model

if TYPE_CHECKING:
    from autorun.datafile import DataFileInfo
    from autorun.executors.choice import ExecutorChoice
    from autorun.executors.disk import DiskLimits
    from autorun.models.openai_model import OpenAIModel

NoticeFn = Callable[[str], None]
NO_KEY_PLACEHOLDER = "not-needed"


@dataclass(frozen=True)
class DataInput:
    """A data file of the session: where it is, what a sample of it says, and its path as code sees it."""

    path: Path
    info: DataFileInfo
    seen_as: str = ""


def executor_choice(config: Config) -> ExecutorChoice:
    """Which executor `executor.type` means here (auto: the sandbox where bwrap works) and why."""
    from autorun.executors.choice import choose_executor

    ex = config.executor
    return choose_executor(ex.type, sandbox_alias=ex.sandbox, network=ex.network)


def disk_limits(config: Config) -> DiskLimits:
    from autorun.executors.disk import DiskLimits

    return DiskLimits(config.executor.disk, config.executor.min_free_disk)


@dataclass(frozen=True)
class ExecutorContext:
    """What every executor kind is built with besides the config: the choice, the session, its environment, notices."""

    choice: ExecutorChoice
    work_dir: Path
    session_id: str
    env: Mapping[str, str]
    on_notice: NoticeFn


ExecutorBuilder = Callable[[Config, ExecutorContext], Executor]
NEEDS_BWRAP, NEEDS_DOCKER_ENGINE = "bwrap", "docker engine"  # what `autorun doctor` fails on when it is missing


@dataclass(frozen=True)
class ExecutorKind:
    """How to build one kind of executor, and what the session and doctor must know before it exists."""

    build: ExecutorBuilder
    confined: bool = False
    """Code reaches no more of the host than it is shown: a data path through a work-dir symlink is refused."""
    needs: frozenset[str] = frozenset()
    """What must work on this machine for it (NEEDS_BWRAP, NEEDS_DOCKER_ENGINE): doctor fails without it."""


def _none(config: Config, context: ExecutorContext) -> Executor:
    from autorun.executors.none import NoExecutor

    return NoExecutor()


def _docker(config: Config, context: ExecutorContext) -> Executor:
    from autorun.executors.docker.executor import DockerExecutor
    from autorun.session.executor_settings import docker_settings

    ex = config.executor
    return DockerExecutor(
        context.work_dir,
        ex.timeout,
        docker_settings(ex),
        env_passthrough=ex.env_passthrough,
        base_env=context.env,
        session_id=context.session_id,
        on_notice=context.on_notice,
        disk=disk_limits(config),
        stateful=ex.stateful,
    )


def _host_options(config: Config, context: ExecutorContext) -> dict[str, Any]:
    """The options the local and sandbox executors share (they run blocks the same way)."""
    from autorun.executors.host.limits import ProcessLimits

    ex = config.executor
    return {
        "python": ex.python,
        "env_passthrough": ex.env_passthrough,
        "base_env": context.env,
        "limits": ProcessLimits(ex.memory, ex.max_processes, ex.max_file_size, ex.max_open_files),
        "disk": disk_limits(config),
        "stateful": ex.stateful,
        "on_notice": context.on_notice,
    }


def _local(config: Config, context: ExecutorContext) -> Executor:
    from autorun.executors.local.executor import LocalExecutor

    return LocalExecutor(context.work_dir, config.executor.timeout, **_host_options(config, context))


def _sandbox(config: Config, context: ExecutorContext) -> Executor:
    """The sandbox executor in a bwrap world made for this work dir and the chosen network."""
    from autorun.executors.sandbox.executor import sandbox_executor

    options = _host_options(config, context)
    return sandbox_executor(
        context.work_dir, config.executor.timeout, network=context.choice.sandbox_network, **options
    )


# The one place that knows the executor kinds (`executor.type`, resolved by executors/choice.py):
# a new executor is its own package and one line here.
EXECUTOR_KINDS: dict[str, ExecutorKind] = {
    "none": ExecutorKind(_none),
    "local": ExecutorKind(_local),
    "sandbox": ExecutorKind(_sandbox, confined=True, needs=frozenset({NEEDS_BWRAP})),
    "docker": ExecutorKind(_docker, confined=True, needs=frozenset({NEEDS_DOCKER_ENGINE})),
}


def executor_kind(kind: str) -> ExecutorKind:
    """The EXECUTOR_KINDS entry of a resolved `executor.type`; ConfigError for one that names no executor."""
    found = EXECUTOR_KINDS.get(kind)
    if found is None:
        raise ConfigError(f"executor.type {kind!r} is no executor: use one of {', '.join(EXECUTOR_KINDS)}")
    return found


def executor_needs(kind: str) -> frozenset[str]:
    """What `executor.type` ``kind`` needs on this machine (auto needs nothing: it falls back to local)."""
    found = EXECUTOR_KINDS.get(kind)
    return found.needs if found is not None else frozenset()


def build_executor(
    config: Config,
    *,
    session_id: str,
    env: Mapping[str, str],
    on_notice: NoticeFn,
    choice: ExecutorChoice | None = None,
) -> Executor:
    """The executor ``choice`` (else the config's) names, built by its EXECUTOR_KINDS entry."""
    ex = config.executor
    from autorun.executors.envscrub import refused_passthrough

    choice = choice or executor_choice(config)
    for name in refused_passthrough(ex.env_passthrough):
        on_notice(f"executor.env_passthrough: {name} is not passed to the code, because its name looks secret")
    work_dir = Path(ex.work_dir).expanduser().resolve()
    return executor_kind(choice.kind).build(config, ExecutorContext(choice, work_dir, session_id, env, on_notice))


LARGE_FILE_BYTES = 256 * 1024**2


def large_file_warning(data_file: Path, size: int, config: Config, env: Mapping[str, str]) -> str | None:
    """A warning for a data file too big for a model's code to load whole with pandas (autorun itself reads
    only its head; the builtin analyst reads any size out of core, so it gets no warning)."""
    if size < LARGE_FILE_BYTES or not uses_llm(config, env):
        return None
    from autorun.units import human_size

    limit = f"executor.memory is {config.executor.memory}" if config.executor.type != "none" else "mind your memory"
    return (
        f"{data_file.name} is {human_size(size)}: loading it whole with pandas takes several times that in memory "
        f"({limit}); the model is told to query it with DuckDB instead"
    )


def uses_llm(config: Config, env: Mapping[str, str]) -> bool:
    return config.model.resolved_choice(env).kind is ModelKind.LLM


def uses_builtin(config: Config, env: Mapping[str, str]) -> bool:
    return config.model.resolved_choice(env).kind is ModelKind.BUILTIN


def prepared_llm(config: Config, *, env: Mapping[str, str], on_notice: NoticeFn) -> Model | None:
    """The LLM the config names, its client library imported and its client built (~0.5 s) while
    the kernel starts and inspects the data on the other core; None for builtin and replay, which
    need the inspected data to be built."""
    if not uses_llm(config, env):
        return None
    model = build_llm(config, env=env, on_notice=on_notice)
    model.prepare()
    return model


def require_api_key(config: Config, env: Mapping[str, str], fix: str = "or use --model builtin to run offline") -> None:
    """ModelError when the configured LLM has no API key and no custom endpoint that could do without."""
    m = config.model
    if env.get(m.api_key_env) or m.base_url is not None:
        return
    raise ModelError(f"model {m.llm_name} needs an API key: set ${m.api_key_env}, {fix}")


def build_llm(config: Config, *, env: Mapping[str, str], on_notice: NoticeFn) -> OpenAIModel:
    """The OpenAI-compatible model named (auto: auto_model); needs a key unless a custom endpoint is configured."""
    from autorun.models.openai_model import OpenAIModel

    m = config.model
    require_api_key(config, env)
    key = env.get(m.api_key_env) or NO_KEY_PLACEHOLDER
    cache = None
    if m.cache:
        from autorun.models.cache import ReplyCache, default_cache_path

        cache = ReplyCache(default_cache_path(env))
    return OpenAIModel(
        m.llm_name,
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


def require_data_for_builtin(config: Config, data: Sequence[object], env: Mapping[str, str]) -> None:
    if data or not uses_builtin(config, env):
        return
    raise ConfigError(
        "the builtin analyst needs a data file: give one (autorun chat data.csv), "
        f"or chat with an LLM (set ${config.model.api_key_env} or use --model NAME --base-url URL)"
    )


BUILTIN_SECONDS_PER_MB = 0.3  # on top of executor.timeout: DuckDB reads 100 MB in about 1 s on one core
COMPRESSED_SUFFIXES = (".gz", ".zst", ".bz2", ".xz", ".zip")


def builtin_timeout(config: Config, data: Sequence[Path], env: Mapping[str, str]) -> Config:
    """The config with room for the builtin's blocks, which read the whole file whatever its size:
    executor.timeout plus BUILTIN_SECONDS_PER_MB per MB of the data file (five times its size when
    compressed). Unchanged for an LLM or a replay, which write blocks of their own."""
    if not data or not uses_builtin(config, env):
        return config
    try:
        size = data[0].stat().st_size * (5 if data[0].name.lower().endswith(COMPRESSED_SUFFIXES) else 1)
    except OSError:
        return config
    timeout = config.executor.timeout + BUILTIN_SECONDS_PER_MB * size / 1e6
    return config.model_copy(update={"executor": config.executor.model_copy(update={"timeout": round(timeout, 1)})})


def build_model(
    config: Config,
    data: Sequence[DataInput],
    *,
    env: Mapping[str, str],
    on_notice: NoticeFn,
    stateful: Callable[[], bool] | None = None,
    runtime_root: str | None = None,
) -> Model:
    """The model the config names: a replay, an LLM, or the builtin analyst (which needs a data file).

    The builtin's blocks import its runtime from ``runtime_root`` (autorun's package as the code
    sees it: the executor's ``runtime_root``); ``stateful()`` tells it whether python blocks share
    state (the executor's ``stateful``).
    """
    chosen = config.model.resolved_choice(env)
    if chosen.kind is ModelKind.REPLAY:
        from autorun.models.replay import ReplayModel

        return ReplayModel(replay_transcript(config, env))
    if chosen.kind is ModelKind.LLM:
        return build_llm(config, env=env, on_notice=on_notice)
    require_data_for_builtin(config, data, env)
    if config.model.choice.kind is ModelKind.AUTO:
        on_notice(f"${config.model.api_key_env} is not set: using the builtin offline analyst")
    if len(data) > 1:
        on_notice(f"the builtin analyst analyses only the first file, {data[0].path.name}")
    from autorun.models.builtin import RUNTIME_ROOT, BuiltinAnalyst

    memory = int(config.executor.memory) if config.executor.memory else None
    return BuiltinAnalyst(
        data[0].info,
        data[0].seen_as,
        runtime_root=runtime_root or RUNTIME_ROOT,
        memory_limit=memory,
        stateful=stateful or never_stateful,
    )


def replay_transcript(config: Config, env: Mapping[str, str]) -> Path:
    """The transcript ``--model replay:PATH`` names, when autorun recorded it in its state dir; else ConfigError.

    A replay runs the transcript's code again, so it must be one no block could have written:
    any file outside the record (a work dir above all) may be a forgery planted by code.
    """
    from autorun.record.state import WORKDIRS, is_recorded_transcript, state_root

    path = config.model.choice.transcript
    if not is_recorded_transcript(path, env):
        where = state_root(env) / WORKDIRS
        raise ConfigError(
            f"--model replay: runs the code of a recorded session again, so it takes only a transcript autorun "
            f"recorded in {where}/<work dir>/sessions/, out of the code's reach; {path} is not one "
            "(code run in a session could have written it)"
        )
    return path


def never_stateful() -> bool:
    return False


def system_message(
    config: Config,
    data: Sequence[DataInput],
    *,
    env: Mapping[str, str],
    stateful: bool = False,
    context: Sequence[tuple[str, int]] = (),
) -> str | None:
    """The analyst system message for an LLM, describing every data file; None for builtin and replay.

    ``stateful``: python blocks share one kernel (the executor's ``stateful``), and the message says so.
    ``context``: the context files, (path as code sees it, size), listed after the data.
    """
    if not uses_llm(config, env):
        return None
    from autorun.datafile import describe_for_prompt
    from autorun.prompts import analyst_system_message, context_files_description

    limit = int(config.executor.memory) if config.executor.type != "none" and config.executor.memory else None
    parts = [describe_for_prompt(item.info, item.seen_as, memory_limit=limit) for item in data]
    if context:
        parts.append(context_files_description(context))
    description = "\n\n".join(parts)
    return analyst_system_message(
        description or None,
        keyword=config.session.termination_keyword,
        override=config.model.system_message,
        stateful=stateful,
    )
