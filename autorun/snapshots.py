"""Every chart a session made, kept by content hash in the session's own record folder.

The work dir is shared by every session run in it: a later session (or block) that writes
``chart-total-revenue-by-region.png`` again replaces the picture an earlier report showed.
So each image a block creates or changes is copied, when the block ends, into the folder
beside the session's transcript (``sessions/<time>-<id>/<sha256>.png``, the layout of the
session record), and reports read it back from there by the hash the transcript recorded.

Why snapshots rather than a folder per session in the work dir: the work dir stays the
code's one place (AutoGen's pattern: a later block, turn or resumed chat finds the files
where the earlier ones left them, and ``# filename: helpers.py`` is importable), and the
copies live with the record, where the code cannot alter them once the record is protected.
Every file is written and read without following a symlink, and a copy is shown only when
its bytes still have the recorded SHA-256.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePath, PurePosixPath

from autorun.events import Artifact
from autorun.nofollow import read_inside, write_inside

KEPT_TYPES = ("image/png", "image/jpeg")
MAX_IMAGE_BYTES = 20 * 1024**2  # as large as a report embeds
MAX_SESSION_BYTES = 256 * 1024**2  # what one session may keep in all


def snapshot_folder(transcript: Path) -> Path:
    """``sessions/<time>-<id>/`` for ``sessions/<time>-<id>.jsonl``: the session's other record files."""
    return Path(transcript).with_suffix("")


def snapshot_name(artifact: Artifact) -> str | None:
    if artifact.sha256 is None:
        return None
    return artifact.sha256 + (PurePosixPath(artifact.path).suffix.lower() or ".img")


def worth_keeping(artifact: Artifact) -> bool:
    return artifact.media_type in KEPT_TYPES and 0 < artifact.size <= MAX_IMAGE_BYTES


class Snapshots:
    """Where one session keeps its images; ``keep`` is handed to the ArtifactWatcher."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.kept_bytes = 0

    def keep(self, artifact: Artifact, data: bytes) -> None:
        """Copy ``data`` (the bytes whose hash ``artifact`` carries) once per content; best effort."""
        name = snapshot_name(artifact)
        if name is None or self.kept_bytes + len(data) > MAX_SESSION_BYTES:
            return
        try:
            write_inside(self.folder.parent, PurePath(self.folder.name) / name, data, mode=0o600)
        except OSError:
            return  # the report then falls back to the work dir's file, when it is unchanged
        self.kept_bytes += len(data)


def read_snapshot(folder: Path, artifact: Artifact) -> bytes | None:
    """The kept copy of ``artifact``, when there is one with the recorded hash."""
    name = snapshot_name(artifact)
    if name is None:
        return None
    try:
        data = read_inside(folder.parent, PurePath(folder.name) / name, MAX_IMAGE_BYTES + 1)
    except (OSError, ValueError):
        return None
    return data if hashlib.sha256(data).hexdigest() == artifact.sha256 else None
