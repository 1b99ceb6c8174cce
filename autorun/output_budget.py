"""How much of one block's output a person is shown live, and how much is recorded.

A block may print 100 MB or one 10 MB line. Autorun shows the first
SHOWN_HEAD_CHARS characters as they come, says that the rest is held back, and
when the block ends shows its last SHOWN_TAIL_CHARS (where errors usually are).
The transcript records at most KEPT_OUTPUT_CHARS (head and tail); the model gets
``executor.output_limit`` characters, as always.
"""

from __future__ import annotations

from autorun.executors.limits import KEPT_OUTPUT_CHARS, OutputKeeper

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
