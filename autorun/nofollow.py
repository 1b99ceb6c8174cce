"""Write and read files inside a directory without following any symlink the model's code planted there.

Code run in the work dir (locally, in bwrap or in a container) can create a
symlink where autorun will write next, such as the content-hash file name of the
next block, pointing at a host file. autorun writes from the host, so following
it would let sandboxed code overwrite any file of the user. Every component is
opened relative to the one before with O_NOFOLLOW, and the file itself is
unlinked and created anew (O_EXCL), so a symlink is replaced, never followed.
Reading (a file code wrote for autorun, a chart for the report, what a cluster
worker sends back) opens every component the same way, so a planted symlink
fails with ELOOP instead of handing autorun a host file; the file is opened
without blocking and read only if it is a regular file, so a planted FIFO
cannot hang autorun. Removing a directory code could write into (the
sandbox's home, the kernel's socket directory) empties each level through its
descriptor, so a planted link is unlinked, never followed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePath, PurePosixPath

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_PATH_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_NOFOLLOW | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
MAX_DEPTH = 256
READ_LIMIT = 64 * 1024**2
_CHUNK = 1024 * 1024


def _open_dir(root: Path, parts: tuple[str, ...], *, create: bool) -> int:
    """A descriptor of ``root/parts...``, each component opened without following a symlink."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, dir_fd=fd)
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _plain(relative: PurePath) -> None:
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"{relative} is not a plain relative path")


@contextlib.contextmanager
def open_inside(root: Path, relative: str | PurePath) -> Iterator[int]:
    """A read-only descriptor of the regular file ``root/relative`` (a path like ``a/b.png``); OSError (ELOOP,
    ENOTDIR...) if a symlink is in the way or it is no regular file, ValueError if the path is not plain."""
    path = PurePosixPath(relative)
    _plain(path)
    fd = _open_dir(root, path.parts[:-1], create=False)
    try:
        handle = os.open(path.name, _READ_FLAGS, dir_fd=fd)
    finally:
        os.close(fd)
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise OSError(errno.EINVAL, f"{path} is not a regular file")
        yield handle
    finally:
        os.close(handle)


def read_inside(root: Path, relative: str | PurePath, limit: int = READ_LIMIT) -> bytes:
    """At most ``limit`` bytes of the regular file ``root/relative``, opened as ``open_inside`` opens it."""
    with open_inside(root, relative) as fd:
        chunks: list[bytes] = []
        total = 0
        while total < limit:
            chunk = os.read(fd, min(_CHUNK, limit - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)


def write_inside(root: Path, relative: PurePath, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``root/relative``; OSError (ELOOP, ENOTDIR, EEXIST...) if a symlink is in the way."""
    _plain(relative)
    fd = _open_dir(root, relative.parts[:-1], create=True)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(relative.name, dir_fd=fd)
        out = os.open(relative.name, _FILE_FLAGS, mode, dir_fd=fd)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(out, view) :]
        finally:
            os.close(out)
    finally:
        os.close(fd)


def remove_tree(path: Path) -> None:
    """Remove the directory ``path`` and all it holds without following any symlink inside it.

    ``path`` itself is opened without following a link. A directory code made unreadable
    (chmod 000) gets its permissions back through an O_PATH descriptor of that very
    directory, never by name. Deeper than MAX_DEPTH levels, OSError (and the tree stays).
    """
    parent = os.open(path.parent, _DIR_FLAGS & ~os.O_NOFOLLOW)
    try:
        _remove_dir(parent, path.name, 0)
    except FileNotFoundError:
        pass
    finally:
        os.close(parent)


def _open_owned_dir(parent: int, name: str) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except PermissionError:
        handle = os.open(name, _PATH_FLAGS, dir_fd=parent)
        try:
            os.chmod(f"/proc/self/fd/{handle}", 0o700)
        finally:
            os.close(handle)
        return os.open(name, _DIR_FLAGS, dir_fd=parent)


def _remove_dir(parent: int, name: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise OSError(f"more than {MAX_DEPTH} nested directories under {name}")
    try:
        fd = _open_owned_dir(parent, name)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        os.unlink(name, dir_fd=parent)  # replaced by a link or a file since it was listed
        return
    try:
        if os.fstat(fd).st_mode & 0o700 != 0o700:
            os.fchmod(fd, 0o700)
        with os.scandir(fd) as entries:
            children = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
        for child, is_dir in children:
            with contextlib.suppress(FileNotFoundError):
                if is_dir:
                    _remove_dir(fd, child, depth + 1)
                else:
                    os.unlink(child, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent)
