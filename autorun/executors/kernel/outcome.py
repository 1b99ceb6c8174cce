"""What one block comes to in the kernel, and the lines that say what became of the kernel's state."""

from __future__ import annotations

from dataclasses import dataclass

from autorun.events import HtmlOutput

STATE_KEPT = "the kernel was interrupted: variables and imports from earlier blocks are kept"
STATE_LOST = "the kernel was restarted: variables and imports from earlier blocks are gone"


class KernelUnavailable(Exception):
    """The kernel cannot start here (no ipykernel, a broken interpreter); the reason is the message."""


@dataclass(frozen=True)
class KernelOutcome:
    """What one block did in the kernel; ``state_lost`` means the kernel was restarted after it."""

    exit_code: int
    output: str
    duration_s: float
    timed_out: bool = False
    state_lost: bool = False
    html: tuple[HtmlOutput, ...] = ()
