"""One decoder for a transcript's records: every event type checked field by field against its dataclass.

Each recorded event type (events.py) gets a validating decoder built from its dataclass fields:
a field without a default must be there, every field must have its declared type (``true`` is
not an integer, a count is not text), and unknown keys (``ts``, fields of a later version) are
ignored. Records of unknown kinds, and live ones a transcript never holds, are skipped. A line
without an ``event`` key that has ``role`` and ``content`` is a message of an AutoGen-style chat
history (what the tutorial's ``extract_execution_results`` reads).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autorun.errors import ConfigError
from autorun.events import Artifact, Event, HtmlOutput, MessageEvent, SessionStart

Check = Callable[[Any], bool]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_counts(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and _is_int(v) for k, v in value.items())


def _is_texts(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _are_mappings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _or_null(check: Check) -> Check:
    return lambda value: value is None or check(value)


@dataclass(frozen=True)
class _Rule:
    name: str
    check: Check
    expected: str
    required: bool
    convert: Callable[[Any], Any] = lambda value: value


def _artifacts(value: Any) -> tuple[Artifact, ...]:
    return tuple(Artifact(**{rule.name: item[rule.name] for rule in _ARTIFACT_RULES}) for item in value)


def _are_artifacts(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and all(rule.name in item and rule.check(item[rule.name]) for rule in _ARTIFACT_RULES)
        for item in value
    )


def _are_html_outputs(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and isinstance(item.get("text"), str) and isinstance(item.get("html"), str)
        for item in value
    )


def _html_outputs(value: Any) -> tuple[HtmlOutput, ...]:
    return tuple(HtmlOutput(item["text"], item["html"]) for item in value)


# A field's declared type (as written in events.py) -> (check, what is expected, conversion).
_TYPES: dict[str, tuple[Check, str, Callable[[Any], Any] | None]] = {
    "str": (lambda v: isinstance(v, str), "text", None),
    "int": (_is_int, "an integer", None),
    "float": (_is_number, "a number", float),
    "bool": (lambda v: isinstance(v, bool), "true or false", None),
    "str | None": (_or_null(lambda v: isinstance(v, str)), "text or null", None),
    "int | None": (_or_null(_is_int), "an integer or null", None),
    "float | None": (_or_null(_is_number), "a number or null", lambda v: None if v is None else float(v)),
    "dict[str, int] | None": (_or_null(_is_counts), "a mapping of counts or null", None),
    "dict[str, str] | None": (_or_null(_is_texts), "a mapping of names to text or null", None),
    "dict[str, Any]": (lambda v: isinstance(v, dict), "a mapping", None),
    "tuple[str, ...]": (lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v), "a list of text", tuple),
    "tuple[dict[str, Any], ...]": (_are_mappings, "a list of mappings", tuple),
    "tuple[HtmlOutput, ...]": (_are_html_outputs, "a list of (text, html) outputs", _html_outputs),
    "tuple[Artifact, ...]": (_are_artifacts, "a list of files (path, size, sha256, media_type, change)", _artifacts),
}


def _rules(cls: type) -> tuple[_Rule, ...]:
    rules = []
    for spec in dataclasses.fields(cls):
        check, expected, convert = _TYPES[str(spec.type)]  # a KeyError here: teach _TYPES the new field type
        required = spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
        rules.append(_Rule(spec.name, check, expected, required, convert or (lambda value: value)))
    return tuple(rules)


_ARTIFACT_RULES = _rules(Artifact)


def _recorded_classes() -> dict[str, type[Event]]:
    found: dict[str, type[Event]] = {}
    pending = list(Event.__subclasses__())
    while pending:
        cls = pending.pop()
        if not cls.live:
            found[cls.kind] = cls
        pending.extend(cls.__subclasses__())
    return found


DECODERS: dict[str, tuple[type[Event], tuple[_Rule, ...]]] = {
    kind: (cls, _rules(cls)) for kind, cls in _recorded_classes().items()
}


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def decode_event(record: dict[str, Any], where: str) -> Event | None:
    """The event ``record`` holds, checked; None for a record of a kind autorun does not record."""
    kind = record.get("event")
    if kind is None:
        return _history_message(record)
    entry = DECODERS.get(kind) if isinstance(kind, str) else None
    if entry is None:
        return None
    cls, rules = entry
    values: dict[str, Any] = {}
    for rule in rules:
        if rule.name not in record:
            if rule.required:
                raise ConfigError(f"{where}: {kind} record without {rule.name}; is this an autorun transcript?")
            continue
        value = record[rule.name]
        if not rule.check(value):
            raise ConfigError(f"{where}: {kind}.{rule.name} must be {rule.expected}, got {_show(value)}")
        values[rule.name] = rule.convert(value)
    return cls(**values)


def _history_message(record: dict[str, Any]) -> MessageEvent | None:
    role, content, name = record.get("role"), record.get("content"), record.get("name")
    if not isinstance(role, str) or not isinstance(content, str):
        return None
    return MessageEvent(role=role, name=name if isinstance(name, str) else role, content=content, turn=0)


def decode_records(records: Sequence[tuple[int, dict[str, Any]]], path: Path) -> list[Event]:
    """Every event of ``records`` ((line number, JSON object) pairs), in order."""
    events = []
    for number, record in records:
        event = decode_event(record, f"{path}, line {number}")
        if event is not None:
            events.append(event)
    return events


# Transcripts written before session_start recorded code_work_dir: only Docker's code saw the work dir
# elsewhere (at /workspace; its data file at /workspace/data/NAME, then not always recorded either).
_LEGACY_CODE_WORK_DIRS = {"docker": "/workspace"}


def code_work_dir_of(start: SessionStart) -> str:
    """The work dir as the session's code saw it: as recorded, else (an older record) from its executor."""
    if start.code_work_dir is not None:
        return start.code_work_dir
    return _LEGACY_CODE_WORK_DIRS.get(start.executor, start.work_dir)
