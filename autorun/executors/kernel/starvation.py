"""A kernel block's leftovers must not starve the blocks after it.

Threads a block starts in the kernel outlive the block (the sweeps kill processes, not
the kernel's own threads), and they count against the process budget like processes
(executor.max_processes in a pids cgroup or RLIMIT_NPROC; Docker's pids_limit). Left at
the limit, the next block cannot start at all (bwrap cannot create its namespaces, the
Docker agent cannot fork). So after each kernel block the executor counts what is left
in the kernel against the budget; when the block used up all but a reserve, that block's
result says so and the kernel is restarted (its state is lost, and the result says that too).
"""

from __future__ import annotations

from dataclasses import dataclass

from autorun.block_results import BLOCK_KILLED
from autorun.executors.base import ExecResult, OutputCallback
from autorun.executors.kernel.outcome import STATE_LOST


def reserve(limit: int) -> int:
    """Tasks a later block needs (a sandboxed `sh` takes three before it runs anything)."""
    return max(8, limit // 8)


@dataclass
class KernelTaskBudget:
    """Judges each kernel block by the tasks (threads and processes) it left in the kernel."""

    limit: int
    setting: str  # the config key that sets the limit, for the message
    _last: int | None = None  # tasks in this kernel after the previous block (None: not known yet)

    @property
    def threshold(self) -> int:
        return self.limit - reserve(self.limit)

    def kernel_restarted(self) -> None:
        """A new kernel (it died or timed out): what the old one left says nothing about it."""
        self._last = None

    def after_block(self, tasks: int | None) -> str | None:
        """The line for the block's result when it left the kernel at the limit (restart it then), else None.

        A block that added nothing to what was there before it is not blamed.
        """
        before, self._last = self._last, tasks
        if tasks is None or tasks < self.threshold or (before is not None and tasks <= before):
            return None
        added = f"left {tasks - before} more" if before is not None else "left"
        return (
            f"killed: the block {added} threads or processes running in the kernel, {tasks} of the "
            f"{self.limit} {self.setting} allows, too few for later blocks to start"
        )

    def fresh_kernel(self, tasks: int | None) -> str:
        """After the restart: its count is the new baseline; a note when even a fresh kernel is over it."""
        self._last = tasks
        if tasks is not None and tasks >= self.threshold:
            return f" (a fresh kernel alone takes {tasks}: raise {self.setting})"
        return ""


def starved_result(result: ExecResult, line: str, on_output: OutputCallback) -> ExecResult:
    """The block's result with the starvation line and the lost state said (the caller restarts the kernel)."""
    separator = "" if not result.output or result.output.endswith("\n") else "\n"
    addition = f"{separator}{line}\n{STATE_LOST}\n"
    on_output(addition)
    return ExecResult(BLOCK_KILLED, result.output + addition, result.duration_s, result.timed_out)
