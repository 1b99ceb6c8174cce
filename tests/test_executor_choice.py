"""`executor.type: auto` end to end: the CLI flags, the header and SessionStart, doctor's rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autorun.cli import app
from autorun.config.schema import Config
from autorun.doctor import disk_check, memory_check, sandbox_check
from autorun.executors.sandbox.bwrap import sandbox_status
from tests.conftest import SAMPLE


def analyse_json(tmp_path: Path, *flags: str, path: str | None = None) -> list[dict]:
    env = {"PATH": path or os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    command = [sys.executable, "-m", "autorun", "analyse", str(SAMPLE), "--model", "builtin", "--json"]
    proc = subprocess.run(
        [*command, "--work-dir", str(tmp_path / "w"), *flags], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_auto_is_the_default_and_says_why(tmp_path: Path) -> None:
    assert Config().executor.type == "auto"
    events = analyse_json(tmp_path)
    start = events[0]
    assert start["event"] == "session_start"
    works, why = sandbox_status()
    assert start["executor"] == ("sandbox" if works else "local")
    assert start["executor_reason"] == f"auto: {why}"
    assert start["limits"].startswith("memory 1g by ") and "work dir growth 2g, free-space floor 1g" in start["limits"]
    end = events[-1]
    assert end["event"] == "session_end" and end["exit_code"] == 0
    assert "73,300" in end["final_message"] and "36,200" in end["final_message"]


def test_auto_without_bwrap_falls_back_to_local_with_one_warning(tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "sh").symlink_to("/bin/sh")
    events = analyse_json(tmp_path, path=str(bare))
    assert events[0]["executor"] == "local" and events[0]["executor_reason"] == "auto: bubblewrap is not installed"
    warnings = [e["text"] for e in events if e["event"] == "notice" and e.get("level") == "warning"]
    assert len(warnings) == 1 and "apt install bubblewrap" in warnings[0] and "\n" not in warnings[0]


def test_sandbox_and_local_flags(tmp_path: Path) -> None:
    if not sandbox_status()[0]:
        pytest.skip("bwrap cannot run here")
    assert analyse_json(tmp_path, "--sandbox")[0]["executor"] == "sandbox"
    local = analyse_json(tmp_path, "--local")[0]
    assert (local["executor"], local["executor_reason"]) == ("local", "executor.type: local")


def test_old_sandbox_key_is_an_alias(tmp_path: Path) -> None:
    if not sandbox_status()[0]:
        pytest.skip("bwrap cannot run here")
    config = tmp_path / "old.yaml"
    config.write_text("executor:\n  type: local\n  sandbox: bwrap\n")
    start = analyse_json(tmp_path, "--config", str(config))[0]
    assert start["executor"] == "sandbox" and "executor.sandbox: bwrap" in start["executor_reason"]


def test_sandbox_and_local_cannot_be_combined(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["analyse", str(SAMPLE), "--sandbox", "--local", "--work-dir", str(tmp_path / "w")], env={}
    )
    assert result.exit_code == 2 and "--sandbox and --local cannot be combined" in result.stderr


def test_doctor_rows_for_sandbox_memory_and_disk(tmp_path: Path) -> None:
    works, _why = sandbox_status()
    row = sandbox_check(Config())
    assert row.status == ("ok" if works else "warn") and "auto" in row.detail
    memory = memory_check(Config())
    assert memory.detail.startswith("executor.memory 1g by ") and memory.status in ("ok", "warn")
    assert disk_check(Config.model_validate({"executor": {"work_dir": str(tmp_path)}})).status == "ok"
    starved = Config.model_validate({"executor": {"work_dir": str(tmp_path), "min_free_disk": "1000t"}})
    assert disk_check(starved).status == "fail"
