"""Processes: a daemon that outlives its block, killing autorun, ignoring SIGTERM."""

from __future__ import annotations

import time
from pathlib import Path

from tests.security.harness import check_cli, check_common, replies_for, run_cli, run_probe
from tests.security.probes import record

DAEMON = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.chdir("/")
        fd = os.open(os.devnull, os.O_RDWR)
        for stream in (0, 1, 2):
            os.dup2(fd, stream)
        beat = os.open(HEARTBEAT, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        for _ in range(600):
            os.write(beat, b".")
            time.sleep(0.05)
        os._exit(0)
    os._exit(0)
time.sleep(0.5)
print("daemon started, heartbeat bytes:", os.path.getsize(HEARTBEAT))
"""

CHECK_DAEMON = """
import os, time
before = os.path.getsize(HEARTBEAT)
time.sleep(0.6)
after = os.path.getsize(HEARTBEAT)
print("daemon alive" if after > before else "daemon gone", before, after)
"""


def test_daemon_outliving_its_block(executor: str, tmp_path: Path) -> None:
    heartbeat = "/workspace/heartbeat" if executor == "docker" else str(tmp_path / "work" / "heartbeat")
    blocks = [code.replace("HEARTBEAT", repr(heartbeat)) for code in (DAEMON, CHECK_DAEMON)]
    run = run_probe(executor, tmp_path, replies_for(blocks))
    check_common(run)
    assert "daemon started" in run.output(0)
    assert "daemon gone" in run.output(1), run.output(1)
    size = (run.work_dir / "heartbeat").stat().st_size
    time.sleep(0.3)
    assert (run.work_dir / "heartbeat").stat().st_size == size, "the daemon outlived the session"
    how = {
        "local": "autorun is a child subreaper: orphans come back to it and are killed after the block",
        "sandbox": "the block's PID namespace dies with it",
        "docker": "every process in the container is killed after each block",
    }
    record("proc.daemon", executor, "contained", how[executor])


def test_killing_autorun(executor: str, tmp_path: Path) -> None:
    """The real CLI: the block sends SIGTERM to its parent process."""
    code = """
        import os, signal, time
        print("parent is", os.getppid(), flush=True)
        os.kill(os.getppid(), signal.SIGTERM)
        time.sleep(2)
        print("still running")
    """
    run = run_cli(executor, tmp_path, replies_for([code]))
    check_cli(run, executor)
    if executor == "local":
        assert run.exit_code == 143, run.stderr
        assert [r["event"] for r in run.records][-2:] == ["interrupted", "session_end"]
        note = "same-user code can signal autorun; the session ends cleanly (exit 143)"
        record("proc.kill_parent", executor, "allowed", note)
    else:
        assert run.exit_code == 0, run.stderr
        assert "still running" in run.records[-1]["final_message"] or "still running" in run.stdout
        record("proc.kill_parent", executor, "blocked", "autorun is not in the block's PID namespace")


def test_block_ignoring_sigterm(executor: str, tmp_path: Path) -> None:
    code = """
        import signal, subprocess, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        subprocess.Popen(["sh", "-c", "trap '' TERM; sleep 60"])
        print("ignoring SIGTERM", flush=True)
        time.sleep(60)
    """
    run = run_probe(executor, tmp_path, replies_for([code]), timeout=1)
    check_common(run)
    result = run.results()[0]
    assert (result.exit_code, result.timed_out) == (124, True)
    assert result.duration_s < 10
    record("proc.ignore_sigterm", executor, "contained", "SIGKILL after a short grace period")
