"""A transcript read back as a report: the session's summary, its final answer, and the conversation.

Every exporter (notebook, HTML, Markdown) renders this one value, so they agree on
what a session was: which prose the assistant wrote, which blocks ran with what
output, and which files each block produced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autorun.errors import ConfigError
from autorun.events import Artifact, HtmlOutput
from autorun.render.common import format_duration, format_usage, hide_fenced_code, termination_keyword, without_keyword

_RESULT_ECHO = re.compile(r"^exitcode: -?\d+ \(execution (succeeded|failed)\)")
_TRACEBACK_START = re.compile(
    r"^(?:Traceback \(most recent call last\):$|-{20,}\n\S[^\n]*Traceback \(most recent call last\)$)", re.MULTILINE
)


@dataclass(frozen=True)
class Prose:
    """Text of a message: the assistant's prose (fenced code removed) or a request from the user."""

    role: str
    text: str


@dataclass(frozen=True)
class BlockRun:
    """A code block and, when it ran, its result."""

    index: int
    language: str
    code: str
    will_run: bool
    exit_code: int | None = None
    output: str = ""
    duration_s: float | None = None
    timed_out: bool = False
    artifacts: tuple[Artifact, ...] = ()
    html: tuple[HtmlOutput, ...] = ()  # results the kernel also sent as HTML (untrusted: see export.tables)

    @property
    def ran(self) -> bool:
        return self.exit_code is not None

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


Item = Prose | BlockRun


@dataclass(frozen=True)
class Summary:
    session_id: str
    data_file: str | None
    data_path: str | None
    model: str
    executor: str
    work_dir: str
    started_at: str
    status: str | None
    exit_code: int | None
    reason: str
    turns: int
    blocks_ok: int
    blocks_failed: int
    duration_s: float | None
    usage: dict[str, int] | None
    cost_usd: float | None

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs: what every report shows at its top."""
        status = f"{self.status} (exit code {self.exit_code})" if self.status else "unfinished (no session_end)"
        rows = [
            ("file", Path(self.data_file).name if self.data_file else "(none)"),
            ("status", status),
            ("model", self.model),
            ("executor", self.executor),
            ("turns", str(self.turns)),
            ("blocks", f"{self.blocks_ok} ok, {self.blocks_failed} failed"),
            ("duration", format_duration(self.duration_s) if self.duration_s is not None else "-"),
            ("tokens", format_usage(self.usage) if self.usage else "not reported"),
            ("cost", f"~${self.cost_usd:.4f} (estimated)" if self.cost_usd is not None else "-"),
            ("started", self.started_at or "-"),
        ]
        return rows


@dataclass(frozen=True)
class Report:
    summary: Summary
    final_answer: str
    items: list[Item] = field(default_factory=list)
    found_at: Path | None = None  # the work dir as found on this machine, when it differs from the recorded one
    snapshots: Path | None = None  # the session's kept images (autorun.snapshots), beside its transcript

    @property
    def work_dir(self) -> Path:
        """Where the session's files are now: the recorded work dir, or where its transcript was found."""
        return self.found_at or Path(self.summary.work_dir)

    @property
    def blocks(self) -> list[BlockRun]:
        return [item for item in self.items if isinstance(item, BlockRun)]


def _str(record: Mapping[str, Any], key: str, default: str = "") -> str:
    value = record.get(key)
    return value if isinstance(value, str) else default


def _int(record: Mapping[str, Any], key: str) -> int | None:
    value = record.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _items(records: Sequence[Mapping[str, Any]], keyword: str = "TERMINATE") -> list[Item]:
    """The conversation as prose and blocks; the termination keyword is the loop's, not a reader's."""
    items: list[Item] = []
    blocks: dict[int, int] = {}  # block index -> position in items
    for record in records:
        kind = record.get("event")
        if kind == "message":
            role, content = _str(record, "role"), _str(record, "content")
            if role == "assistant":
                prose = without_keyword(hide_fenced_code(content), keyword)
                if prose.strip():
                    items.append(Prose("assistant", prose))
            elif role == "user" and content.strip() and not _RESULT_ECHO.match(content.lstrip()):
                items.append(Prose("user", content))
        elif kind == "code_block":
            index = _int(record, "index")
            if index is None:
                continue
            blocks[index] = len(items)
            items.append(
                BlockRun(
                    index, _str(record, "language", "python"), _str(record, "code"), record.get("will_run") is True
                )
            )
        elif kind == "execution_result":
            index = _int(record, "index")
            position = blocks.get(index) if index is not None else None
            if position is None:
                continue
            block = items[position]
            assert isinstance(block, BlockRun)
            duration = record.get("duration_s")
            items[position] = BlockRun(
                block.index,
                block.language,
                block.code,
                True,
                exit_code=_int(record, "exit_code"),
                output=_str(record, "output"),
                duration_s=float(duration) if isinstance(duration, int | float) else None,
                timed_out=record.get("timed_out") is True,
                artifacts=Artifact.all_from(record.get("artifacts")),
                html=HtmlOutput.all_from(record.get("html")),
            )
    return items


def build_report(records: Sequence[Mapping[str, Any]]) -> Report:
    """The report of a transcript's records (see ``autorun.transcript.read_transcript``)."""
    start = next((r for r in records if r.get("event") == "session_start"), None)
    if start is None:
        raise ConfigError("the transcript has no session_start record; is this an autorun transcript?")
    ends = [r for r in records if r.get("event") == "session_end"]
    end: Mapping[str, Any] = ends[-1] if ends else {}
    keyword = termination_keyword_of(start)
    items = _items(records, keyword)
    blocks = [i for i in items if isinstance(i, BlockRun) and i.ran]
    usage = end.get("usage")
    cost = end.get("cost_usd")
    duration = end.get("duration_s")
    summary = Summary(
        session_id=_str(start, "session_id"),
        data_file=start.get("data_file") if isinstance(start.get("data_file"), str) else None,
        data_path=start.get("data_path") if isinstance(start.get("data_path"), str) else None,
        model=_str(start, "model", "?"),
        executor=_str(start, "executor", "?"),
        work_dir=_str(start, "work_dir", "."),
        started_at=_str(start, "started_at"),
        status=end.get("status") if isinstance(end.get("status"), str) else None,
        exit_code=_int(end, "exit_code"),
        reason=_str(end, "reason"),
        turns=_int(end, "turns") or sum(1 for i in items if isinstance(i, Prose) and i.role == "assistant"),
        blocks_ok=sum(1 for b in blocks if b.succeeded),
        blocks_failed=sum(1 for b in blocks if not b.succeeded),
        duration_s=float(duration) if isinstance(duration, int | float) else None,
        usage=usage if isinstance(usage, dict) else None,
        cost_usd=float(cost) if isinstance(cost, int | float) else None,
    )
    final = next((i.text for i in reversed(items) if isinstance(i, Prose) and i.role == "assistant"), "")
    return Report(summary, without_keyword(hide_fenced_code(final), keyword).strip(), items)


def termination_keyword_of(start: Mapping[str, Any]) -> str:
    from autorun.events import SessionStart

    config = start.get("config")
    event = SessionStart("", "", "", "", None, None, config=config if isinstance(config, dict) else {})
    return termination_keyword(event)


def load_report(path: Path) -> Report:
    """The report of the transcript at ``path``.

    A transcript copied elsewhere (a CI artifact, a colleague's download) no longer sits in
    the recorded work dir; when it still sits in a ``<dir>/.autorun/sessions/`` layout, that
    ``<dir>`` is where the session's files are looked for.
    """
    import dataclasses

    from autorun.snapshots import snapshot_folder
    from autorun.transcripts.store import SESSIONS_DIR, read_transcript

    report = dataclasses.replace(build_report(read_transcript(path)), snapshots=snapshot_folder(Path(path).resolve()))
    here = Path(path).resolve().parent
    if not Path(report.summary.work_dir).is_dir() and here.parts[-2:] == SESSIONS_DIR.parts:
        return dataclasses.replace(report, found_at=here.parent.parent)
    return report


def split_traceback(output: str) -> tuple[str, list[str]]:
    """A failed Python block's output as (what came before the traceback, the traceback's lines).

    Both forms are found: Python's own (``Traceback (most recent call last):``) from a block
    run as a process, and IPython's (a rule of dashes, then ``ValueError   Traceback ...``)
    from a block run in a kernel.
    """
    starts = list(_TRACEBACK_START.finditer(output))
    if not starts:
        return output, []
    at = starts[-1].start()
    return output[:at], output[at:].rstrip("\n").split("\n")
