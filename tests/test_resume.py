"""Resume reproduces the session: `--resume` (an id prefix or a path) reuses the recorded model,
endpoint, config file, work dir and executor, warns when something given now differs, and of a
transcript from outside the protected record uses only the messages. The printed hint is a
command that works from anywhere."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from autorun.record.state import STATE_DIR_ENV
from autorun.transcripts.resume import plan_resume
from tests.conftest import SAMPLE, run_autorun, stored_transcript, transcripts
from tests.fake_openai_server import FakeOpenAIServer

MODEL = "fake-analyst"
HINT = "autorun: continue this chat later with: "
DIFFERS = "differs from the session it continues"


def session_start(transcript: Path) -> dict:
    return json.loads(transcript.read_text(encoding="utf-8").splitlines()[0])


def hint_of(stderr: str) -> list[str]:
    return shlex.split(next(line[len(HINT) :] for line in stderr.splitlines() if line.startswith(HINT)))


def replies(*texts: str) -> FakeOpenAIServer:
    return FakeOpenAIServer([{"reply": f"{text}\n\nTERMINATE"} for text in texts]).start()


@pytest.fixture
def env(tmp_path: Path, clean_env: dict[str, str]) -> dict[str, str]:
    """A state dir of this test's own: the hint's id is then surely this session's alone."""
    return clean_env | {STATE_DIR_ENV: str(tmp_path / "state")}


def test_the_printed_hint_resumes_with_the_same_model_and_work_dir(tmp_path: Path, env: dict[str, str]) -> None:
    server = replies("First answer.", "Second answer.")
    try:
        here, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
        here.mkdir()
        elsewhere.mkdir()
        (here / "c.yaml").write_text(
            f"model:\n  name: {MODEL}\n  base_url: {server.base_url}\nsession:\n  human_input_mode: NEVER\n",
            encoding="utf-8",
        )
        first = run_autorun(
            ["chat", str(SAMPLE), "--config", "c.yaml", "--work-dir", "ws2"], here, env, "hello\n/exit\n"
        )
        assert first.returncode == 0, first.stderr
        (transcript,) = transcripts(here / "ws2", env)
        start = session_start(transcript)
        assert start["model"] == MODEL and start["work_dir"] == str(here / "ws2")
        assert start["config"]["model"]["base_url"] == server.base_url and start["executor"]
        assert start["config_files"] == [str(here / "c.yaml")]

        argv = hint_of(first.stderr)
        assert argv == ["autorun", "chat", "--resume", start["session_id"], "--human-input-mode", "NEVER"]
        second = subprocess.run(
            [sys.executable, "-m", *argv],
            cwd=elsewhere,
            env=env | {"NO_COLOR": "1"},
            input="again\n/exit\n",
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert second.returncode == 0, second.stderr
        assert "Second answer." in second.stdout
        assert DIFFERS not in second.stderr
        request = server.chat_requests[1]["body"]
        assert request["model"] == MODEL
        assert [m["content"] for m in request["messages"] if m["role"] == "user"][-2:] == ["hello", "again"]
        assert str(SAMPLE) in request["messages"][0]["content"], "the session's data file is described again"
        # the resumed session's own transcript; by name it may sort first when both started in one second
        (newest,) = [path for path in transcripts(here / "ws2", env) if path != transcript]
        again = session_start(newest)
        assert (again["work_dir"], again["executor"], again["config_files"]) == (
            str(here / "ws2"),
            start["executor"],
            [str(here / "c.yaml")],
        )
        assert not (elsewhere / "coding_workspace").exists()
        assert hint_of(second.stderr)[3] == again["session_id"], "the resumed chat's hint names the new session"
    finally:
        server.stop()


def test_a_bare_resume_by_id_prefix_reuses_model_endpoint_work_dir_and_executor(
    tmp_path: Path, env: dict[str, str]
) -> None:
    server = replies("Answer.", "Later answer.")
    try:
        args = ["chat", str(SAMPLE), "--model", MODEL, "--base-url", server.base_url, "--work-dir", "ws", "--local"]
        first = run_autorun([*args, "--human-input-mode", "NEVER"], tmp_path, env, "hello\n/exit\n")
        assert first.returncode == 0, first.stderr
        (transcript,) = transcripts(tmp_path / "ws", env)
        session_id = session_start(transcript)["session_id"]
        (tmp_path / "other").mkdir()
        bare = run_autorun(["chat", "--resume", session_id[:4]], tmp_path / "other", env, "again\n/exit\n")
        assert bare.returncode == 0, bare.stderr
    finally:
        server.stop()
    assert DIFFERS not in bare.stderr
    assert server.chat_requests[1]["body"]["model"] == MODEL, "the recorded model, at the recorded endpoint"
    again = session_start(transcripts(tmp_path / "ws", env)[-1])
    assert (again["model"], again["executor"], again["work_dir"]) == (MODEL, "local", str(tmp_path / "ws"))
    assert again["config"]["model"]["base_url"] == server.base_url
    assert not (tmp_path / "other" / "coding_workspace").exists()


def test_what_is_given_now_wins_and_the_warning_names_only_it(tmp_path: Path, env: dict[str, str]) -> None:
    server = replies("Answer.")
    try:
        args = ["chat", str(SAMPLE), "--model", MODEL, "--base-url", server.base_url, "--work-dir", "ws"]
        first = run_autorun([*args, "--human-input-mode", "NEVER"], tmp_path, env, "hello\n/exit\n")
        assert first.returncode == 0, first.stderr
    finally:
        server.stop()
    (transcript,) = transcripts(tmp_path / "ws", env)
    (tmp_path / "other").mkdir()
    bare = run_autorun(["chat", "--resume", str(transcript), "--model", "builtin"], tmp_path / "other", env, "/exit\n")
    assert bare.returncode == 0, bare.stderr
    warning = next(line for line in bare.stderr.splitlines() if DIFFERS in line)
    assert f"{DIFFERS}: model {MODEL}, now builtin (what is given now" in warning
    assert "endpoint" not in warning and "work dir" not in warning and "executor" not in warning
    assert session_start(transcripts(tmp_path / "ws", env)[-1])["model"] == "builtin"


def test_of_a_transcript_from_elsewhere_only_the_messages_are_used(tmp_path: Path, env: dict[str, str]) -> None:
    """A copy outside the record could be forged: its endpoint (where the API key would go), work dir,
    executor and data file are not used, and one line says so."""
    legit, forged = replies("Recorded answer.", "Legit answer."), replies("Forged server answer.")
    try:
        args = ["chat", str(SAMPLE), "--model", MODEL, "--base-url", legit.base_url, "--work-dir", "ws"]
        first = run_autorun([*args, "--human-input-mode", "NEVER"], tmp_path, env, "hello\n/exit\n")
        assert first.returncode == 0, first.stderr
        (transcript,) = transcripts(tmp_path / "ws", env)
        secret = tmp_path / "secret.csv"
        secret.write_text("password\nhunter2\n", encoding="utf-8")
        copy = tmp_path / "downloaded.jsonl"
        text = transcript.read_text(encoding="utf-8")
        copy.write_text(
            text.replace(legit.base_url, forged.base_url).replace(str(SAMPLE), str(secret)), encoding="utf-8"
        )
        here = tmp_path / "here"
        here.mkdir()
        (here / "autorun.yaml").write_text(f"model:\n  base_url: {legit.base_url}\n", encoding="utf-8")
        resumed = run_autorun(
            ["chat", "--resume", str(copy), "--model", MODEL, "--human-input-mode", "NEVER"],
            here,
            env | {"OPENAI_API_KEY": "sk-user-key"},
            "again\n/exit\n",
        )
    finally:
        legit.stop()
        forged.stop()
    assert resumed.returncode == 0, resumed.stderr
    assert forged.chat_requests == [], "the forged endpoint never hears from autorun"
    assert "Legit answer." in resumed.stdout
    notes = [line for line in resumed.stderr.splitlines() if "is not in autorun's session record" in line]
    assert notes == [
        f"autorun: {copy} is not in autorun's session record, so only its messages are resumed, not its model, "
        "endpoint, work dir, executor or data file (a file from elsewhere could name any of them); "
        "give them as options"
    ]
    request = legit.chat_requests[1]["body"]
    assert [m["content"] for m in request["messages"] if m["role"] == "user"] == ["hello", "again"]
    assert "secret.csv" not in json.dumps(request), "the forged data file is not shown to the model"
    assert DIFFERS not in resumed.stderr
    assert transcripts(here / "coding_workspace", env), "the work dir is this run's own, not the file's"


def test_a_recorded_config_file_is_reused_only_while_it_is_out_of_the_codes_reach(
    tmp_path: Path, env: dict[str, str]
) -> None:
    server = replies("Answer.")
    ws = tmp_path / "ws"
    ws.mkdir()
    planted = ws / "team.yaml"  # inside the work dir: code run there could rewrite it
    planted.write_text(f"model:\n  name: {MODEL}\n  base_url: {server.base_url}\n", encoding="utf-8")
    try:
        first = run_autorun(
            ["chat", str(SAMPLE), "--config", str(planted), "--work-dir", "ws", "--human-input-mode", "NEVER"],
            tmp_path,
            env,
            "hello\n/exit\n",
        )
        assert first.returncode == 0, first.stderr
    finally:
        server.stop()
    (transcript,) = transcripts(ws, env)
    plan = plan_resume(str(transcript), {"model.name": None}, None, env)
    assert plan.config_file is None
    assert plan.notices == (
        f"the session's config file {planted} lies in the work dir {ws}, where code could have rewritten it, "
        f"so it is not read again; if you trust it, pass --config {planted}",
    )
    assert plan.flags["model.name"] == MODEL and plan.flags["model.base_url"] == server.base_url
    assert plan.flags["executor.work_dir"] == str(ws)

    named = plan_resume(str(transcript), {"model.name": "builtin"}, tmp_path / "mine.yaml", env)
    assert (named.flags["model.name"], named.config_file, named.notices) == ("builtin", tmp_path / "mine.yaml", ())
    by_env = plan_resume(str(transcript), {}, None, env | {"AUTORUN_MODEL_NAME": "gpt-4o"})
    assert "model.name" not in by_env.flags, "an AUTORUN_* variable given now wins over the record"

    gone = tmp_path / "gone.yaml"
    start = {"event": "session_start", "session_id": "g", "model": "builtin", "executor": "local", "work_dir": "/w"}
    start |= {"data_file": None, "transcript": None, "config_files": [str(gone)]}
    message = {"event": "message", "role": "user", "name": "user", "content": "hi", "turn": 0}
    lone = stored_transcript(tmp_path / "w2", [start, message], env)
    assert plan_resume(str(lone), {}, None, env).notices == (
        f"the session's config file {gone} is gone: resuming without it",
    )
