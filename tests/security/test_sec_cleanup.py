"""Crash leftovers and `autorun clean`: SIGKILL mid-session, then clean; and clean beside a live session.

Every run here has a $TMPDIR of its own and passes `--owner PID` to `autorun clean`, so
it can only ever touch the resources of the autorun process it started, never those of
another test run on the same machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from autorun.executors.host.memory import CgroupMemoryLimit
from autorun.executors.leftovers import find_leftovers
from tests.conftest import REPO, SAMPLE
from tests.fake_openai_server import FakeOpenAIServer
from tests.security.harness import (
    CliRun,
    check_cli,
    cli_command,
    cli_env,
    leftover_processes,
    read_transcript_records,
    replies_for,
)
from tests.security.probes import record
from tests.security.test_sec_signals import wait_for

SLEEPS = """
    import pathlib, time
    pathlib.Path("started").write_text("yes")
    print("started", flush=True)
    time.sleep({seconds})
    print("woke")
"""


@pytest.fixture
def own_tmp() -> Iterator[Path]:
    """A short private $TMPDIR (socket paths must stay under 108 bytes) for one autorun process."""
    path = Path(tempfile.mkdtemp(prefix="arclean-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def cgroups_here() -> bool:
    made = CgroupMemoryLimit.create(512 * 1024**2)
    if made is None:
        return False
    made.close()
    return True


@dataclass
class Started:
    proc: subprocess.Popen[str]
    env: dict[str, str]  # its environment names its state dir, where its transcript is

    def finish(self, work: Path) -> CliRun:
        stdout, stderr = self.proc.communicate(timeout=120)
        return CliRun(self.proc.returncode, stdout, stderr, read_transcript_records(work, self.env), [], work)


def start_session(executor: str, tmp_path: Path, own_tmp: Path, server: FakeOpenAIServer) -> Started:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = cli_env(executor, home, {"TMPDIR": str(own_tmp)}, timeout=120)
    command = cli_command(SAMPLE, server.base_url, tmp_path / "work")
    return Started(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), env)


def autorun_clean(own_tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(own_tmp)}
    command = [sys.executable, "-m", "autorun", "clean", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=REPO)


def leftovers(executor: str, own_tmp: Path, pid: int) -> list:
    items, _notes = find_leftovers(tmp_root=own_tmp, docker=executor == "docker", owner_pid=pid)
    return items


def test_sigkill_leaves_leftovers_that_clean_removes(executor: str, tmp_path: Path, own_tmp: Path) -> None:
    with FakeOpenAIServer([{"reply": text} for text in replies_for([SLEEPS.format(seconds=90)])]) as server:
        started = start_session(executor, tmp_path, own_tmp, server)
        proc = started.proc
        try:
            wait_for(tmp_path / "work" / "started")
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            found = leftovers(executor, own_tmp, proc.pid)
            kinds = {item.kind for item in found}
            expected = {"directory"} | ({"container"} if executor == "docker" else set())
            if executor != "docker" and cgroups_here():
                expected.add("cgroup")
            assert kinds == expected, [item.describe() for item in found]
            assert {item.state for item in found} == {"dead"}
            cleaned = autorun_clean(own_tmp, "--owner", str(proc.pid))
            assert cleaned.returncode == 0, cleaned.stderr
            assert cleaned.stdout.startswith("removed ") and "kept" not in cleaned.stdout, cleaned.stdout
            assert leftovers(executor, own_tmp, proc.pid) == []
            assert leftover_processes(tmp_path / "work") == [], "a process of the killed session outlived the clean"
        finally:
            if proc.poll() is None:
                proc.kill()
            with contextlib.suppress(Exception):
                autorun_clean(own_tmp, "--owner", str(proc.pid))
    what = "host dir, cgroups" if executor != "docker" else "host dir, container"
    record("clean.sigkill", executor, "contained", f"the {what} stay; `autorun clean` removes them")


def test_clean_leaves_a_running_session_alone(executor: str, tmp_path: Path, own_tmp: Path) -> None:
    with FakeOpenAIServer([{"reply": text} for text in replies_for([SLEEPS.format(seconds=4)])]) as server:
        started = start_session(executor, tmp_path, own_tmp, server)
        proc = started.proc
        try:
            wait_for(tmp_path / "work" / "started")
            before = leftovers(executor, own_tmp, proc.pid)
            assert before and {item.state for item in before} == {"live"}, [i.describe() for i in before]
            cleaned = autorun_clean(own_tmp, "--owner", str(proc.pid))
            assert cleaned.returncode == 0, cleaned.stderr
            assert cleaned.stdout.startswith("nothing to remove\nkept "), cleaned.stdout
            assert "of running sessions" in cleaned.stdout
            run = started.finish(tmp_path / "work")
        finally:
            if proc.poll() is None:
                proc.kill()
    check_cli(run, executor)
    assert run.exit_code == 0, run.stderr
    assert any(r["event"] == "execution_result" and "woke" in r["output"] for r in run.records)
    assert leftovers(executor, own_tmp, proc.pid) == []
    record("clean.live", executor, "blocked", "a running session's resources are kept; it finishes with exit 0")


def test_clean_all_says_what_it_stops(executor: str, tmp_path: Path, own_tmp: Path) -> None:
    with FakeOpenAIServer([{"reply": text} for text in replies_for([SLEEPS.format(seconds=60)])]) as server:
        started = start_session(executor, tmp_path, own_tmp, server)
        proc = started.proc
        try:
            wait_for(tmp_path / "work" / "started")
            cleaned = autorun_clean(own_tmp, "--all", "--owner", str(proc.pid))
            assert cleaned.returncode == 0, cleaned.stderr
            assert f"stopping the session of process {proc.pid} (live): " in cleaned.stderr, cleaned.stderr
            assert cleaned.stdout.startswith("removed "), cleaned.stdout
            run = started.finish(tmp_path / "work")
        finally:
            if proc.poll() is None:
                proc.kill()
            with contextlib.suppress(Exception):
                autorun_clean(own_tmp, "--owner", str(proc.pid))
    assert run.exit_code in (0, 1, 4), run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    if executor == "docker":
        assert run.exit_code == 4 and "stopped from outside" in run.stderr, run.stderr
    assert leftover_processes(tmp_path / "work") == []
