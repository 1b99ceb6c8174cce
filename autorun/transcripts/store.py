"""The session transcript: one JSON object per event, written and flushed as it happens.

Each line is a complete event (``event.to_dict()`` plus a ``ts`` timestamp), so a
crash or Ctrl-C leaves a valid file up to the last event. Streamed chunks (live
events and ``execution_output``) are not recorded: the complete message and the
full output in ``execution_result`` are. Where the file lives is autorun.record.state's
business; reading it back is autorun.record.reader's.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autorun.errors import AutorunError, ConfigError
from autorun.events import Event, ExecutionOutput, ExecutionResultEvent, SessionEnd

RESERVE_BYTES = 4 * 1024**2  # disk kept allocated ahead of the transcript, so a full disk cannot cut it short
KEPT_COPY_BYTES = 64 * 1024**2  # the writer's own copy of the transcript, to put it back when it was changed
_FALLOC_FL_KEEP_SIZE = 1
_FILE_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def reserve_space(fd: int, offset: int, length: int = RESERVE_BYTES) -> int:
    """Allocate ``length`` bytes after ``offset`` without changing the file's size (Linux); the end reserved."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        done = libc.fallocate(fd, _FALLOC_FL_KEEP_SIZE, ctypes.c_long(offset), ctypes.c_long(length)) == 0
    except (OSError, AttributeError):
        done = False
    return offset + length if done else offset


def transcript_record(event: Event, now: datetime) -> dict[str, Any]:
    record = event.to_dict()
    return {"event": record.pop("event"), "ts": now.isoformat(timespec="milliseconds"), **record}


class TranscriptWriter:
    """Appends every complete event to ``path``; the file is created (0600) at the first event.

    Each line goes out in one unbuffered write; when the disk is full (or any write
    fails) the partial line is cut off again, so the file stays valid JSON Lines up to
    the failure, one AutorunError is raised, and later events are no longer recorded.

    The writer keeps its own copy of what it wrote. Before each line it checks that the
    file at ``path`` is still its file, of the size it wrote (byte for byte after a block's
    result and at the session's end). When something else deleted, replaced, truncated or
    rewrote it (code run by a ``--local`` session can reach the state dir; a person can),
    the writer puts the complete transcript back, records the event, and raises one
    AutorunError saying so, which ends the session: the record stays complete and the user
    is told, instead of a summary naming a file that is gone or no longer the session's.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._reserved_to = 0
        self._copy: bytearray | None = bytearray()
        self._size = 0
        self.failed: str | None = None

    def handle(self, event: Event) -> None:
        if event.live or isinstance(event, ExecutionOutput) or self.failed is not None:
            return
        line = json.dumps(transcript_record(event, datetime.now(UTC)), ensure_ascii=True, default=str)
        data = (line + "\n").encode("ascii")
        if self._fd is None:
            fd = self._open()
            tampered = None
        else:
            tampered = self._tampering(self._fd, thorough=isinstance(event, ExecutionResultEvent | SessionEnd))
            fd = self._restore(tampered) if tampered else self._fd
        self._append(fd, data)
        if tampered:
            raise AutorunError(
                f"{tampered} while the session ran (by code run with --local, or by someone on this machine); "
                "autorun wrote it again from its own copy and stopped the session"
            )

    def _append(self, fd: int, data: bytes) -> None:
        start = self._size
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
        self._size += len(data)
        if self._copy is not None:
            self._copy += data
            if len(self._copy) > KEPT_COPY_BYTES:
                self._copy = None

    def _tampering(self, fd: int, *, thorough: bool) -> str | None:
        """What happened to the file since the last line, or None when it is as the writer left it."""
        what = f"the session transcript {self.path}"
        try:
            on_disk = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return f"{what} was deleted"
        mine = os.fstat(fd)
        if (on_disk.st_dev, on_disk.st_ino) != (mine.st_dev, mine.st_ino):
            return f"{what} was replaced by another file"
        if mine.st_size != self._size:
            return f"{what} was {'cut short' if mine.st_size < self._size else 'added to'}"
        if thorough and self._copy is not None and os.pread(fd, self._size, 0) != self._copy:
            return f"{what} was rewritten"
        return None

    def _restore(self, tampered: str) -> int:
        """Write the kept copy to a new file moved over ``path`` (a planted symlink is replaced, not followed)."""
        if self._copy is None:
            self.failed = tampered
            raise AutorunError(f"{tampered}, and it is too large for autorun to put back: the record is incomplete")
        spare = self.path.with_name(f".{self.path.name}.{os.getpid()}.restored")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with contextlib.suppress(FileNotFoundError):
                spare.unlink()
            fd = os.open(spare, _FILE_FLAGS | os.O_EXCL, 0o600)
            view = memoryview(bytes(self._copy))
            while view:
                view = view[os.write(fd, view) :]
            os.replace(spare, self.path)
        except OSError as exc:
            self.failed = tampered
            raise AutorunError(f"{tampered}, and autorun could not write it again: {exc.strerror or exc}") from exc
        self.close()
        self._fd, self._reserved_to = fd, 0
        return fd

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, _FILE_FLAGS, 0o600)
            self._size = os.fstat(self._fd).st_size
            if self._copy is not None and self._size:
                self._copy += os.pread(self._fd, self._size, 0)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the session transcript {self.path}: {exc.strerror}; choose a writable AUTORUN_STATE_DIR"
            ) from exc
        return self._fd
