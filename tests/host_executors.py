"""The local or the sandbox executor, by the name tests parametrize over ("none": local, "bwrap": sandbox)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autorun.executors.local.executor import HostExecutor, LocalExecutor
from autorun.executors.sandbox.executor import sandbox_executor


def host_executor(work_dir: Path, timeout: float, *, sandbox: str = "none", **options: Any) -> HostExecutor:
    """As build_executor makes them (the sandbox executor in a new bwrap world)."""
    if sandbox == "none":
        return LocalExecutor(work_dir, timeout, **options)
    return sandbox_executor(work_dir, timeout, **options)
