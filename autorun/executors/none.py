"""The `none` executor: blocks are shown and recorded, never run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import autorun
from autorun.codeblocks import CodeBlock
from autorun.executors.base import ExecResult, OutputCallback

if TYPE_CHECKING:
    from autorun.datafile import DataFileInfo

DISABLED_MESSAGE = "code execution is disabled; the block was not run"


class NoExecutor:
    """Never executes anything; the session uses ``executes`` to tell the model so."""

    name = "none"
    executes = False
    running_code_file: str | None = None
    stateful = False
    code_work_dir = ""  # no code runs: its paths are the host's
    runtime_root = str(Path(autorun.__file__).resolve().parents[1])

    def limits_summary(self) -> str:
        return ""

    def placed_files(self) -> list[str]:
        return []

    def interrupt(self) -> None:
        pass

    def warm_up(self) -> None:
        pass

    def expose(self, host_path: Path) -> str:
        """The host path: no code runs to see another."""
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
