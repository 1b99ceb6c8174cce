"""The kernel of the local and sandbox executors: started by the executor's HostLauncher.

So the kernel gets what every block gets: the work dir as cwd, the scrubbed environment,
a process group of its own, the resource limits, the memory limit (cgroup or watchdog)
and, for the sandbox, the bwrap wrapper with the socket directory bound read-write and
the start directory read-only. Its output goes to a pipe autorun drains, never to a file.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from autorun.block_results import oom_line
from autorun.executors.host.cgroups import holding_only
from autorun.executors.host.launcher import HostLauncher, Launched
from autorun.executors.host.procfs import START_TIME, THREADS, NewProcesses, process_stats
from autorun.executors.hostdir import HostDir
from autorun.executors.kernel.connection import KERNEL_MAIN
from autorun.executors.kernel.host import KernelDirs, PipeTail, PopenKernelProcess


class LaunchedKernelProcess(PopenKernelProcess):
    """A kernel the launcher started; its memory watch tells an out-of-memory death from others."""

    def __init__(self, launched: Launched, memory_bytes: int | None, output: PipeTail) -> None:
        super().__init__(launched.proc, output)
        self.watch = launched.watch
        self.memory_bytes = memory_bytes

    def end_reason(self) -> str | None:
        return oom_line(self.memory_bytes) if self.watch.exceeded() else None

    def kill(self) -> None:
        super().kill()
        self.watch.stop()


class LocalKernelHost:
    """Starts the kernel on this machine (optionally in bwrap), its directories in the executor's host dir."""

    def __init__(self, python: str, launcher: HostLauncher, memory_bytes: int | None, host_dir: HostDir) -> None:
        self.python = python
        self.launcher = launcher
        self.memory_bytes = memory_bytes
        self.host_dir = host_dir
        self.kernel_pids: set[int] = set()  # each kernel process it started (the bwrap around one, sandboxed)

    def dirs(self) -> KernelDirs:
        return self.host_dir.kernel_dirs()

    def kernel_path(self, host_path: Path) -> str:
        return str(host_path)

    def launch(self, args: list[str], env: dict[str, str]) -> PopenKernelProcess:
        dirs = self.dirs()
        read_end, write_end = os.pipe()
        try:
            launched = self.launcher.launch(
                [self.python, *args], stdout=write_end, read_write=[dirs.sockets], read_only=[dirs.start], extra_env=env
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        self.kernel_pids.add(launched.proc.pid)
        return LaunchedKernelProcess(launched, self.memory_bytes, PipeTail(read_end))


def _parents() -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, start time, threads) of every process, from one pass over /proc."""
    return {pid: (int(f[1]), int(f[START_TIME]), int(f[THREADS])) for pid, f in process_stats() if len(f) > START_TIME}


def _children(parents: dict[int, int]) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    return children


def _tree(root: int, children: dict[int, list[int]]) -> list[int]:
    tree, level = [], [root]
    while level:
        tree += level
        level = [child for pid in level for child in children.get(pid, [])]
    return tree


def kernel_tasks(roots: set[int]) -> int:
    """Threads of the kernel processes ``roots`` and everything under them (the bwrap around a kernel too)."""
    table = _parents()
    children = _children({pid: parent for pid, (parent, _started, _threads) in table.items()})
    return sum(table[pid][2] for root in roots & set(table) for pid in _tree(root, children))


def _is_kernel(pid: int) -> bool:
    """`python -c KERNEL_MAIN ...`: the kernel, or a child it forked (bwrap's argv only names it later)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().split(b"\0")[1:3] == [b"-c", KERNEL_MAIN.encode()]
    except OSError:
        return False


@dataclass(frozen=True)
class Swept:
    """What a sweep found: the kernel processes' threads, those processes (pid -> start time), and
    every process in the kernel trees or killed (the next pass reads them again, however old)."""

    threads: int
    spared: dict[int, bytes]
    seen: frozenset[int]


def sweep_after_kernel_block(roots: set[int], known: set[int], stats: dict[int, list[bytes]] | None = None) -> Swept:
    """Kill what a kernel block left running; how many threads the kernel processes still have.

    ``roots`` are the kernel processes autorun started (the kernel itself, or the bwrap
    around it): every descendant of theirs except the kernel and its ancestors is killed,
    and so is every new child of autorun not in ``known`` (an orphan re-parented to it,
    see reaper.py), so no process a block starts outlives the block. ``stats``: the
    processes to look at (default: every process; see KernelSweep).
    """
    found = dict(process_stats()) if stats is None else stats
    stat = {pid: f for pid, f in found.items() if len(f) > START_TIME}
    table = {pid: (int(f[1]), int(f[START_TIME]), int(f[THREADS])) for pid, f in stat.items()}
    parents = {pid: parent for pid, (parent, _started, _threads) in table.items()}
    children = _children(parents)
    spare: set[int] = set()
    doomed: list[int] = []
    seen: set[int] = set()
    for root in roots & set(parents):
        tree = _tree(root, children)
        seen.update(tree)
        kernels = [pid for pid in tree if _is_kernel(pid)]
        if not kernels:  # a kernel still starting (a restart): nothing of a block's is in its tree yet
            continue
        # the first started: a block's os.fork() copies the kernel's command line, not its start time
        kernel = min(kernels, key=lambda pid: table[pid][1])
        while kernel in parents and kernel not in spare:
            spare.add(kernel)
            if kernel == root:
                break
            kernel = parents[kernel]
        doomed += [pid for pid in tree if pid not in spare]
    me = os.getpid()
    doomed += [pid for pid in children.get(me, []) if pid not in known and pid not in roots]
    for pid in doomed:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for pid in doomed:
        if parents.get(pid) == me:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    threads = sum(table[pid][2] for pid in spare)
    return Swept(threads, {pid: stat[pid][START_TIME] for pid in spare}, frozenset(seen.union(doomed)))


class KernelSweep:
    """sweep_after_kernel_block after each block, reading as little of /proc as tells what the block left.

    A pass over all of /proc reads every process on the machine (~50 µs each): a pass here reads
    only the processes started since the previous one (NewProcesses) and those of the kernel
    trees. With a cgroup (in the sandbox), a block that left nothing costs one read of it and no
    pass: a cgroup only where no block can leave it (no cgroupfs; one a block mounts in a namespace
    of its own sees only this cgroup, and a cgroup made below this one sends the sweep to /proc).
    """

    def __init__(self, cgroup: Path | None) -> None:
        self._cgroup = cgroup
        self._scan = NewProcesses()
        self._swept: Swept | None = None

    def after_block(self, roots: set[int], known: set[int]) -> int:
        """Kill what the block left (see sweep_after_kernel_block); the kernel processes' threads."""
        tasks = self._nothing_left()
        if tasks is None:
            keep = roots.union(self._swept.seen if self._swept is not None else ())
            self._swept = sweep_after_kernel_block(roots, known, self._scan.scan(keep))
            tasks = self._swept.threads
        return tasks

    def _nothing_left(self) -> int | None:
        """The kernel processes' threads when the cgroup holds only them (the same ones), else None."""
        if self._cgroup is None or self._swept is None:
            return None
        found = holding_only(self._cgroup, self._swept.spared)
        return sum(int(fields[THREADS]) for fields in found.values()) if found is not None else None
