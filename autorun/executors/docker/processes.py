"""The session container's processes as this host sees them: whether a kernel block left any behind.

After a kernel block the agent's "ksweep" kills what the block started and counts the tasks
left: a round trip through the engine of about 0.4 ms, a fifteenth of a trivial block. With a
local engine the container's pids cgroup is visible here. When the only processes in it are
the ones autorun knows (Docker's init, the agent and the kernel: each by its host pid and its
start time, so a pid used again is not taken for them), the block left nothing to sweep, and the
cgroup's pids.current is the count the agent would have answered. Anything else in the cgroup,
or a cgroup that cannot be read, and the agent sweeps as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from pathlib import Path

from autorun.executors.docker.container import container_cgroup
from autorun.executors.host.cgroups import cgroup_pids, holding_only
from autorun.executors.host.procfs import start_time


def container_processes(container_id: str, agent_pid: int) -> ContainerProcesses | None:
    """The container's processes as seen from here; None when its pids cgroup is not on this host."""
    found = container_cgroup(container_id, "pids")
    return ContainerProcesses(found[0], (1, agent_pid)) if found is not None else None


class ContainerProcesses:
    """The processes in one container's pids cgroup, checked against the ones autorun knows.

    ``always``: the pids in the container of the processes that live as long as it (init, agent).
    """

    def __init__(self, cgroup: Path, always: Collection[int]) -> None:
        self._cgroup = cgroup
        self._always = frozenset(always)
        self._known: dict[int, bytes] = {}  # host pid -> start time

    def learn(self, kernel_pid: int | None) -> None:
        """Right after a sweep: know init, the agent and the kernel (its pid in the container)."""
        inside = (self._always | {kernel_pid}) if kernel_pid is not None else frozenset()
        self._known = {}
        for pid in cgroup_pids(self._cgroup) or []:
            start = start_time(pid)
            if start is not None and _inside_pid(pid) in inside:
                self._known[pid] = start

    def tasks_if_only_known(self) -> int | None:
        """The container's task count when every process in it is a known one; None when a sweep is needed."""
        if holding_only(self._cgroup, self._known) is None:
            return None
        try:
            return int((self._cgroup / "pids.current").read_text())
        except (OSError, ValueError):
            return None


def _inside_pid(pid: int) -> int | None:
    """The pid of host process ``pid`` in its own (innermost) pid namespace."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    return None
