"""A transcript read back as a report: the session's summary, its final answer, and the conversation.

Every exporter (notebook, HTML, Markdown) renders this one value, so they agree on
what a session was: which prose the assistant wrote, which blocks ran with what
output, and which files each block produced.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autorun.block_results import parse_result
from autorun.errors import ConfigError
from autorun.events import Artifact, CodeBlockEvent, Event, ExecutionResultEvent, HtmlOutput, MessageEvent
from autorun.record.decode import code_work_dir_of
from autorun.record.reader import Transcript
from autorun.render.common import format_duration, format_usage, hide_fenced_code, termination_keyword, without_keyword
from autorun.render.sanitize import strip_control_sequences as clean

OLD_SESSIONS_DIR = (".autorun", "sessions")  # where autorun kept transcripts before the state dir

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
    code_work_dir: str  # the work dir as the code saw it
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


def _artifact(artifact: Artifact) -> Artifact:
    return dataclasses.replace(
        artifact, path=clean(artifact.path), media_type=clean(artifact.media_type), change=clean(artifact.change)
    )


def _items(events: Sequence[Event], keyword: str = "TERMINATE") -> list[Item]:
    """The conversation as prose and blocks; the termination keyword is the loop's, not a reader's."""
    items: list[Item] = []
    blocks: dict[int, int] = {}  # block index -> position in items
    for event in events:
        if isinstance(event, MessageEvent):
            if event.role == "assistant":
                prose = without_keyword(hide_fenced_code(event.content), keyword)
                if prose.strip():
                    items.append(Prose("assistant", clean(prose)))
            elif event.role == "user" and event.content.strip() and parse_result(event.content) is None:
                items.append(Prose("user", clean(event.content)))
        elif isinstance(event, CodeBlockEvent):
            blocks[event.index] = len(items)
            items.append(BlockRun(event.index, clean(event.language), clean(event.code), event.will_run))
        elif isinstance(event, ExecutionResultEvent):
            position = blocks.get(event.index)
            if position is None:
                continue
            block = items[position]
            assert isinstance(block, BlockRun)
            items[position] = dataclasses.replace(
                block,
                will_run=True,
                exit_code=event.exit_code,
                output=clean(event.output),
                duration_s=event.duration_s,
                timed_out=event.timed_out,
                artifacts=tuple(_artifact(a) for a in event.artifacts),
                html=tuple(HtmlOutput(clean(h.text), h.html) for h in event.html),
            )
    return items


def build_report(transcript: Transcript) -> Report:
    """The report of a transcript; every text in it is free of control characters and escape sequences."""
    start = transcript.start
    if start is None:
        raise ConfigError(
            f"{transcript.path} has no session_start record, so it cannot be reported; is this an autorun transcript?"
        )
    end = transcript.end
    keyword = termination_keyword(start)
    items = _items(transcript.events, keyword)
    blocks = [i for i in items if isinstance(i, BlockRun) and i.ran]
    summary = Summary(
        session_id=clean(start.session_id),
        data_file=clean(start.data_file) if start.data_file is not None else None,
        data_path=clean(start.data_path) if start.data_path is not None else None,
        code_work_dir=clean(code_work_dir_of(start)),
        model=clean(start.model),
        executor=clean(start.executor),
        work_dir=clean(start.work_dir),
        started_at=clean(start.started_at),
        status=clean(end.status) if end is not None else None,
        exit_code=end.exit_code if end is not None else None,
        reason=clean(end.reason) if end is not None else "",
        turns=(end.turns if end is not None else 0)
        or sum(1 for i in items if isinstance(i, Prose) and i.role == "assistant"),
        blocks_ok=sum(1 for b in blocks if b.succeeded),
        blocks_failed=sum(1 for b in blocks if not b.succeeded),
        duration_s=end.duration_s if end is not None else None,
        usage=end.usage if end is not None else None,
        cost_usd=end.cost_usd if end is not None else None,
    )
    final = next((i.text for i in reversed(items) if isinstance(i, Prose) and i.role == "assistant"), "")
    return Report(summary, without_keyword(hide_fenced_code(final), keyword).strip(), items)


def load_report(path: Path) -> Report:
    """The report of the transcript at ``path``.

    A transcript of an older autorun, copied elsewhere with its work dir (a CI artifact, a
    colleague's download), no longer sits in the recorded work dir; when it still sits in that
    version's ``<dir>/.autorun/sessions/`` layout, ``<dir>`` is where the session's files are looked for.
    """
    from autorun.record.reader import read_transcript
    from autorun.snapshots import snapshot_folder

    report = dataclasses.replace(build_report(read_transcript(path)), snapshots=snapshot_folder(Path(path).resolve()))
    here = Path(path).resolve().parent
    if not Path(report.summary.work_dir).is_dir() and here.parts[-2:] == OLD_SESSIONS_DIR:
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
