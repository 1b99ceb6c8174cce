"""Resume reproduces the session: the transcript records what it ran with, the printed hint is a
command that continues with the same model and work dir from anywhere, and a resume that differs
says how."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import SAMPLE, run_autorun, transcripts
from tests.fake_openai_server import FakeOpenAIServer

MODEL = "fake-analyst"
HINT = "autorun: continue this chat later with: "


def session_start(transcript: Path) -> dict:
    return json.loads(transcript.read_text(encoding="utf-8").splitlines()[0])


def test_the_printed_hint_resumes_with_the_same_model_and_work_dir(tmp_path: Path, clean_env: dict[str, str]) -> None:
    server = FakeOpenAIServer(
        [{"reply": "First answer.\n\nTERMINATE"}, {"reply": "Second answer.\n\nTERMINATE"}]
    ).start()
    try:
        here, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
        here.mkdir()
        elsewhere.mkdir()
        (here / "c.yaml").write_text(
            f"model:\n  name: {MODEL}\n  base_url: {server.base_url}\nsession:\n  human_input_mode: NEVER\n",
            encoding="utf-8",
        )
        first = run_autorun(
            ["chat", str(SAMPLE), "--config", "c.yaml", "--work-dir", "ws2"], here, clean_env, "hello\n/exit\n"
        )
        assert first.returncode == 0, first.stderr
        (transcript,) = transcripts(here / "ws2", clean_env)
        start = session_start(transcript)
        assert start["model"] == MODEL and start["work_dir"] == str(here / "ws2")
        assert start["config"]["model"]["base_url"] == server.base_url and start["executor"]
        assert start["config_files"] == [str(here / "c.yaml")]

        hint = next(line[len(HINT) :] for line in first.stderr.splitlines() if line.startswith(HINT))
        argv = shlex.split(hint)
        assert argv[:3] == ["autorun", "chat", "--resume"] and argv[3] == str(transcript)
        second = subprocess.run(
            [sys.executable, "-m", *argv],
            cwd=elsewhere,
            env=clean_env | {"NO_COLOR": "1"},
            input="again\n/exit\n",
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert second.returncode == 0, second.stderr
        assert "Second answer." in second.stdout
        assert "differs from the session it continues" not in second.stderr
        request = server.chat_requests[1]["body"]
        assert request["model"] == MODEL
        assert [m["content"] for m in request["messages"] if m["role"] == "user"][-2:] == ["hello", "again"]
        newest = transcripts(here / "ws2", clean_env)[-1]
        assert newest != transcript and session_start(newest)["work_dir"] == str(here / "ws2")
        assert not (elsewhere / "coding_workspace").exists()
    finally:
        server.stop()


def test_a_bare_resume_says_what_differs(tmp_path: Path, clean_env: dict[str, str]) -> None:
    server = FakeOpenAIServer([{"reply": "Answer.\n\nTERMINATE"}]).start()
    try:
        args = ["chat", str(SAMPLE), "--model", MODEL, "--base-url", server.base_url, "--work-dir", "ws"]
        first = run_autorun([*args, "--human-input-mode", "NEVER"], tmp_path, clean_env, "hello\n/exit\n")
        assert first.returncode == 0, first.stderr
    finally:
        server.stop()
    (transcript,) = transcripts(tmp_path / "ws", clean_env)
    (tmp_path / "other").mkdir()
    bare = run_autorun(
        ["chat", "--resume", str(transcript), "--model", "builtin"], tmp_path / "other", clean_env, "/exit\n"
    )
    assert bare.returncode == 0, bare.stderr
    warning = next(line for line in bare.stderr.splitlines() if "differs from the session it continues" in line)
    assert f"model {MODEL}, now builtin" in warning
    assert f"endpoint {server.base_url}, now OpenAI" in warning
    assert f"work dir {tmp_path / 'ws'}, now {tmp_path / 'other' / 'coding_workspace'}" in warning
