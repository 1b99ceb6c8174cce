"""Find recorded sessions the way a person names them: nothing (the latest), an id prefix, or a path.

``autorun results``, ``replay``, ``export`` and ``chat --resume`` take what `gh run view` and
`llm logs` take: no argument means the newest session of the work dir; a word like ``fec8``
is the start of a session id, looked up in the whole record (so a printed id works from any
directory); anything that looks like a path (a ``/``, a ``.jsonl`` ending, or an existing
file) is a transcript file, read later by the hardened reader.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from autorun.errors import ConfigError
from autorun.record.state import TRANSCRIPT_SUFFIX, RecordedSession, all_sessions, recorded_work_dirs

LIST_HINT = "`autorun sessions` lists them (`--all` for every work dir)"
_ID_RE = re.compile(r"[A-Za-z0-9_-]+")
_SHOWN_CANDIDATES = 5


def order_key(session: RecordedSession) -> tuple[datetime, int, str]:
    """Oldest first: by start time, then by the last write (two sessions may start in one second)."""
    try:
        written = os.stat(session.transcript, follow_symlinks=False).st_mtime_ns
    except OSError:
        written = 0
    return session.started or datetime.min, written, session.transcript.name


def sessions_under(work_dir: Path, env: Mapping[str, str] | None = None) -> list[RecordedSession]:
    """The sessions of ``work_dir`` and of every work dir inside it (a batch's per-file ones), oldest first."""
    real = Path(os.path.realpath(Path(work_dir).expanduser()))
    found = [
        session
        for record in recorded_work_dirs(env)
        if record.work_dir == real or record.work_dir.is_relative_to(real)
        for session in record.sessions()
    ]
    return sorted(found, key=order_key)


def newest_sessions(sessions: Sequence[RecordedSession], limit: int) -> list[RecordedSession]:
    """The ``limit`` newest of ``sessions`` (all of them for 0), newest first."""
    ordered = sorted(sessions, key=order_key, reverse=True)
    return ordered[:limit] if limit > 0 else ordered


def latest_session(work_dir: Path, env: Mapping[str, str] | None = None) -> RecordedSession:
    """The newest session of ``work_dir`` (or of a work dir inside it); ConfigError when there is none."""
    found = sessions_under(work_dir, env)
    if not found:
        real = os.path.realpath(Path(work_dir).expanduser())
        raise ConfigError(f"no session is recorded for the work dir {real}; run one, or name a session: {LIST_HINT}")
    return found[-1]


def looks_like_path(text: str) -> bool:
    """Whether a session argument names a file rather than a session id."""
    return "/" in text or os.sep in text or text.endswith(TRANSCRIPT_SUFFIX) or os.path.lexists(text)


def _describe(session: RecordedSession) -> str:
    when = f"{session.started:%Y-%m-%d %H:%M:%S}, " if session.started else ""
    return f"{session.session_id} ({when}{session.work_dir})"


def session_by_id(prefix: str, env: Mapping[str, str] | None = None) -> RecordedSession:
    """The one recorded session whose id is, or starts with, ``prefix`` (in every work dir's record).

    An exact id wins over longer ids it begins; no match or several is a one-line ConfigError.
    """
    if not _ID_RE.fullmatch(prefix):
        raise ConfigError(f"{prefix!r} is neither a session id nor a transcript path; {LIST_HINT}")
    every = all_sessions(env)
    exact = [session for session in every if session.session_id == prefix or session.transcript.stem == prefix]
    found = exact or [session for session in every if session.session_id.startswith(prefix)]
    if not found:
        raise ConfigError(f"no recorded session has an id starting with {prefix!r}; {LIST_HINT}")
    if len(found) > 1:
        found = sorted(found, key=order_key, reverse=True)
        shown = ", ".join(_describe(session) for session in found[:_SHOWN_CANDIDATES])
        more = f" and {len(found) - _SHOWN_CANDIDATES} more" if len(found) > _SHOWN_CANDIDATES else ""
        raise ConfigError(f"the session id {prefix!r} is ambiguous: {shown}{more}; give more of it")
    return found[0]


def chosen_transcripts(
    chosen: Sequence[str], work_dir: Path | None, env: Mapping[str, str] | None = None
) -> list[Path]:
    """The transcripts ``chosen`` names, in order: paths as given, ids looked up in the record.

    Nothing chosen is the newest session of ``work_dir`` (which must then be given).
    """
    if not chosen:
        if work_dir is None:
            raise ConfigError(f"name a session (an id or a transcript path); {LIST_HINT}")
        return [latest_session(work_dir, env).transcript]
    paths = []
    for text in chosen:
        if not text.strip():
            raise ConfigError(f"an empty session name was given; name a session by its id or path; {LIST_HINT}")
        paths.append(Path(text).expanduser() if looks_like_path(text) else session_by_id(text, env).transcript)
    return paths


def resume_selector(transcript: Path, env: Mapping[str, str] | None = None) -> str:
    """What names the session of ``transcript`` on a command line from any directory: its id when that
    id is the session's alone in the record, else the transcript's path."""
    every = all_sessions(env)
    mine = [session for session in every if session.transcript == transcript]
    if len(mine) != 1 or sum(session.session_id == mine[0].session_id for session in every) != 1:
        return str(transcript)
    return mine[0].session_id
