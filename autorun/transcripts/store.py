"""The session transcript: one JSON object per event, written and flushed as it happens.

Each line is a complete event (``event.to_dict()`` plus a ``ts`` timestamp), so a
crash or Ctrl-C leaves a valid file up to the last event. Streamed chunks (live
events and ``execution_output``) are not recorded: the complete message and the
full output in ``execution_result`` are.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from autorun.errors import AutorunError, ConfigError
from autorun.events import Event, ExecutionOutput

SESSIONS_DIR = Path(".autorun") / "sessions"


def new_transcript_path(work_dir: Path, session_id: str, now: datetime) -> Path:
    """``<work_dir>/.autorun/sessions/<YYYYmmdd-HHMMSS>-<id>.jsonl``."""
    safe_id = re.sub(r"[^A-Za-z0-9_-]", "-", session_id) or "session"
    return Path(work_dir) / SESSIONS_DIR / f"{now:%Y%m%d-%H%M%S}-{safe_id}.jsonl"


def transcript_record(event: Event, now: datetime) -> dict[str, Any]:
    record = event.to_dict()
    return {"event": record.pop("event"), "ts": now.isoformat(timespec="milliseconds"), **record}


class TranscriptWriter:
    """Appends every complete event to ``path``; the file is created at the first event."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None

    def handle(self, event: Event) -> None:
        if event.live or isinstance(event, ExecutionOutput):
            return
        line = json.dumps(transcript_record(event, datetime.now(UTC)), ensure_ascii=True, default=str)
        file = self._file or self._open()
        try:
            file.write(line + "\n")
            file.flush()
        except OSError as exc:
            raise AutorunError(f"cannot write the session transcript {self.path}: {exc.strerror}") from exc

    def close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()

    def _open(self) -> IO[str]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot create the session transcript {self.path}: {exc.strerror}; choose a writable --work-dir"
            ) from exc
        return self._file


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
