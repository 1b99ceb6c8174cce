"""A block's result text and exit codes have one home: what the loop sends is what every reader takes back."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from autorun.block_results import (
    BLOCK_INTERRUPTED,
    BLOCK_KILLED,
    BLOCK_TIMED_OUT,
    ResultText,
    format_result,
    oom_line,
    parse_result,
    timeout_line,
)
from autorun.errors import ExitCode
from autorun.events import MessageEvent, SessionStart
from autorun.export.report import Prose, build_report
from autorun.record.reader import read_transcript
from autorun.render.common import shows_message
from autorun.transcripts.results import summarise_results
from autorun.transcripts.store import TranscriptWriter

RESULTS = [
    ("exitcode: 0 (execution succeeded)\nCode output:\n42\n", ResultText(0, "42\n")),
    ("exitcode: 1 (execution failed)\nCode output: NameError", ResultText(1, "NameError")),  # AutoGen's own
    ("\n  exitcode: 124 (execution failed)\n", ResultText(124, "\n")),  # hand-made: no output line
    ("exitcode: -9 (execution failed)\nCode output:\n", ResultText(-9, "")),
]
NOT_RESULTS = [
    "exitcode: 0 (ok)",
    "The exitcode: 0 (execution succeeded) was fine.",
    "exitcode: zero (execution failed)\nCode output:\n",
    "Analyse sales.csv",
]


@pytest.mark.parametrize("exit_code", [0, 1, BLOCK_TIMED_OUT, BLOCK_INTERRUPTED, BLOCK_KILLED, -9])
@pytest.mark.parametrize("output", ["", "a\nb\n", "\n  indented", " spaced", "exitcode: 0 (execution succeeded)\n"])
def test_what_format_result_writes_parse_result_reads_back(exit_code: int, output: str) -> None:
    assert parse_result(format_result(exit_code, output)) == ResultText(exit_code, output)


def test_the_output_is_capped_as_the_model_gets_it() -> None:
    text = format_result(1, "x" * 1000, limit=100)
    assert text.startswith("exitcode: 1 (execution failed)\nCode output:\n")
    assert "[... 900 characters omitted ...]" in text and len(text) < 200


@pytest.mark.parametrize(("text", "expected"), RESULTS)
def test_results_as_others_write_them_are_read(text: str, expected: ResultText) -> None:
    assert parse_result(text) == expected


@pytest.mark.parametrize("text", NOT_RESULTS)
def test_other_text_is_no_result(text: str) -> None:
    assert parse_result(text) is None


def test_the_exit_codes_autorun_gives_a_block_are_a_shells() -> None:
    assert BLOCK_TIMED_OUT == 124  # timeout(1), AutoGen
    assert BLOCK_INTERRUPTED == 128 + signal.SIGINT
    assert BLOCK_KILLED == 128 + signal.SIGKILL
    assert ExitCode.INTERRUPTED == BLOCK_INTERRUPTED and not isinstance(BLOCK_INTERRUPTED, ExitCode)


def test_the_lines_added_to_a_stopped_blocks_output() -> None:
    assert timeout_line(5.0) == "timed out after 5 s" and timeout_line(0.5) == "timed out after 0.5 s"
    assert oom_line(1024**3) == "killed: out of memory (limit 1 GiB)"


def test_every_reader_takes_the_same_messages_for_results(tmp_path: Path) -> None:
    """The renderers hide, the report leaves out and `autorun results` counts exactly the result messages."""
    texts = [text for text, _ in RESULTS] + NOT_RESULTS
    messages = [MessageEvent(role="user", name="executor", content=text, turn=1) for text in texts]
    assert [not shows_message(m) for m in messages] == [parse_result(t) is not None for t in texts]
    path = tmp_path / "t.jsonl"
    writer = TranscriptWriter(path)
    writer.handle(SessionStart("s1", "m", "local", str(tmp_path), None, str(path)))
    for message in messages:
        writer.handle(message)
    writer.close()
    transcript = read_transcript(path)
    summary = summarise_results(transcript)
    assert [b.exit_code for b in summary.blocks] == [r.exit_code for _, r in RESULTS]
    assert [b.timed_out for b in summary.blocks] == [False, False, False, False]  # no "timed out" in the output
    prose = [item.text for item in build_report(transcript).items if isinstance(item, Prose)]
    assert prose == NOT_RESULTS
