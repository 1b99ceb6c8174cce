"""`autorun results`: counting executions from a transcript, ours or a tutorial-style chat history."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from autorun.errors import ConfigError
from autorun.events import CodeBlockEvent, ExecutionResultEvent, MessageEvent, SessionEnd
from autorun.executors.local.executor import LocalExecutor
from autorun.record.reader import read_transcript
from autorun.render.sinks import Fanout, PlainRenderer
from autorun.session.loop import Session
from autorun.transcripts.results import format_results_text, results_to_json, summarise_results
from autorun.transcripts.store import TranscriptWriter
from tests.scripted import ScriptedModel


def py(code: str) -> str:
    return f"```python\n{code}\n```"


def write_events(path: Path, events) -> Path:
    writer = TranscriptWriter(path)
    for event in events:
        writer.handle(event)
    writer.close()
    return path


def end(status: str = "terminated", exit_code: int = 1) -> SessionEnd:
    return SessionEnd(status, exit_code, "r", 4, 3, 2, 1, 2.0, "m", "local", "/w", None)


def three_executions() -> list:
    return [
        ExecutionResultEvent(1, "python", 0, 0.5, False, "a\n"),
        MessageEvent(role="user", name="executor", content="exitcode: 0 (execution succeeded)\n", turn=1),
        ExecutionResultEvent(2, "sh", 0, 0.25, False, "b\n"),
        MessageEvent(role="user", name="executor", content="exitcode: 0 (execution succeeded)\n", turn=2),
        ExecutionResultEvent(3, "python", 1, 1.0, False, "Traceback\n"),
        MessageEvent(role="user", name="executor", content="exitcode: 1 (execution failed)\n", turn=3),
        end(),
    ]


def test_counts_execution_events_once_each(tmp_path: Path) -> None:
    summary = summarise_results(read_transcript(write_events(tmp_path / "t.jsonl", three_executions())))
    assert (summary.total, summary.succeeded, summary.failed) == (3, 2, 1)
    assert [(b.index, b.language, b.exit_code) for b in summary.blocks] == [
        (1, "python", 0),
        (2, "sh", 0),
        (3, "python", 1),
    ]
    assert [b.duration_s for b in summary.blocks] == [0.5, 0.25, 1.0]
    assert (summary.status, summary.exit_code, summary.source) == ("terminated", 1, "events")


def test_text_report_reads_like_the_tutorial(tmp_path: Path) -> None:
    summary = summarise_results(read_transcript(write_events(tmp_path / "t.jsonl", three_executions())))
    text = format_results_text(summary)
    assert text.startswith("Total code executions: 3\nSuccessful: 2\nFailed: 1\n")
    assert "    3  python       1     1.00 s" in text
    assert "Session: terminated (exit code 1)" in text


def test_json_report_is_serialisable_and_complete(tmp_path: Path) -> None:
    summary = summarise_results(read_transcript(write_events(tmp_path / "t.jsonl", three_executions())))
    data = json.loads(json.dumps(results_to_json(summary)))
    assert (data["total"], data["succeeded"], data["failed"]) == (3, 2, 1)
    assert data["blocks"][2] == {
        "index": 3,
        "language": "python",
        "exit_code": 1,
        "duration_s": 1.0,
        "timed_out": False,
        "succeeded": False,
    }
    assert data["status"] == "terminated" and data["exit_code"] == 1


def test_a_timeout_counts_as_failed_and_is_marked(tmp_path: Path) -> None:
    events = [ExecutionResultEvent(1, "sh", 124, 5.0, True, "timed out after 5 s")]
    summary = summarise_results(read_transcript(write_events(tmp_path / "t.jsonl", events)))
    assert (summary.total, summary.failed) == (1, 1) and summary.blocks[0].timed_out
    assert "timed out" in format_results_text(summary)


def test_tutorial_style_message_only_history(tmp_path: Path) -> None:
    history = [
        {"role": "user", "content": "Analyse sales.csv"},
        {"role": "assistant", "content": "```python\nprint(1)\n```\nThen check the exitcode: 0 (ok)."},
        {"role": "user", "content": "exitcode: 0 (execution succeeded)\nCode output:\n1\n"},
        {"role": "assistant", "content": "```python\nboom\n```"},
        {"role": "user", "content": "exitcode: 1 (execution failed)\nCode output:\nNameError\n"},
        {"role": "assistant", "content": "```python\nprint(2)\n```"},
        {"role": "user", "content": "exitcode: 0 (execution succeeded)\nCode output:\n2\n"},
        {"role": "assistant", "content": "TERMINATE"},
    ]
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(m) + "\n" for m in history))
    summary = summarise_results(read_transcript(path))
    assert (summary.total, summary.succeeded, summary.failed) == (3, 2, 1)
    assert [b.exit_code for b in summary.blocks] == [0, 1, 0]
    assert summary.source == "messages" and summary.status is None
    text = format_results_text(summary)
    assert "Total code executions: 3" in text and "no session_end record" in text


def test_message_events_are_parsed_when_there_are_no_execution_events(tmp_path: Path) -> None:
    events = [
        MessageEvent(
            role="user",
            name="executor",
            content="exitcode: 124 (execution failed)\nCode output:\ntimed out after 5 s",
            turn=1,
        ),
        CodeBlockEvent(index=1, language="sh", code="exitcode: 0 (execution succeeded)", turn=1),
    ]
    summary = summarise_results(read_transcript(write_events(tmp_path / "t.jsonl", events)))
    assert summary.total == 1 and summary.blocks[0].timed_out


def test_truncated_transcript_is_reported(tmp_path: Path) -> None:
    path = write_events(tmp_path / "t.jsonl", three_executions()[:3])
    with path.open("a") as file:
        file.write('{"event": "execution_res')
    summary = summarise_results(read_transcript(path))
    assert summary.total == 2 and summary.truncated
    assert "cut off" in format_results_text(summary)


def test_an_execution_record_without_an_integer_exit_code_is_a_config_error(tmp_path: Path) -> None:
    path = write_events(tmp_path / "t.jsonl", three_executions()[:1])
    record = json.loads(path.read_text()) | {"exit_code": "zero"}
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(ConfigError, match=r"t\.jsonl, line 1: execution_result\.exit_code must be an integer"):
        read_transcript(path)


@pytest.mark.parametrize("text", ["", "\n\n", '{}\n{"hello": 1}\n', '{"event": "something_else"}\n'])
def test_an_empty_or_event_less_file_is_an_error_not_zero_executions(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"empty|holds no autorun events"):
        read_transcript(path)


def test_results_of_an_empty_transcript_exit_2(tmp_path: Path, clean_env: dict[str, str]) -> None:
    import subprocess

    from tests.conftest import autorun_cmd

    for text in ("", "{}\n"):
        path = tmp_path / "t.jsonl"
        path.write_text(text)
        done = subprocess.run(autorun_cmd("results", str(path)), capture_output=True, text=True, env=clean_env)
        assert done.returncode == 2, done.stdout
        assert done.stderr.count("\n") == 1 and ("no autorun events" in done.stderr or "empty" in done.stderr)


def test_a_real_session_transcript(tmp_path: Path) -> None:
    """Session -> TranscriptWriter -> read_transcript -> summarise, with a real local executor."""
    path = tmp_path / "t.jsonl"
    replies = [py("print('one')"), py("print('two')"), py("raise SystemExit(3)"), "Done. TERMINATE"]
    out, err = io.StringIO(), io.StringIO()
    with LocalExecutor(tmp_path / "work", timeout=30) as executor:
        sink = Fanout(PlainRenderer(out, err), TranscriptWriter(path))
        Session(ScriptedModel(replies), executor, sink, transcript=str(path)).run("go")
        sink.close()
    summary = summarise_results(read_transcript(path))
    assert (summary.total, summary.succeeded, summary.failed) == (3, 2, 1)
    assert [b.exit_code for b in summary.blocks] == [0, 0, 3]
    assert summary.status == "terminated" and summary.exit_code == 1
    printed = out.getvalue()
    assert "one\n[exit 0 in" in printed and "[exit 3 in" in printed
