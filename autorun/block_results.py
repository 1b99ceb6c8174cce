"""A block's result as the model reads it: the AutoGen v0.2 result text and the exit codes autorun gives.

The loop sends every execution back as ``exitcode: N (execution succeeded|failed)``, a
``Code output:`` line and the output (AutoGen v0.2's reply, which models are used to). The
builtin analyst, the report, ``autorun results`` and the renderers read it back, all with
``parse_result``. A block's exit code is its code's own, except for the three autorun sets
itself (``BLOCK_*``, as a shell would report them); autorun's own exit status is another
thing, ``errors.ExitCode``, though its 130 is the same number as a block's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from autorun.output import DEFAULT_OUTPUT_CAP, cap_output
from autorun.units import format_seconds, human_size

BLOCK_TIMED_OUT: Final = 124
"""Stopped at the timeout (as timeout(1) and AutoGen report it)."""
BLOCK_INTERRUPTED: Final = 130
"""Stopped by the person's Ctrl-C in a chat (128 + SIGINT); the chat goes on."""
BLOCK_KILLED: Final = 137
"""Killed by a limit: memory, the disk quota, the process budget (128 + SIGKILL, as Docker's OOM kill)."""

INTERRUPTED_LINE: Final = "interrupted by the user (Ctrl-C)"

_RESULT = re.compile(r"exitcode: (-?\d+) \(execution (?:succeeded|failed)\)(?:\nCode output:[ \n]?)?")


@dataclass(frozen=True)
class ResultText:
    """A result message read back: the exit code it reports and the output after it (capped as sent)."""

    exit_code: int
    output: str


def format_result(exit_code: int, output: str, limit: int = DEFAULT_OUTPUT_CAP) -> str:
    """The exact message the assistant receives for an execution, its output capped to ``limit`` characters."""
    status = "execution succeeded" if exit_code == 0 else "execution failed"
    return f"exitcode: {exit_code} ({status})\nCode output:\n{cap_output(output, limit)}"


def parse_result(text: str) -> ResultText | None:
    """What a result message says, or None when ``text`` is not one. Leading white space and AutoGen's own
    ``Code output: `` (a space, not a line break; or no such line) are taken too: hand-made histories."""
    text = text.lstrip()
    match = _RESULT.match(text)
    return ResultText(int(match.group(1)), text[match.end() :]) if match else None


def timeout_line(timeout: float) -> str:
    """The line added to a block's output when it is killed at the timeout."""
    return f"timed out after {format_seconds(timeout)} s"


def oom_line(limit_bytes: int | None) -> str:
    """The line added to a block's output when the memory limit killed it (as Docker's)."""
    return f"killed: out of memory (limit {human_size(limit_bytes or 0)})"
