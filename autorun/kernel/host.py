"""The seam between the kernel driver and the executor that runs the kernel process.

An executor knows how to start a process in its world (host, bwrap, container) and how
to stop it; the driver knows Jupyter. ``KernelHost`` is what the executor provides,
``KernelProcess`` is the handle it returns for one started kernel.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path
from typing import Protocol


class KernelProcess(Protocol):
    """One started kernel process, as its executor sees it."""

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


class KernelHost(Protocol):
    """Where a kernel runs: the executor side of the seam."""

    python_label: str  # the interpreter, for messages ("/usr/bin/python3", "the image's python3")

    def socket_dir(self) -> Path:
        """The host path of a private (0700) directory the kernel can also reach."""
        ...

    def kernel_path(self, host_path: Path) -> str:
        """How the kernel process names ``host_path`` (a file in ``socket_dir()``)."""
        ...

    def launch(self, args: list[str], log_file: Path, env: dict[str, str]) -> KernelProcess:
        """Start ``python ARGS`` in the work dir with ``env`` added, output to ``log_file`` (a host path)."""
        ...


def exit_status(returncode: int | None) -> int | None:
    """Popen's returncode (-N for signal N) as a shell would say it (128+N)."""
    if returncode is None:
        return None
    return 128 - returncode if returncode < 0 else returncode


class PopenKernelProcess:
    """A kernel started with subprocess.Popen in a process group of its own (local and bwrap)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.pid = proc.pid

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
