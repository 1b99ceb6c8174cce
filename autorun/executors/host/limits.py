"""Resource limits for code run on the host, set with setrlimit in the child before it starts.

* memory is *not* set here: it bounds resident memory through a cgroup or a
  watchdog (memory.py), because an address-space limit breaks threaded libraries;
  ``address_space`` (RLIMIT_AS) remains for whoever wants it explicitly;
* max_processes -> RLIMIT_NPROC, counted by the kernel over *all* the user's
  processes, so the limit is the user's current count plus ``max_processes``;
  root is exempt from it (use the docker executor or the bwrap sandbox);
* max_file_size -> RLIMIT_FSIZE: a larger write fails (Python: OSError EFBIG;
  a shell is killed by SIGXFSZ);
* max_open_files -> RLIMIT_NOFILE;
* no core dumps (they would land in the work directory).

Soft and hard limits are both set, so the code cannot raise them again (root can).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from dataclasses import dataclass

Limit = tuple[int, tuple[int, int]]


@dataclass(frozen=True)
class ProcessLimits:
    memory_bytes: int | None = None  # resident memory, enforced by memory.py
    max_processes: int | None = None
    max_file_size: int | None = None
    max_open_files: int | None = None
    address_space: int | None = None

    def rlimits(self) -> list[Limit]:
        """(resource, (soft, hard)) pairs to set, each capped at the current hard limit."""
        wanted = [
            (resource.RLIMIT_AS, self.address_space),
            (resource.RLIMIT_FSIZE, self.max_file_size),
            (resource.RLIMIT_NOFILE, self.max_open_files),
            (resource.RLIMIT_CORE, 0),
        ]
        if self.max_processes is not None:
            wanted.append((resource.RLIMIT_NPROC, user_process_count() + self.max_processes))
        limits: list[Limit] = []
        for which, value in wanted:
            if value is None:
                continue
            _soft, hard = resource.getrlimit(which)
            capped = value if hard == resource.RLIM_INFINITY else min(value, hard)
            limits.append((which, (capped, capped)))
        return limits

    def preexec(self) -> Callable[[], None] | None:
        """A function for Popen(preexec_fn=...) that applies the limits in the child, or None."""
        limits = self.rlimits()
        if not limits:
            return None
        setrlimit = resource.setrlimit

        def apply() -> None:
            for which, pair in limits:
                setrlimit(which, pair)

        return apply


def user_process_count(uid: int | None = None) -> int:
    """Processes (and threads, which RLIMIT_NPROC also counts) owned by ``uid`` right now."""
    uid = os.getuid() if uid is None else uid
    count = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                count += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            continue
    return count
