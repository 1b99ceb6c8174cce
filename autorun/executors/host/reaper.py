"""Kill what a block leaves behind after escaping its process group (double fork + setsid).

Killing the block's process group misses a daemon that moved to a session of its
own. autorun therefore marks itself a *child subreaper* (Linux prctl): an orphaned
descendant is re-parented to autorun instead of init, so after each block every
child of autorun that did not exist before the block is one of its leftovers, and
is killed and reaped. Processes the code asks another service to start (systemd,
cron, a Docker engine) are outside autorun's reach.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time

from autorun.executors.host.procfs import process_stats

PR_SET_CHILD_SUBREAPER = 36
_state = {"subreaper": False}


def become_subreaper() -> bool:
    """Make orphans of this process's descendants re-parent to it (Linux only); whether it worked."""
    if _state["subreaper"]:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        _state["subreaper"] = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
    return _state["subreaper"]


def child_pids(parent: int | None = None) -> set[int]:
    """The pids whose parent is ``parent`` (default: this process), zombies included."""
    wanted = str(os.getpid() if parent is None else parent).encode()
    return {pid for pid, fields in process_stats() if len(fields) > 1 and fields[1] == wanted}


def sweep_leftovers(known: set[int], *, spare: set[int] | frozenset[int] = frozenset(), limit_s: float = 5.0) -> int:
    """SIGKILL and reap every child not in ``known`` or ``spare``, until none is left; how many were killed."""
    killed: set[int] = set()
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        leftovers = child_pids() - known - spare
        if not leftovers:
            break
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        for pid in leftovers:
            _reap(pid, deadline)
    return len(killed)


def _reap(pid: int, deadline: float) -> None:
    while True:
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done or time.monotonic() >= deadline:
            return
        time.sleep(0.005)
