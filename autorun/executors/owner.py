"""Who owns a per-session host resource, so `autorun clean` can tell a live session's from a dead one's.

Every directory, cgroup and container autorun makes for a session carries its owner's tag
in its name or labels: the pid of the autorun process, that process's start time (clock
ticks after boot, /proc/PID/stat field 22, so a reused pid is not mistaken for the owner)
and a scope, 8 hex digits of the boot id and the pid namespace, because a pid means
something only within one of each. An owner is alive when a process with that pid and
start time exists in this scope; in another scope autorun cannot tell.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import Literal

from autorun.executors.host.procfs import start_time

Liveness = Literal["live", "dead", "unknown"]
TAG_PATTERN = r"(\d+)-(\d+)-([0-9a-f]{8})"
_TAG = re.compile(TAG_PATTERN)


def process_start(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks after boot, or None when there is none."""
    start = start_time(pid)
    return int(start) if start is not None and start.isdigit() else None


def current_scope() -> str:
    """This machine's boot and this process's pid namespace, as 8 hex digits."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
            boot_id = boot.read().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        boot_id, namespace = "", ""
    return hashlib.sha256(f"{boot_id} {namespace}".encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Owner:
    pid: int
    start: int
    scope: str

    @property
    def tag(self) -> str:
        return f"{self.pid}-{self.start}-{self.scope}"

    @classmethod
    def parse(cls, tag: str) -> Owner | None:
        found = _TAG.fullmatch(tag)
        return cls(int(found[1]), int(found[2]), found[3]) if found else None

    def liveness(self) -> Liveness:
        if self.scope != current_scope():
            return "unknown"
        return "live" if process_start(self.pid) == self.start else "dead"


_current: dict[int, Owner] = {}


def current_owner() -> Owner:
    """The owner tag of this process (computed once per pid)."""
    pid = os.getpid()
    if pid not in _current:
        _current.clear()
        _current[pid] = Owner(pid, process_start(pid) or 0, current_scope())
    return _current[pid]
