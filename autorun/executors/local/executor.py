"""Run code blocks as host processes, each in its own process group: the local executor, and the
runner the sandbox executor shares (it hands in the bwrap world every process starts in)."""

from __future__ import annotations

import codecs
import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autorun.block_results import BLOCK_KILLED, BLOCK_TIMED_OUT, oom_line, timeout_line
from autorun.codeblocks import CodeBlock
from autorun.errors import ExecutorError
from autorun.executors.base import ExecResult, OutputCallback
from autorun.executors.disk import DiskLimits, DiskQuota
from autorun.executors.envscrub import execution_environment
from autorun.executors.files import (
    PYTHON_BLOCK_MAIN,
    WritesBlockFiles,
)
from autorun.executors.host.launcher import HostLauncher
from autorun.executors.host.limits import ProcessLimits
from autorun.executors.host.memory import CgroupMemoryLimit
from autorun.executors.host.procfs import process_stats
from autorun.executors.host.reaper import become_subreaper, child_pids, sweep_leftovers
from autorun.executors.hostdir import HostDir
from autorun.executors.kernel.inspection import PACKAGE_DIR
from autorun.executors.kernel.starvation import KernelTaskBudget
from autorun.output import KEPT_OUTPUT_CHARS, OutputKeeper
from autorun.units import size_text

if TYPE_CHECKING:
    from autorun.datafile import DataFileInfo
    from autorun.executors.kernel.blocks import KernelBlocks
    from autorun.executors.local.kernel import KernelSweep, LocalKernelHost
    from autorun.executors.sandbox.bwrap import Sandbox

_CHUNK = 65536
_POLL_S = 0.05
_DRAIN_S = 1.0


class _Stream:
    """Reads a pipe in chunks, decodes UTF-8 incrementally and forwards each piece."""

    def __init__(self, fd: int, on_output: OutputCallback) -> None:
        self.fd = fd
        self._on_output = on_output
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._kept = OutputKeeper(KEPT_OUTPUT_CHARS)
        self.eof = False

    def read_once(self) -> None:
        data = os.read(self.fd, _CHUNK)
        if data:
            self.emit(self._decoder.decode(data))
        else:
            self.finish()

    def finish(self) -> None:
        if not self.eof:
            self.eof = True
            self.emit(self._decoder.decode(b"", final=True))

    def emit(self, text: str) -> None:
        if text:
            self._kept.add(text)
            self._on_output(text)

    def drain(self, seconds: float) -> None:
        """Read what is left once the group is dead; bounded in case an escaped process holds the pipe."""
        deadline = time.monotonic() + seconds
        with selectors.DefaultSelector() as selector:
            selector.register(self.fd, selectors.EVENT_READ)
            while not self.eof:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    break
                self.read_once()
        self.finish()

    def text(self) -> str:
        return self._kept.text()


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False when the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _group_alive(pgid: int) -> bool:
    """Whether the group still has a process that is not a zombie.

    Zombies count as members for killpg(), and an init that reaps slowly (or a
    container whose PID 1 never reaps) would otherwise make every kill wait the
    full grace period; /proc tells them apart where it exists.
    """
    if not _signal_group(pgid, 0):
        return False
    if not os.path.isdir("/proc"):
        return True
    group = str(pgid).encode()
    return any(len(f) > 2 and f[2] == group and f[0] not in (b"Z", b"X") for _pid, f in process_stats())


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


class HostExecutor(WritesBlockFiles):
    """Runs python and sh blocks in ``work_dir`` with a scrubbed environment and a timeout.

    Each run gets its own session and process group; whatever the block started is
    killed when it ends or times out, so no child outlives its block. When ``stateful``,
    python blocks run in one ipykernel per session instead (see autorun.executors.kernel), started
    by the same launcher (so under the same limits and in the same ``sandbox`` world, when one is
    handed in); sh blocks still run as processes. Its kinds: LocalExecutor, SandboxExecutor.
    """

    name: str
    executes = True

    def __init__(
        self,
        work_dir: Path,
        timeout: float,
        *,
        python: str | None = None,
        env_passthrough: Sequence[str] = (),
        base_env: Mapping[str, str] | None = None,
        kill_grace_s: float = 2.0,
        limits: ProcessLimits | None = None,
        sandbox: Sandbox | None = None,
        host_dir: HostDir | None = None,
        disk: DiskLimits | None = None,
        stateful: bool = False,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.work_dir = Path(work_dir).expanduser().resolve()
        self.timeout = float(timeout)
        self.python = python or sys.executable
        self.kill_grace_s = kill_grace_s
        self.env, self.removed_env = execution_environment(
            os.environ if base_env is None else base_env, env_passthrough
        )
        self._sh = shutil.which("sh") or "/bin/sh"
        self._proc: subprocess.Popen[bytes] | None = None
        self.limits = limits or ProcessLimits()
        self.host_dir = host_dir or HostDir()
        self.launcher = HostLauncher(self.work_dir, self.env, limits=self.limits, sandbox=sandbox)
        self.disk = DiskQuota(self.work_dir, disk or DiskLimits(None, None))
        self._known_children: set[int] = set()
        self._stateful = stateful  # python blocks share one kernel; False after a kernel could not start
        self._notice = on_notice or (lambda _text: None)
        self._kernel: KernelBlocks | None = None
        self._kernel_host: LocalKernelHost | None = None
        self._kernel_sweep: KernelSweep | None = None

    @property
    def stateful(self) -> bool:
        return self._stateful

    @property
    def code_work_dir(self) -> str:
        return str(self.work_dir)  # the sandbox binds it at its own path

    @property
    def runtime_root(self) -> str:
        return str(PACKAGE_DIR.parent)  # in place (the sandbox shows it read-only)

    def limits_summary(self) -> str:
        memory = size_text(self.limits.memory_bytes) if self.limits.memory_bytes else "unlimited"
        return f"memory {memory} by {self.memory_mechanism}; {self.disk.limits.summary()}"

    def placed_files(self) -> list[str]:
        return []

    def expose(self, host_path: Path) -> str:
        path = Path(host_path).expanduser().resolve()
        self.launcher.expose(path)
        return str(path)

    def _prepare(self) -> None:
        self._ensure_work_dir()

    def _run_script(self, block: CodeBlock, script: Path, on_output: OutputCallback, started: float) -> ExecResult:
        if block.language == "python" and self.stateful:
            result = self._blocks().run(block, on_output, self.timeout)
            if result is not None:
                return result
            self._stateful = False
        elif self._kernel is not None:
            self._kernel.driver.wait_for_start()  # a restart in progress must not race the sweep
        return self._execute(self._command(block.language, script), on_output, started)

    def warm_up(self) -> None:
        """Start the kernel in the background (while the first model reply is produced)."""
        if self.stateful:
            self._ensure_work_dir()
            self._blocks().driver.start_in_background()

    def interrupt(self) -> None:
        """Stop the running block only (Ctrl-C in chat); the kernel keeps its state if it stops in time."""
        self._kill_running_process()
        if self._kernel is not None:
            self._kernel.driver.interrupt()

    def inspect_files(self, paths: Sequence[Path], sheet: str | None) -> list[DataFileInfo] | None:
        """In the kernel when it runs autorun's own interpreter (see kernel_inspection)."""
        if not paths or not self.stateful or self._kernel is None or self.python != sys.executable:
            return None
        from autorun.executors.kernel.inspection import inspect_in_kernel

        return inspect_in_kernel(self._kernel.driver, paths, sheet)

    def peak_memory(self) -> int | None:
        return self.launcher.peak_memory()

    def close(self) -> None:
        self._kill_running_process()
        if self._kernel is not None:
            self._kernel.close()
            self._kernel = None
        self.launcher.close()
        with contextlib.suppress(OSError):  # a tree too deep to remove stays for `autorun clean`
            self.host_dir.remove()

    @property
    def memory_mechanism(self) -> str:
        """How executor.memory is enforced here (creates the cgroup if there is none yet)."""
        return self.launcher.memory.mechanism

    def __enter__(self) -> HostExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _blocks(self) -> KernelBlocks:
        if self._kernel is None:
            from autorun.executors.kernel import KernelDriver
            from autorun.executors.kernel.blocks import ExecutorSide, KernelBlocks, image_saver
            from autorun.executors.local.kernel import KernelSweep, LocalKernelHost, kernel_tasks

            become_subreaper()
            self._known_children = child_pids()
            self._kernel_host = host = LocalKernelHost(
                self.python, self.launcher, self.limits.memory_bytes, self.host_dir
            )
            memory = self.launcher.memory  # a cgroup no sandboxed block can leave: see KernelSweep
            sandboxed = self.launcher.sandbox is not None
            self._kernel_sweep = KernelSweep(
                memory.directory if sandboxed and isinstance(memory, CgroupMemoryLimit) else None
            )
            parent = None if sandboxed else os.getpid()
            limit = self.limits.max_processes
            side = ExecutorSide(
                sweep=self._sweep_kernel_block,
                count_tasks=lambda: kernel_tasks(host.kernel_pids),
                budget=KernelTaskBudget(limit, "executor.max_processes") if limit else None,
                how_to_get_it=f"install ipykernel for {self.python} to get one",
            )
            driver = KernelDriver(host, save_image=image_saver(self.work_dir), parent_pid=parent)
            self._kernel = KernelBlocks(driver, self.disk, side, self._notice)
        return self._kernel

    def _sweep_kernel_block(self) -> int:
        """Kill what the kernel block left running; the threads the kernel still has."""
        assert self._kernel is not None and self._kernel_host is not None and self._kernel_sweep is not None
        self._kernel.driver.wait_for_start()  # a kernel is starting: bwrap's set-up briefly makes it autorun's child
        return self._kernel_sweep.after_block(self._kernel_host.kernel_pids, self._known_children)

    def _ensure_work_dir(self) -> None:
        try:
            self.work_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExecutorError(
                f"Cannot create the work directory {self.work_dir}: {exc.strerror or exc}; "
                "choose a writable executor.work_dir."
            ) from exc

    def _command(self, language: str, script: Path) -> list[str]:
        relative = str(script.relative_to(self.work_dir))
        if relative.startswith("-"):
            relative = f"./{relative}"
        if language == "python":
            return [self.python, "-c", PYTHON_BLOCK_MAIN, relative]
        return [self._sh, relative]

    def _execute(self, command: list[str], on_output: OutputCallback, started: float) -> ExecResult:
        become_subreaper()
        self._known_children = child_pids()
        launched = self.launcher.launch(command)
        proc = launched.proc
        self._proc = proc
        assert proc.stdout is not None
        stream = _Stream(proc.stdout.fileno(), on_output)
        disk_watch = self.disk.watch(lambda _reason: _signal_group(proc.pid, signal.SIGKILL), threaded=False)
        try:
            finished = self._pump(proc, stream, started + self.timeout, disk_watch.tick)
        finally:
            disk_stop = disk_watch.stop()
            self._kill_group(proc)
            sweep_leftovers(self._known_children, spare={proc.pid})
            out_of_memory = launched.watch.stop()
        try:
            stream.drain(_DRAIN_S)
        finally:
            proc.stdout.close()
            self._proc = None
        line = ""
        if not finished:
            exit_code, line = BLOCK_TIMED_OUT, timeout_line(self.timeout)
        elif disk_stop:
            exit_code, line = BLOCK_KILLED, disk_stop
        elif out_of_memory:
            exit_code, line = BLOCK_KILLED, oom_line(self.limits.memory_bytes)
        else:
            exit_code = _exit_code(proc.returncode)
        if line:
            partial = stream.text()
            separator = "\n" if partial and not partial.endswith("\n") else ""
            stream.emit(f"{separator}{line}\n")
        return ExecResult(
            exit_code=exit_code,
            output=stream.text(),
            duration_s=time.monotonic() - started,
            timed_out=not finished,
        )

    def _pump(
        self, proc: subprocess.Popen[bytes], stream: _Stream, deadline: float, on_tick: Callable[[], object]
    ) -> bool:
        """Stream output until the main process exits (True) or the deadline passes (False).

        Stops as soon as the main process is gone even if a background child still
        holds the pipe open; the caller then kills the group and drains the pipe.
        ``on_tick`` runs at least every _POLL_S (the disk watch).
        """
        with selectors.DefaultSelector() as selector:
            selector.register(stream.fd, selectors.EVENT_READ)
            while proc.poll() is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if stream.eof:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=min(remaining, _POLL_S))
                elif selector.select(min(remaining, _POLL_S)):
                    stream.read_once()
                on_tick()
        return True

    def _kill_running_process(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            self._kill_group(proc)

    def _kill_group(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGTERM the whole group, wait up to the grace period, then SIGKILL."""
        proc.poll()
        if not _signal_group(proc.pid, signal.SIGTERM):
            return
        grace_ends = time.monotonic() + self.kill_grace_s
        while time.monotonic() < grace_ends:
            proc.poll()
            if not _group_alive(proc.pid):
                return
            time.sleep(0.02)
        _signal_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=self.kill_grace_s)


class LocalExecutor(HostExecutor):
    """Blocks as plain local subprocesses: they see the host as the user running autorun does."""

    name = "local"

    def __init__(self, work_dir: Path, timeout: float, **options: Any) -> None:
        super().__init__(work_dir, timeout, **options, sandbox=None)
