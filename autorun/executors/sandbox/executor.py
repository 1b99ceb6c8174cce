"""The sandbox executor: the host runner's blocks and kernel, each process inside one bwrap world."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from autorun.executors.hostdir import HostDir
from autorun.executors.kernel.inspection import PACKAGE_DIR
from autorun.executors.local.executor import HostExecutor
from autorun.executors.sandbox.bwrap import Sandbox, SandboxNetwork
from autorun.executors.work_dir_checks import refuse_work_dir_holding_autorun


class SandboxExecutor(HostExecutor):
    """Runs blocks as HostExecutor does, in ``sandbox``: the world ``build_executor`` made for this work dir.

    ``host_dir`` is the one the sandbox keeps its etc and home in (the executor's own host dir).
    autorun's package is shown read-only: the kernel's inspection and the builtin's runtime import it.
    """

    name = "sandbox"

    def __init__(self, work_dir: Path, timeout: float, *, sandbox: Sandbox, host_dir: HostDir, **options: Any) -> None:
        refuse_work_dir_holding_autorun(Path(work_dir).expanduser().resolve(), self.name)
        sandbox.expose(PACKAGE_DIR)
        super().__init__(work_dir, timeout, sandbox=sandbox, host_dir=host_dir, **options)


def sandbox_executor(
    work_dir: Path, timeout: float, *, network: SandboxNetwork = "none", python: str | None = None, **options: Any
) -> SandboxExecutor:
    """A SandboxExecutor in a new bwrap world for ``work_dir`` (its etc and home in the executor's host dir)."""
    host_dir = HostDir()
    work = Path(work_dir).expanduser().resolve()
    world = Sandbox(work, interpreter=python or sys.executable, network=network, host_dir=host_dir)
    return SandboxExecutor(work, timeout, sandbox=world, host_dir=host_dir, python=python, **options)
