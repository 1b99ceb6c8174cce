"""`autorun results`: count a transcript's executions, like the tutorial's extract_execution_results.

autorun transcripts carry one ``execution_result`` record per block. A transcript
with messages only (a replayed or hand-made AutoGen chat history) is read the way
the tutorial does it: every ``exitcode: N (...)`` reply is one execution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from autorun.block_results import BLOCK_TIMED_OUT, parse_result
from autorun.events import ExecutionResultEvent, MessageEvent
from autorun.record.reader import Transcript


@dataclass(frozen=True)
class BlockResult:
    index: int
    language: str | None
    exit_code: int
    duration_s: float | None
    timed_out: bool

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass(frozen=True)
class ResultsSummary:
    total: int
    succeeded: int
    failed: int
    blocks: list[BlockResult] = field(default_factory=list)
    status: str | None = None
    exit_code: int | None = None
    source: str = "events"  # "events" | "messages"
    truncated: bool = False


def summarise_results(transcript: Transcript) -> ResultsSummary:
    """Totals and per-block results of a transcript (its execution events, else its result messages)."""
    blocks = [_block_from_event(result) for result in transcript.of(ExecutionResultEvent)]
    source = "events"
    if not blocks:
        from_messages = _blocks_from_messages(transcript.of(MessageEvent))
        if from_messages:
            blocks, source = from_messages, "messages"
    end = transcript.end
    succeeded = sum(1 for b in blocks if b.succeeded)
    return ResultsSummary(
        total=len(blocks),
        succeeded=succeeded,
        failed=len(blocks) - succeeded,
        blocks=blocks,
        status=end.status if end is not None else None,
        exit_code=end.exit_code if end is not None else None,
        source=source,
        truncated=transcript.truncated,
    )


def _block_from_event(result: ExecutionResultEvent) -> BlockResult:
    return BlockResult(result.index, result.language, result.exit_code, result.duration_s, result.timed_out)


def _blocks_from_messages(messages: Sequence[MessageEvent]) -> list[BlockResult]:
    blocks: list[BlockResult] = []
    for message in messages:
        result = parse_result(message.content)
        if result is None:
            continue
        timed_out = result.exit_code == BLOCK_TIMED_OUT and "timed out" in result.output
        blocks.append(BlockResult(len(blocks) + 1, None, result.exit_code, None, timed_out))
    return blocks


def format_results_text(summary: ResultsSummary) -> str:
    lines = [
        f"Total code executions: {summary.total}",
        f"Successful: {summary.succeeded}",
        f"Failed: {summary.failed}",
    ]
    if summary.blocks:
        lines += ["", f"{'block':>5}  {'language':<8}  {'exit':>4}  {'duration':>9}"]
        for b in summary.blocks:
            duration = f"{b.duration_s:.2f} s" if b.duration_s is not None else "-"
            note = "  timed out" if b.timed_out else ""
            lines.append(f"{b.index:>5}  {b.language or '-':<8}  {b.exit_code:>4}  {duration:>9}{note}")
    lines.append("")
    if summary.status is not None:
        lines.append(f"Session: {summary.status} (exit code {summary.exit_code})")
    else:
        lines.append("Session: no session_end record (the session did not finish)")
    if summary.source == "messages":
        lines.append("(counted from 'exitcode:' messages: this transcript has no execution events)")
    if summary.truncated:
        lines.append("(the transcript's last line was cut off mid-write and was ignored)")
    return "\n".join(lines)


def totals_text(summaries: Sequence[ResultsSummary]) -> str:
    """The one line that adds up several sessions' results."""
    total = sum(summary.total for summary in summaries)
    succeeded = sum(summary.succeeded for summary in summaries)
    ended_ok = sum(summary.exit_code == 0 for summary in summaries)
    return (
        f"All {len(summaries)} sessions: {total} code executions, {succeeded} successful, {total - succeeded} failed; "
        f"{ended_ok} of {len(summaries)} sessions ended with exit code 0"
    )


def results_to_json(summary: ResultsSummary) -> dict[str, Any]:
    data = asdict(summary)
    for block, result in zip(data["blocks"], summary.blocks, strict=True):
        block["succeeded"] = result.succeeded
    return data
