"""The images a block produced, read back from the work dir for embedding in a report."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from autorun.artifacts import Artifact
from autorun.export.report import BlockRun
from autorun.nofollow import read_inside

EMBEDDED_TYPES = ("image/png", "image/jpeg")
MAX_IMAGE_BYTES = 20 * 1024**2


@dataclass(frozen=True)
class Image:
    artifact: Artifact
    data: bytes | None  # None: gone, changed since the block, or unreadable
    problem: str = ""
    source: Path | None = None  # where the bytes were read: the session's copy or the work dir's file


def in_text_order(block: BlockRun) -> list[Artifact]:
    """The block's files in the order its output (then its code) first names them, the rest after.

    The work-dir scan finds files in name order; a reader expects the charts in the order the
    text that introduces them comes.
    """
    text = block.output + "\n" + block.code

    def position(artifact: Artifact) -> tuple[int, int]:
        at = text.find(PurePosixPath(artifact.path).name)
        return (0, at) if at >= 0 else (1, 0)

    return sorted(block.artifacts, key=position)


def block_images(work_dir: Path, block: BlockRun, snapshots: Path | None = None) -> list[Image]:
    """Each PNG/JPEG the block wrote, with its bytes: the copy the session kept (``snapshots``,
    see ``autorun.snapshots``), else the work dir's file while it is still what the block left.

    Files are read without following symlinks; bytes whose SHA-256 no longer matches the
    transcript (a later block, session or the user changed the file) are not shown as this
    block's output.
    """
    from autorun.snapshots import read_snapshot, snapshot_name

    images: list[Image] = []
    for artifact in in_text_order(block):
        if artifact.media_type not in EMBEDDED_TYPES:
            continue
        if artifact.size > MAX_IMAGE_BYTES:
            images.append(Image(artifact, None, "too large to embed"))
            continue
        kept = read_snapshot(snapshots, artifact) if snapshots is not None else None
        if snapshots is not None and kept is not None:
            images.append(Image(artifact, kept, source=snapshots / str(snapshot_name(artifact))))
            continue
        try:
            data = read_inside(work_dir, artifact.path, MAX_IMAGE_BYTES + 1)
        except (OSError, ValueError):
            images.append(Image(artifact, None, "no longer in the work dir"))
            continue
        if artifact.sha256 is not None and hashlib.sha256(data).hexdigest() != artifact.sha256:
            images.append(Image(artifact, None, "changed after this block"))
            continue
        images.append(Image(artifact, data, source=work_dir / artifact.path))
    return images
