"""One validated Config from packaged defaults, YAML files, AUTORUN_* variables and flags.

Precedence (highest wins): flag > AUTORUN_<SECTION>_<KEY> > --config FILE >
./autorun.yaml > packaged default.yaml. Each layer is validated on its own, so an
error names the layer that was wrong: the file, the variable or the flag.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from autorun.config.schema import Config
from autorun.errors import ConfigError
from autorun.secrets import is_secret_setting, looks_like_secret_value

ENV_PREFIX = "AUTORUN_"
LOCAL_CONFIG_NAME = "autorun.yaml"
DEFAULT_SOURCE = "default"
_DEFAULT_LABEL = "packaged default.yaml"

# Dotted key -> the flag users type; error messages for flag values name it.
FLAG_NAMES: dict[str, str] = {
    "model.name": "--model",
    "model.base_url": "--base-url",
    "executor.type": "--sandbox/--local/--no-exec",
    "executor.timeout": "--timeout",
    "executor.work_dir": "--work-dir",
    "executor.last_n_messages": "--last-n-messages",
    "session.max_consecutive_auto_reply": "--max-turns",
    "model.cache": "--cache/--no-cache",
    "executor.image": "--docker",
    "session.human_input_mode": "--human-input-mode",
}

REDACTED = "***"


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    sources: dict[str, str]
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    files: tuple[Path, ...] = ()  # the config files read, lowest precedence first (absolute)


def sections() -> tuple[str, ...]:
    return tuple(Config.model_fields)


def _fields(section: str) -> dict[str, FieldInfo]:
    annotation = Config.model_fields[section].annotation
    assert isinstance(annotation, type)
    return annotation.model_fields


def config_keys() -> list[str]:
    return [f"{section}.{key}" for section in sections() for key in _fields(section)]


def env_var_name(key: str) -> str:
    return ENV_PREFIX + key.replace(".", "_").upper()


def flag_name(key: str) -> str:
    return FLAG_NAMES.get(key, "command line")


def source_words(key: str, source: str) -> str:
    """Where a value came from, as a person would name it: ./autorun.yaml, c.yaml, $AUTORUN_..., --flag."""
    kind, _, name = source.partition(":")
    if kind == "file":
        return f"./{name}" if name == LOCAL_CONFIG_NAME else name
    if kind == "env":
        return f"${name}"
    if kind == "flag":
        return flag_name(key)
    return "the default"


@functools.cache
def default_config_text() -> str:
    return resources.files("autorun.config").joinpath("default.yaml").read_text(encoding="utf-8")


@dataclass
class _Layer:
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, value: Any, source: str, label: str) -> None:
        self.values[key] = value
        self.sources[key] = source
        self.labels[key] = label

    def nested(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key, value in self.values.items():
            section, _, name = key.partition(".")
            out.setdefault(section, {})[name] = value
        return out


def load_config(
    *, config_file: Path | None, flags: Mapping[str, object], env: Mapping[str, str], cwd: Path
) -> LoadedConfig:
    default = _mapping_layer(_parse_yaml(default_config_text(), _DEFAULT_LABEL), DEFAULT_SOURCE, _DEFAULT_LABEL)
    chosen: list[_Layer] = []
    files: list[Path] = []
    path = None
    if config_file is not None:
        path = config_file.expanduser()
        path = path if path.is_absolute() else cwd / path
        if not path.exists():
            raise ConfigError(f"config file not found: {config_file} (create one with 'autorun config init')")
        chosen.append(_file_layer(path, str(config_file)))
        files.append(path.absolute())
    chosen += [_env_layer(env), _flag_layer(flags)]
    named = path is not None and path.resolve() == (cwd / LOCAL_CONFIG_NAME).resolve()
    local = [] if named else _local_layer(cwd, [default, *chosen], env)
    if local:
        files.insert(0, (cwd / LOCAL_CONFIG_NAME).absolute())
    layers = [default, *local, *chosen]

    merged = _Layer()
    merged.sources = dict.fromkeys(config_keys(), DEFAULT_SOURCE)
    for layer in layers:
        _validate(layer)
        merged.values.update(layer.values)
        merged.sources.update(layer.sources)
        merged.labels.update(layer.labels)
    config = _validate(merged)
    return LoadedConfig(config=config, sources=merged.sources, env=dict(env), files=tuple(files))


def _local_layer(cwd: Path, others: list[_Layer], env: Mapping[str, str]) -> list[_Layer]:
    """``./autorun.yaml`` as a layer, unless code run in a session could have written it.

    A block can write anything in its work dir, so an ``autorun.yaml`` there may be a plant
    (``executor: {type: local}`` would take the next run out of the sandbox). When the current
    directory is, or lies inside, a work dir with a recorded session, or the work dir this run
    is configured with, the file is refused with one line naming it: a silent skip would run
    with settings the user did not expect; ``--config`` names a file the user vouches for.
    """
    local = cwd / LOCAL_CONFIG_NAME
    if not local.is_file():
        return []
    from autorun.record.state import recorded_work_dir_holding

    values = [layer.values["executor.work_dir"] for layer in others if "executor.work_dir" in layer.values]
    here = cwd.resolve()
    configured = (cwd / Path(str(values[-1])).expanduser()).resolve() if values else None
    used = configured if configured and here.is_relative_to(configured) else recorded_work_dir_holding(here, env)
    if used is not None:
        raise ConfigError(
            f"{local} is inside the work dir {used}, where code run in a session can write, so autorun does not "
            f"read it; if you wrote it yourself, pass --config {local}, else delete it"
        )
    return [_file_layer(local, LOCAL_CONFIG_NAME)]


def _file_layer(path: Path, label: str) -> _Layer:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{label}: not UTF-8 text; save the config file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {label}: {exc.strerror or exc}") from None
    return _mapping_layer(_parse_yaml(text, label), f"file:{label}", label)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, label: str) -> dict[Any, Any]:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{label}: invalid YAML{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"the value {_show(data)}"
        raise ConfigError(f"{label}: the top level must be a mapping of sections ({', '.join(sections())}), got {kind}")
    return data


def _mapping_layer(data: Mapping[Any, Any], source: str, label: str) -> _Layer:
    layer = _Layer()
    for raw_section, body in data.items():
        section = str(raw_section)
        if section not in sections():
            _reject_secret_name(section, section, label)
            raise ConfigError(f"{label}: {_unknown_section(section)}")
        if body is None:
            continue
        if not isinstance(body, dict):
            raise ConfigError(f"{label}: {section} must be a mapping of keys, got {_show(body)}")
        for raw_key, value in body.items():
            key = str(raw_key)
            dotted = f"{section}.{key}"
            _check_key(section, key, label, str)
            _reject_secret_value(dotted, value, label)
            layer.add(dotted, value, source, label)
    return layer


def _env_layer(env: Mapping[str, str]) -> _Layer:
    layer = _Layer()
    for name in sorted(env):
        rest = name[len(ENV_PREFIX) :] if name.startswith(ENV_PREFIX) else ""
        section = next((s for s in sections() if rest.startswith(s.upper() + "_")), None)
        if section is None:
            continue
        key = rest[len(section) + 1 :].lower()
        label = f"env {name}"
        _check_key(section, key, label, env_var_name)
        value = _parse_env_value(_fields(section)[key], env[name])
        _reject_secret_value(f"{section}.{key}", value, label)
        layer.add(f"{section}.{key}", value, f"env:{name}", label)
    return layer


def _flag_layer(flags: Mapping[str, object]) -> _Layer:
    layer = _Layer()
    for key, value in flags.items():
        if value is None:
            continue
        section, _, name = key.partition(".")
        if section not in sections() or name not in _fields(section):
            raise ValueError(f"flags: {key!r} is not a config key")
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        elif isinstance(value, tuple):
            value = list(value)
        _reject_secret_value(key, value, flag_name(key))
        layer.add(key, value, "flag", flag_name(key))
    return layer


def _split_optional(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(get_args(annotation))
        return (args[0] if len(args) == 1 else annotation), nullable
    return annotation, False


def _parse_env_value(info: FieldInfo, raw: str) -> Any:
    """Env values are text: split lists on commas, read mappings as JSON or k=v,k=v."""
    base, nullable = _split_optional(info.annotation)
    text = raw.strip()
    if nullable and text.lower() in ("", "null", "none"):
        return None
    if get_origin(base) is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    if base is dict or get_origin(base) is dict:
        if text.startswith("{"):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return text
        pairs = [part.partition("=") for part in text.split(",") if part.strip()]
        if all(sep for _, sep, _ in pairs):
            return {k.strip(): v.strip() for k, _, v in pairs}
    return text


def _check_key(section: str, key: str, label: str, spell: Any) -> None:
    names = list(_fields(section))
    if key in names:
        return
    _reject_secret_name(f"{section}.{key}", key, label)
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
    elsewhere = [s for s in sections() if key in _fields(s)]
    hints = [f"{section}.{name}" for name in close] + [f"{other}.{key}" for other in elsewhere]
    if hints:
        options = " or ".join(spell(hint) for hint in hints)
        raise ConfigError(f"{label}: unknown key {section}.{key} (did you mean {options}?)")
    raise ConfigError(f"{label}: unknown key {section}.{key}; allowed keys in {section}: {', '.join(names)}")


def _unknown_section(section: str) -> str:
    if section in config_keys():
        head, _, key = section.partition(".")
        return f"unknown section {section} (nest it: put '{key}:' under '{head}:')"
    close = difflib.get_close_matches(section, sections(), n=1, cutoff=0.6)
    if close:
        return f"unknown section {section} (did you mean {close[0]}?)"
    return f"unknown section {section}; allowed sections: {', '.join(sections())}"


_KEY_ENV_HINT = (
    f"put the key in the environment variable named by model.api_key_env (default {Config().model.api_key_env})"
)


def _reject_secret_name(key: str, name: str, label: str) -> None:
    if is_secret_setting(name):
        raise ConfigError(
            f"{label}: {key} looks like a secret, and API keys never go in configuration; {_KEY_ENV_HINT}"
        )


def _reject_secret_value(key: str, value: Any, label: str) -> None:
    texts = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
    if any(isinstance(t, str) and looks_like_secret_value(t) for t in texts):
        raise ConfigError(
            f"{label}: {key} holds what looks like an API key, and keys never go in configuration; "
            f"{_KEY_ENV_HINT} and keep only the variable's name here"
        )


def _validate(layer: _Layer) -> Config:
    try:
        return Config.model_validate(layer.nested())
    except ValidationError as exc:
        raise ConfigError(_error_line(exc.errors()[0], layer)) from None


def _error_line(error: Any, layer: _Layer) -> str:
    loc = [str(part) for part in error["loc"]]
    key = ".".join(loc[:2])
    label = layer.labels.get(key, "configuration")
    if len(loc) < 2 or key not in layer.values:
        return f"{label}: {'.'.join(loc) or 'configuration'}: {error['msg']}"
    if error["type"] == "value_error":
        rule = str(error["ctx"]["error"])
    else:
        rule = "must be " + _allowed(_fields(loc[0])[loc[1]])
    if key.endswith("_env"):
        return f"{label}: {key} {rule} (the value is not shown in case it is a secret)"
    return f"{label}: {key} {rule}, got {_show(layer.values[key])}"


def _allowed(info: FieldInfo) -> str:
    base, nullable = _split_optional(info.annotation)
    limits = {
        name: getattr(m, name)
        for m in info.metadata
        for name in ("gt", "ge", "lt", "le", "min_length")
        if getattr(m, name, None) is not None
    }
    if get_origin(base) is Literal:
        text = "one of " + ", ".join(str(a) for a in get_args(base))
    elif base is bool:
        text = "true or false"
    elif base in (int, float):
        text = _number_phrase("an integer" if base is int else "a number", limits)
    elif base is str:
        text = "non-empty text" if limits.get("min_length") else "text"
    elif get_origin(base) is list:
        text = "a list"
    elif base is dict or get_origin(base) is dict:
        text = "a mapping of key: value"
    else:
        text = f"a valid {getattr(base, '__name__', 'value')}"
    return f"{text} or null" if nullable else text


def _number_phrase(noun: str, limits: Mapping[str, Any]) -> str:
    bounds = {k: v for k, v in limits.items() if k != "min_length"}
    if bounds == {"gt": 0}:
        return noun.replace("an integer", "a positive integer").replace("a number", "a positive number")
    if set(bounds) == {"ge", "le"}:
        return f"{noun} from {bounds['ge']:g} to {bounds['le']:g}"
    ops = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    return f"{noun} " + " and ".join(f"{ops[k]} {v:g}" for k, v in bounds.items()) if bounds else noun


def inline_yaml(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 16).strip()
    return text.removesuffix("...").strip()


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else inline_yaml(value)
    return text if len(text) <= 80 else text[:77] + "..."


# Keys whose default depends on the command: the starter config leaves them unset (commented out), so
# that writing one does not pin what each command would otherwise choose (chat asks before it runs code).
PER_COMMAND_KEYS: dict[str, str] = {
    "session.human_input_mode": "# human_input_mode: ALWAYS       # unset (commented out): chat asks before each block "
    "(ALWAYS), analyse runs unasked (NEVER); set NEVER | ALWAYS | TERMINATE to use one mode everywhere",
}


def starter_config_text() -> str:
    """The packaged defaults as a starter file, with the per-command keys commented out."""
    lines: list[str] = []
    section = ""
    for line in default_config_text().splitlines(keepends=True):
        if re.match(r"^\w+:", line):
            section = line.split(":", 1)[0]
        key = re.match(r"^  (\w+):", line)
        dotted = f"{section}.{key.group(1)}" if key else ""
        lines.append(f"  {PER_COMMAND_KEYS[dotted]}\n" if dotted in PER_COMMAND_KEYS else line)
    return "".join(lines)


def write_starter_config(path: Path) -> None:
    try:
        with path.open("x", encoding="utf-8") as fh:
            fh.write(starter_config_text())
    except FileExistsError:
        raise ConfigError(f"{path} already exists; remove it or edit it") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
