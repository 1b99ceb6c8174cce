"""`autorun analyse FILE... --jobs N`: real child sessions (builtin or replayed model, local executor)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from autorun.batch.runner import plan_batch
from tests.conftest import SAMPLE, assistant_message, autorun_cmd, stored_transcript, transcripts


def live_pids_with(marker: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def data_files(tmp_path: Path, *names: str) -> list[Path]:
    folder = tmp_path / "data"
    folder.mkdir()
    paths = []
    for name in names:
        path = folder / name
        shutil.copy(SAMPLE, path)
        paths.append(path)
    return paths


def test_one_invalid_file_fails_the_batch_but_not_the_others(tmp_path: Path, clean_env: dict[str, str]) -> None:
    good_a, good_b = data_files(tmp_path, "north.csv", "south.csv")
    bad = tmp_path / "data" / "broken.csv"
    bad.write_bytes(b"\x00\x01binary\xff")
    work = tmp_path / "work"
    args = ["analyse", str(good_a), str(bad), str(good_b), "--model", "builtin", "--local", "--work-dir", str(work)]
    result = subprocess.run(autorun_cmd(*args), capture_output=True, text=True, timeout=300, env=clean_env)
    assert result.returncode == 1, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip().startswith(str(tmp_path))}
    assert "done" in rows[str(good_a)] and "done" in rows[str(good_b)]
    assert "failed (exit 2)" in rows[str(bad)] and "does not look like a table" in result.stdout
    assert str(work / "north" / "report.html") in rows[str(good_a)]
    assert (work / "south" / "report.html").is_file() and not (work / "broken" / "report.html").exists()
    assert "1 of 3 sessions failed" in result.stderr and str(bad) in result.stderr.splitlines()[-1]


def test_a_missing_file_gets_no_work_dir_and_no_session(tmp_path: Path, clean_env: dict[str, str]) -> None:
    (good,) = data_files(tmp_path, "north.csv")
    missing = tmp_path / "data" / "typo.csv"
    work = tmp_path / "work"
    args = ["analyse", str(good), str(missing), "--model", "builtin", "--local", "--work-dir", str(work)]
    result = subprocess.run(autorun_cmd(*args), capture_output=True, text=True, timeout=300, env=clean_env)
    assert result.returncode == 1, result.stderr
    assert f"{missing}: file not found" in result.stderr
    assert sorted(p.name for p in work.iterdir()) == ["north"]


def _session_span(work_dir: Path) -> tuple[datetime, datetime]:
    [transcript] = transcripts(work_dir)
    records = [json.loads(line) for line in transcript.read_text().splitlines()]
    stamps = {r["event"]: datetime.fromisoformat(r["ts"]) for r in records if r["event"].startswith("session_")}
    return stamps["session_start"], stamps["session_end"]


def test_jobs_2_runs_two_sessions_at_once_and_json_events_name_their_file(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    files = data_files(tmp_path, "a.csv", "b.csv")
    work = tmp_path / "work"
    args = ["analyse", *map(str, files), "--model", "builtin", "--local", "--work-dir", str(work), "--jobs", "2"]
    result = subprocess.run(autorun_cmd(*args, "--json"), capture_output=True, text=True, timeout=300, env=clean_env)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    *session_events, end = events
    assert end["event"] == "batch_end" and end["succeeded"] == 2 and end["failed"] == 0
    assert {e["file"] for e in session_events} == {str(f) for f in files}
    assert sum(1 for e in session_events if e["event"] == "session_end") == 2
    (start_a, end_a), (start_b, end_b) = _session_span(work / "a"), _session_span(work / "b")
    assert start_a < end_b and start_b < end_a, "the two sessions' lifetimes overlap: they ran at the same time"


def test_jobs_1_runs_one_session_after_the_other(tmp_path: Path, clean_env: dict[str, str]) -> None:
    files = data_files(tmp_path, "a.csv", "b.csv")
    work = tmp_path / "work"
    args = ["analyse", *map(str, files), "--model", "builtin", "--local", "--work-dir", str(work), "--quiet"]
    result = subprocess.run(autorun_cmd(*args), capture_output=True, text=True, timeout=300, env=clean_env)
    assert result.returncode == 0, result.stderr
    (_, end_a), (start_b, _) = _session_span(work / "a"), _session_span(work / "b")
    assert end_a <= start_b


@pytest.fixture
def marker() -> str:
    value = f"300.{uuid.uuid4().int % 10**9}"
    yield value
    for pid in live_pids_with(value):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["TERM", "INT"])
def test_a_signal_stops_every_session_and_leaves_nothing_running(
    tmp_path: Path, clean_env: dict[str, str], marker: str, signum: int, exit_code: int
) -> None:
    replay = stored_transcript(tmp_path / "recorded", [assistant_message(f"Waiting.\n\n```sh\nsleep {marker}\n```\n")])
    files = data_files(tmp_path, "one.csv", "two.csv", "three.csv")
    work = tmp_path / "work"
    args = ["analyse", *map(str, files), "--model", f"replay:{replay}", "--local", "--work-dir", str(work), "-j", "2"]
    parent = subprocess.Popen(
        autorun_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env
    )
    try:
        deadline = time.monotonic() + 120
        while len(live_pids_with(marker)) < 2:
            assert time.monotonic() < deadline and parent.poll() is None, "two blocks should be running"
            time.sleep(0.1)
        parent.send_signal(signum)
        stdout, stderr = parent.communicate(timeout=60)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert parent.returncode == exit_code, stderr
    assert live_pids_with(marker) == [], "a block's process survived the batch"
    assert live_pids_with(str(work)) == [], "a session's autorun process survived the batch"
    assert "stopped" in stdout and "interrupted" in stderr
    for name in ("one", "two"):
        records = [json.loads(line) for line in transcripts(work / name)[0].open()]
        assert records[-1]["event"] == "session_end" and records[-1]["exit_code"] == 143, "stopped by SIGTERM"
    assert not (work / "three").exists() or not any((work / "three").iterdir()), "the queued file never started"


def test_each_file_gets_its_own_work_subdirectory(tmp_path: Path) -> None:
    items = plan_batch([Path("x/sales.csv"), Path("y/sales.csv"), Path("z/other.json")], tmp_path, "r.md")
    assert [i.work_dir.name for i in items] == ["sales", "sales-2", "other"]
    assert items[1].report == tmp_path / "sales-2" / "r.md"


def test_every_session_option_given_reaches_each_files_session(tmp_path: Path, clean_env: dict[str, str]) -> None:
    files = data_files(tmp_path, "a.csv", "b.csv")
    work = tmp_path / "work"
    args = ["analyse", *map(str, files), "--model", "builtin", "--local", "--work-dir", str(work), "--quiet"]
    args += ["--timeout", "7", "--max-turns", "2", "--no-cache", "--last-n-messages", "4"]
    result = subprocess.run(autorun_cmd(*args), capture_output=True, text=True, timeout=300, env=clean_env)
    assert result.returncode == 1, "two turns are too few for the builtin: each session ends unsuccessfully"
    for name in ("a", "b"):
        [transcript] = transcripts(work / name)
        records = [json.loads(line) for line in transcript.read_text().splitlines()]
        config = records[0]["config"]
        assert config["executor"]["timeout"] == 7 and config["executor"]["last_n_messages"] == 4
        assert config["executor"]["type"] == "local" and config["model"]["cache"] is False
        assert config["session"]["max_consecutive_auto_reply"] == 2
        assert records[-1]["reason"] == "reached max_consecutive_auto_reply (2)"
    assert "a.csv (exit 1: reached max_consecutive_auto_reply (2))" in result.stderr


def test_sessions_stop_cleanly_when_the_batch_is_killed_outright(
    tmp_path: Path, clean_env: dict[str, str], marker: str
) -> None:
    replay = stored_transcript(tmp_path / "recorded", [assistant_message(f"```sh\nsleep {marker}\n```\n")])
    files = data_files(tmp_path, "one.csv", "two.csv")
    work = tmp_path / "work"
    args = ["analyse", *map(str, files), "--model", f"replay:{replay}", "--local", "--work-dir", str(work), "-j", "2"]
    parent = subprocess.Popen(autorun_cmd(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env)
    deadline = time.monotonic() + 120
    while len(live_pids_with(marker)) < 2:
        assert time.monotonic() < deadline and parent.poll() is None, "two blocks should be running"
        time.sleep(0.1)
    parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 60
    while live_pids_with(marker) or live_pids_with(str(work)):
        assert time.monotonic() < deadline, "a session outlived its batch"
        time.sleep(0.2)
    for name in ("one", "two"):
        records = [json.loads(line) for line in transcripts(work / name)[0].open()]
        assert records[-1]["event"] == "session_end" and records[-1]["exit_code"] == 143
