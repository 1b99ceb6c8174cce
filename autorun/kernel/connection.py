"""The files and small texts of a kernel start: connection file, startup code, how it ended."""

from __future__ import annotations

import json
import os
import secrets
import signal
from pathlib import Path
from typing import Any

PORT_KEYS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
# What `python -m ipykernel_launcher` does, without the debugger: autorun never attaches one, and
# importing debugpy is a fifth of the kernel's start (and ~15 MB). A None in sys.modules makes
# `import debugpy` fail, which ipykernel handles by leaving its debugger off.
KERNEL_MAIN = """import sys
sys.modules["debugpy"] = None
if sys.path and sys.path[0] == "":
    del sys.path[0]
try:
    from ipykernel import kernelapp
except ImportError as exc:
    sys.exit(str(exc))
kernelapp.launch_new_instance()
"""


def connection_info(ip: str) -> dict[str, Any]:
    """A Jupyter connection file for the ipc transport: sockets IP-1 ... IP-5, a fresh HMAC key."""
    ports = {key: number for number, key in enumerate(PORT_KEYS, 1)}
    key = secrets.token_hex(32)
    return {**ports, "ip": ip, "key": key, "transport": "ipc", "signature_scheme": "hmac-sha256", "kernel_name": ""}


def write_json(path: Path, data: dict[str, Any]) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(data, handle)


def preload_code(modules: tuple[str, ...]) -> str:
    """Code that imports ``modules`` where they are installed, binding no name."""
    lines = [
        f"\nif __import__('importlib.util').util.find_spec({name!r}):\n    __import__({name!r})" for name in modules
    ]
    return "".join(lines) + "\n"


def log_tail(log: Path, limit: int = 300) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:limit] if lines else ""


def describe_status(status: int | None) -> str:
    if status is None:
        return "it stopped answering"
    if status > 128:
        try:
            name = signal.Signals(status - 128).name
        except ValueError:
            name = f"signal {status - 128}"
        return f"killed by {name}"
    return f"exit code {status}"
