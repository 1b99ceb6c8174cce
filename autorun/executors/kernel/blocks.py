"""Python blocks in the session kernel, the same in every executor: names, results, the notice, the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath

from autorun.codeblocks import CodeBlock
from autorun.executors.base import ExecResult, OutputCallback
from autorun.executors.disk import DiskQuota, stopped_by_disk
from autorun.executors.kernel.driver import KernelDriver, SaveImage
from autorun.executors.kernel.host import KernelHost
from autorun.executors.kernel.outcome import KernelOutcome, KernelUnavailable
from autorun.executors.kernel.starvation import KernelTaskBudget, starved_result
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


@dataclass(frozen=True)
class ExecutorSide:
    """What differs between executors around a kernel block."""

    sweep: Callable[[], int | None]  # kill what the block left running; the tasks the kernel still has
    count_tasks: Callable[[], int | None]  # the tasks of a fresh kernel
    budget: KernelTaskBudget | None  # None: no task limit to judge a block by
    how_to_get_it: str  # a kernel, for the fallback notice


class KernelBlocks:
    """Python blocks in the session kernel, as every executor runs them.

    One block: executed through the driver under the disk watch (a crossed bound kills the
    kernel: its state is lost, and the result says so and why); a kernel that cannot start
    at all gives one fallback notice and None (the block then runs as a process, and so do
    the ones after it: ``usable`` is False); after the block, what it started is swept and
    the tasks left in the kernel are judged against the budget (see starvation.py), the
    kernel restarted when it is starved.
    """

    def __init__(
        self, driver: KernelDriver, disk: DiskQuota, side: ExecutorSide, notice: Callable[[str], None]
    ) -> None:
        self.driver = driver
        self._disk = disk
        self._side = side
        self._notice = notice
        self.usable = True  # False once no kernel could start: python blocks then run as processes

    @property
    def host(self) -> KernelHost:
        return self.driver.host

    def run(self, block: CodeBlock, on_output: OutputCallback, timeout: float) -> ExecResult | None:
        """Run a python block in the kernel; None when no kernel can start (the block runs as a process)."""
        watch = self._disk.watch(lambda _reason: self.driver.kill_process())
        outcome: KernelOutcome | None = None
        try:
            outcome = self.driver.execute(block.code, on_output, timeout=timeout, figure_prefix=figure_prefix(block))
        except KernelUnavailable as exc:
            unavailable = str(exc)
        finally:
            disk_stop = watch.stop()
        if outcome is None:
            self.usable = False
            self.driver.close()
            self._notice(fallback_notice(unavailable, self._side.how_to_get_it))
            return None
        tasks = self._side.sweep()  # what the block started must not outlive it
        result = exec_result(outcome)
        if self._side.budget is not None:
            result = self._unless_starved(result, None if outcome.state_lost else tasks, on_output)
        return stopped_by_disk(result, disk_stop, on_output)

    def _unless_starved(self, result: ExecResult, tasks: int | None, on_output: OutputCallback) -> ExecResult:
        """Restart a kernel the block left at the task limit; ``tasks`` None: a new kernel already."""
        budget = self._side.budget
        assert budget is not None
        if tasks is None:
            budget.kernel_restarted()
            return result
        line = budget.after_block(tasks)
        if line is None:
            return result
        self.driver.restart()
        self.driver.wait_for_start()
        return starved_result(result, line + budget.fresh_kernel(self._side.count_tasks()), on_output)

    def pid(self) -> str:
        """The kernel process's pid as its executor names it, or "" when none runs."""
        process = self.driver.process
        return str(process.pid) if process is not None else ""

    def close(self) -> None:
        """Kill the kernel (Docker: through the agent, so while the container is up) and remove its files."""
        self.driver.close()
