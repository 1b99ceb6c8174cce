"""Signals to autorun mid-block, the container killed from outside, the model server dying mid-stream."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE
from tests.fake_openai_server import FakeOpenAIServer
from tests.security.harness import (
    CliRun,
    check_cli,
    check_common,
    cli_command,
    cli_env,
    leftover_containers,
    leftover_processes,
    read_transcript_records,
    replies_for,
    run_probe,
)
from tests.security.probes import record

BLOCK_STARTS_AND_WAITS = """
    import pathlib, subprocess, time
    subprocess.Popen(["sleep", "60"])
    pathlib.Path("started").write_text("yes")
    print("started", flush=True)
    time.sleep(60)
"""


def wait_for(path: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_signal_to_autorun_mid_block(executor: str, tmp_path: Path, sig: signal.Signals, code: int) -> None:
    work_dir, home = tmp_path / "work", tmp_path / "home"
    home.mkdir()
    with FakeOpenAIServer([{"reply": text} for text in replies_for([BLOCK_STARTS_AND_WAITS])]) as server:
        proc = subprocess.Popen(
            cli_command(SAMPLE, server.base_url, work_dir),
            env=(env := cli_env(executor, home, timeout=120)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(work_dir / "started")
            proc.send_signal(sig)
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    run = CliRun(proc.returncode, stdout, stderr, read_transcript_records(work_dir, env), [], work_dir)
    check_cli(run, executor)
    assert run.exit_code == code, stderr
    assert [r["event"] for r in run.records][-2:] == ["interrupted", "session_end"]
    assert run.records[-2]["signal"] == sig.name
    assert f"interrupted ({sig.name})" in stderr or f"interrupted by {sig.name}" in stdout + stderr
    assert leftover_processes(work_dir) == []
    probe = "sig.sigint" if sig == signal.SIGINT else "sig.sigterm"
    gone = "the container is removed" if executor == "docker" else "the block's processes are killed"
    record(probe, executor, "contained", f"exit {code}; {gone}; the transcript ends with `interrupted`")


@pytest.mark.docker
def test_container_killed_from_outside(tmp_path: Path, docker_client: object) -> None:
    session_id = f"killed{time.monotonic_ns() % 10**8}"

    def kill_when_started() -> None:
        wait_for(tmp_path / "work" / "started")
        ids = subprocess.run(
            ["docker", "ps", "-q", "--filter", f"label=autorun.session={session_id}"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.split()
        subprocess.run(["docker", "kill", *ids], capture_output=True, timeout=30)

    killer = threading.Thread(target=kill_when_started, daemon=True)
    killer.start()
    run = run_probe("docker", tmp_path, replies_for([BLOCK_STARTS_AND_WAITS]), timeout=60, session_id=session_id)
    killer.join(timeout=30)
    check_common(run)
    assert run.exit_code == 4 and run.error is not None
    message = str(run.error)
    assert "container" in message and ("killed" in message or "stopped" in message), message
    assert leftover_containers(session_id) == []
    record("infra.container_killed", "docker", "contained", "exit 4 with one clear sentence; nothing left behind")


def test_model_server_dies_mid_stream(executor: str, tmp_path: Path) -> None:
    """The fake server runs as its own process and is SIGKILLed while it streams the second reply."""
    script = tmp_path / "script.json"
    requests_log = tmp_path / "requests.jsonl"
    steps = [
        {"reply": replies_for(["print('first block')"])[0]},
        {"fault": "slow", "after_chunks": 3, "delay": 30, "reply": "This reply never ends because the server dies"},
    ]
    script.write_text(json.dumps(steps))
    server = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "tests" / "fake_openai_server.py"),
            "--script",
            str(script),
            "--port",
            "0",
            "--record",
            str(requests_log),
            "--max-seconds",
            "120",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        work_dir, home = tmp_path / "work", tmp_path / "home"
        home.mkdir()
        env = cli_env(executor, home, {"AUTORUN_MODEL_MAX_RETRIES": "2"})
        cli = subprocess.Popen(
            cli_command(SAMPLE, f"http://127.0.0.1:{port}/v1", work_dir),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not requests_log.exists() or len(requests_log.read_text().splitlines()) < 2:
            assert time.monotonic() < deadline and cli.poll() is None, "the second request never came"
            time.sleep(0.05)
        time.sleep(0.5)
        server.kill()
        stdout, stderr = cli.communicate(timeout=90)
    finally:
        server.kill()
        server.wait(timeout=10)
    run = CliRun(cli.returncode, stdout, stderr, read_transcript_records(work_dir, env), [], work_dir)
    check_cli(run, executor)
    assert run.exit_code == 3, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("autorun: error:")]
    assert len(errors) == 1, stderr
    assert "retr" in stderr.lower(), stderr
    end = run.records[-1]
    assert end["status"] == "error" and end["exit_code"] == 3
    assert any(r["event"] == "message" and r.get("partial") for r in run.records), "the partial reply is recorded"
    record("infra.model_dies", executor, "contained", "retried, then exit 3 with one clear sentence")
