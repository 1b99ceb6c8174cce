"""The session transcript: one JSON object per event, written and flushed as it happens.

Each line is a complete event (``event.to_dict()`` plus a ``ts`` timestamp), so a
crash or Ctrl-C leaves a valid file up to the last event. Streamed chunks (live
events and ``execution_output``) are not recorded: the complete message and the
full output in ``execution_result`` are.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autorun.errors import AutorunError, ConfigError
from autorun.events import Event, ExecutionOutput

SESSIONS_DIR = Path(".autorun") / "sessions"
RESERVE_BYTES = 4 * 1024**2  # disk kept allocated ahead of the transcript, so a full disk cannot cut it short
_FALLOC_FL_KEEP_SIZE = 1


def reserve_space(fd: int, offset: int, length: int = RESERVE_BYTES) -> int:
    """Allocate ``length`` bytes after ``offset`` without changing the file's size (Linux); the end reserved."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        done = libc.fallocate(fd, _FALLOC_FL_KEEP_SIZE, ctypes.c_long(offset), ctypes.c_long(length)) == 0
    except (OSError, AttributeError):
        done = False
    return offset + length if done else offset


def new_transcript_path(work_dir: Path, session_id: str, now: datetime) -> Path:
    """``<work_dir>/.autorun/sessions/<YYYYmmdd-HHMMSS>-<id>.jsonl``."""
    safe_id = re.sub(r"[^A-Za-z0-9_-]", "-", session_id) or "session"
    return Path(work_dir) / SESSIONS_DIR / f"{now:%Y%m%d-%H%M%S}-{safe_id}.jsonl"


def transcript_record(event: Event, now: datetime) -> dict[str, Any]:
    record = event.to_dict()
    return {"event": record.pop("event"), "ts": now.isoformat(timespec="milliseconds"), **record}


class TranscriptWriter:
    """Appends every complete event to ``path``; the file is created at the first event.

    Each line goes out in one unbuffered write; when the disk is full (or any write
    fails) the partial line is cut off again, so the file stays valid JSON Lines up to
    the failure, one AutorunError is raised, and later events are no longer recorded.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._reserved_to = 0
        self.failed: str | None = None

    def handle(self, event: Event) -> None:
        if event.live or isinstance(event, ExecutionOutput) or self.failed is not None:
            return
        line = json.dumps(transcript_record(event, datetime.now(UTC)), ensure_ascii=True, default=str)
        fd = self._fd if self._fd is not None else self._open()
        data = (line + "\n").encode("ascii")
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            if start + written + RESERVE_BYTES // 2 > self._reserved_to:
                self._reserved_to = reserve_space(fd, start + written)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            self.failed = f"cannot write the session transcript {self.path}: {exc.strerror}"
            hint = "; free some disk space" if exc.errno == errno.ENOSPC else ""
            raise AutorunError(f"{self.failed} (it is complete up to the previous event){hint}") from exc

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the session transcript {self.path}: {exc.strerror}; choose a writable --work-dir"
            ) from exc
        return self._fd


class TranscriptRecords(list[dict[str, Any]]):
    """The records of a transcript; ``truncated`` when its last line was cut off mid-write."""

    truncated: bool = False


def read_transcript(path: Path) -> TranscriptRecords:
    """Every record of a transcript, tolerating only an unfinished last line (a crash mid-write)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"no such transcript: {path} (sessions are recorded in <work dir>/{SESSIONS_DIR.as_posix()}/)"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory; give the path of one .jsonl transcript") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the transcript {path}: {exc.strerror}") from None
    records = TranscriptRecords()
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        unfinished = number == len(lines)
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if unfinished:
                records.truncated = True
                break
            raise ConfigError(
                f"{path}, line {number}: not valid JSON ({_reason(exc)}); is this an autorun transcript?"
            ) from None
        if not isinstance(record, dict):
            raise ConfigError(f"{path}, line {number}: expected a JSON object, got {type(record).__name__}")
        records.append(record)
    return records


def _reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    return "not UTF-8 text"
