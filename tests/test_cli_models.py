"""`autorun analyse` against an OpenAI-compatible server (the fake on 127.0.0.1), through the real CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SAMPLE, autorun_cmd, transcripts
from tests.fake_openai_server import FakeOpenAIServer

FAILING = "Let me load it.\n```python\nimport pandas as pd\ndf = pd.read_csv(DATA)\n```\n"
FIXED = (
    "The name was wrong; fixed.\n```python\nimport pandas as pd\n"
    f"df = pd.read_csv({str(SAMPLE)!r})\n"
    "print(df.groupby('region')['revenue'].sum().to_dict())\n```\n"
)
DONE = "North leads with 31,800.\nTERMINATE"


def run_cli(server: FakeOpenAIServer, work: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        autorun_cmd(
            "analyse",
            str(SAMPLE),
            "--model",
            "fake-analyst",
            "--base-url",
            server.base_url,
            "--work-dir",
            str(work),
            "--json",
            *extra,
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def transcript(work: Path) -> list[dict]:
    (path,) = transcripts(work)
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_turns_with_a_fix_exit_0_and_record_usage(tmp_path: Path, clean_env) -> None:
    steps = [
        {"reply": FAILING, "usage": {"prompt_tokens": 300, "completion_tokens": 20}},
        {"reply": FIXED, "usage": {"prompt_tokens": 400, "completion_tokens": 40}},
        {"reply": DONE, "usage": {"prompt_tokens": 500, "completion_tokens": 10}},
    ]
    with FakeOpenAIServer(steps) as server:
        proc = run_cli(server, tmp_path, clean_env)
        requests = server.chat_requests
    assert proc.returncode == 0, proc.stderr
    results = [e for e in map(json.loads, proc.stdout.splitlines()) if e["event"] == "execution_result"]
    assert [r["exit_code"] for r in results] == [1, 0]
    assert "NameError" in results[0]["output"] and "31800" in results[1]["output"]
    second_request = requests[1]["body"]["messages"]
    assert second_request[0]["role"] == "system" and str(SAMPLE) in second_request[0]["content"]
    assert second_request[-1]["content"].startswith("exitcode: 1 (execution failed)\nCode output:\n")
    end = transcript(tmp_path)[-1]
    assert end["event"] == "session_end" and end["exit_code"] == 0
    assert end["usage"] == {"prompt_tokens": 1200, "completion_tokens": 70, "total_tokens": 1270}


def test_usage_is_null_when_the_server_gives_none(tmp_path: Path, clean_env) -> None:
    with FakeOpenAIServer([{"reply": DONE, "usage": None}]) as server:
        proc = run_cli(server, tmp_path, clean_env)
    assert proc.returncode == 0, proc.stderr
    records = transcript(tmp_path)
    assert records[-1]["usage"] is None
    assert [r["usage"] for r in records if r["event"] == "message" and r["role"] == "assistant"] == [None]


@pytest.mark.parametrize(
    ("steps", "extra", "message"),
    [
        ([{"fault": "401"}], [], "authentication failed at"),
        ([{"fault": "404"}], [], "fake-analyst"),
        ([{"fault": "500"}] * 3, ["--config", "RETRIES"], "500"),
        ([{"fault": "cut", "reply": FIXED, "after_chunks": 4}] * 3, ["--config", "RETRIES"], "kept breaking"),
    ],
    ids=["401", "404-model", "500-after-retries", "stream-cut-after-retries"],
)
def test_model_faults_exit_3_with_a_valid_transcript(tmp_path: Path, clean_env, steps, extra, message) -> None:
    config = tmp_path / "retries.yaml"
    config.write_text("model:\n  max_retries: 2\n  request_timeout: 5\n")
    extra = [str(config) if arg == "RETRIES" else arg for arg in extra]
    env = {**clean_env, "OPENAI_API_KEY": "sk-test-not-real"}
    with FakeOpenAIServer(steps) as server:
        proc = run_cli(server, tmp_path, env, *extra)
    assert proc.returncode == 3, proc.stderr
    assert message in proc.stderr.splitlines()[-1]
    assert "sk-test-not-real" not in proc.stderr + proc.stdout
    records = transcript(tmp_path)
    assert records[0]["event"] == "session_start"
    assert records[-1]["event"] == "session_end" and records[-1]["exit_code"] == 3
    assert "sk-test-not-real" not in json.dumps(records)


def test_partial_reply_is_recorded_as_partial(tmp_path: Path, clean_env) -> None:
    config = tmp_path / "retries.yaml"
    config.write_text("model:\n  max_retries: 1\n")
    steps = [{"fault": "cut", "reply": FIXED, "after_chunks": 4}] * 2
    with FakeOpenAIServer(steps) as server:
        proc = run_cli(server, tmp_path, clean_env, "--config", str(config))
    assert proc.returncode == 3
    partial = [r for r in transcript(tmp_path) if r["event"] == "message" and r.get("partial")]
    assert len(partial) == 1 and FIXED.startswith(partial[0]["content"])


def test_connection_refused_names_the_url(tmp_path: Path, clean_env) -> None:
    proc = subprocess.run(
        autorun_cmd(
            "analyse", str(SAMPLE), "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--work-dir", str(tmp_path)
        ),
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3
    assert "http://127.0.0.1:9/v1" in proc.stderr
