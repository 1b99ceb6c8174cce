"""A test-only executor kind: it runs nothing and answers each block with its code.

It lives only here, and reaches the session, the exports and doctor through the one line
that tests/test_echo_executor.py adds to build_executor's EXECUTOR_KINDS: the proof that a
new executor touches only its own package and that line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import autorun
from autorun.codeblocks import CodeBlock
from autorun.datafile import DataFileInfo
from autorun.executors.base import ExecResult, OutputCallback

ECHO_WORK_DIR = "/echo/work"  # where its (imagined) code sees the work dir


class EchoExecutor:
    name = "echo"
    executes = True
    running_code_file = None
    stateful = False
    code_work_dir = ECHO_WORK_DIR
    runtime_root = str(Path(autorun.__file__).resolve().parents[1])

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.closed = False

    def limits_summary(self) -> str:
        return "nothing bounded: the echo runs nothing"

    def placed_files(self) -> list[str]:
        return []

    def warm_up(self) -> None:
        pass

    def expose(self, host_path: Path) -> str:
        return f"{ECHO_WORK_DIR}/data/{host_path.name}"

    def inspect_files(self, paths: Sequence[Path], sheet: str | None) -> list[DataFileInfo] | None:
        return None

    def run(self, block: CodeBlock, on_output: OutputCallback) -> ExecResult:
        on_output(block.code)
        return ExecResult(exit_code=0, output=block.code, duration_s=0.0)

    def interrupt(self) -> None:
        pass

    def peak_memory(self) -> int | None:
        return None

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> EchoExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_echo(config: object, context: object) -> EchoExecutor:
    from autorun.session.components import ExecutorContext

    assert isinstance(context, ExecutorContext)
    return EchoExecutor(context.work_dir)
