"""Bringing a session's results back: its files into the client's work dir, its report where the
client asked for it, its transcript where this machine's ``results`` and ``export`` find it.

What a worker returns was written by the session's code, so it is data, never a path to trust:
each name must be a plain relative path, nothing lands in autorun's own ``.autorun`` folder, and
every file is written component by component without following a symlink
(:func:`autorun.nofollow.write_inside`), so an earlier session's planted link is replaced, not followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autorun.artifacts import ALWAYS_IGNORED
from autorun.cluster.shipping import Shipment
from autorun.cluster.spec import SessionResult
from autorun.nofollow import write_inside
from autorun.transcripts.store import SESSIONS_DIR

_TRANSCRIPT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}\.jsonl")


def keep_transcript(work_dir: Path, name: str, data: bytes) -> Path:
    """Store a transcript a worker recorded for a session of ``work_dir`` where a session run here would
    have recorded it; its path. (The one place that knows where that is.)"""
    relative = SESSIONS_DIR / (name if _TRANSCRIPT_NAME.fullmatch(name) else "session.jsonl")
    write_inside(work_dir, relative, data)
    return work_dir / relative


@dataclass
class BroughtBack:
    transcript: Path | None = None
    files: int = 0
    problems: list[str] = field(default_factory=list)


def _plain(text: str) -> PurePosixPath | None:
    path = PurePosixPath(text)
    if path.is_absolute() or not path.parts or ".." in path.parts or "\x00" in text:
        return None
    return None if path.parts[0] in ALWAYS_IGNORED else path


def bring_back(shipment: Shipment, result: SessionResult) -> BroughtBack:
    """Write ``result``'s work-dir files, report and transcript on this machine; what could not be written."""
    item, root = shipment.item, shipment.root
    work_rel = PurePosixPath(item.work_dir.resolve().relative_to(root).as_posix())
    back = BroughtBack()
    item.work_dir.mkdir(parents=True, exist_ok=True)
    for returned in result.files:
        relative = _plain(returned.path)
        if relative is None:
            back.problems.append(f"refused the returned file name {returned.path!r}")
            continue
        try:
            write_inside(root, work_rel / relative, returned.data)
            back.files += 1
        except OSError as exc:
            back.problems.append(f"cannot write {item.work_dir / relative}: {exc.strerror}")
    if result.report is not None:
        try:
            write_inside(root, PurePosixPath(item.report.resolve().relative_to(root).as_posix()), result.report)
        except OSError as exc:
            back.problems.append(f"cannot write the report {item.report}: {exc.strerror}")
    if result.transcript is not None:
        try:
            back.transcript = keep_transcript(item.work_dir, result.transcript_name or "", result.transcript)
        except OSError as exc:
            back.problems.append(f"cannot keep the transcript in {item.work_dir}: {exc.strerror}")
    if result.left_behind:
        back.problems.append(
            f"{len(result.left_behind)} work-dir files over cluster.max_result_size were not brought back "
            f"(the first: {result.left_behind[0]})"
        )
    return back
