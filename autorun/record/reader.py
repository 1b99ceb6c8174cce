"""Read a transcript back without trusting the file: the one reader of `replay`, `results`, `export`,
`chat --resume` and ``--model replay:``.

A path may name something a block planted: a FIFO (a plain open would wait forever), a
symlink to ``/dev/zero`` (a plain read would never end), a huge file. So the file is opened
with ``O_NOFOLLOW | O_NONBLOCK`` (a symlink fails at once, a FIFO opens without a writer),
must be a regular file by ``fstat``, and is read only up to ``MAX_TRANSCRIPT_BYTES``. Each
line is then decoded into an event by :mod:`autorun.record.decode`.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from autorun.errors import ConfigError
from autorun.events import Event, SessionEnd, SessionStart
from autorun.record.decode import decode_records
from autorun.units import human_size

MAX_TRANSCRIPT_BYTES = 256 * 1024**2
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_NOT_REGULAR = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}
E = TypeVar("E", bound=Event)


def read_regular_file(path: Path, limit: int, what: str = "transcript") -> bytes:
    """The bytes of the regular file ``path`` (no symlink, FIFO or device), at most ``limit`` of them.

    ConfigError (one line, exit 2) for anything else, naming ``what`` the file was to be.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise ConfigError(f"no such {what}: {path}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(
                f"{path} is a symlink, and autorun reads a {what} only from the file itself "
                "(a link may lead to a device or a pipe); give the path of the file it points to"
            ) from None
        if exc.errno == errno.ENXIO:
            raise ConfigError(f"{path} is not a regular file (a socket?); give the path of a {what}") from None
        raise ConfigError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        kind = stat.S_IFMT(info.st_mode)
        if kind != stat.S_IFREG:
            raise ConfigError(f"{path} is {_NOT_REGULAR.get(kind, 'not a regular file')}; give the path of a {what}")
        if info.st_size > limit:
            raise _too_large(path, info.st_size, limit, what)
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _too_large(path, len(data), limit, what)
    return data


def _too_large(path: Path, size: int, limit: int, what: str) -> ConfigError:
    return ConfigError(
        f"{path} is {human_size(size)} or more, larger than the {human_size(limit)} a {what} may be; "
        "is it a transcript?"
    )


@dataclass(frozen=True)
class Transcript:
    """A transcript read back: its events in order; ``truncated`` when its last line was cut off mid-write."""

    path: Path
    events: tuple[Event, ...]
    truncated: bool = False

    def of(self, kind: type[E]) -> list[E]:
        return [event for event in self.events if isinstance(event, kind)]

    @property
    def start(self) -> SessionStart | None:
        starts = self.of(SessionStart)
        return starts[0] if starts else None

    @property
    def end(self) -> SessionEnd | None:
        ends = self.of(SessionEnd)
        return ends[-1] if ends else None


def read_records(path: Path, limit: int = MAX_TRANSCRIPT_BYTES) -> tuple[list[tuple[int, dict[str, Any]]], bool]:
    """((line number, JSON object) of every line, whether the last line was cut off mid-write).

    Only an unfinished last line is tolerated (a crash mid-write); any other bad line is a ConfigError.
    """
    path = Path(path)
    data = read_regular_file(path, limit)
    if not data.strip():
        raise ConfigError(f"{path} is empty: it holds no autorun events; give the .jsonl transcript of a session")
    records: list[tuple[int, dict[str, Any]]] = []
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if number == len(lines):
                return records, True
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
            raise ConfigError(
                f"{path}, line {number}: not valid JSON ({why}); is this an autorun transcript?"
            ) from None
        if not isinstance(record, dict):
            raise ConfigError(f"{path}, line {number}: expected a JSON object, got {type(record).__name__}")
        records.append((number, record))
    return records, False


def read_transcript(path: Path, limit: int = MAX_TRANSCRIPT_BYTES) -> Transcript:
    """The transcript at ``path``, every record decoded and checked; ConfigError (exit 2) when it is not one.

    A file with no autorun event at all (empty, ``{}`` lines, another program's JSON Lines) is an error.
    """
    path = Path(path)
    records, truncated = read_records(path, limit)
    events = decode_records(records, path)
    if not events:
        cut = " (its only line was cut off mid-write)" if truncated else ""
        raise ConfigError(f"{path} holds no autorun events{cut}; give the .jsonl transcript of a session")
    return Transcript(path, tuple(events), truncated)
