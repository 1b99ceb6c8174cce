"""`autorun replay`: a recorded session shown again as it looked, through any display; nothing runs."""

from __future__ import annotations

from pathlib import Path

from autorun.events import MessageChunk, MessageEvent, MessageStart, Notice, Sink


def show_transcript(path: Path, display: Sink) -> None:
    """Show a recorded session through ``display`` as it looked; nothing is run.

    Assistant messages go through the renderer the way they streamed, so the output matches the live one.
    """
    from autorun.record.reader import read_transcript

    transcript = read_transcript(path)
    for event in transcript.events:
        if isinstance(event, MessageEvent) and event.role == "assistant":
            display.handle(MessageStart(role=event.role, name=event.name))
            display.handle(MessageChunk(role=event.role, text=event.content))
        display.handle(event)
    if transcript.truncated:
        display.handle(Notice(text=f"{path} ends mid-record: the session was cut off here", level="warning"))
