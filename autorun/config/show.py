"""What `autorun config show` prints and what transcripts record of the config: never a secret."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from autorun.config.loading import (
    DEFAULT_SOURCE,
    PER_COMMAND_KEYS,
    REDACTED,
    LoadedConfig,
    inline_yaml,
)
from autorun.config.schema import HUMAN_INPUT_DEFAULTS, Config
from autorun.secrets import is_secret_name, looks_like_secret_value


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_name(str(k)) else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, str):
        if looks_like_secret_value(value):
            return REDACTED
        if value.startswith(("http://", "https://")):
            parts = urlsplit(value)
            if parts.password:
                host = parts.netloc.rpartition("@")[2]
                return urlunsplit(parts._replace(netloc=f"{parts.username}:{REDACTED}@{host}"))
    return value


def redacted_config_dict(config: Config) -> dict[str, Any]:
    """The config as plain data with anything secret-looking masked: for transcripts and `config show`."""
    return _redact(config.model_dump(mode="json"))


def _env_note(key: str, value: Any, env: Mapping[str, str]) -> str:
    if not (key.endswith("_env") and isinstance(value, str)):
        return ""
    return "set" if env.get(value) else "not set"


PER_COMMAND_VALUE = "unset: " + ", ".join(f"{command} {mode}" for command, mode in HUMAN_INPUT_DEFAULTS.items())


def _per_command(key: str, loaded: LoadedConfig) -> bool:
    """A key set nowhere whose value each command chooses (human_input_mode)."""
    return key in PER_COMMAND_KEYS and loaded.sources.get(key, DEFAULT_SOURCE) == DEFAULT_SOURCE


def format_config_show(loaded: LoadedConfig) -> list[tuple[str, str, str]]:
    """Rows (key, value, source); a *_env key shows the variable's name and whether it is set."""
    rows = []
    for section, body in redacted_config_dict(loaded.config).items():
        for name, value in body.items():
            key = f"{section}.{name}"
            text = PER_COMMAND_VALUE if _per_command(key, loaded) else inline_yaml(value)
            note = _env_note(key, value, loaded.env)
            rows.append((key, f"{text}  ({note})" if note else text, loaded.sources.get(key, DEFAULT_SOURCE)))
    return rows


def config_show_yaml(loaded: LoadedConfig) -> str:
    lines: list[str] = []
    for section, body in redacted_config_dict(loaded.config).items():
        entries = [(f"  {k}: {inline_yaml(v)}", f"{section}.{k}", v) for k, v in body.items()]
        width = max((len(text) for text, _, _ in entries), default=0)
        lines.append(f"{section}:")
        for text, key, value in entries:
            comment = f"from: {loaded.sources.get(key, DEFAULT_SOURCE)}"
            note = _env_note(key, value, loaded.env)
            if note:
                comment += f"; {value} is {note}"
            if _per_command(key, loaded):
                text, comment = "  # " + text.lstrip(), PER_COMMAND_VALUE
            lines.append(f"{text.ljust(width)}  # {comment}")
    return "\n".join(lines) + "\n"
