"""`executor.sandbox: bwrap`: run each local block inside bubblewrap (opt-in, Linux).

The block gets private PID, network, IPC and UTS namespaces and a filesystem of
read-only system directories and Python installations, an empty /tmp, the work
directory (read-write) and the exposed data files (read-only); nothing else of
the host: no home directory, no files beside the data, no /proc of autorun, no
network at all. When autorun kills bwrap, the kernel kills everything in the
block's PID namespace, daemons included.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from autorun.errors import ExecutorError

SANDBOXES = ("none", "bwrap")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt")
SANDBOX_HOME = "/tmp"


def find_bwrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise ExecutorError(
            "executor.sandbox is bwrap but bubblewrap is not installed; install it "
            "(`apt install bubblewrap`, `dnf install bubblewrap`) or set executor.sandbox: none."
        )
    return path


def python_roots(interpreter: str) -> list[str]:
    """Directories an interpreter needs: its venv and the installation the venv is based on."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix} if interpreter == sys.executable else set()
    for path in (Path(interpreter).absolute(), Path(interpreter).resolve()):
        roots.add(str(path.parent.parent))
    return sorted(root for root in roots if root not in ("/", "/usr"))


def bwrap_command(
    bwrap: str,
    command: Sequence[str],
    *,
    work_dir: Path,
    read_only: Iterable[Path],
    interpreter: str,
    read_write: Iterable[Path] = (),
) -> list[str]:
    """``command`` wrapped in bwrap with the view of the host described in the module docstring."""
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
    for directory in SYSTEM_DIRS:
        args += ["--ro-bind-try", directory, directory]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for root in python_roots(interpreter):
        args += ["--ro-bind-try", root, root]
    args += ["--bind", str(work_dir), str(work_dir)]
    for path in read_write:  # e.g. the kernel's private socket directory
        args += ["--bind", str(path), str(path)]
    for path in read_only:
        args += ["--ro-bind", str(path), str(path)]
    args += ["--setenv", "HOME", SANDBOX_HOME, "--chdir", str(work_dir), "--"]
    return args + list(command)


def sandbox_available(bwrap: str) -> str | None:
    """None when bwrap can create its namespaces here, else the reason it cannot."""
    import subprocess

    try:
        probe = subprocess.run(
            [bwrap, "--unshare-all", "--ro-bind", "/", "/", "--", "true"],
            capture_output=True,
            text=True,
            timeout=10,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return None if probe.returncode == 0 else (probe.stderr.strip() or f"exit code {probe.returncode}")
