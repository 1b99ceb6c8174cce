"""The files and small texts of a kernel start: connection file, socket links, startup code, how it ended."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import stat
from pathlib import Path, PurePath
from typing import Any

from autorun.nofollow import write_inside

PORT_KEYS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
CLIENT_PORT_KEYS = PORT_KEYS[:4]  # the driver connects no heartbeat channel
# IPython would put the kernel's cwd (the work dir) before site-packages; the startup code puts it last.
KERNEL_ARGS = ("--HistoryManager.enabled=False", "--IPKernelApp.ignore_cwd=True")
# The work dir last on sys.path, so nothing planted there shadows an installed module, while a module
# the model saved there (AutoGen's `# filename: helpers.py`, then `import helpers`) still imports.
WORK_DIR_LAST = "\n__import__('sys').path[:] = [p for p in __import__('sys').path if p != ''] + ['']\n"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
# What `python -m ipykernel_launcher` does, without the debugger: autorun never attaches one, and
# importing debugpy is a fifth of the kernel's start (and ~15 MB). A None in sys.modules makes
# `import debugpy` fail, which ipykernel handles by leaving its debugger off.
KERNEL_MAIN = """import os, sys
sys.modules["debugpy"] = None
if sys.path and sys.path[0] == "":
    del sys.path[0]
# argv: -c START -f COPY ...: ipykernel 6 rewrites its connection file, so it gets a copy where it may
# write (the socket directory) of the one autorun wrote where only autorun writes.
with open(sys.argv.pop(1), "rb") as source:
    info = source.read()
try:
    os.unlink(sys.argv[2])
except FileNotFoundError:
    pass
with os.fdopen(os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "wb") as copy:
    copy.write(info)
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


def write_json(directory: Path, name: str, data: dict[str, Any]) -> Path:
    """Write a connection file (0600), replacing whatever is at its name without following it."""
    write_inside(directory, PurePath(name), json.dumps(data).encode(), mode=0o600)
    return directory / name


class NotTheKernelsSocket(OSError):
    """Something other than a socket sits where the kernel binds one (a block's leftover process?)."""


def link_sockets(sockets: Path, links: Path, names: list[str]) -> Path | None:
    """Hard-link the kernel's sockets ``names`` from ``sockets`` into ``links``; None while one is missing.

    Returns the directory to connect through: ``links``, whose entries no block can touch, so
    no connect or zmq reconnect follows a link planted in the shared directory later; or
    ``sockets`` itself where the kernel's user may not be linked to (protected_hardlinks).
    """
    source = os.open(sockets, _DIR_FLAGS)
    try:
        for name in names:
            try:
                found = os.stat(name, dir_fd=source, follow_symlinks=False)
            except FileNotFoundError:
                return None
            if not stat.S_ISSOCK(found.st_mode):
                raise NotTheKernelsSocket(f"{name} in the kernel's socket directory is not a socket")
        target = os.open(links, _DIR_FLAGS)
        try:
            for name in names:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=target)
                try:
                    os.link(name, name, src_dir_fd=source, dst_dir_fd=target, follow_symlinks=False)
                except PermissionError:
                    return sockets
                if not stat.S_ISSOCK(os.stat(name, dir_fd=target, follow_symlinks=False).st_mode):
                    raise NotTheKernelsSocket(f"{name} in the kernel's socket directory is not a socket")
        finally:
            os.close(target)
    finally:
        os.close(source)
    return links


def preload_code(modules: tuple[str, ...]) -> str:
    """Code that imports ``modules`` where they are installed, binding no name."""
    lines = [
        f"\nif __import__('importlib.util').util.find_spec({name!r}):\n    __import__({name!r})" for name in modules
    ]
    return "".join(lines) + "\n"


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
