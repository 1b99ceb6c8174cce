"""The executor seam: run one code block, stream its output, return a result."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from autorun.codeblocks import CodeBlock
from autorun.events import HtmlOutput

if TYPE_CHECKING:
    from autorun.datafile import DataFileInfo

OutputCallback = Callable[[str], None]


@dataclass(frozen=True)
class ExecResult:
    """What running one block produced. A failure or timeout is a result, not an exception."""

    exit_code: int
    output: str
    duration_s: float
    timed_out: bool = False
    html: tuple[HtmlOutput, ...] = ()  # what the kernel also displayed as HTML (DataFrames)
    code_file: str | None = None
    """The work-dir-relative path the block was written to (posix), not an artifact of it; None: none written."""


class Executor(Protocol):
    """Runs code blocks: everything the session uses of an executor.

    Constructors start nothing: ``warm_up`` starts the container or kernel in the background,
    else the first ``run`` that needs it does; ``close()`` is idempotent and safe after a failure.
    A block that fails or times out is a result; an exception means the executor cannot run
    anything at all.
    """

    name: str
    """The kind, as `executor.type` spells it (the header and the record show it)."""
    executes: bool
    """False for `none`: blocks are shown and recorded, never run."""
    running_code_file: str | None
    """The work-dir-relative file the block now running (or last run) was written to: a Ctrl-C'd block's
    result, which the session makes itself, leaves it out of the artifacts as ``ExecResult.code_file`` does."""

    @property
    def stateful(self) -> bool:
        """True while python blocks share one interpreter's state (variables, imports); it turns False
        when a kernel cannot start and blocks fall back to a process each. Read-only."""
        ...

    @property
    def code_work_dir(self) -> str:
        """The work dir's path as the code sees it (the record keeps it, so exports map it back to ``./``)."""
        ...

    @property
    def runtime_root(self) -> str:
        """The directory holding autorun's package as the code sees it (read-only): the builtin's imports."""
        ...

    def limits_summary(self) -> str:
        """How memory and disk are bounded here, for the session header; "" where nothing runs."""
        ...

    def placed_files(self) -> list[str]:
        """Work-dir-relative paths of files autorun itself places in the work dir for the code
        (Docker's data mount points): never reported as artifacts of a block."""
        ...

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

    def interrupt(self) -> None:
        """Stop only the running block (chat's Ctrl-C), keeping what was started for the next one."""
        ...

    def peak_memory(self) -> int | None:
        """The most memory the session's code has used so far, in bytes, as its memory limit counts it;
        None where the executor cannot tell (no limit, nothing run yet)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


def code_file(work_dir: Path, script: Path) -> str:
    """``script``'s path relative to ``work_dir``, as ``ExecResult.code_file`` holds it."""
    return script.relative_to(work_dir).as_posix()


def failed_result(message: str, started: float) -> ExecResult:
    """A block that could not be run at all (unknown language, refused file name): exit code 1 and why."""
    return ExecResult(exit_code=1, output=message, duration_s=time.monotonic() - started)
