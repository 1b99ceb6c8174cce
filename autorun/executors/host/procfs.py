"""One pass over /proc: every process's stat fields, for the sweeps, the reaper and the memory watchdog."""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterator

CLOCK_SLACK_S = 0.1  # inode times come from a coarse clock (a tick behind); a clock set back more is noticed
START_TIME = 19  # of the stat fields: when the process started, in clock ticks since boot
THREADS = 17
_STAT_BYTES = 4096  # a stat line is well under 1 KiB (the command name is at most 15 bytes)


def process_stats() -> Iterator[tuple[int, list[bytes]]]:
    """(pid, the fields of /proc/PID/stat after the command name) for every process that can be read.

    Field 0 is the state (Z and X: dead), 1 the parent pid, 2 the process group, 3 the
    session, 19 the start time, 21 the resident pages (see proc(5), counted from 0 after comm).
    """
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for entry in entries:
        if entry.isdigit():
            fields = stat_fields(int(entry))
            if fields is not None:
                yield int(entry), fields


def stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name, or None when it cannot be read.

    os.open, not open(): no buffered file object per process, a third of the cost of a pass.
    """
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, _STAT_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    _name, paren, rest = data.rpartition(b")")
    return rest.split() if paren else None


def start_time(pid: int) -> bytes | None:
    """When process ``pid`` started (clock ticks after boot, as /proc writes it), or None when there is none."""
    fields = stat_fields(pid)
    return fields[START_TIME] if fields is not None and len(fields) > START_TIME else None


class NewProcesses:
    """Passes over /proc that read the stat of only the processes started since the previous pass.

    The kernel makes a /proc/PID inode when the pid is first looked up, never before the process
    exists, so a process started since the previous pass began has an inode changed after that
    (one first looked up later, or whose inode was evicted, is read too: more than needed, never
    less). Reading a directory's ctime costs a fifth of reading its stat. The first pass, and one
    after the wall clock was set back, read every process.
    """

    def __init__(self) -> None:
        self._since: float | None = None
        self._offset = 0.0  # the wall clock minus the monotonic clock at the previous pass

    def scan(self, keep: Collection[int]) -> dict[int, list[bytes]]:
        """pid -> stat fields (as process_stats) of the processes new since the previous scan, and of ``keep``."""
        now = time.time()
        offset = now - time.monotonic()
        since = self._since if offset > self._offset - CLOCK_SLACK_S / 2 else None
        self._since, self._offset = now - CLOCK_SLACK_S, offset
        table: dict[int, list[bytes]] = {}
        try:
            proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return table
        try:
            for entry in os.listdir(proc):
                if not entry.isdigit():
                    continue
                pid = int(entry)
                if since is not None and pid not in keep:
                    try:
                        if os.stat(entry, dir_fd=proc, follow_symlinks=False).st_ctime < since:
                            continue
                    except OSError:
                        continue
                fields = stat_fields(pid)
                if fields is not None:
                    table[pid] = fields
        finally:
            os.close(proc)
        return table
