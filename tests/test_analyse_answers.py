"""`autorun analyse FILE -q QUESTION --answer-format FORMAT [--context PATH]`: the answer contract eval uses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import SAMPLE, autorun_cmd
from tests.fake_openai_server import FakeOpenAIServer

FORMAT = "@total_revenue[value] where value is an integer"


def _analyse(server: FakeOpenAIServer, tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = autorun_cmd(
        "analyse", str(SAMPLE), "--model", "scripted", "--base-url", server.base_url, "--work-dir", str(tmp_path / "w")
    )
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=300, env=env)


def test_answer_format_asks_for_the_fields_and_session_end_has_the_answers(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    replies = [
        {"reply": "```python\nprint('@total_revenue[1]')\n```"},
        {"reply": "First @total_revenue[90000], corrected: @total_revenue[91100] (@units[1089]).\nTERMINATE"},
    ]
    with FakeOpenAIServer(replies) as server:
        proc = _analyse(server, tmp_path, clean_env, "-q", "Total revenue?", "--answer-format", FORMAT, "--json")
        opening = server.chat_requests[0]["body"]["messages"][1]["content"]
    assert proc.returncode == 0, proc.stderr
    end = json.loads(proc.stdout.splitlines()[-1])
    assert end["event"] == "session_end"
    assert end["answers"] == {"total_revenue": "91100", "units": "1089"}, "the final message's, the last of a name"
    assert opening.startswith("Total revenue?\n\n") and opening.endswith(FORMAT) and "@name[value]" in opening


def test_without_answer_format_session_end_has_no_answers(tmp_path: Path, clean_env: dict[str, str]) -> None:
    with FakeOpenAIServer([{"reply": "@total_revenue[91100]\nTERMINATE"}]) as server:
        proc = _analyse(server, tmp_path, clean_env, "-q", "Total revenue?", "--json")
        opening = server.chat_requests[0]["body"]["messages"][1]["content"]
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["answers"] is None and opening == "Total revenue?"


def test_answer_format_needs_a_question(tmp_path: Path, clean_env: dict[str, str]) -> None:
    with FakeOpenAIServer([]) as server:
        proc = _analyse(server, tmp_path, clean_env, "--answer-format", FORMAT)
        assert server.chat_requests == []
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "autorun: error: --answer-format needs --question: it says how the answer to that question is to be given"
    ]


def test_a_context_file_is_readable_by_the_sandboxed_code_and_named_to_the_model(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    notes = tmp_path / "docs" / "notes.md"
    notes.parent.mkdir()
    notes.write_text("Revenue is in euros.\n")
    replies = [{"reply": f"```sh\ncat {notes}\n```"}, {"reply": "FINAL ANSWER: euros\nTERMINATE"}]
    with FakeOpenAIServer(replies) as server:
        args = ["-q", "Which currency?", "--answer-format", "One word.", "--context", str(notes), "--sandbox"]
        proc = _analyse(server, tmp_path, clean_env, *args, "--json")
        system = server.chat_requests[0]["body"]["messages"][0]["content"]
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    [result] = [e for e in events if e["event"] == "execution_result"]
    assert result["exit_code"] == 0 and "Revenue is in euros." in result["output"]
    assert f"- {notes} (21 B)" in system and events[-1]["answers"] == {"answer": "euros"}


def test_a_missing_context_file_is_refused(tmp_path: Path, clean_env: dict[str, str]) -> None:
    with FakeOpenAIServer([]) as server:
        proc = _analyse(server, tmp_path, clean_env, "-q", "Why?", "--context", str(tmp_path / "nope.md"))
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    missing = tmp_path / "nope.md"
    assert line == f"autorun: error: context file {missing}: not a readable file; check the path given to --context"
