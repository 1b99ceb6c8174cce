"""Run code blocks in one locked-down Docker container per session.

The container starts on `warm_up()` (in the background), `start()` or the first block, with
Docker's init process and the agent of agent.py; each block is one command to that agent,
its output streamed live. `close()` removes the container with a kill, never a graceful
stop. Nothing here ever falls back to running code on the host.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autorun.block_results import BLOCK_KILLED, BLOCK_TIMED_OUT, oom_line, timeout_line
from autorun.codeblocks import CodeBlock
from autorun.errors import ExecutorError
from autorun.executors.background import BackgroundStart
from autorun.executors.base import ExecResult, OutputCallback
from autorun.executors.disk import DiskLimits, DiskQuota
from autorun.executors.docker.agent import (
    AGENT_COMMAND,
    RESCUE_SWEEP,
    AgentChannel,
    ChannelClosed,
    Reply,
    exec_capture,
    probe_answer,
)
from autorun.executors.docker.container import (
    container_peak_memory,
    host_config,
    install_setup,
    remove_container,
)
from autorun.executors.docker.ending import container_gone
from autorun.executors.docker.engine import connect, engine_failures, ensure_image, first_line
from autorun.executors.docker.kernel import container_kernel
from autorun.executors.docker.mounts import (
    DATA_DIR,
    RUNTIME_MOUNT,
    WORKSPACE,
    data_path,
    prepare_mount_points,
    remove_mount_points,
)
from autorun.executors.docker.processes import ContainerProcesses, container_processes
from autorun.executors.docker.settings import DockerSettings
from autorun.executors.envscrub import EXECUTION_ENV, scrub_environment
from autorun.executors.files import WritesBlockFiles
from autorun.executors.hostdir import HostDir
from autorun.executors.leftovers import OWNER_LABEL, SESSION_LABEL
from autorun.executors.owner import current_owner
from autorun.executors.work_dir_checks import refuse_work_dir_holding_autorun
from autorun.units import format_seconds, size_text

if TYPE_CHECKING:
    from docker import DockerClient

    from autorun.datafile import DataFileInfo
    from autorun.executors.kernel.blocks import KernelBlocks

__all__ = ["SESSION_LABEL", "DockerExecutor", "DockerSettings"]

CONTAINER_ENV = {**EXECUTION_ENV, "HOME": "/tmp"}
PROBE_TIMEOUT_S = 30.0
RESCUE_AFTER_S = 5.0


class DockerExecutor(WritesBlockFiles):
    """Runs python and sh blocks in a hardened container with ``work_dir`` mounted at /workspace."""

    name = "docker"
    executes = True

    def __init__(
        self,
        work_dir: Path,
        timeout: float,
        settings: DockerSettings,
        *,
        env_passthrough: Sequence[str] = (),
        base_env: Mapping[str, str] | None = None,
        session_id: str,
        on_notice: Callable[[str], None] | None = None,
        disk: DiskLimits | None = None,
        stateful: bool = False,
    ) -> None:
        self.work_dir = Path(work_dir).expanduser().resolve()
        refuse_work_dir_holding_autorun(self.work_dir, self.name)
        self.timeout = float(timeout)
        self.settings = settings
        self.session_id = session_id
        self.container_name = f"autorun-{session_id}"
        self._notice = on_notice or (lambda _text: None)
        self._host_env = dict(os.environ if base_env is None else base_env)
        kept, self.removed_env = scrub_environment(self._host_env, env_passthrough)
        self.env = {name: kept[name] for name in env_passthrough if name in kept} | CONTAINER_ENV
        self._client: DockerClient | None = None
        self._container_id: str | None = None
        self._channel: AgentChannel | None = None
        self._exposed: dict[str, Path] = {}
        self._placeholders: list[str] = []
        self.host_dir = HostDir()
        self._agent_pid = 0
        self._processes: ContainerProcesses | None = None
        self._created_at = 0.0
        self._python = ""
        self._oom_kills = 0
        self._blocks = 0
        self._closed = False
        self.disk = DiskQuota(self.work_dir, disk or DiskLimits(None, None))
        self._stateful = stateful  # python blocks share one kernel; False after a kernel could not start
        self._kernel: KernelBlocks | None = None
        self._warm = BackgroundStart(self._start_with_kernel, "autorun-docker-start")
        self._agent_lock = threading.Lock()

    # -- the Executor protocol -------------------------------------------------------------

    @property
    def stateful(self) -> bool:
        return self._stateful

    @property
    def code_work_dir(self) -> str:
        return WORKSPACE

    @property
    def runtime_root(self) -> str:
        return RUNTIME_MOUNT

    def limits_summary(self) -> str:
        memory = size_text(self.settings.memory_bytes)
        return f"memory {memory} by the container's cgroup; {self.disk.limits.summary()}"

    def placed_files(self) -> list[str]:
        """The data mount points (``expose``): Docker makes them in the work dir, read-only."""
        return [f"{DATA_DIR}/{name}" for name in self._exposed]

    def expose(self, host_path: Path) -> str:
        if self._container_id is not None:
            raise ExecutorError(
                "Files must be exposed to the Docker executor before its first block runs; "
                "the container is already started."
            )
        path = Path(host_path).expanduser().resolve()
        name = path.name
        if self._exposed.get(name, path) != path:
            name = f"{len(self._exposed) + 1}-{path.name}"
        self._exposed[name] = path
        return data_path(name)

    def _prepare(self) -> None:
        self._warm.finish()
        self.start()

    def _run_script(self, block: CodeBlock, script: Path, on_output: OutputCallback, started: float) -> ExecResult:
        if block.language == "python" and self.stateful and self._kernel is not None:
            with self._engine("while a block was running"):
                try:
                    result = self._kernel.run(block, on_output, self.timeout)
                except ChannelClosed as exc:
                    raise self._gone(exc, block) from exc
            if result is not None:
                return result
            self._stateful = False
        elif self._kernel is not None:
            self._kernel.driver.wait_for_start()  # a restart in progress talks to the agent too
        path = f"{WORKSPACE}/{script.relative_to(self.work_dir).as_posix()}"
        watch = self.disk.watch(lambda _reason: self._sweep())
        with self._engine("while a block was running"):
            try:
                reply = self._ask(block.language, path, started + self.timeout + RESCUE_AFTER_S, on_output)
                rescued = not reply.finished
                if rescued:
                    reply = self._stop_block(on_output)
            except ChannelClosed as exc:
                raise self._gone(exc, block) from exc
            finally:
                disk_stop = watch.stop()
        return self._result(reply, rescued, started, on_output, disk_stop)

    def _sweep(self) -> None:
        """Kill the block's processes from outside (the disk watch calls this from its own thread)."""
        with contextlib.suppress(Exception):
            exec_capture(self._api, self._id, [*RESCUE_SWEEP, str(self._agent_pid)])

    def warm_up(self) -> None:
        """Start the container and the kernel in a background thread; the first `run()` waits for it."""
        if self._container_id is None and not self._closed:
            self._warm.begin()

    def _start_with_kernel(self) -> None:
        self.start()
        if self._kernel is not None:
            self._kernel.driver.start_in_background()

    def _agent_says(self, command: str, argument: str) -> str:
        """One kernel command to the agent (kernel, kstate, kkill); its output."""
        with self._agent_lock:
            reply = self._ask(command, argument, time.monotonic() + PROBE_TIMEOUT_S, lambda _text: None)
        if not reply.finished:
            raise ExecutorError(f"The agent in Docker container {self.container_name} did not answer in time.")
        return reply.output

    def interrupt(self) -> None:
        """Stop the running block (Ctrl-C in chat); the container stays up for the next block."""
        if self._kernel is not None:
            with self._engine("while stopping a block"):
                self._kernel.driver.interrupt()
        if self._channel is None or not self._channel.busy:
            return
        with self._engine("while stopping a block"):
            try:
                self._stop_block(lambda _text: None)
            except ChannelClosed as exc:
                raise self._gone(exc) from exc

    def inspect_files(self, paths: Sequence[Path], sheet: str | None) -> list[DataFileInfo] | None:
        return None  # the image's Python and pandas may differ from autorun's: autorun inspects

    def peak_memory(self) -> int | None:
        return container_peak_memory(self._container_id) if self._container_id is not None else None

    def close(self) -> None:
        """Remove the container (kill, no graceful stop). Safe to call twice and after failures."""
        self._closed = True
        with contextlib.suppress(Exception):  # a failed start is moot now
            self._warm.finish(timeout=PROBE_TIMEOUT_S)
        kernel, self._kernel = self._kernel, None
        if kernel is not None:
            kernel.close()  # kills it through the agent while the container is still there
        container_id, self._container_id = self._container_id, None
        self._processes = None
        problem = None
        if container_id is not None:
            problem = remove_container(self._api, container_id)
            if problem is not None:
                self._notice(
                    f"could not remove Docker container {self.container_name} ({first_line(problem)}); "
                    "run `autorun clean` once the engine answers"
                )
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        remove_mount_points(self.work_dir, self._placeholders)
        self._placeholders = []
        if problem is None:  # no container is left that could still write in the shared parts
            with contextlib.suppress(OSError):
                self.host_dir.remove()
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    def __enter__(self) -> DockerExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- container lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        """Start the session container (done by the first `run()` when not called explicitly)."""
        if self._container_id is not None:
            return
        if self._closed:
            raise ExecutorError("This Docker executor is closed; start a new session.")
        try:
            self._client = connect(self._host_env)
            with self._engine("while preparing the image"):
                ensure_image(self._client, self.settings.image, pull=self.settings.pull, on_notice=self._notice)
            self._placeholders = prepare_mount_points(self.work_dir, list(self._exposed))
            if self.stateful:
                self._make_kernel()
            with self._engine("while starting the container"):
                self._launch()
                self._probe()
                if self.settings.setup:
                    install_setup(self._api, self._id, self._python, self.settings, self._notice)
        except BaseException:
            self.close()
            self._closed = False
            raise

    def _make_kernel(self) -> None:
        python = lambda: self._python  # noqa: E731 (known once the agent answered the probe)
        self._kernel = container_kernel(
            self._agent_says,
            python,
            self.settings.user,
            self.work_dir,
            self._notice,
            oom_line(self.settings.memory_bytes),
            self.host_dir,
            self.settings.pids_limit,
            self.disk,
            lambda: self._processes,
        )

    def _launch(self) -> None:
        api = self._api
        s = self.settings
        self._created_at = time.time()
        self._container_id = api.create_container(
            s.image,
            command=AGENT_COMMAND,
            name=self.container_name,
            user=s.user,
            detach=False,
            stdin_open=True,
            environment=self.env,
            working_dir=WORKSPACE,
            labels={"autorun": "1", SESSION_LABEL: self.session_id, OWNER_LABEL: current_owner().tag},
            host_config=api.create_host_config(
                **host_config(s, self.work_dir, self._exposed, self._kernel.host.dirs() if self._kernel else None)
            ),
        )["Id"]
        params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        self._channel = AgentChannel(api.attach_socket(self._container_id, params=params))
        api.start(self._container_id)

    def _probe(self) -> None:
        """Ask the agent for its pid, the image's Python interpreter and the OOM-kill count."""
        image = self.settings.image
        try:
            reply = self._ask("probe", "-", time.monotonic() + PROBE_TIMEOUT_S, lambda _text: None)
        except ChannelClosed as exc:  # the agent could not start
            raise ExecutorError(
                f"The container from image {image} stopped right after starting; "
                "the image needs a POSIX shell (sh) and sleep."
            ) from exc
        self._agent_pid, self._python = probe_answer(reply, image)
        assert self._container_id is not None
        self._processes = container_processes(self._container_id, self._agent_pid)
        self._oom_kills = reply.oom_kills
        from autorun.executors.docker.image import check_modules

        check_modules(self._api, self._id, self._python, self.settings.image, self._notice)

    # -- one block ---------------------------------------------------------------------------

    @property
    def _api(self) -> Any:
        assert self._client is not None
        return self._client.api

    @property
    def _id(self) -> str:
        assert self._container_id is not None
        return self._container_id

    def _ask(self, language: str, path: str, until: float, on_output: OutputCallback) -> Reply:
        assert self._channel is not None
        if self._channel.busy:  # an earlier block was interrupted without `interrupt()`
            self._stop_block(lambda _text: None)
        self._blocks += 1
        self._channel.send(self._blocks, format_seconds(self.timeout), language, path)
        return self._channel.receive(until, on_output)

    def _stop_block(self, on_output: OutputCallback) -> Reply:
        """Kill the running block from outside the agent (it may have stopped or fought the agent)."""
        assert self._channel is not None
        for _attempt in range(5):
            code, _text = exec_capture(
                self._api, self._id, [*RESCUE_SWEEP, str(self._agent_pid), self._kernel.pid() if self._kernel else ""]
            )
            if code == 0:
                break
            time.sleep(0.5)
        reply = self._channel.receive(time.monotonic() + RESCUE_AFTER_S, on_output)
        if not reply.finished:
            raise ExecutorError(
                f"A block could not be stopped inside the Docker container {self.container_name}; "
                "the session cannot continue."
            )
        return reply

    def _result(
        self, reply: Reply, rescued: bool, started: float, on_output: OutputCallback, disk_stop: str | None = None
    ) -> ExecResult:
        elapsed = time.monotonic() - started
        oom = reply.exit_code == BLOCK_KILLED and self._oom_happened(reply.oom_kills)
        if reply.oom_kills >= 0:
            self._oom_kills = reply.oom_kills
        killed_late = reply.exit_code in (BLOCK_TIMED_OUT, BLOCK_KILLED) and not oom
        timed_out = rescued or (killed_late and elapsed >= self.timeout)
        output = reply.output
        exit_code = BLOCK_TIMED_OUT if timed_out else reply.exit_code
        if disk_stop:
            timed_out, exit_code, line = False, BLOCK_KILLED, disk_stop
        elif timed_out:
            line = timeout_line(self.timeout)
        elif oom:
            line = oom_line(self.settings.memory_bytes)
        else:
            line = ""
        if line:
            addition = f"{'' if not output or output.endswith(chr(10)) else chr(10)}{line}\n"
            on_output(addition)
            output += addition
        return ExecResult(
            exit_code=exit_code,
            output=output,
            duration_s=time.monotonic() - started,
            timed_out=timed_out,
        )

    def _oom_happened(self, count: int) -> bool:
        if count >= 0:
            return count > self._oom_kills
        state = self._api.inspect_container(self._id)["State"]
        return bool(state.get("OOMKilled"))

    def _engine(self, during: str) -> contextlib.AbstractContextManager[None]:
        return engine_failures(during, self._host_env)

    def _gone(self, exc: ChannelClosed, block: CodeBlock | None = None) -> ExecutorError:
        """Explain why the container's stream ended: engine gone, container stopped from outside or by the block."""
        if self._container_id is None:
            return ExecutorError("The Docker executor was closed while a block was running.")
        index = block.index if block is not None else None
        return container_gone(
            self._api,
            self._id,
            self.container_name,
            since=self._created_at,
            block=index,
            host_env=self._host_env,
            lost=exc,
        )
