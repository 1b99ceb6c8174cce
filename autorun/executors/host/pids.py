"""`executor.max_processes` for root too: a pids cgroup (``pids.max``) around what a launcher starts.

RLIMIT_NPROC (limits.py) does not bind root, so a fork bomb run by root — in most CI
containers — would only stop at the machine's limit. Where autorun can create a cgroup
(root, or a delegated slice), every process it starts joins one with ``pids.max`` set
(threads count too), beside the memory cgroup; elsewhere RLIMIT_NPROC is the limit.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from pathlib import Path

from autorun.executors.host.cgroups import cgroup_joiner, enable_for_children, new_cgroups, remove_cgroup
from autorun.executors.owner import current_owner

_counter = itertools.count(1)


class PidsCgroup:
    def __init__(self, directory: Path, version: int, limit: int, *, owned: bool = True) -> None:
        self.directory = directory
        self.version = version
        self.limit = limit
        self.owned = owned  # False: pids.max set in another's cgroup (v2 memory), which joins and removes it

    @classmethod
    def within(cls, directory: Path, limit: int) -> PidsCgroup | None:
        """pids.max in an existing v2 cgroup (a process is in one v2 cgroup only: the memory one)."""
        with contextlib.suppress(OSError):
            if enable_for_children(directory.parent, "pids"):
                (directory / "pids.max").write_text(str(limit))
                return cls(directory, 2, limit, owned=False)
        return None

    @classmethod
    def create(cls, limit: int) -> PidsCgroup | None:
        """A pids cgroup with ``pids.max = limit``, or None where none can be made."""
        name = f"autorun-pids-{current_owner().tag}-{next(_counter)}"  # the owner's tag: see leftovers.py
        for directory, version in new_cgroups("pids", name, lambda _version: ({"pids.max": str(limit)}, {})):
            return cls(directory, version, limit)
        return None

    def preexec(self) -> Callable[[], None] | None:
        """Join in the child before exec (v1: one thread through `tasks`, which takes no global lock)."""
        return cgroup_joiner(self.directory, self.version) if self.owned else None

    def close(self) -> None:
        """Kill what is left in the cgroup and remove it."""
        if self.owned:
            remove_cgroup(self.directory)
