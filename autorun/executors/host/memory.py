"""Bound the resident memory of what a host launcher starts (blocks, kernels): `executor.memory`.

An address-space limit (RLIMIT_AS) breaks threaded libraries, which reserve far more
than they use (pandas 3 loads a 1,000,000-row CSV with 231 MB resident, yet fails
under a 1 GiB address space). So autorun bounds resident memory instead:

* **cgroup** — one memory cgroup per executor (cgroup v2 ``memory.max``, or v1
  ``memory.limit_in_bytes``), created under autorun's own cgroup or the nearest
  ancestor it may write (root, or a delegated user slice). Every process the launcher
  starts joins it before it executes anything (in ``preexec``), so the limit covers
  the whole tree like Docker's; the kernel's OOM killer enforces it and the cgroup's
  ``oom_kill`` counter tells autorun that it happened.
* **watchdog** — where no cgroup can be created: a thread samples the resident set
  of the started process tree (its descendants and its session) from /proc every
  WATCH_INTERVAL_S and kills the group once the sum passes the limit. Between two
  samples a fast allocation can overshoot it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from autorun.executors.host.cgroups import CgroupFiles, cgroup_joiner, new_cgroups, remove_cgroup
from autorun.executors.host.procfs import process_stats
from autorun.executors.owner import current_owner
from autorun.threads import start_background

WATCH_INTERVAL_S = 0.05
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_counter = itertools.count(1)


class MemoryWatch(Protocol):
    """One started process tree under the limit."""

    def exceeded(self) -> bool:
        """Whether the limit killed a process since the watch began."""
        ...

    def stop(self) -> bool:
        """Stop watching; return exceeded()."""
        ...


class MemoryLimiter(Protocol):
    """What a host launcher applies to every process it starts."""

    mechanism: str  # one phrase for the session header and `autorun doctor`
    limit_bytes: int | None

    def preexec(self) -> Callable[[], None] | None:
        """Run in the child before exec (joins the cgroup), or None."""
        ...

    def watch(self, pid: int) -> MemoryWatch: ...

    def peak_bytes(self) -> int | None:
        """The most memory the processes it limits have used together so far; None where unknown."""
        ...

    def close(self) -> None: ...


class _NoWatch:
    def exceeded(self) -> bool:
        return False

    def stop(self) -> bool:
        return False


class NoMemoryLimit:
    mechanism = "none"
    limit_bytes: int | None = None

    def preexec(self) -> Callable[[], None] | None:
        return None

    def watch(self, pid: int) -> MemoryWatch:
        return _NoWatch()

    def peak_bytes(self) -> int | None:
        return None

    def close(self) -> None:
        pass


# --- the memory cgroup ------------------------------------------------------------------------


def cgroup_peak(directory: Path, version: int) -> int | None:
    """A memory cgroup's high-water mark (v2's memory.peak needs Linux 5.19); None where unreadable."""
    name = "memory.peak" if version == 2 else "memory.max_usage_in_bytes"
    try:
        peak = int((directory / name).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return peak or None


def _read_counter(path: Path, name: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == name:
                return int(value)
    return 0


class _CgroupWatch:
    def __init__(self, events: Path, counter: str) -> None:
        self._events, self._counter = events, counter
        self._start = _read_counter(events, counter)

    def exceeded(self) -> bool:
        return _read_counter(self._events, self._counter) > self._start

    def stop(self) -> bool:
        return self.exceeded()


def _limit_files(version: int, limit: int) -> CgroupFiles:
    """The limit, and no swap beyond it where the kernel accounts swap."""
    if version == 2:
        return {"memory.max": str(limit)}, {"memory.swap.max": "0"}
    return {"memory.limit_in_bytes": str(limit)}, {"memory.memsw.limit_in_bytes": str(limit)}


class CgroupMemoryLimit:
    """A memory cgroup created for one executor; ``create`` returns None where that is not possible."""

    def __init__(self, directory: Path, version: int, limit_bytes: int) -> None:
        self.directory = directory
        self.version = version
        self.limit_bytes: int | None = limit_bytes
        self.mechanism = f"cgroup v{version} ({'memory.max' if version == 2 else 'memory.limit_in_bytes'})"
        self._events = directory / ("memory.events" if version == 2 else "memory.oom_control")

    @classmethod
    def create(cls, limit_bytes: int) -> CgroupMemoryLimit | None:
        name = f"autorun-{current_owner().tag}-{next(_counter)}"  # the owner's tag: see leftovers.py
        for directory, version in new_cgroups("memory", name, lambda version: _limit_files(version, limit_bytes)):
            made = cls(directory, version, limit_bytes)
            if made.works():
                return made
            made.close()
        return None

    def works(self) -> bool:
        """Whether a child can join: start `true` through preexec once."""
        import subprocess

        try:
            subprocess.run(["true"], preexec_fn=self.preexec(), check=True, timeout=10, env={"PATH": "/usr/bin:/bin"})
        except (OSError, subprocess.SubprocessError):
            return False
        return True

    def preexec(self) -> Callable[[], None] | None:
        return cgroup_joiner(self.directory, self.version)

    def watch(self, pid: int) -> MemoryWatch:
        return _CgroupWatch(self._events, "oom_kill")

    def peak_bytes(self) -> int | None:
        return cgroup_peak(self.directory, self.version)

    def close(self) -> None:
        """Kill what is left in the cgroup and remove it."""
        remove_cgroup(self.directory)


# --- the watchdog ------------------------------------------------------------------------------


def process_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, session id, resident bytes) of every live process."""
    return {
        pid: (int(f[1]), int(f[3]), int(f[21]) * _PAGE)
        for pid, f in process_stats()
        if len(f) > 21 and f[0] not in (b"Z", b"X")
    }


def tree_members(root: int, table: dict[int, tuple[int, int, int]]) -> set[int]:
    """``root``, its descendants, and every process of its session (a daemon may have left the tree)."""
    members = {root} | {pid for pid, (_ppid, sid, _rss) in table.items() if sid == root}
    children: dict[int, list[int]] = {}
    for pid, (ppid, _sid, _rss) in table.items():
        children.setdefault(ppid, []).append(pid)
    stack = list(members)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in members:
                members.add(child)
                stack.append(child)
    return {pid for pid in members if pid in table}


class _TreeWatch:
    """Samples the tree's resident memory on a thread; SIGKILLs the tree above the limit."""

    def __init__(self, root: int, limit: int, interval: float) -> None:
        self._root, self._limit, self._interval = root, limit, interval
        self._done = threading.Event()
        self._killed = False
        self.peak = 0
        self._thread = start_background(self._run, f"autorun-memory-{root}")

    def _run(self) -> None:
        # The first sample after one interval: a short block never pays for a scan of /proc.
        while not self._done.wait(self._interval):
            table = process_table()
            members = tree_members(self._root, table)
            if self._root not in members:
                return
            used = sum(table[pid][2] for pid in members)
            self.peak = max(self.peak, used)
            if used > self._limit:
                self._killed = True
                for pid in members:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                return

    def exceeded(self) -> bool:
        return self._killed

    def stop(self) -> bool:
        self._done.set()
        self._thread.join(timeout=2)
        return self._killed


class WatchdogMemoryLimit:
    """The fallback: no cgroup, a watchdog thread per started process tree."""

    def __init__(self, limit_bytes: int, interval: float = WATCH_INTERVAL_S) -> None:
        self.limit_bytes: int | None = limit_bytes
        self.interval = interval
        self.mechanism = "watchdog (resident memory of the process tree, sampled every 50 ms)"
        self._watches: list[_TreeWatch] = []

    def preexec(self) -> Callable[[], None] | None:
        return None

    def watch(self, pid: int) -> MemoryWatch:
        watch = _TreeWatch(pid, int(self.limit_bytes or 0), self.interval)
        self._watches.append(watch)
        return watch

    def peak_bytes(self) -> int | None:
        """The largest tree sampled (each process tree is watched on its own, the kernel's among them)."""
        return max((watch.peak for watch in self._watches), default=0) or None

    def close(self) -> None:
        pass


def memory_limiter(limit_bytes: int | None) -> MemoryLimiter:
    """The best mechanism available here: a cgroup, else the watchdog (None: no limit)."""
    if limit_bytes is None:
        return NoMemoryLimit()
    return CgroupMemoryLimit.create(limit_bytes) or WatchdogMemoryLimit(limit_bytes)


MEMORY_SIGNS = ("killed: out of memory", "MemoryError", "Unable to allocate", "Out of Memory Error")
DUCKDB_HINT = (
    "The block ran out of memory: read less at once (usecols=, dtype=, chunksize=) or query the file "
    "with DuckDB SQL, which streams it and spills to disk: import duckdb; "
    "duckdb.sql(\"SELECT col, sum(x) FROM 'data.csv' GROUP BY col\").df()"
)


def memory_hint(output: str, exit_code: int) -> str | None:
    """The line added to a failed block's result when it died for memory: what to do instead (DuckDB)."""
    if exit_code == 0 or not any(sign in output[-4000:] for sign in MEMORY_SIGNS):
        return None
    return DUCKDB_HINT
