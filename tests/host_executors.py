"""The local or the sandbox executor, by the name tests parametrize over ("none": local, "bwrap": sandbox)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from autorun.executors.hostdir import HostDir
from autorun.executors.local.executor import HostExecutor, LocalExecutor
from autorun.executors.sandbox.bwrap import Sandbox
from autorun.executors.sandbox.executor import SandboxExecutor


def host_executor(
    work_dir: Path, timeout: float, *, sandbox: str = "none", network: str = "none", **options: Any
) -> HostExecutor:
    """As build_executor makes them: the sandbox executor gets a bwrap world with its etc and home in its host dir."""
    if sandbox == "none":
        return LocalExecutor(work_dir, timeout, **options)
    host_dir = HostDir()
    work = Path(work_dir).expanduser().resolve()
    world = Sandbox(work, interpreter=options.get("python") or sys.executable, network=network, host_dir=host_dir)
    return SandboxExecutor(work_dir, timeout, sandbox=world, host_dir=host_dir, **options)
