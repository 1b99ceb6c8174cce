"""Where a person can step into the session loop (human_input_mode ALWAYS and TERMINATE)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from autorun.codeblocks import CodeBlock


@dataclass(frozen=True)
class Approval:
    """A human's decision about the blocks about to run (human_input_mode ALWAYS).

    ``skip`` sends the assistant ``text`` (why, or nothing) at once; ``stop`` runs nothing and
    hands the turn back to the person (the chat's prompt), whose next words the assistant gets
    with the note that its code was not run.
    """

    action: Literal["run", "skip", "reply", "stop"]
    blocks: tuple[CodeBlock, ...] = ()
    text: str = ""


class HumanInput(Protocol):
    """Where a person can step into the loop; ``None`` everywhere means 'carry on automatically'."""

    def approve(self, blocks: Sequence[CodeBlock]) -> Approval: ...

    def reply_instead(self, assistant_text: str) -> str | None:
        """Asked when the assistant sent no code; text to send, or None for the automatic reply."""
        ...

    def continue_after(self, assistant_text: str, reason: str) -> str | None:
        """Asked when the session would end (keyword or limit); text to go on with, or None to end."""
        ...
