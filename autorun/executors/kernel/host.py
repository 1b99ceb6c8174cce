"""The seam between the kernel driver and the executor that runs the kernel process.

An executor knows how to start a process in its world (host, bwrap, container) and how
to stop it; the driver knows Jupyter. ``KernelHost`` is what the executor provides,
``KernelProcess`` is the handle it returns for one started kernel.

The kernel can write in one directory only, where it binds its sockets; autorun's process
never opens, writes or follows anything there (see ``KernelDirs``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from autorun.threads import start_background

_TAIL_BYTES = 4096


@dataclass(frozen=True)
class KernelDirs:
    """Host paths of a kernel's directories, by who may write them.

    ``sockets``: the kernel binds its sockets here (the only directory it can write, so
    whatever a block plants is here); ``start``: connection files autorun writes and the
    kernel only reads; ``links``: autorun's own hard links to the kernel's sockets, never
    shown to the kernel, which autorun connects through, so a socket a block swaps for a
    symlink is never followed (a zmq reconnect included).
    """

    sockets: Path
    start: Path
    links: Path


class KernelProcess(Protocol):
    """One started kernel process, as its executor sees it."""

    pid: int  # as its executor names it (the container's pid namespace for Docker)

    def alive(self) -> bool:
        """False once the kernel process has exited (a zombie counts as exited)."""
        ...

    def exit_status(self) -> int | None:
        """How it ended: an exit code, or 128+N for signal N; None while it runs or when unknown."""
        ...

    def kill(self) -> None:
        """SIGKILL the kernel and everything in its process group; idempotent."""
        ...

    def end_reason(self) -> str | None:
        """Why it ended, when its host knows better than the exit status ("out of memory"); else None."""
        ...

    def output_tail(self) -> str:
        """The last line the kernel process wrote to its stdout or stderr ("" if none), for a start failure."""
        ...


class KernelHost(Protocol):
    """Where a kernel runs: the executor side of the seam."""

    def dirs(self) -> KernelDirs:
        """The kernel's directories (created on first call; private, 0700)."""
        ...

    def kernel_path(self, host_path: Path) -> str:
        """How the kernel process names ``host_path`` (in ``dirs().sockets`` or ``dirs().start``)."""
        ...

    def launch(self, args: list[str], env: dict[str, str]) -> KernelProcess:
        """Start ``python ARGS`` in the work dir with ``env`` added; its output goes nowhere autorun reads but
        a pipe (or the executor's own channel), for ``output_tail``."""
        ...


def exit_status(returncode: int | None) -> int | None:
    """Popen's returncode (-N for signal N) as a shell would say it (128+N)."""
    if returncode is None:
        return None
    return 128 - returncode if returncode < 0 else returncode


class PipeTail:
    """Drains the read end of a kernel's output pipe on a thread, keeping only its end."""

    def __init__(self, fd: int) -> None:
        self._tail = b""
        self._fd = fd
        self._ended = threading.Event()
        start_background(self._drain, "autorun-kernel-output")

    def _drain(self) -> None:
        try:
            while chunk := os.read(self._fd, 65536):
                self._tail = (self._tail + chunk)[-_TAIL_BYTES:]
        except OSError:
            pass
        finally:
            os.close(self._fd)
            self._ended.set()

    def last_line(self, wait_s: float = 1.0) -> str:
        """The last non-empty line, once the pipe ended (waiting at most ``wait_s`` for that)."""
        self._ended.wait(wait_s)
        text = self._tail.decode("utf-8", errors="replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[-1][:300] if lines else ""


class PopenKernelProcess:
    """A kernel started with subprocess.Popen in a process group of its own (local and bwrap)."""

    def __init__(self, proc: subprocess.Popen[bytes], output: PipeTail | None = None) -> None:
        self.proc = proc
        self.pid = proc.pid
        self._output = output

    def output_tail(self) -> str:
        return self._output.last_line() if self._output is not None else ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exit_status(self) -> int | None:
        return exit_status(self.proc.poll())

    def end_reason(self) -> str | None:
        return None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
