"""What the session container sees of the host, and the mount points autorun makes for it in the work dir.

The work dir is mounted read-write at /workspace; each data file read-only at
/workspace/data/NAME, and, when it lies inside the work dir, read-only over its own path
there as well, so no path in the container reaches it writable. The kernel's socket
directory is mounted read-write, its start directory read-only (see kernel.py), and autorun's
own package read-only at /opt/autorun/autorun (the builtin analyst's runtime).

autorun creates the data mount points itself (as the host user's empty files, which
the engine would otherwise create as root and leave behind) and removes them at the end,
through directory descriptors that follow no symlink code planted in the work dir.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autorun.errors import ExecutorError
from autorun.executors.kernel.host import KernelDirs

WORKSPACE = "/workspace"
DATA_DIR = "data"
# autorun's own package, bind-mounted read-only at RUNTIME_MOUNT/autorun: the builtin analyst's blocks
# import its runtime from there, so it is always the code of the autorun that runs the session.
RUNTIME_MOUNT = "/opt/autorun"
KERNEL_DIR = "/autorun-kernel"
KERNEL_START_DIR = "/autorun-kernel-start"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def data_path(name: str) -> str:
    return f"{WORKSPACE}/{DATA_DIR}/{name}"


def mounts(work_dir: Path, exposed: Mapping[str, Path], kernel: KernelDirs | None = None) -> list[Any]:
    """The container's bind mounts (docker.types.Mount)."""
    from docker.types import Mount

    found = [Mount(WORKSPACE, str(work_dir), type="bind", read_only=False)]
    targets = {WORKSPACE}
    for name, path in exposed.items():
        inside = [data_path(name)]
        if path.is_relative_to(work_dir):  # also reachable through /workspace: read-only there too
            inside.append(f"{WORKSPACE}/{path.relative_to(work_dir).as_posix()}")
        for target in inside:
            if target not in targets:
                targets.add(target)
                found.append(Mount(target, str(path), type="bind", read_only=True))
    found.append(Mount(f"{RUNTIME_MOUNT}/autorun", str(package_dir()), type="bind", read_only=True))
    if kernel is not None:
        found.append(Mount(KERNEL_DIR, str(kernel.sockets), type="bind", read_only=False))
        found.append(Mount(KERNEL_START_DIR, str(kernel.start), type="bind", read_only=True))
    return found


def package_dir() -> Path:
    import autorun

    return Path(autorun.__file__).resolve().parent


def _refuse(path: Path, what: str) -> ExecutorError:
    return ExecutorError(f"{path} is {what} (left by earlier code?); remove it so autorun can mount the data there.")


def prepare_mount_points(work_dir: Path, names: list[str]) -> list[str]:
    """Create the work dir, and the exposed files' mount points (data/NAME) as the host user's empty files.

    Returns what was created (``data`` and ``data/NAME``, relative to the work dir) for
    `remove_mount_points`.
    """
    created: list[str] = []
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        if not names:
            return created
        root = os.open(work_dir, _DIR_FLAGS)
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(DATA_DIR, 0o755, dir_fd=root)
                created.append(DATA_DIR)
            try:
                data = os.open(DATA_DIR, _DIR_FLAGS, dir_fd=root)
            except OSError as exc:
                raise _refuse(work_dir / DATA_DIR, "a symlink or not a directory") from exc
            try:
                for name in names:
                    _make_placeholder(data, name, work_dir, created)
            finally:
                os.close(data)
        finally:
            os.close(root)
    except OSError as exc:
        remove_mount_points(work_dir, created)
        raise ExecutorError(
            f"Cannot prepare the work directory {work_dir}: {exc.strerror or exc}; choose a writable executor.work_dir."
        ) from exc
    except ExecutorError:
        remove_mount_points(work_dir, created)
        raise
    return created


def _make_placeholder(data: int, name: str, work_dir: Path, created: list[str]) -> None:
    try:
        os.close(os.open(name, _NEW_FILE, 0o644, dir_fd=data))
    except FileExistsError:
        if stat.S_ISLNK(os.stat(name, dir_fd=data, follow_symlinks=False).st_mode):
            raise _refuse(work_dir / DATA_DIR / name, "a symlink") from None
        return
    created.append(f"{DATA_DIR}/{name}")


def remove_mount_points(work_dir: Path, created: list[str]) -> None:
    """Remove the mount points `prepare_mount_points` made, if they are still empty and still what it made."""
    try:
        root = os.open(work_dir, _DIR_FLAGS)
    except OSError:
        return
    try:
        data = os.open(DATA_DIR, _DIR_FLAGS, dir_fd=root)
    except OSError:
        os.close(root)
        return
    try:
        for relative in created:
            if relative == DATA_DIR:
                continue
            name = relative.split("/", 1)[1]
            with contextlib.suppress(OSError):
                found = os.stat(name, dir_fd=data, follow_symlinks=False)
                if stat.S_ISREG(found.st_mode) and found.st_size == 0:
                    os.unlink(name, dir_fd=data)
        if DATA_DIR in created:
            with contextlib.suppress(OSError):
                os.rmdir(DATA_DIR, dir_fd=root)
    finally:
        os.close(data)
        os.close(root)
