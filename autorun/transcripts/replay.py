"""`autorun replay`: a recorded session shown again as it looked, through any display; nothing runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from autorun.errors import ConfigError
from autorun.events import Artifact, Event, HtmlOutput, MessageChunk, MessageEvent, MessageStart, Notice, Sink

_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "dict[str, int] | None": (dict, type(None)),
    "dict[str, Any]": (dict,),
    "str | None": (str, type(None)),
}


# Event fields that hold lists of values: each decoded from its records, the malformed ones skipped.
RECORD_LISTS: dict[str, Callable[[object], tuple[Any, ...]]] = {
    "artifacts": Artifact.all_from,
    "html": HtmlOutput.all_from,
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
            decode = RECORD_LISTS.get(spec.name)
            values[spec.name] = decode(value) if decode is not None else value
        try:
            events.append(cls(**values))
        except TypeError:
            raise ConfigError(
                f"{path}, record {number}: an incomplete {cls.kind} event; is this an autorun transcript?"
            ) from None
    return events


def show_transcript(path: Path, display: Sink) -> None:
    """Show a recorded session through ``display`` as it looked; nothing is run.

    Assistant messages go through the renderer the way they streamed, so the output matches the live one.
    """
    from autorun.transcripts.store import read_transcript

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
