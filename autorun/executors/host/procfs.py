"""One pass over /proc: every process's stat fields, for the sweeps, the reaper and the memory watchdog."""

from __future__ import annotations

import os
from collections.abc import Iterator


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
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        yield int(entry), fields
