"""Where a session's settings came from: said in its header, recorded in its transcript."""

from __future__ import annotations

from dataclasses import dataclass

from autorun.config.loading import DEFAULT_SOURCE, LoadedConfig, source_words
from autorun.config.schema import HUMAN_INPUT_DEFAULTS, HumanInputMode

HUMAN_INPUT_KEY = "session.human_input_mode"
CHAT_EXECUTOR_FLAGS = {"local": ["--local"], "sandbox": ["--sandbox"]}  # chat has no --no-exec


@dataclass(frozen=True)
class Origin:
    """What the session header and the transcript say of the session's settings."""

    approval: str = ""  # whether blocks run unasked, and which setting says so
    config_files: tuple[str, ...] = ()  # the config files read, as absolute paths
    resume_args: tuple[str, ...] = ()  # what `autorun chat --resume T` needs to continue with these settings


def approval_words(mode: str, source: str) -> str:
    """For the session header: whether blocks run unasked, and the setting that says so.

    ``source`` names where the mode came from (``./autorun.yaml``, ``--human-input-mode``,
    ``chat's default``).
    """
    why = (
        f"human_input_mode {mode}, {source}" if source.endswith("default") else f"human_input_mode {mode} from {source}"
    )
    if mode == "ALWAYS":
        return f"asks before each block runs ({why})"
    if mode == "TERMINATE":
        return f"blocks run without asking; you are asked when the assistant is done ({why})"
    return f"blocks run without asking ({why})"


def session_origin(loaded: LoadedConfig, command: str) -> tuple[HumanInputMode, Origin]:
    """(the human-input mode, the origin) of a ``command`` ("chat" or "analyse") session.

    Set nowhere, the mode is the command's own (chat asks, analyse does not); analyse's header
    then says nothing of it, every other case names the mode and where it came from.
    """
    source = loaded.sources.get(HUMAN_INPUT_KEY, DEFAULT_SOURCE)
    files = tuple(str(path) for path in loaded.files)
    if source == DEFAULT_SOURCE:
        mode = HUMAN_INPUT_DEFAULTS[command]
        words = approval_words(mode, f"{command}'s default") if command == "chat" else ""
    else:
        mode = loaded.config.session.human_input_mode
        words = approval_words(mode, source_words(HUMAN_INPUT_KEY, source))
    return mode, Origin(words, files, resume_args(loaded, mode))


def resume_args(loaded: LoadedConfig, mode: str) -> tuple[str, ...]:
    """The options that give a resumed chat this session's settings, wherever it is started.

    The config file (absolute), the work dir (absolute) and every setting given by a flag
    or an AUTORUN_* variable (the variable may be gone by then) that a resume must keep.
    """
    from pathlib import Path

    config, sources = loaded.config, loaded.sources
    args: list[str] = ["--config", str(loaded.files[-1])] if loaded.files else []
    args += ["--work-dir", str(Path(config.executor.work_dir).expanduser().resolve())]

    def given(key: str) -> bool:
        return sources.get(key, DEFAULT_SOURCE).startswith(("flag", "env:"))

    if given("model.name"):
        args += ["--model", config.model.name]
    if given("model.base_url") and config.model.base_url:
        args += ["--base-url", config.model.base_url]
    if given("executor.type") or given("executor.image"):
        kind = config.executor.type
        args += ["--docker", config.executor.image] if kind == "docker" else CHAT_EXECUTOR_FLAGS.get(kind, [])
    if given("executor.timeout"):
        args += ["--timeout", f"{config.executor.timeout:g}"]
    if mode != HUMAN_INPUT_DEFAULTS["chat"]:
        args += ["--human-input-mode", mode]
    return tuple(args)
