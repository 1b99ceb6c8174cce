"""Files a code block created or changed in the work dir: found by comparing snapshots.

The work dir is on the host for every executor (Docker bind-mounts it), so one
host-side scan before and after each block finds what the block wrote: charts,
CSV exports, figures a kernel saved. The scan never follows a symlink (a block
may plant one pointing anywhere on the host): entries are examined with lstat,
symlinks are skipped, and a file is opened component by component relative to
the work dir with O_NOFOLLOW (``nofollow.open_inside``) before it is hashed or read.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath

from autorun.events import Artifact
from autorun.nofollow import open_inside, read_inside
from autorun.units import human_size

__all__ = ["Artifact", "ArtifactWatcher", "artifacts_line"]

# Where autorun itself writes (transcripts): never an artifact.
ALWAYS_IGNORED = (".autorun",)
# A bound on the scan, so a work dir holding a huge tree costs a bounded time per block.
MAX_ENTRIES = 20_000
HASH_LIMIT_BYTES = 1024**3
_CHUNK = 1024 * 1024


# (size, mtime_ns, inode) of each regular file, by relative POSIX path.
Snapshot = dict[str, tuple[int, int, int]]


def media_type(path: str) -> str:
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed or "application/octet-stream"


def _walk(root: Path, ignored: frozenset[str]) -> Iterator[tuple[str, os.stat_result]]:
    """Regular files under ``root`` (never through a symlink), with their lstat; paths as ``a/b.png``.

    Paths are plain strings (no Path objects per entry): the scan runs twice per block.
    """
    pending = [""]
    seen = 0
    while pending:
        relative = pending.pop()
        try:
            with os.scandir(os.path.join(root, relative)) as entries:
                listed = sorted(entries, key=lambda entry: entry.name)  # the same order each scan
        except OSError:
            continue
        for entry in listed:
            seen += 1
            if seen > MAX_ENTRIES:
                return
            path = f"{relative}/{entry.name}" if relative else entry.name
            if path in ignored:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                pending.append(path)
            elif stat.S_ISREG(info.st_mode):
                yield path, info


def sha256_inside(root: Path, relative: str) -> str | None:
    """The file's SHA-256, or None when it cannot be read safely or is over HASH_LIMIT_BYTES."""
    digest = hashlib.sha256()
    total = 0
    try:
        with open_inside(root, relative) as fd:
            while chunk := os.read(fd, _CHUNK):
                total += len(chunk)
                if total > HASH_LIMIT_BYTES:
                    return None
                digest.update(chunk)
    except (OSError, ValueError):
        return None
    return digest.hexdigest()


# Given each image a block wrote, with the bytes its hash was computed from (to keep a copy).
KeepImage = Callable[[Artifact, bytes], None]


class ArtifactWatcher:
    """Snapshots ``work_dir`` before a block and reports what changed after it.

    ``keep`` gets each image a block created or changed (see ``autorun.snapshots``), read once
    for both its hash and the copy.
    """

    def __init__(self, work_dir: Path, ignore: Iterable[str] = (), keep: KeepImage | None = None) -> None:
        self.work_dir = Path(work_dir).expanduser().resolve()
        self.ignored = frozenset((*ALWAYS_IGNORED, *(PurePosixPath(p).as_posix() for p in ignore)))
        self.keep = keep

    def snapshot(self) -> Snapshot:
        if not self.work_dir.is_dir():
            return {}
        return {path: (i.st_size, i.st_mtime_ns, i.st_ino) for path, i in _walk(self.work_dir, self.ignored)}

    def changes(self, before: Snapshot, exclude: Iterable[str] = ()) -> list[Artifact]:
        """Files created or changed since ``before``, in path order; ``exclude``: relative paths to leave out."""
        skipped = {PurePosixPath(p).as_posix() for p in exclude}
        found: list[Artifact] = []
        for path, (size, mtime, inode) in sorted(self.snapshot().items()):
            if path in skipped or before.get(path) == (size, mtime, inode):
                continue
            change = "modified" if path in before else "created"
            found.append(self._artifact(path, size, change))
        return found

    def _artifact(self, path: str, size: int, change: str) -> Artifact:
        from autorun.snapshots import MAX_IMAGE_BYTES, worth_keeping

        artifact = Artifact(path, size, None, media_type(path), change)
        if self.keep is None or not worth_keeping(artifact):
            return Artifact(path, size, sha256_inside(self.work_dir, path), artifact.media_type, change)
        try:
            data = read_inside(self.work_dir, path, MAX_IMAGE_BYTES + 1)
        except (OSError, ValueError):
            return artifact
        if len(data) > MAX_IMAGE_BYTES:  # grew since the scan: hashed as any other file, not kept
            return Artifact(path, size, sha256_inside(self.work_dir, path), artifact.media_type, change)
        kept = Artifact(path, len(data), hashlib.sha256(data).hexdigest(), artifact.media_type, change)
        self.keep(kept, data)
        return kept


def artifacts_line(artifacts: Iterable[Artifact]) -> str:
    """The one line the model gets about the files its code wrote (empty when there are none)."""
    named = [f"{a.path} ({human_size(a.size)})" for a in artifacts]
    return f"Files created or changed in the work dir: {', '.join(named)}" if named else ""
