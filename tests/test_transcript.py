"""The session transcript: JSONL, one flushed line per complete event, readable after a crash."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from autorun.errors import ConfigError
from autorun.events import (
    CodeBlockEvent,
    ExecutionOutput,
    ExecutionResultEvent,
    MessageChunk,
    MessageEvent,
    MessageStart,
    Notice,
    SessionStart,
)
from autorun.record.reader import read_records, read_transcript
from autorun.transcripts.store import TranscriptWriter

CONFIG = {"model": {"name": "builtin", "api_key_env": "OPENAI_API_KEY"}, "executor": {"timeout": 60.0}}


def test_each_event_is_readable_as_soon_as_it_is_handled(tmp_path: Path) -> None:
    path = tmp_path / "sessions" / "t.jsonl"
    writer = TranscriptWriter(path)
    assert not path.exists()  # opened lazily
    events = [
        SessionStart("id1", "builtin", "local", str(tmp_path), "sales.csv", str(path), CONFIG, "2026-01-01"),
        MessageEvent(role="assistant", name="builtin", content="```python\nprint(1)\n```", turn=1),
        CodeBlockEvent(index=1, language="python", code="print(1)", turn=1),
        ExecutionResultEvent(1, "python", 0, 0.25, False, "1\n"),
    ]
    for count, event in enumerate(events, start=1):
        writer.handle(event)
        transcript = read_transcript(path)
        assert len(transcript.events) == count and not transcript.truncated
        assert transcript.events[-1] == event
    writer.close()
    writer.close()
    assert path.stat().st_mode & 0o777 == 0o600
    records = [record for _, record in read_records(path)[0]]
    start, _, _, result = records
    assert start["config"] == CONFIG
    assert result["exit_code"] == 0 and result["duration_s"] == 0.25 and result["output"] == "1\n"
    assert datetime.fromisoformat(result["ts"]).tzinfo is not None


def test_live_chunks_are_left_out_and_the_full_output_kept(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    writer = TranscriptWriter(path)
    raw = "x\x1b[2J\x1b]52;c;AAAA\x07\r\n" + "y" * 50_000
    for event in [
        Notice(text="note"),
        MessageStart(role="assistant", name="m"),
        MessageChunk(role="assistant", text="hel"),
        MessageEvent(role="assistant", name="m", content="hello", turn=1, usage={"prompt_tokens": 3}),
        ExecutionOutput(index=1, text=raw[:10]),
        ExecutionResultEvent(1, "python", 1, 1.5, False, raw),
    ]:
        writer.handle(event)
    writer.close()
    text = path.read_text(encoding="utf-8")
    assert text.isascii() and "\x1b" not in text  # raw text is JSON-escaped
    records = [record for _, record in read_records(path)[0]]
    assert [r["event"] for r in records] == ["notice", "message", "execution_result"]
    assert records[1]["usage"] == {"prompt_tokens": 3}
    assert records[2]["output"] == raw


def test_a_killed_writer_leaves_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "s" / "t.jsonl"
    child = textwrap.dedent(
        f"""
        import sys, time
        from autorun.events import Notice
        from autorun.transcripts.store import TranscriptWriter
        writer = TranscriptWriter({str(path)!r})
        for n in range(3):
            writer.handle(Notice(text=f"event {{n}}"))
        print("ready", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [e.text for e in read_transcript(path).of(Notice)] == ["event 0", "event 1", "event 2"]


def test_an_unwritable_place_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    writer = TranscriptWriter(blocker / "sessions" / "t.jsonl")
    with pytest.raises(ConfigError, match="cannot create the session transcript"):
        writer.handle(Notice(text="x"))


def write_lines(path: Path, *lines: str, newline_at_end: bool = True) -> Path:
    path.write_text("\n".join(lines) + ("\n" if newline_at_end else ""), encoding="utf-8")
    return path


def test_a_truncated_last_line_is_tolerated_and_flagged(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "t.jsonl", '{"event": "notice", "text": "a"}', '{"event": "mess', newline_at_end=False
    )
    transcript = read_transcript(path)
    assert transcript.events == (Notice(text="a"),) and transcript.truncated


def test_a_complete_last_line_without_newline_is_not_truncated(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", '{"event": "notice", "text": "a"}', '{"event": "x"}', newline_at_end=False)
    records, truncated = read_records(path)
    assert len(records) == 2 and not truncated


def test_a_bad_line_in_the_middle_names_its_line_number(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", '{"event": "notice"}', "", '{"event": oops}', '{"event": "x"}')
    with pytest.raises(ConfigError, match=r"t\.jsonl, line 3: not valid JSON"):
        read_transcript(path)


def test_a_bad_final_line_that_was_fully_written_is_an_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", '{"event": "notice"}', "date,product,region")
    with pytest.raises(ConfigError, match="line 2"):
        read_transcript(path)


def test_a_line_that_is_not_an_object_is_an_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", "[1, 2]")
    with pytest.raises(ConfigError, match="line 1: expected a JSON object"):
        read_transcript(path)


def test_a_missing_transcript_or_a_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such transcript: .*nope\.jsonl"):
        read_transcript(tmp_path / "nope.jsonl")
    with pytest.raises(ConfigError, match="is a directory"):
        read_transcript(tmp_path)
    with pytest.raises(ConfigError, match="empty"):
        read_transcript(write_lines(tmp_path / "empty.jsonl", ""))


def test_records_written_are_exactly_event_dicts_plus_ts(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    writer = TranscriptWriter(path)
    event = CodeBlockEvent(index=2, language="sh", code="ls", turn=1, will_run=False)
    writer.handle(event)
    writer.close()
    record = json.loads(path.read_text())
    assert record.pop("ts")
    assert record == event.to_dict()
