"""Bound what code may write to disk: `executor.disk` and `executor.min_free_disk`, for every executor.

* ``executor.disk`` (default 2 GiB): how much the work dir may grow during one session
  (allocated blocks, so sparse files count for what they really use; autorun's own
  ``.autorun`` folder is not counted);
* ``executor.min_free_disk`` (default 1 GiB): free space that must stay on the work
  dir's filesystem, so autorun can always finish its transcript.

A block is checked before it starts and polled while it runs (free space every
POLL_S, the work dir's size as often as costs at most WALK_SHARE of one core); a block
that crosses either bound is killed and its result says so in one line. Between two
polls a block can write what the disk takes in that time: the floor absorbs it.
The docker executor polls the bind-mounted work dir from the host the same way.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autorun.block_results import BLOCK_KILLED
from autorun.executors.base import ExecResult, OutputCallback
from autorun.threads import start_background
from autorun.units import size_text

POLL_S = 0.05
WALK_SHARE = 0.05  # the size walk may take this share of the time: a big work dir is walked less often
AUTORUN_DIR = ".autorun"


def allocated_bytes(root: Path, skip: str = AUTORUN_DIR) -> int:
    """Bytes allocated to the files under ``root`` (st_blocks), without following links."""
    total = 0
    stack = [str(root)]
    while stack:
        directory = stack.pop()
        try:
            entries = os.scandir(directory)
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if not (directory == str(root) and entry.name == skip):
                            stack.append(entry.path)
                        continue
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
                except OSError:
                    continue
    return total


def free_bytes(path: Path) -> int:
    """Space an unprivileged writer can still use on ``path``'s filesystem."""
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


@dataclass(frozen=True)
class DiskLimits:
    max_growth: int | None = 2 * 1024**3
    min_free: int | None = 1024**3

    def summary(self) -> str:
        """The bounds for the session header: "work dir growth 2g, free-space floor 1g"."""
        growth = size_text(self.max_growth) if self.max_growth else "unlimited"
        floor = size_text(self.min_free) if self.min_free else "none"
        return f"work dir growth {growth}, free-space floor {floor}"


class DiskQuota:
    """The disk bounds of one session's work dir; ``baseline()`` at the session start, ``check()`` at any time."""

    def __init__(self, work_dir: Path, limits: DiskLimits) -> None:
        self.work_dir = work_dir
        self.limits = limits
        self._baseline: int | None = None

    @property
    def enabled(self) -> bool:
        return self.limits.max_growth is not None or self.limits.min_free is not None

    def baseline(self) -> None:
        if self._baseline is None and self.limits.max_growth is not None:
            self._baseline = allocated_bytes(self.work_dir)

    def growth(self) -> int:
        self.baseline()
        return allocated_bytes(self.work_dir) - (self._baseline or 0)

    def check_free(self) -> str | None:
        floor = self.limits.min_free
        if floor is None:
            return None
        try:
            free = free_bytes(self.work_dir)
        except OSError:
            return None
        if free < floor:
            return (
                f"only {_size(free)} left on the work dir's disk, below executor.min_free_disk "
                f"({_size(floor)}); delete files in the work dir or raise the limit"
            )
        return None

    def check_growth(self) -> str | None:
        limit = self.limits.max_growth
        if limit is None:
            return None
        grown = self.growth()
        if grown > limit:
            return (
                f"the work dir grew by {_size(grown)} in this session, over executor.disk "
                f"({_size(limit)}); delete files it no longer needs or raise the limit"
            )
        return None

    def check(self) -> str | None:
        """A one-line reason when a bound is crossed, else None."""
        return self.check_free() or self.check_growth()

    def refuse_block(self) -> ExecResult | None:
        """Before a block (the first one sets the baseline): a 'not run' result when a bound is crossed."""
        self.baseline()
        crossed = self.check()
        return ExecResult(exit_code=BLOCK_KILLED, output=f"not run: {crossed}\n", duration_s=0.0) if crossed else None

    def watch(self, on_crossed: Callable[[str], object], *, threaded: bool = True) -> DiskWatch:
        return DiskWatch(self, on_crossed, threaded=threaded)


class DiskWatch:
    """Polls a DiskQuota while a block runs and calls ``on_crossed(reason)`` once.

    Threaded (docker: the block's output arrives elsewhere), or driven by ``tick()`` from
    the caller's own loop (local: no thread per block).
    """

    def __init__(self, quota: DiskQuota, on_crossed: Callable[[str], object], *, threaded: bool = True) -> None:
        self._quota = quota
        self._on_crossed = on_crossed
        self._done = threading.Event()
        self.reason: str | None = None
        self._next_free = self._next_size = time.monotonic() + POLL_S
        self._thread: threading.Thread | None = None
        if quota.enabled and threaded:
            self._thread = start_background(self._run, "autorun-disk")

    def _run(self) -> None:
        while not self._done.wait(POLL_S):
            if self.tick():
                return

    def tick(self) -> bool:
        """Check what is due (free space every POLL_S, the size walk as its cost allows); True once crossed."""
        if self.reason is not None or not self._quota.enabled:
            return self.reason is not None
        now = time.monotonic()
        if now < self._next_free:
            return False
        self._next_free = now + POLL_S
        reason = self._quota.check_free()
        if reason is None and now >= self._next_size:
            reason = self._quota.check_growth()
            walked = time.monotonic() - now
            self._next_size = time.monotonic() + max(POLL_S, walked / WALK_SHARE)
        if reason is None:
            return False
        self.reason = reason
        self._on_crossed(reason)
        return True

    def stop(self) -> str | None:
        """Stop polling; the line for the block's result when it crossed a bound, else None.

        A block can cross a bound between two polls and end before the next one; the
        final check catches that, so the model hears of it.
        """
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.reason is not None:
            return f"killed: {self.reason}"
        late = self._quota.check() if self._quota.enabled else None
        return f"over the disk limit when the block ended: {late}" if late else None


def _size(value: int) -> str:
    from autorun.units import human_size

    return human_size(value)


def stopped_by_disk(result: ExecResult, disk_stop: str | None, on_output: OutputCallback) -> ExecResult:
    """A kernel block's result, or the same ended by the disk watch (which killed the kernel): its line added."""
    if not disk_stop:
        return result
    on_output(f"{disk_stop}\n")
    return ExecResult(BLOCK_KILLED, f"{result.output}{disk_stop}\n", result.duration_s, result.timed_out)
