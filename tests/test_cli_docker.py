"""End to end through the CLI with the real Docker engine: right figures, and no container left behind."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from autorun.executors.docker.executor import SESSION_LABEL
from tests.conftest import SAMPLE, autorun_cmd, stored_transcript, transcripts
from tests.docker_fixtures import TEST_IMAGE, docker_client, require_engine, runtime_image  # noqa: F401

require_engine()
pytestmark = pytest.mark.docker


def transcript_records(work: Path) -> list[dict]:
    (path,) = transcripts(work)
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def engine(docker_client):  # noqa: F811 (the imported fixture)
    return docker_client


def containers_of(engine, session_id: str) -> list:
    return engine.containers.list(all=True, filters={"label": f"{SESSION_LABEL}={session_id}"})


def test_analyse_in_docker_prints_correct_figures(tmp_path: Path, clean_env, engine, runtime_image) -> None:  # noqa: F811
    work = tmp_path / "w"
    proc = subprocess.run(
        autorun_cmd("analyse", str(SAMPLE), "--model", "builtin", "--docker", runtime_image, "--work-dir", str(work)),
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(SAMPLE)
    assert f"{df[df['product'] == 'Widget Pro']['revenue'].sum():,.0f}" in proc.stdout
    assert f"{df[df['region'] == 'North']['revenue'].sum():,.0f}" in proc.stdout
    assert "2026-03 with 36,200" in proc.stdout
    records = transcript_records(work)
    assert records[0]["executor"] == "docker"
    assert containers_of(engine, records[0]["session_id"]) == []
    peak = records[-1]["peak_memory_bytes"]  # read from the container's cgroup before it is removed
    assert records[-1]["event"] == "session_end" and 20 * 2**20 < peak < 2**30
    assert "memory:     peak" in proc.stdout


def _replay_transcript(recorded_in: Path, code: str) -> Path:
    message = {"event": "message", "role": "assistant", "name": "recorded", "turn": 1, "content": f"```sh\n{code}\n```"}
    return stored_transcript(recorded_in, [message])


@pytest.mark.parametrize("executor_flags", [["--docker", TEST_IMAGE], ["--local"]], ids=["docker", "local"])
def test_sigterm_mid_block_exits_143_and_leaves_nothing(tmp_path: Path, clean_env, engine, executor_flags):
    work = tmp_path / "w"
    marker = f"300.{time.monotonic_ns() % 100000}"
    replay = _replay_transcript(tmp_path / "recorded", f"echo started; sleep {marker}")
    proc = subprocess.Popen(
        autorun_cmd(
            "analyse", str(SAMPLE), "--model", f"replay:{replay}", *executor_flags, "--work-dir", str(work), "--json"
        ),
        env=clean_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line)["event"] == "execution_output" and "started" in line:
            break
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    records = transcript_records(work)
    assert [r["event"] for r in records][-2:] == ["interrupted", "session_end"]
    assert records[-1]["status"] == "interrupted" and records[-1]["exit_code"] == 143
    assert containers_of(engine, records[0]["session_id"]) == []
    leftover = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    assert leftover.stdout == "", "the block's process outlived autorun"


def test_builtin_roles_in_the_runtime_image(tmp_path: Path, clean_env, engine, runtime_image) -> None:  # noqa: F811
    """The builtin's blocks (roles, published figures) run on the runtime image's pandas and DuckDB."""
    from autorun.analyst.report import fmt
    from tests.test_analyst_datasets import penguins

    df = penguins(tmp_path / "penguins.csv")
    work = tmp_path / "w"
    proc = subprocess.run(
        autorun_cmd("analyse", str(tmp_path / "penguins.csv"), "--model", "builtin", "--docker", runtime_image,
                    "--work-dir", str(work), "--quiet"),
        env=clean_env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    by_species = df.groupby("species")["body_mass_g"].mean().sort_values(ascending=False)
    assert "- Mean body_mass_g by species: " + ", ".join(f"{k} {fmt(v)}" for k, v in by_species.items()) in proc.stdout
    assert "total body_mass_g" not in proc.stdout and "autorun-facts" not in proc.stdout
    assert not list(work.rglob("facts-*.json")) and not (work / ".autorun" / "analyst").exists()
    chart = work / "chart-mean-body-mass-g-by-species.png"  # drawn by the image's matplotlib
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_an_image_without_duckdb_is_named_at_session_start(tmp_path: Path, clean_env, engine) -> None:
    replay = _replay_transcript(tmp_path / "rec.jsonl", "echo hi")
    proc = subprocess.run(
        autorun_cmd("analyse", str(SAMPLE), "--model", f"replay:{replay}", "--docker", TEST_IMAGE, "--work-dir",
                    str(tmp_path / "w")),
        env=clean_env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    lines = [line for line in proc.stderr.splitlines() if f"Docker image {TEST_IMAGE} has no" in line]
    assert len(lines) == 1, proc.stderr
    assert "duckdb" in lines[0] and "pandas" not in lines[0].split("has no")[1].split(":")[0]
    assert "autorun image build" in lines[0]
