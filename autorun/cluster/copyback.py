"""Bringing a session's results back: its files into the client's work dir, its report where the
client asked for it, its transcript (and the record's folder beside it: the charts' kept copies)
into this machine's session record for that work dir, where ``results``, ``export`` and a later
``--model replay:`` find it as if the session had run here.

What a worker returns was written by the session's code, so it is data, never a path to trust:
each name must be a plain relative path, nothing lands in autorun's own ``.autorun`` folder, and
every file is written component by component without following a symlink
(:func:`autorun.nofollow.write_inside`), so an earlier session's planted link is replaced, not followed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath, PurePosixPath

from autorun.artifacts import ALWAYS_IGNORED
from autorun.cluster.shipping import Shipment
from autorun.cluster.spec import ReturnedFile, SessionResult
from autorun.errors import ConfigError
from autorun.nofollow import write_inside
from autorun.record.state import open_work_dir_record
from autorun.snapshots import snapshot_folder

_TRANSCRIPT_NAME = re.compile(r"\d{8}-\d{6}-[A-Za-z0-9_-]{1,64}\.jsonl")
_RECORD_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")


def keep_transcript(
    work_dir: Path,
    name: str,
    data: bytes,
    record_files: Sequence[ReturnedFile] = (),
    env: Mapping[str, str] | None = None,
) -> Path:
    """Record a transcript a worker recorded for a session of ``work_dir`` (and the files of its record
    folder) in this machine's record of ``work_dir``, as a session run here would be; its path."""
    record = open_work_dir_record(work_dir, env)
    if not _TRANSCRIPT_NAME.fullmatch(name):
        name = f"{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.jsonl"
    transcript = record.sessions_dir / name
    write_inside(record.sessions_dir, PurePath(name), data, mode=0o600)
    folder = snapshot_folder(transcript)
    for kept in record_files:
        if _RECORD_FILE.fullmatch(kept.path):
            write_inside(record.sessions_dir, PurePath(folder.name) / kept.path, kept.data, mode=0o600)
    return transcript


def _why(exc: Exception) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


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


def bring_back(shipment: Shipment, result: SessionResult, env: Mapping[str, str] | None = None) -> BroughtBack:
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
            back.problems.append(f"cannot write {item.work_dir / relative}: {_why(exc)}")
    if result.report is not None:
        try:
            write_inside(root, PurePosixPath(item.report.resolve().relative_to(root).as_posix()), result.report)
        except OSError as exc:
            back.problems.append(f"cannot write the report {item.report}: {_why(exc)}")
    if result.transcript is not None:
        try:
            name = result.transcript_name or ""
            back.transcript = keep_transcript(item.work_dir, name, result.transcript, result.record_files, env)
        except (OSError, ConfigError) as exc:
            back.problems.append(f"cannot record the transcript of {item.work_dir}: {_why(exc)}")
    if result.left_behind:
        back.problems.append(
            f"{len(result.left_behind)} work-dir files over cluster.max_result_size were not brought back "
            f"(the first: {result.left_behind[0]})"
        )
    return back
