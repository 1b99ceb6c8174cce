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

from autorun.executors.host.memory import (
    cgroup_ancestors,
    cgroup_joiner,
    cgroup_mounts,
    own_cgroup_paths,
    remove_cgroup,
)
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
            control = directory.parent / "cgroup.subtree_control"
            if "pids" not in control.read_text().split():
                control.write_text("+pids")
            (directory / "pids.max").write_text(str(limit))
            return cls(directory, 2, limit, owned=False)
        return None

    @classmethod
    def create(cls, limit: int) -> PidsCgroup | None:
        """A pids cgroup with ``pids.max = limit``, or None where none can be made."""
        name = f"autorun-pids-{current_owner().tag}-{next(_counter)}"  # the owner's tag: see leftovers.py
        own = own_cgroup_paths()
        for mount, fstype, options in cgroup_mounts():
            if fstype == "cgroup2" and "" in own:
                version, path = 2, own[""]
            elif fstype == "cgroup" and "pids" in options.split(","):
                version, path = 1, next((p for c, p in own.items() if "pids" in c.split(",")), "")
            else:
                continue
            for parent in cgroup_ancestors(Path(mount), path):
                made = cls._make(parent, name, version, limit)
                if made is not None:
                    return made
        return None

    @classmethod
    def _make(cls, parent: Path, name: str, version: int, limit: int) -> PidsCgroup | None:
        try:
            if version == 2:
                if "pids" not in (parent / "cgroup.controllers").read_text().split():
                    return None
                if "pids" not in (parent / "cgroup.subtree_control").read_text().split():
                    (parent / "cgroup.subtree_control").write_text("+pids")
            (parent / name).mkdir()
        except OSError:
            return None
        made = cls(parent / name, version, limit)
        try:
            (made.directory / "pids.max").write_text(str(limit))
        except OSError:
            made.close()
            return None
        return made

    def preexec(self) -> Callable[[], None] | None:
        """Join in the child before exec (v1: one thread through `tasks`, which takes no global lock)."""
        return cgroup_joiner(self.directory, self.version) if self.owned else None

    def close(self) -> None:
        """Kill what is left in the cgroup and remove it."""
        if self.owned:
            remove_cgroup(self.directory)
