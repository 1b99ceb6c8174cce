"""One executor's directory on the host: ``$TMPDIR/autorun-<owner tag>-<random>/``, 0700.

It holds everything autorun keeps on the host for a session's executor, each part in a
subdirectory of its own: the kernel's socket directory (``kernel``: the one directory the
kernel can write, bound read-write; autorun only connects there and removes it), the
kernel's start files (``kernel-start``: connection files and the Docker start script,
written by autorun, shown read-only), the links autorun connects through
(``kernel-links``: never shown), and the sandbox's ``etc`` (read-only) and ``home``
(read-write). The directory itself is never shown to code, so nothing in it but the
read-write parts can be planted. Its name carries the owner (see owner.py) for
`autorun clean`; the whole tree is removed through descriptors (nofollow.remove_tree).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from autorun.executors.kernel.host import KernelDirs
from autorun.executors.owner import TAG_PATTERN, Owner, current_owner
from autorun.nofollow import remove_tree

PREFIX = "autorun-"
# mkdtemp's random part: 8 of [a-z0-9_]
NAME = re.compile(rf"{PREFIX}({TAG_PATTERN})-[a-z0-9_]{{8}}")
SOCKETS_PART, START_PART, LINKS_PART, ETC_PART, HOME_PART = "kernel", "kernel-start", "kernel-links", "etc", "home"


def owner_of(name: str) -> Owner | None:
    """The owner named by a host directory's name, or None when it is no directory of this kind."""
    found = NAME.fullmatch(name)
    return Owner.parse(found[1]) if found else None


class HostDir:
    """Created on first use (in $TMPDIR, honoured by tempfile), removed by ``remove``."""

    def __init__(self) -> None:
        self._path: Path | None = None

    @property
    def path(self) -> Path:
        if self._path is None:  # mkdtemp makes it 0700; /tmp keeps socket paths short (108-byte limit)
            self._path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{current_owner().tag}-"))
        return self._path

    @property
    def exists(self) -> bool:
        return self._path is not None

    def part(self, name: str) -> Path:
        """The subdirectory ``name`` (created 0700 when missing)."""
        path = self.path / name
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def kernel_dirs(self) -> KernelDirs:
        return KernelDirs(self.part(SOCKETS_PART), self.part(START_PART), self.part(LINKS_PART))

    def remove(self) -> None:
        """Remove everything (call it once nothing runs that could still write in the shared parts)."""
        path, self._path = self._path, None
        if path is not None:
            remove_tree(path)
