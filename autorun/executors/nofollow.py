"""Write a file inside a directory without following any symlink the model's code planted there.

Code run in the work dir (locally, in bwrap or in a container) can create a
symlink where autorun will write next, such as the content-hash file name of the
next block, pointing at a host file. autorun writes from the host, so following
it would let sandboxed code overwrite any file of the user. Every component is
opened relative to the one before with O_NOFOLLOW, and the file itself is
unlinked and created anew (O_EXCL), so a symlink is replaced, never followed.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path, PurePath

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def write_inside(root: Path, relative: PurePath, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``root/relative``; OSError (ELOOP, ENOTDIR, EEXIST...) if a symlink is in the way."""
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"{relative} is not a plain relative path")
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in relative.parts[:-1]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, dir_fd=fd)
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
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
