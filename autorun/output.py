"""How much of one block's output is kept, shown to a person and sent to the model.

A block may print 100 MB or one 10 MB line. Autorun shows the first
SHOWN_HEAD_CHARS characters as they come, says that the rest is held back, and
when the block ends shows its last SHOWN_TAIL_CHARS (where errors usually are).
The transcript records at most KEPT_OUTPUT_CHARS (head and tail); the model gets
``executor.output_limit`` characters, as always.
"""

from __future__ import annotations

KEPT_OUTPUT_CHARS = 4_000_000  # of one block's output, head and tail: the result, the transcript
DEFAULT_OUTPUT_CAP = 32_000  # what the model gets unless executor.output_limit says otherwise
SHOWN_HEAD_CHARS = 100_000
SHOWN_TAIL_CHARS = 20_000
HIDING_NOTE = "\n[... a lot of output: the rest is not shown until the block ends ...]\n"


class ShownOutput:
    """Splits a block's streamed output into what to show now, and what to show when it ends."""

    def __init__(self, head: int = SHOWN_HEAD_CHARS, tail: int = SHOWN_TAIL_CHARS) -> None:
        self.kept = OutputKeeper(KEPT_OUTPUT_CHARS)
        self.tail_limit = tail
        self.hidden = 0
        self._room = head
        self._tail = ""

    def feed(self, text: str) -> str:
        """The part of ``text`` to show now (with a note when output starts being held back)."""
        self.kept.add(text)
        shown = ""
        if self._room:
            shown, text = text[: self._room], text[self._room :]
            self._room -= len(shown)
        if text:
            if not self.hidden:
                shown += HIDING_NOTE
            self.hidden += len(text)
            self._tail = (self._tail + text)[-self.tail_limit :]
        return shown

    def finish(self) -> str:
        """What to show once the block has ended: a count of what was not shown, then the tail."""
        if not self.hidden:
            return ""
        omitted = self.hidden - len(self._tail)
        return (f"[... {omitted} characters not shown ...]\n" if omitted else "") + self._tail


def cap_output(text: str, limit: int = DEFAULT_OUTPUT_CAP) -> str:
    """Keep the head and tail of ``text`` within ``limit`` characters, marking what was cut."""
    if limit <= 0 or len(text) <= limit:
        return text
    head = limit // 2
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[... {omitted} characters omitted ...]\n{text[-tail:]}"


class OutputKeeper:
    """Keeps the head and tail of a stream of text within ``limit`` characters, counting what it drops.

    A block printing 100 MB must not cost autorun 100 MB (or several copies of it):
    the model sees only output_limit characters anyway, and a person the start and the end.
    """

    def __init__(self, limit: int) -> None:
        self.head_limit = limit // 2
        self.tail_limit = limit - self.head_limit
        self._head: list[str] = []
        self._head_size = 0
        self._tail: list[str] = []
        self._tail_size = 0
        self.dropped = 0

    def add(self, text: str) -> None:
        room = self.head_limit - self._head_size
        if room > 0:
            self._head.append(text[:room])
            self._head_size += min(room, len(text))
            text = text[room:]
        if not text:
            return
        self._tail.append(text)
        self._tail_size += len(text)
        if self._tail_size > 2 * self.tail_limit:
            self._trim()

    def _trim(self) -> None:
        joined = "".join(self._tail)
        keep = joined[-self.tail_limit :]
        self.dropped += len(joined) - len(keep)
        self._tail, self._tail_size = [keep], len(keep)

    def text(self) -> str:
        if self._tail_size > self.tail_limit:
            self._trim()
        head, tail = "".join(self._head), "".join(self._tail)
        if not self.dropped:
            return head + tail
        return f"{head}\n[... {self.dropped} characters omitted ...]\n{tail}"
