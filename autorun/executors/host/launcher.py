"""The one place that starts code on the host: blocks of the local and sandbox executors, and kernels.

A HostLauncher applies everything autorun promises about a started process: the work
dir as cwd, the scrubbed environment, a session and process group of its own, the
setrlimit limits, the memory limit (a cgroup joined before exec, or a watchdog), and
for the sandbox executor the bwrap wrapper (started with an empty environment).
Whoever starts something — a block, an ipykernel — calls ``launch`` and gets the
process with its memory watch; ``close`` removes the cgroup and the sandbox's files.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from autorun.errors import ExecutorError
from autorun.executors.host.limits import ProcessLimits
from autorun.executors.host.memory import CgroupMemoryLimit, MemoryLimiter, MemoryWatch, memory_limiter
from autorun.executors.host.pids import PidsCgroup
from autorun.executors.sandbox.bwrap import Sandbox


@dataclass
class Launched:
    """A started process and the memory watch over its tree (``watch.stop()`` says whether OOM killed it)."""

    proc: subprocess.Popen[bytes]
    watch: MemoryWatch


class HostLauncher:
    def __init__(
        self,
        work_dir: Path,
        env: Mapping[str, str],
        *,
        limits: ProcessLimits | None = None,
        sandbox: Sandbox | None = None,
        memory: MemoryLimiter | None = None,
    ) -> None:
        self.work_dir = work_dir
        self.env = dict(env)
        self.limits = limits or ProcessLimits()
        self.sandbox = sandbox
        self._memory = memory
        self._pids_cgroup: PidsCgroup | None = None
        self._pids_checked = False

    @property
    def memory(self) -> MemoryLimiter:
        """The memory mechanism, chosen (and its cgroup created) on first use."""
        if self._memory is None:
            self._memory = memory_limiter(self.limits.memory_bytes)
        return self._memory

    def peak_memory(self) -> int | None:
        """The memory limit's high-water mark so far (None before anything ran, or where unknown)."""
        return self._memory.peak_bytes() if self._memory is not None else None

    @property
    def pids_cgroup(self) -> PidsCgroup | None:
        """A pids cgroup for executor.max_processes (binds root, unlike RLIMIT_NPROC), or None."""
        limit = self.limits.max_processes
        if not self._pids_checked and limit is not None:
            self._pids_checked = True
            memory = self.memory
            if isinstance(memory, CgroupMemoryLimit) and memory.version == 2:
                self._pids_cgroup = PidsCgroup.within(memory.directory, limit)
            else:
                self._pids_cgroup = PidsCgroup.create(limit)
        return self._pids_cgroup

    def expose(self, path: Path) -> None:
        if self.sandbox is not None:
            self.sandbox.expose(path)

    def launch(
        self,
        command: Sequence[str],
        *,
        stdin: int | IO[Any] | None = subprocess.DEVNULL,
        stdout: int | IO[Any] | None = subprocess.PIPE,
        stderr: int | IO[Any] | None = subprocess.STDOUT,
        extra_env: Mapping[str, str] | None = None,
        read_write: Sequence[Path] = (),
        read_only: Sequence[Path] = (),
    ) -> Launched:
        """Start ``command`` in the work dir under every limit; raise ExecutorError if it cannot start.

        ``read_write`` and ``read_only``: what the process sees of the host besides the work dir and
        the exposed files in the sandbox (a kernel's socket and start directories); outside the
        sandbox they are reachable anyway.
        """
        env = {**self.env, **(extra_env or {})}
        argv = list(command)
        popen_env: Mapping[str, str] = env
        pass_fds: tuple[int, ...] = ()
        if self.sandbox is not None:
            argv = self.sandbox.wrap(argv, env, read_write, read_only)
            popen_env = {}
            pass_fds = self.sandbox.pass_fds()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=self.work_dir,
                env=popen_env,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
                pass_fds=pass_fds,
                bufsize=0,
                preexec_fn=self._preexec(),
            )
        except OSError as exc:
            raise ExecutorError(
                f"Cannot start {argv[0]!r}: {exc.strerror or exc}; "
                "check that it is installed (for python, set executor.python)."
            ) from exc
        except subprocess.SubprocessError as exc:
            raise ExecutorError(f"Cannot start {argv[0]!r} under the memory limit ({exc}).") from exc
        return Launched(proc, self.memory.watch(proc.pid))

    def _preexec(self) -> Callable[[], None] | None:
        pids = self.pids_cgroup.preexec() if self.pids_cgroup is not None else None
        steps = [step for step in (self.memory.preexec(), pids, self.limits.preexec()) if step is not None]
        if not steps:
            return None

        def apply() -> None:
            for step in steps:
                step()

        return apply

    def close(self) -> None:
        if self._pids_cgroup is not None:
            self._pids_cgroup.close()
        if self._memory is not None:
            self._memory.close()
        if self.sandbox is not None:
            self.sandbox.close()
