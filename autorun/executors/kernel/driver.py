"""Drive one session's kernel: start it (in the background), run blocks, interrupt, restart.

Every block is one ``execute_request``; its iopub messages stream to ``on_output`` as they
arrive. At the timeout the kernel gets an ``interrupt_request`` on its control channel
(ipykernel answers it with SIGINT to itself, which works in bwrap and Docker alike); a
kernel that is not idle within ``interrupt_grace_s`` is killed and a new one started in
the background, so control comes back at once and the next block waits only for the
new kernel. A kernel that dies is reported and restarted the same way.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autorun.block_results import BLOCK_TIMED_OUT, timeout_line
from autorun.executors.kernel.connection import (
    CLIENT_PORT_KEYS,
    KERNEL_ARGS,
    KERNEL_MAIN,
    PORT_KEYS,
    WORK_DIR_LAST,
    connection_info,
    describe_status,
    link_sockets,
    preload_code,
    write_json,
)
from autorun.executors.kernel.host import KernelHost, KernelProcess
from autorun.executors.kernel.messages import (
    BINARY_STREAMS,
    FIGURE_HELPER,
    BlockOutput,
    figures_expression,
    names_from_expression,
)
from autorun.executors.kernel.outcome import STATE_KEPT, STATE_LOST, KernelOutcome, KernelUnavailable
from autorun.threads import ShieldedCalls, shielded, start_background
from autorun.units import format_seconds

SaveImage = Callable[[str, bytes], None]  # (file name in the work dir, PNG bytes); OSError if it cannot
# Imported in the kernel as soon as it is up, while the model writes its first reply, so the
# first block does not pay for them; nothing is bound in the user's namespace.
PRELOAD = ("pandas",)
_POLL_S = 0.1
_ALIVE_EVERY_S = 0.2
_REPLY_WAIT_S = 5.0
# How long one kernel_info waits for its answer on iopub before it is asked again: the answer is
# lost while iopub's subscription is still connecting, so a long wait would delay the first block.
_READY_ASK_S = 0.05
_SOCKETS_POLL_S = 0.005


@dataclass(frozen=True)
class _Launched:
    """A kernel process just started, not yet known to answer."""

    process: KernelProcess
    info: dict[str, Any]
    files: list[Path]
    number: int


@dataclass
class _Kernel:
    """One started kernel: its process, a client connected to it and the files made for it.

    Messages are read from the client's channels (``channel.get_msg``) rather than through the
    client's ``get_iopub_msg``, which runs an asyncio loop around the same call for every message.
    """

    process: KernelProcess
    client: Any  # jupyter_client.BlockingKernelClient
    files: list[Path] = field(default_factory=list)
    iopub: Any = None  # its iopub and shell channels (jupyter_client.channels.ZMQSocketChannel)
    shell: Any = None


class KernelDriver:
    """The kernel of one session, started on demand (or early with `start_in_background`)."""

    def __init__(
        self,
        host: KernelHost,
        *,
        save_image: SaveImage,
        ready_timeout_s: float = 60.0,
        interrupt_grace_s: float = 0.3,
        parent_pid: int | None = None,
        preload: tuple[str, ...] = PRELOAD,
    ) -> None:
        self.host = host
        self.save_image = save_image
        self.ready_timeout_s = ready_timeout_s
        self.interrupt_grace_s = interrupt_grace_s
        self.parent_pid = parent_pid
        self.preload = preload
        self._kernel: _Kernel | None = None
        self._starter: threading.Thread | None = None
        self._launched: _Launched | None = None
        self._start_error: Exception | None = None
        self._generation = 0
        self._closing = False
        self._lock = threading.Lock()
        self._running: str | None = None  # msg_id of the block the kernel is running

    # -- lifecycle ------------------------------------------------------------------------

    def start_in_background(self) -> None:
        """Start the kernel; `execute` waits until it answers. Does nothing if one is up or starting.

        The process is started here, in the caller's thread (a bwrap started from a thread
        that then ends would die with it: --die-with-parent is per thread); connecting to it
        and waiting for its first answer happen in a background thread.
        """
        with shielded(), self._lock:  # a kernel launched but not yet handed to its starter would be lost
            if self._kernel is not None or self._starter is not None or self._closing:
                return
            self._start_error = None
            try:
                launched = self._launch()
            except Exception as exc:  # raised again by the block that needs the kernel
                self._start_error = exc
                return
            self._launched = launched
            self._starter = start_background(self._connect_quietly, "autorun-kernel-start", (launched,))

    def ensure_started(self) -> None:
        """Wait for (or do) the start; raises KernelUnavailable with the reason it cannot start."""
        self.wait_for_start()
        if self._kernel is None and self._start_error is None:
            self.start_in_background()
            self.wait_for_start()
        if self._start_error is not None:
            error, self._start_error = self._start_error, None
            raise error
        if self._kernel is None:
            raise KernelUnavailable("the kernel was closed")

    def wait_for_start(self) -> None:
        """Wait for a start in progress, whatever its result (`execute` reports a failure)."""
        starter = self._starter
        if starter is not None:
            starter.join(2 * self.ready_timeout_s + 5)  # the start gives up after its own two waits
            self._starter = starter if starter.is_alive() else None

    @property
    def process(self) -> KernelProcess | None:
        return self._kernel.process if self._kernel is not None else None

    def close(self) -> None:
        """Kill the kernel (and one being started) and remove its files. Idempotent."""
        self._closing = True
        starter, launched = self._starter, self._launched
        if starter is not None:
            starter.join(timeout=5)  # it sees _closing within ms, unless stuck (on an import a SIGTERM broke)
            if starter.is_alive() and launched is not None:  # its kernel is killed from here
                launched.process.kill()
            self._starter = None
        self._discard()

    def _launch(self) -> _Launched:
        """Write the connection file and start the kernel process; no Jupyter import needed.

        The kernel binds its sockets in ``dirs.sockets`` (the one directory it can write) and reads
        the connection file from ``dirs.start``, which only autorun writes.
        """
        self._generation += 1
        number = self._generation
        dirs = self.host.dirs()
        inside = self.host.kernel_path(dirs.sockets)
        info = connection_info(f"{inside}/k{number}")
        connection = write_json(dirs.start, f"kernel-{number}.json", info)
        copy = dirs.sockets / connection.name  # the kernel's own copy (see KERNEL_MAIN)
        sockets = [f"k{number}-{info[key]}" for key in PORT_KEYS]
        files = [connection, copy, *(dirs.sockets / name for name in sockets), *(dirs.links / name for name in sockets)]
        args = ["-c", KERNEL_MAIN, self.host.kernel_path(connection), "-f", self.host.kernel_path(copy), *KERNEL_ARGS]
        if self.parent_pid:
            args.append(f"--IPKernelApp.parent_handle={self.parent_pid}")
        # A private IPython dir: no profile or startup files of the user's, nothing written to $HOME.
        # MALLOC_ARENA_MAX: each of ipykernel's threads would reserve a 64 MB malloc arena, which
        # counts against an address-space limit (RLIMIT_AS): 1 GB with pandas loaded, 0.5 GB without.
        env = {"IPYTHONDIR": f"{inside}/ipython", "MALLOC_ARENA_MAX": "2"}
        process = self.host.launch(args, env)
        return _Launched(process, info, files, number)

    def _connect_quietly(self, launched: _Launched) -> None:
        try:
            self._kernel = self._connect(launched)
        except KernelUnavailable as exc:
            self._start_error = exc
        except Exception as exc:  # a thread must not die silently: report it at the next block
            self._start_error = KernelUnavailable(f"{type(exc).__name__}: {exc}")

    def _connect(self, launched: _Launched) -> _Kernel:
        kernel = _Kernel(launched.process, None, launched.files)
        try:
            try:
                from jupyter_client.blocking import BlockingKernelClient
            except ImportError as exc:
                raise KernelUnavailable(f"jupyter_client cannot be imported in autorun's environment: {exc}") from exc
            through = self._link_sockets(launched)
            kernel.client = ShieldedCalls(BlockingKernelClient())  # its asyncio loop hangs if a SIGTERM raises inside
            kernel.client.load_connection_info({**launched.info, "ip": str(through / f"k{launched.number}")})
            # No heartbeat channel: the process handle says whether the kernel lives, and the
            # heartbeat's thread raised into stderr when the session closed while it started.
            kernel.client.start_channels(hb=False)
            kernel.iopub, kernel.shell = kernel.client.iopub_channel, kernel.client.shell_channel
            # Queued now, run as soon as the kernel is up: the imports overlap the handshake.
            startup = WORK_DIR_LAST + FIGURE_HELPER + BINARY_STREAMS + preload_code(self.preload)
            kernel.client.execute(startup, silent=True, store_history=False)
            self._wait_ready(kernel)
        except BaseException:
            self._stop(kernel)
            raise
        return kernel

    def _link_sockets(self, launched: _Launched) -> Path:
        """Wait until the kernel has bound its sockets; the directory of links to connect through."""
        dirs = self.host.dirs()
        names = [f"k{launched.number}-{launched.info[key]}" for key in CLIENT_PORT_KEYS]
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            try:
                through = link_sockets(dirs.sockets, dirs.links, names)
            except OSError as exc:
                raise KernelUnavailable(f"the kernel's sockets could not be used ({exc})") from exc
            if through is not None:
                return through
            self._check_starting(launched.process, deadline)
            time.sleep(_SOCKETS_POLL_S)

    def _check_starting(self, process: KernelProcess, deadline: float) -> None:
        """Raise KernelUnavailable when a kernel still starting is closed, dead or out of time."""
        if self._closing:
            raise KernelUnavailable("the session is closing")
        if not process.alive():
            reason = process.output_tail() or f"exit status {process.exit_status()}"
            raise KernelUnavailable(f"the kernel exited at start ({reason})")
        if time.monotonic() > deadline:
            raise KernelUnavailable(f"the kernel did not answer within {format_seconds(self.ready_timeout_s)} s")

    def _wait_ready(self, kernel: _Kernel) -> None:
        """Until the kernel answers on shell *and* iopub (so no output of the first block is lost).

        Shell requests run in order: the reply to a kernel_info comes once the startup code has run.
        Only then is it asked again until an answer arrives on iopub (lost while the subscription
        still connects), so the first block does not wade through a pile of answers.
        """
        deadline = time.monotonic() + self.ready_timeout_s
        asked_ids = {kernel.client.kernel_info()}
        channel = kernel.shell
        while True:
            self._check_starting(kernel.process, deadline)
            try:
                msg = channel.get_msg(timeout=_READY_ASK_S)
            except queue.Empty:
                if channel is kernel.iopub:
                    asked_ids.add(kernel.client.kernel_info())
                continue
            if msg["parent_header"].get("msg_id") in asked_ids:
                if channel is kernel.iopub:
                    return
                channel = kernel.iopub

    def _stop(self, kernel: _Kernel) -> None:
        if kernel.client is not None:
            with contextlib.suppress(Exception):
                kernel.client.stop_channels()
        kernel.process.kill()
        for path in kernel.files:
            with contextlib.suppress(OSError):
                path.unlink()

    def _discard(self) -> None:
        kernel, self._kernel = self._kernel, None
        if kernel is not None:
            self._stop(kernel)

    def restart(self) -> None:
        """Kill the current kernel and start a fresh one in the background (the caller says its state is lost)."""
        self._discard()
        self.start_in_background()

    # -- one block ------------------------------------------------------------------------

    def execute(
        self, code: str, on_output: Callable[[str], None], *, timeout: float, figure_prefix: str
    ) -> KernelOutcome:
        """Run ``code``; raises KernelUnavailable only when no kernel can be started at all."""
        self.ensure_started()
        started = time.monotonic()  # the timeout is the block's: a kernel (re)start does not count
        kernel = self._kernel
        assert kernel is not None
        out = BlockOutput(on_output)
        msg_id = kernel.client.execute(
            code,
            store_history=False,
            allow_stdin=False,
            stop_on_error=False,
            user_expressions={"figures": figures_expression(figure_prefix)},
        )
        self._running = msg_id  # still set if Ctrl-C ends the pump, so interrupt() knows what to stop
        ended = self._pump(kernel, msg_id, out, started + timeout)
        self._running = None
        timed_out = ended == "timeout"
        if timed_out:
            out.interrupting = True
            kernel.client.control_channel.send(kernel.client.session.msg("interrupt_request", content={}))
            ended = self._pump(kernel, msg_id, out, time.monotonic() + self.interrupt_grace_s)
        figures = self._figures(kernel, msg_id, out, figure_prefix) if ended == "idle" else []
        return self._outcome(kernel, ended, timed_out, out, figures, timeout, started)

    def evaluate(self, code: str, expression: str, *, timeout: float) -> dict[str, Any]:
        """Run autorun's own ``code`` silently, then ``expression``; its user-expression reply
        ({"status": "ok", "data": {...}} or "error" with "ename" and "evalue").

        Raises KernelUnavailable when no kernel is up (the start error stays for the first block
        to report) or it does not finish within ``timeout`` (it is then restarted).
        """
        self.wait_for_start()
        kernel = self._kernel
        if kernel is None:
            raise KernelUnavailable("no kernel is running")
        msg_id = kernel.client.execute(code, silent=True, store_history=False, user_expressions={"r": expression})
        if self._pump(kernel, msg_id, BlockOutput(lambda _text: None), time.monotonic() + timeout) != "idle":
            self.restart()
            raise KernelUnavailable(f"the kernel did not finish within {format_seconds(timeout)} s")
        result = self._reply(kernel, msg_id).get("user_expressions", {}).get("r", {})
        return dict(result) if isinstance(result, dict) else {}

    def kill_process(self) -> None:
        """Kill the kernel process from outside (a disk bound was crossed): the running block sees it die."""
        kernel = self._kernel
        if kernel is not None:
            kernel.process.kill()

    def interrupt(self) -> None:
        """Stop the running block (Ctrl-C in chat): interrupt it, or restart a kernel that does not stop."""
        kernel, msg_id, self._running = self._kernel, self._running, None
        if kernel is None or msg_id is None:
            return
        kernel.client.control_channel.send(kernel.client.session.msg("interrupt_request", content={}))
        quiet = BlockOutput(lambda _text: None)
        if self._pump(kernel, msg_id, quiet, time.monotonic() + self.interrupt_grace_s) != "idle":
            self.restart()

    def _pump(self, kernel: _Kernel, msg_id: str, out: BlockOutput, deadline: float) -> str:
        """Feed this execution's iopub messages to ``out`` until 'idle', 'timeout' or 'died'."""
        next_check = time.monotonic() + _ALIVE_EVERY_S
        while True:
            now = time.monotonic()
            if now >= deadline:
                return "timeout"
            if now >= next_check:
                if not kernel.process.alive():
                    return "died"
                next_check = now + _ALIVE_EVERY_S
            try:
                msg = kernel.iopub.get_msg(timeout=min(_POLL_S, deadline - now))
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                return "idle"
            out.handle(msg)

    def _reply(self, kernel: _Kernel, msg_id: str) -> dict[str, Any]:
        """The execute_reply content for ``msg_id`` (sent before idle, so normally already here)."""
        deadline = time.monotonic() + _REPLY_WAIT_S
        while time.monotonic() < deadline:
            try:
                msg = kernel.shell.get_msg(timeout=_POLL_S)
            except queue.Empty:
                if not kernel.process.alive():  # asked only while waiting: in Docker, a round trip to the agent
                    break
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return dict(msg["content"])
        return {}

    def _figures(self, kernel: _Kernel, msg_id: str, out: BlockOutput, prefix: str) -> list[str]:
        """Save what the block left open (matplotlib) or displayed (image/png) as PNG files."""
        reply = self._reply(kernel, msg_id)
        if reply.get("status") != "ok" and kernel.process.alive():  # user expressions are skipped on error
            again = kernel.client.execute(
                "", silent=True, store_history=False, user_expressions={"figures": figures_expression(prefix)}
            )
            reply = self._reply(kernel, again)
        names = names_from_expression(reply)
        for n, image in enumerate(out.images, 1):
            name = f"{prefix}-display-{n}.png"
            with contextlib.suppress(OSError):
                self.save_image(name, image)
                names.append(name)
        return names

    def _outcome(
        self,
        kernel: _Kernel,
        ended: str,
        timed_out: bool,
        out: BlockOutput,
        figures: list[str],
        timeout: float,
        started: float,
    ) -> KernelOutcome:
        exit_code = out.exit_code
        state_lost = ended != "idle"
        if figures:
            out.newline()
            out.emit(f"figures saved: {', '.join(figures)}\n")
        if timed_out:
            exit_code = BLOCK_TIMED_OUT
            out.newline()
            out.emit(f"{timeout_line(timeout)}\n")
        elif ended == "died":
            status = kernel.process.exit_status()
            exit_code = status if status is not None else 1
            out.newline()
            reason = kernel.process.end_reason()  # e.g. the memory limit's own line
            out.emit(f"{reason}\n" if reason else f"the kernel died ({describe_status(status)})\n")
        if state_lost:
            self.restart()
        if timed_out or state_lost:
            out.emit(f"{STATE_LOST if state_lost else STATE_KEPT}\n")
        return KernelOutcome(
            exit_code=exit_code,
            output=out.text(),
            duration_s=time.monotonic() - started,
            timed_out=timed_out,
            state_lost=state_lost,
            html=tuple(out.html),
        )
