"""The executor seam: run one code block, stream its output, return a result."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from autorun.codeblocks import CodeBlock
from autorun.events import HtmlOutput
from autorun.output import DEFAULT_OUTPUT_CAP, cap_output
from autorun.units import format_seconds

if TYPE_CHECKING:
    from autorun.datafile import DataFileInfo

OutputCallback = Callable[[str], None]
TIMEOUT_EXIT_CODE = 124
KILLED_EXIT_CODE = 137  # killed by a limit: out of memory, the disk quota (as Docker's OOM kill)


@dataclass(frozen=True)
class ExecResult:
    """What running one block produced. A failure or timeout is a result, not an exception."""

    exit_code: int
    output: str
    duration_s: float
    timed_out: bool = False
    html: tuple[HtmlOutput, ...] = ()  # what the kernel also displayed as HTML (DataFrames)


class Executor(Protocol):
    """Runs code blocks: everything the session uses of an executor.

    Constructors start nothing: ``warm_up`` starts the container or kernel in the background,
    else the first ``run`` that needs it does; ``close()`` is idempotent and safe after a failure.
    A block that fails or times out is a result; an exception means the executor cannot run
    anything at all.
    """

    name: str
    executes: bool
    """False for `none`: blocks are shown and recorded, never run."""
    stateful: bool
    """True when python blocks share one interpreter's state (variables, imports)."""

    def warm_up(self) -> None:
        """Start what the first block needs (container, kernel) in the background; never blocks long."""
        ...

    def expose(self, host_path: Path) -> str:
        """Make a host data file readable to the code (read-only); return its path as code sees it."""
        ...

    def inspect_files(self, paths: Sequence[Path], sheet: str | None) -> list[DataFileInfo] | None:
        """The data files inspected where the code runs, when that spares autorun's process the work
        (a kernel with pandas loaded); None: autorun inspects them itself. Raises InputFileError."""
        ...

    def run(self, block: CodeBlock, on_output: OutputCallback) -> ExecResult: ...

    def peak_memory(self) -> int | None:
        """The most memory the session's code has used so far, in bytes, as its memory limit counts it;
        None where the executor cannot tell (no limit, nothing run yet)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


@runtime_checkable
class Interruptible(Protocol):
    """An executor that can stop only the running block (chat's Ctrl-C), keeping what it started for the next."""

    def interrupt(self) -> None: ...


def failed_result(message: str, started: float) -> ExecResult:
    """A block that could not be run at all (unknown language, refused file name): exit code 1 and why."""
    return ExecResult(exit_code=1, output=message, duration_s=time.monotonic() - started)


def timeout_line(timeout: float) -> str:
    """The line added to a block's output when it is killed at the timeout."""
    return f"timed out after {format_seconds(timeout)} s"


def format_result(result: ExecResult, limit: int = DEFAULT_OUTPUT_CAP) -> str:
    """The exact message the assistant receives for an execution (AutoGen v0.2 format)."""
    status = "execution succeeded" if result.exit_code == 0 else "execution failed"
    return f"exitcode: {result.exit_code} ({status})\nCode output:\n{cap_output(result.output, limit)}"
