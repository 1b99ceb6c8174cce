"""What executors share when a python block runs in the kernel: names, results, the notice."""

from __future__ import annotations

from pathlib import Path, PurePath

from autorun.codeblocks import CodeBlock
from autorun.executors.base import ExecResult
from autorun.executors.kernel.driver import KernelOutcome, SaveImage
from autorun.nofollow import write_inside


def figure_prefix(block: CodeBlock) -> str:
    """figure-3 for block 3: its figures become figure-3-1.png, figure-3-2.png, ..."""
    return f"figure-{block.index}" if block.index else "figure"


def image_saver(work_dir: Path) -> SaveImage:
    """Where the kernel driver writes a displayed image: the work dir, never through a planted symlink."""

    def save(name: str, data: bytes) -> None:
        write_inside(work_dir, PurePath(name), data)

    return save


def exec_result(outcome: KernelOutcome) -> ExecResult:
    return ExecResult(
        exit_code=outcome.exit_code,
        output=outcome.output,
        duration_s=outcome.duration_s,
        timed_out=outcome.timed_out,
        html=outcome.html,
    )


def fallback_notice(reason: str, how_to_get_it: str) -> str:
    """The one line said when python blocks cannot share a kernel and run as processes instead."""
    return (
        f"no Python kernel ({reason}): each python block runs as its own process, so variables do not "
        f"carry over between blocks; {how_to_get_it}"
    )
