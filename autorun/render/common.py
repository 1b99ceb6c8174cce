"""What the Rich and plain renderers agree on: which messages to show and how to word figures."""

from __future__ import annotations

import re

from autorun.block_results import parse_result
from autorun.codeblocks import Fence, opening_fence
from autorun.events import ExecutionResultEvent, MessageEvent, SessionEnd, SessionStart
from autorun.prompts import NOT_RUN_NOTE
from autorun.render.sanitize import strip_control_sequences
from autorun.units import human_size

DEFAULT_KEYWORD = "TERMINATE"


def shows_message(event: MessageEvent) -> bool:
    """Execution results are shown as they happen, so their echo as a user message is skipped;
    so is the note that the person did not run a block (a status line said so)."""
    if event.role == "system":
        return False
    if event.role == "user" and event.content.strip() == NOT_RUN_NOTE:
        return False
    return not (event.role == "user" and parse_result(event.content) is not None)


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:04.1f} s"


def result_words(exit_code: int, duration_s: float, timed_out: bool) -> str:
    """E.g. ``exit 0 in 0.12 s`` or ``timed out after 5.00 s (exit 124)``."""
    if timed_out:
        return f"timed out after {format_duration(duration_s)} (exit {exit_code})"
    return f"exit {exit_code} in {format_duration(duration_s)}"


def artifact_words(event: ExecutionResultEvent) -> list[str]:
    """One line per file the block wrote, e.g. ``created revenue_by_month.png (21.4 KiB)``."""
    return [f"{a.change} {safe(a.path)} ({human_size(a.size)})" for a in event.artifacts]


def block_title(language: str, index: int, sep: str) -> str:
    return f"{safe(language)}{sep}block {index}"


def safe(text: object) -> str:
    return strip_control_sequences(str(text))


def summary_rows(end: SessionEnd) -> list[tuple[str, str]]:
    """The final summary as (label, value) pairs, every value sanitised."""
    rows = [
        ("status", f"{end.status} (exit code {end.exit_code})"),
        ("reason", end.reason),
        ("turns", str(end.turns)),
        ("blocks", f"{end.blocks_run} run, {end.blocks_ok} ok, {end.blocks_failed} failed"),
        ("duration", format_duration(end.duration_s)),
        ("model", end.model),
        ("executor", end.executor),
        ("work dir", end.work_dir),
        ("transcript", end.transcript or "(none)"),
    ]
    if end.peak_memory_bytes:
        rows.append(("memory", f"peak {human_size(end.peak_memory_bytes)}"))
    if end.usage:
        rows.append(("tokens", format_usage(end.usage)))
    if end.cost_usd is not None:
        rows.append(("cost", f"~${end.cost_usd:.4f} (estimated)"))
    return [(label, safe(value)) for label, value in rows if value != ""]


def format_usage(usage: dict[str, int]) -> str:
    prompt = usage.get("prompt_tokens", 0)
    completion = usage.get("completion_tokens", 0)
    total = usage.get("total_tokens", prompt + completion)
    return f"{total:,} ({prompt:,} prompt + {completion:,} completion)"


def termination_keyword(start: SessionStart | None) -> str:
    if start is None:
        return DEFAULT_KEYWORD
    session = start.config.get("session")
    keyword = session.get("termination_keyword") if isinstance(session, dict) else None
    return keyword if isinstance(keyword, str) and keyword else DEFAULT_KEYWORD


def without_keyword(text: str, keyword: str) -> str:
    """The final message minus the termination keyword (its own line, or trailing the text)."""
    lines = [line for line in text.splitlines() if not is_keyword_line(line, keyword)]
    kept = "\n".join(lines).rstrip()
    if kept.endswith(keyword):
        kept = kept[: -len(keyword)].rstrip()
    return kept


def reader_prose(text: str, keyword: str) -> str:
    """An assistant's message as a person reads it: its prose, without fenced code or the keyword."""
    return without_keyword(hide_fenced_code(text), keyword)


def is_keyword_line(line: str, keyword: str) -> bool:
    """A line that says only the termination keyword (maybe in emphasis or with a full stop)."""
    return line.strip().strip(".!*_`") == keyword


class FenceFilter:
    """Drops fenced code from an assistant's text, line by line: each block is shown in its own panel.

    The fences are the ones ``codeblocks`` runs; as lines stream in, an opening is hidden before its
    close is known, so a fence that never closes hides to the end.
    """

    def __init__(self) -> None:
        self._fence: Fence | None = None

    def keep(self, line: str) -> bool:
        if self._fence is None:
            self._fence = opening_fence(line)
            return self._fence is None
        if self._fence.closed_by(line):
            self._fence = None
        return False


def hide_fenced_code(text: str) -> str:
    """The prose of a message without its fenced code blocks (a still-open block hides to the end)."""
    fences = FenceFilter()
    kept = [line for line in text.split("\n") if fences.keep(line)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")


def header_tail(event: SessionStart) -> str:
    """What the header says after the work dir: whether blocks run unasked, and why."""
    return f"; {event.approval}" if event.approval else ""


def executor_why(event: SessionStart) -> str:
    """(why this executor; how it is limited) for the session header, or nothing."""
    parts = [part for part in (event.executor_reason, event.limits) if part]
    return f" ({'; '.join(parts)})" if parts else ""
