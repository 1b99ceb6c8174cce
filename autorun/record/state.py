"""Where the session record lives: autorun's own state directory, which no executor mounts or shows.

A block can write anywhere in its work dir, in every executor, so a transcript kept there could
be truncated, deleted or forged by the very code it records (and ``--model replay:`` would then
run the forgery). The record lives in autorun's state directory instead, as `llm` keeps its logs:

    <root>/workdirs/<name>-<sha256 of the work dir's real path, 12 hex>/workdir   the work dir's path
                                                            /sessions/<YYYYmmdd-HHMMSS>-<id>.jsonl
                                                            /sessions/<YYYYmmdd-HHMMSS>-<id>/

``<root>`` is ``$AUTORUN_STATE_DIR``, else ``$XDG_STATE_HOME/autorun``, else
``~/.local/state/autorun``; autorun creates its directories 0700. A work dir's sessions are
found from the work dir itself (its path names its record dir); the ``workdir`` file lets every
recorded work dir be listed. This module is the one place that knows these paths.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from autorun.errors import ConfigError
from autorun.record.reader import read_regular_file

STATE_DIR_ENV = "AUTORUN_STATE_DIR"
WORKDIRS = "workdirs"
SESSIONS = "sessions"
WORKDIR_FILE = "workdir"
TRANSCRIPT_SUFFIX = ".jsonl"
_STAMP = "%Y%m%d-%H%M%S"
_STAMP_LEN = len("20260101-000000")
_DIR_MODE = 0o700


def state_root(env: Mapping[str, str] | None = None) -> Path:
    """``$AUTORUN_STATE_DIR``, else ``$XDG_STATE_HOME/autorun``, else ``~/.local/state/autorun`` (resolved)."""
    env = os.environ if env is None else env
    chosen = env.get(STATE_DIR_ENV, "")
    xdg = env.get("XDG_STATE_HOME", "")
    if chosen:
        root = Path(chosen).expanduser()
    elif xdg and Path(xdg).is_absolute():  # the XDG spec: a relative value is to be ignored
        root = Path(xdg) / "autorun"
    else:
        root = Path(env.get("HOME") or Path.home()) / ".local" / "state" / "autorun"
    return root.resolve()


@dataclass(frozen=True)
class RecordedSession:
    """One session's place in the record: its transcript, and a folder for its other protected files."""

    work_dir: Path
    transcript: Path
    session_id: str
    started: datetime | None  # local time, from the transcript's name

    @property
    def files_dir(self) -> Path:
        """``<YYYYmmdd-HHMMSS>-<id>/`` beside the transcript (not created here)."""
        return self.transcript.with_suffix("")


@dataclass(frozen=True)
class WorkDirRecord:
    """A work dir's part of the record: ``path`` holds its ``workdir`` file and its sessions."""

    work_dir: Path
    path: Path

    @property
    def sessions_dir(self) -> Path:
        return self.path / SESSIONS

    def session(self, session_id: str, now: datetime) -> RecordedSession:
        """Where a session started at ``now`` is recorded (nothing is created)."""
        safe_id = re.sub(r"[^A-Za-z0-9_-]", "-", session_id) or "session"
        transcript = self.sessions_dir / f"{now:{_STAMP}}-{safe_id}{TRANSCRIPT_SUFFIX}"
        return RecordedSession(self.work_dir, transcript, safe_id, now.replace(microsecond=0))

    def sessions(self) -> list[RecordedSession]:
        """Every recorded session of this work dir, oldest first ([] when there is none)."""
        try:
            names = sorted(os.listdir(self.sessions_dir))
        except (FileNotFoundError, NotADirectoryError):
            return []
        found = [_recorded(self.work_dir, self.sessions_dir / name) for name in names]
        return [session for session in found if session is not None]


def _recorded(work_dir: Path, transcript: Path) -> RecordedSession | None:
    stem = transcript.name.removesuffix(TRANSCRIPT_SUFFIX)
    if stem == transcript.name or len(stem) <= _STAMP_LEN + 1 or stem[_STAMP_LEN] != "-":
        return None
    try:
        started: datetime | None = datetime.strptime(stem[:_STAMP_LEN], _STAMP)
    except ValueError:
        started = None
    return RecordedSession(work_dir, transcript, stem[_STAMP_LEN + 1 :], started)


def record_name(real_path: Path) -> str:
    """``<basename>-<first 12 hex of the SHA-256 of the real path>``: readable, and one per work dir."""
    digest = hashlib.sha256(os.fsencode(real_path)).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", real_path.name).strip("-.")[:40] or "root"
    return f"{name}-{digest}"


def work_dir_record(work_dir: Path, env: Mapping[str, str] | None = None) -> WorkDirRecord:
    """Where ``work_dir``'s record is (or would be); nothing is created."""
    real = Path(os.path.realpath(Path(work_dir).expanduser()))
    return WorkDirRecord(real, state_root(env) / WORKDIRS / record_name(real))


def check_apart(work_dir: Path, env: Mapping[str, str] | None = None) -> None:
    """Refuse a work dir inside the state dir, or a state dir inside the work dir (ConfigError, one line)."""
    root = state_root(env)
    real = Path(os.path.realpath(Path(work_dir).expanduser()))
    if real.is_relative_to(root):
        raise ConfigError(
            f"the work dir {real} is inside autorun's state dir {root}, which keeps the session record "
            "out of the code's reach; choose a --work-dir outside it"
        )
    if root.is_relative_to(real):
        raise ConfigError(
            f"autorun's state dir {root} is inside the work dir {real}, where the code could rewrite the "
            f"session record; choose another --work-dir or set {STATE_DIR_ENV} to a directory outside it"
        )


def open_work_dir_record(work_dir: Path, env: Mapping[str, str] | None = None) -> WorkDirRecord:
    """``work_dir``'s record, created (0700) with its ``workdir`` file; refused as check_apart says."""
    check_apart(work_dir, env)
    record = work_dir_record(work_dir, env)
    root = state_root(env)
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        for directory in (root, root / WORKDIRS, record.path, record.sessions_dir):
            with contextlib.suppress(FileExistsError):
                os.mkdir(directory, _DIR_MODE)
        _write_workdir_file(record)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the session record in {record.path}: {exc.strerror or exc}; "
            f"make {root} writable or set {STATE_DIR_ENV} to a writable directory"
        ) from None
    return record


def _write_workdir_file(record: WorkDirRecord) -> None:
    target = record.path / WORKDIR_FILE
    text = os.fsencode(record.work_dir) + b"\n"
    with contextlib.suppress(OSError):
        if target.read_bytes() == text:
            return
    temporary = record.path / f".{WORKDIR_FILE}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(text)
    os.replace(temporary, target)


def new_session(
    work_dir: Path, session_id: str, now: datetime, env: Mapping[str, str] | None = None
) -> RecordedSession:
    """A new session's place in ``work_dir``'s record (the record is created; the transcript is not)."""
    return open_work_dir_record(work_dir, env).session(session_id, now)


def sessions_of(work_dir: Path, env: Mapping[str, str] | None = None) -> list[RecordedSession]:
    """The recorded sessions of ``work_dir``, oldest first."""
    return work_dir_record(work_dir, env).sessions()


def recorded_work_dirs(env: Mapping[str, str] | None = None) -> list[WorkDirRecord]:
    """Every work dir that has a record, as its ``workdir`` file names it, in record-name order."""
    base = state_root(env) / WORKDIRS
    try:
        names = sorted(os.listdir(base))
    except (FileNotFoundError, NotADirectoryError):
        return []
    records = []
    for name in names:
        try:
            text = read_regular_file(base / name / WORKDIR_FILE, 64 * 1024, "workdir file")
        except ConfigError:
            continue
        records.append(WorkDirRecord(Path(os.fsdecode(text.rstrip(b"\n"))), base / name))
    return records


def all_sessions(env: Mapping[str, str] | None = None) -> list[RecordedSession]:
    """Every recorded session of every work dir, oldest first."""
    found = [session for record in recorded_work_dirs(env) for session in record.sessions()]
    return sorted(found, key=lambda session: session.transcript.name)


def recorded_work_dir_holding(path: Path, env: Mapping[str, str] | None = None) -> Path | None:
    """The work dir with a record that ``path`` is, or lies inside; None when there is none."""
    base = state_root(env) / WORKDIRS
    real = Path(os.path.realpath(Path(path).expanduser()))
    for candidate in (real, *real.parents):
        if (base / record_name(candidate) / WORKDIR_FILE).is_file():
            return candidate
    return None


def is_recorded_transcript(path: Path, env: Mapping[str, str] | None = None) -> bool:
    """Whether ``path`` is a transcript in the record (``<root>/workdirs/*/sessions/*.jsonl``), not a symlink."""
    path = Path(path).expanduser()
    if path.suffix != TRANSCRIPT_SUFFIX or path.is_symlink() or not path.is_file():
        return False
    folder = Path(os.path.realpath(path.parent))
    return folder.name == SESSIONS and folder.parent.parent == state_root(env) / WORKDIRS
