"""The `none` executor: blocks are shown and recorded, never run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from autorun.codeblocks import CodeBlock
from autorun.executors.base import ExecResult, OutputCallback

if TYPE_CHECKING:
    from autorun.datafile import DataFileInfo

DISABLED_MESSAGE = "code execution is disabled; the block was not run"


class NoExecutor:
    """Never executes anything; the session uses ``executes`` to tell the model so."""

    name = "none"
    executes = False
    stateful = False

    def warm_up(self) -> None:
        pass

    def expose(self, host_path: Path) -> str:
        return str(Path(host_path).expanduser().resolve())

    def inspect_files(self, paths: Sequence[Path], sheet: str | None) -> list[DataFileInfo] | None:
        return None

    def run(self, block: CodeBlock, on_output: OutputCallback) -> ExecResult:
        return ExecResult(exit_code=0, output=DISABLED_MESSAGE, duration_s=0.0)

    def peak_memory(self) -> int | None:
        return None

    def close(self) -> None:
        pass

    def __enter__(self) -> NoExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
