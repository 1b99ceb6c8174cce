"""The kernel of the Docker executor: it runs inside the session container (network none).

autorun reaches it through Jupyter's ipc sockets, which the kernel binds in the socket
directory of the executor's host dir (hostdir.py), bind-mounted read-write at KERNEL_DIR;
its connection file and start script are in the start directory, mounted read-only at
KERNEL_START_DIR, so nothing in the container can change what autorun writes there. The
agent starts, checks and kills the kernel (see agent.py), so it has the container's limits
and user like every block; the kernel's output stays in the container (KERNEL_LOG), read
back through the agent when it fails to start.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shlex
from collections.abc import Callable
from pathlib import Path, PurePath

from autorun.block_results import BLOCK_KILLED
from autorun.executors.disk import DiskQuota
from autorun.executors.docker.agent import KERNEL_LOG, parse_keys
from autorun.executors.docker.mounts import KERNEL_DIR, KERNEL_START_DIR
from autorun.executors.docker.processes import ContainerProcesses
from autorun.executors.hostdir import HostDir
from autorun.executors.kernel.blocks import ExecutorSide, KernelBlocks, image_saver
from autorun.executors.kernel.driver import KernelDriver
from autorun.executors.kernel.host import KernelDirs
from autorun.executors.kernel.starvation import KernelTaskBudget
from autorun.nofollow import write_inside

HOW_TO_GET_IT = (
    "to get one, add ipykernel to executor.setup (pip-installed at container start) or use an image that has ipykernel"
)

# (command, argument) -> the agent's output; raises ChannelClosed when the container is gone
AskAgent = Callable[[str, str], str]


class DockerKernelProcess:
    """The kernel process inside the container, as the agent reports it."""

    def __init__(self, ask: AskAgent, pid: int, oom_text: str) -> None:
        self._ask = ask
        self.pid = pid
        self._oom_text = oom_text
        self._status: int | None = None
        self._exited = False
        self._oom_kills = self._oom_count()
        self._out_of_memory = False

    def alive(self) -> bool:
        if self._exited:
            return False
        found = parse_keys(self._ask("kstate", "-"))
        state = found.get("state", "")
        if state.startswith("exited"):
            self._exited = True
            self._status = int(state.split()[1])
            oom_kills = int(found.get("oom", "-1"))
            self._out_of_memory = self._status == BLOCK_KILLED and oom_kills > self._oom_kills >= 0
        elif state == "none":
            self._exited = True
        return not self._exited

    def exit_status(self) -> int | None:
        return self._status

    def output_tail(self) -> str:
        with contextlib.suppress(Exception):  # the container may be gone already
            return parse_keys(self._ask("klog", "-")).get("log", "")[:300]
        return ""

    def end_reason(self) -> str | None:
        return self._oom_text if self._out_of_memory else None

    def _oom_count(self) -> int:
        return int(parse_keys(self._ask("oom", "-")).get("oom", "-1"))

    def kill(self) -> None:
        if not self._exited:
            self._exited = True
            with contextlib.suppress(Exception):  # the container may be gone already
                self._ask("kkill", "-")


class DockerKernelHost:
    """Starts the kernel in the container through the agent; its directories are in the executor's host dir."""

    def __init__(self, ask: AskAgent, python: Callable[[], str], user: str, oom_text: str, host_dir: HostDir) -> None:
        self._ask = ask
        self._python = python
        self._oom_text = oom_text
        self._user = user
        self._dirs = host_dir.kernel_dirs()
        self._scripts = itertools.count(1)
        _give_to(self._dirs.sockets, user)
        _give_to(self._dirs.start, user)

    def dirs(self) -> KernelDirs:
        return self._dirs

    def kernel_path(self, host_path: Path) -> str:
        for host, inside in ((self._dirs.sockets, KERNEL_DIR), (self._dirs.start, KERNEL_START_DIR)):
            if host_path.is_relative_to(host):
                relative = host_path.relative_to(host).as_posix()
                return inside if relative == "." else f"{inside}/{relative}"
        raise ValueError(f"{host_path} is not in a directory the kernel sees")

    def launch(self, args: list[str], env: dict[str, str]) -> DockerKernelProcess:
        settings = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
        command = " ".join(shlex.quote(part) for part in [self._python(), *args])
        name = f"kernel-{next(self._scripts)}.sh"
        script = f"exec env {settings} {command} >{KERNEL_LOG} 2>&1\n"
        write_inside(self._dirs.start, PurePath(name), script.encode(), mode=0o644)
        _give_files_to(self._dirs.start, self._user)
        found = parse_keys(self._ask("kernel", self.kernel_path(self._dirs.start / name)))
        return DockerKernelProcess(self._ask, int(found["kernel"]), self._oom_text)


def _other_user(user: str) -> tuple[int, int] | None:
    """(uid, gid) of the container's user when autorun runs as root and it is someone else, else None."""
    uid, _, gid = user.partition(":")
    if uid.isdigit() and int(uid) != os.getuid() and os.getuid() == 0:
        return int(uid), int(gid) if gid.isdigit() else -1
    return None


def _give_to(directory: Path, user: str) -> None:
    """Let the container's user (uid:gid) use the 0700 directory when it is not autorun's own user."""
    other = _other_user(user)
    if other is not None:
        with contextlib.suppress(OSError):
            os.chown(directory, *other)


def _give_files_to(directory: Path, user: str) -> None:
    """Let the container's user read the start files autorun wrote (only autorun writes there)."""
    other = _other_user(user)
    if other is None:
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for name in os.listdir(fd):
            with contextlib.suppress(OSError):
                os.chown(name, *other, dir_fd=fd, follow_symlinks=False)
    finally:
        os.close(fd)


def _count(keys: dict[str, str]) -> int | None:
    value = keys.get("tasks", "")
    return int(value) if value.isdigit() else None


def _sweep_after_block(
    ask: AskAgent, driver: KernelDriver, processes: Callable[[], ContainerProcesses | None]
) -> Callable[[], int | None]:
    """The agent's sweep, skipped when this host sees nothing in the container but what autorun knows."""

    def sweep() -> int | None:
        seen = processes()
        tasks = seen.tasks_if_only_known() if seen is not None else None
        if tasks is None:
            tasks = _count(parse_keys(ask("ksweep", "-")))
            if seen is not None:
                seen.learn(driver.process.pid if driver.process is not None else None)
        return tasks

    return sweep


def container_kernel(
    ask: AskAgent,
    python: Callable[[], str],
    user: str,
    work_dir: Path,
    notice: Callable[[str], None],
    oom_text: str,
    host_dir: HostDir,
    pids_limit: int,
    disk: DiskQuota,
    processes: Callable[[], ContainerProcesses | None],
) -> KernelBlocks:
    """The Docker executor's session kernel: its host in the container, swept and counted through the agent
    (``processes``: the container's processes as this host sees them, once it runs; see processes.py)."""
    host = DockerKernelHost(ask, python, user, oom_text, host_dir)
    # No pandas preload here: every fork of the kernel costs memory in proportion to its size,
    # and the container's memory limit is small and shared by all its processes, so a lean
    # kernel lets a fork bomb hit the pids limit rather than the OOM killer.
    driver = KernelDriver(host, save_image=image_saver(work_dir), preload=())
    side = ExecutorSide(
        sweep=_sweep_after_block(ask, driver, processes),
        count_tasks=lambda: _count(parse_keys(ask("tasks", "-"))),
        budget=KernelTaskBudget(pids_limit, "executor.pids_limit"),
        how_to_get_it=HOW_TO_GET_IT,
    )
    return KernelBlocks(driver, disk, side, notice)
