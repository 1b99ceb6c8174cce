"""The executor seam: run one code block, stream its output, return a result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from autorun.codeblocks import CodeBlock

OutputCallback = Callable[[str], None]
TIMEOUT_EXIT_CODE = 124
DEFAULT_OUTPUT_CAP = 32_000


@dataclass(frozen=True)
class ExecResult:
    """What running one block produced. A failure or timeout is a result, not an exception."""

    exit_code: int
    output: str
    duration_s: float
    timed_out: bool = False


class Executor(Protocol):
    """Runs code blocks. Constructors start nothing; `close()` is idempotent."""

    name: str

    def expose(self, host_path: Path) -> str:
        """Make a host data file readable to the code (read-only); return its path as code sees it."""
        ...

    def run(self, block: CodeBlock, on_output: OutputCallback) -> ExecResult: ...

    def close(self) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


def cap_output(text: str, limit: int = DEFAULT_OUTPUT_CAP) -> str:
    """Keep the head and tail of ``text`` within ``limit`` characters, marking what was cut."""
    if limit <= 0 or len(text) <= limit:
        return text
    head = limit // 2
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[... {omitted} characters omitted ...]\n{text[-tail:]}"


def format_result(result: ExecResult, limit: int = DEFAULT_OUTPUT_CAP) -> str:
    """The exact message the assistant receives for an execution (AutoGen v0.2 format)."""
    status = "execution succeeded" if result.exit_code == 0 else "execution failed"
    return f"exitcode: {result.exit_code} ({status})\nCode output:\n{cap_output(result.output, limit)}"
