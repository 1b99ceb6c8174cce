"""Make untrusted text (model replies, code output) safe to print on a terminal.

Code output and model text can carry escape sequences that clear the screen,
move the cursor over earlier output, set the window title, write the system
clipboard (OSC 52) or hide a link target (OSC 8). Every renderer passes such
text through here first; only plain characters, ``\\n`` and ``\\t`` survive.
A carriage return becomes a newline, so output cannot overwrite what was
printed before it on the same line.
"""

from __future__ import annotations

import re

# DCS, SOS, OSC, PM, APC (7-bit and 8-bit introducers) run to BEL or ST. An unterminated
# one ends at the end of its line, so a stray introducer cannot swallow later output.
_STRING_INTRO = r"(?:\x1b[P\]X^_]|[\x90\x98\x9d\x9e\x9f])"
_STRING_BODY = r"(?:(?!\x1b\\)[^\x07\x9c\n])*"
_STRING_END = r"(?:\x07|\x1b\\|\x9c)"
_CSI = r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*"
_CONTROL = r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"

_SEQUENCE_RE = re.compile(
    rf"{_STRING_INTRO}{_STRING_BODY}{_STRING_END}?|{_CSI}[\x40-\x7e]?|\x1b[\x20-\x2f]*[\x30-\x7e]?|{_CONTROL}"
)
_NEWLINES_RE = re.compile(r"\r\n?")

# A sequence cut off at the end of a chunk: its rest may arrive with the next chunk.
_OPEN_TAIL_RE = re.compile(rf"(?P<string>{_STRING_INTRO}{_STRING_BODY})\Z|{_CSI}\Z|\x1b[\x20-\x2f]*\Z|\r\Z")
_STRING_END_RE = re.compile(rf"{_STRING_END}|\n")


def strip_control_sequences(text: str) -> str:
    """Remove every terminal control sequence and control character except newline and tab."""
    return _SEQUENCE_RE.sub("", _NEWLINES_RE.sub("\n", text))


class StreamSanitizer:
    """Sanitises text that arrives in chunks, holding back a sequence split across chunks.

    An unterminated string sequence (say a huge OSC 52 payload) is held back up
    to ``max_pending`` characters, then dropped up to its terminator or newline.
    """

    def __init__(self, max_pending: int = 4096) -> None:
        self.max_pending = max_pending
        self._pending = ""
        self._discarding = False

    def feed(self, chunk: str) -> str:
        text, self._pending = self._pending + chunk, ""
        if self._discarding:
            end = _STRING_END_RE.search(text)
            if end is None:
                return ""
            self._discarding = False
            text = text[end.start() if end.group() == "\n" else end.end() :]
        tail = _OPEN_TAIL_RE.search(text)
        if tail is not None:
            if len(text) - tail.start() <= self.max_pending:
                self._pending = text[tail.start() :]
            else:
                self._discarding = tail.group("string") is not None
            text = text[: tail.start()]
        return strip_control_sequences(text)

    def flush(self) -> str:
        """Whatever is held back, sanitised: the stream is complete."""
        text, self._pending, self._discarding = self._pending, "", False
        return strip_control_sequences(text)


class LineBuffer:
    """Collects chunks and hands back complete lines (without their newline)."""

    def __init__(self) -> None:
        self._partial = ""

    def feed(self, text: str) -> list[str]:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        return lines

    def flush(self) -> str | None:
        """The unfinished last line, or None when the text ended with a newline."""
        rest, self._partial = self._partial, ""
        return rest or None

    @property
    def pending(self) -> bool:
        return bool(self._partial)
