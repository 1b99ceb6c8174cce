"""One pass over /proc: every process's stat fields, for the sweeps, the reaper and the memory watchdog."""

from __future__ import annotations

import os
from collections.abc import Iterator

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
