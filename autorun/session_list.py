"""`autorun sessions`: the recorded sessions as rows, like `gh run list` or `llm logs`.

Each row is read from the session's transcript through the hardened reader, so a transcript
someone damaged is one row that says so, never a crash of the listing. Only the newest
``limit`` transcripts are read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from autorun.errors import ConfigError
from autorun.events import MessageEvent
from autorun.record.find import newest_sessions, sessions_under
from autorun.record.reader import read_transcript
from autorun.record.state import RecordedSession, all_sessions
from autorun.render.common import DEFAULT_KEYWORD, reader_prose
from autorun.render.sanitize import strip_control_sequences
from autorun.transcripts.store import is_being_written

DEFAULT_LIMIT = 20
FINAL_LINE_CHARS = 200
_MARKUP_RE = re.compile(r"^\s*(?:[-*+>#]+\s+|\d+[.)]\s+)+")


@dataclass(frozen=True)
class SessionRow:
    """One recorded session as `autorun sessions` shows it (``--json`` gives every field)."""

    id: str
    started: str  # local time, ISO 8601
    work_dir: str
    transcript: str
    data_file: str | None
    model: str
    executor: str
    status: str  # session_end's status, or running / unfinished / unreadable
    exit_code: int | None
    blocks_run: int | None
    final_line: str  # the final answer's last line (or why the transcript cannot be read)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_sessions(
    work_dir: Path | None, *, limit: int = DEFAULT_LIMIT, env: Mapping[str, str] | None = None
) -> list[SessionRow]:
    """The newest ``limit`` sessions (0: all) of ``work_dir`` and the work dirs inside it, newest first;
    ``work_dir`` None lists every work dir's."""
    found = all_sessions(env) if work_dir is None else sessions_under(work_dir, env)
    return [session_row(session) for session in newest_sessions(found, limit)]


def session_row(session: RecordedSession) -> SessionRow:
    started = session.started.isoformat() if session.started else ""
    try:
        transcript = read_transcript(session.transcript)
    except ConfigError as err:
        return SessionRow(
            id=session.session_id,
            started=started,
            work_dir=str(session.work_dir),
            transcript=str(session.transcript),
            data_file=None,
            model="",
            executor="",
            status="unreadable",
            exit_code=None,
            blocks_run=None,
            final_line=str(err),
        )
    start, end = transcript.start, transcript.end
    if end is not None:
        status, exit_code, blocks, final = end.status, end.exit_code, end.blocks_run, end.final_message
    else:
        status = "running" if is_being_written(session.transcript) else "unfinished"
        exit_code, blocks = None, None
        replies = [m for m in transcript.of(MessageEvent) if m.role == "assistant"]
        final = replies[-1].content if replies else ""
    return SessionRow(
        id=session.session_id,
        started=started,
        work_dir=start.work_dir if start else str(session.work_dir),
        transcript=str(session.transcript),
        data_file=start.data_file if start else None,
        model=end.model if end else start.model if start else "",
        executor=end.executor if end else start.executor if start else "",
        status=status,
        exit_code=exit_code,
        blocks_run=blocks,
        final_line=final_line(final, _keyword(start.config if start else {})),
    )


def _keyword(config: Mapping[str, Any]) -> str:
    session = config.get("session")
    keyword = session.get("termination_keyword") if isinstance(session, dict) else None
    return keyword if isinstance(keyword, str) and keyword else DEFAULT_KEYWORD


def final_line(text: str, keyword: str = DEFAULT_KEYWORD) -> str:
    """The last line of a final answer's prose, as plain text: no code, keyword, list marker or escape."""
    lines = [line for line in strip_control_sequences(reader_prose(text, keyword)).splitlines() if line.strip()]
    if not lines:
        return ""
    line = " ".join(_MARKUP_RE.sub("", lines[-1]).split())
    return line if len(line) <= FINAL_LINE_CHARS else line[: FINAL_LINE_CHARS - 1] + "…"
