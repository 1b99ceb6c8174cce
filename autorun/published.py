"""Values a block publishes for autorun: one marked line of JSON each in its output.

The builtin analyst's blocks publish the figures its summary quotes this way, so they travel
in the session's record (the ``execution_result`` event and the result message) and never
through a file a later block could rewrite or delete. The session takes every such line out
of the output before anything shows, records or sends it: a person sees the tables, the model
gets the values. The marker starts with an ASCII record separator, which printed text never
holds by accident. Imports only the standard library: the builtin's runtime uses it too.
"""

from __future__ import annotations

import json
from typing import Any

MARKER = "\x1eautorun-facts "
MAX_LINE_CHARS = 4_000_000


def published_line(value: dict[str, Any]) -> str:
    """The output line that publishes ``value`` (JSON; numpy scalars and dates as plain values)."""
    return MARKER + json.dumps(value, default=plain, separators=(",", ":")) + "\n"


def plain(value: Any) -> Any:
    """JSON for numpy scalars, timestamps and the like."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):
        try:
            return value.item()
        except (ValueError, TypeError):
            pass
    return str(value)


def _parse(line: str) -> dict[str, Any] | None:
    if not line.startswith(MARKER) or len(line) > MAX_LINE_CHARS:
        return None
    try:
        value = json.loads(line[len(MARKER) :])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def split_published(text: str) -> tuple[str, list[dict[str, Any]]]:
    """(the output without its published lines, the values they held, in order)."""
    if MARKER not in text:
        return text, []
    kept: list[str] = []
    values: list[dict[str, Any]] = []
    for line in _lines(text):
        value = _parse(line.rstrip("\n")) if line.startswith(MARKER) else None
        if value is None:
            kept.append(line)
        else:
            values.append(value)
    return "".join(kept), values


def _lines(text: str) -> list[str]:
    """The lines of ``text`` with their newlines (str.splitlines would also split at the marker's own \\x1e)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


class PublishedFilter:
    """Takes published lines out of output that arrives in pieces; holds back only a line that may be one."""

    def __init__(self) -> None:
        self._pending = ""
        self._line_start = True
        self.values: list[dict[str, Any]] = []

    def feed(self, text: str) -> str:
        """The part of ``text`` to pass on now."""
        text, self._pending = self._pending + text, ""
        if MARKER[0] not in text:  # the usual case, and floods: no line here can be a published one
            if text:
                self._line_start = text.endswith("\n")
            return text
        shown: list[str] = []
        position = 0
        while position < len(text):
            end = text.find("\n", position)
            stop = len(text) if end < 0 else end + 1
            line = text[position:stop]
            maybe = self._line_start and (line.startswith(MARKER) or MARKER.startswith(line))
            if maybe and end < 0 and len(line) <= MAX_LINE_CHARS:
                self._pending = line
                break
            value = _parse(line.rstrip("\n")) if maybe else None
            if value is None:
                shown.append(line)
            else:
                self.values.append(value)
            self._line_start = end >= 0
            position = stop
        return "".join(shown)

    def finish(self) -> str:
        """What is still held back once the output has ended (a line that was not a published one)."""
        rest, self._pending = self._pending, ""
        value = _parse(rest)
        if value is not None:
            self.values.append(value)
            return ""
        return rest
