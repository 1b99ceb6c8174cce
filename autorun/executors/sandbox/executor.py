"""The sandbox executor: the host runner's blocks and kernel, each process inside one bwrap world."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autorun.executors.hostdir import HostDir
from autorun.executors.kernel.inspection import PACKAGE_DIR
from autorun.executors.local.executor import HostExecutor
from autorun.executors.sandbox.bwrap import Sandbox
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
