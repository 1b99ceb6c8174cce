"""Resources: fork bomb, memory bomb, CPU spin, huge files, thousands of open files.

Each bomb is bounded by construction (a cap far above the configured limit), so a
limit that does not hold shows up as a failed probe rather than a dead machine.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from autorun.config.schema import Config
from tests.security.harness import check_cli, check_common, replies_for, run_cli_unprivileged, run_probe
from tests.security.probes import record

FORK_CAP = 2000
MAX_PROCESSES = 64

FORK_BOMB = f"""
import os, time
count = 0
try:
    for _ in range({FORK_CAP}):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        count += 1
except OSError as exc:
    print(f"fork failed after {{count}} processes: {{exc.strerror}}")
else:
    print(f"forked all {{count}} processes")
"""


def test_fork_bomb(executor: str, tmp_path: Path) -> None:
    replies = replies_for([FORK_BOMB])
    if executor == "docker":
        run = run_probe(executor, tmp_path, replies, max_processes=MAX_PROCESSES)
        check_common(run)
        output = run.output()
    else:
        cli = run_cli_unprivileged(executor, replies, max_processes=MAX_PROCESSES)
        check_cli(cli, executor)
        output = next(r["output"] for r in cli.records if r["event"] == "execution_result")
    found = re.search(r"fork failed after (\d+) processes", output)
    assert found, output
    assert int(found.group(1)) < FORK_CAP
    if executor == "docker":
        record("res.fork_bomb", executor, "contained", "pids limit of the container")
        return
    assert int(found.group(1)) <= MAX_PROCESSES
    note = "RLIMIT_NPROC"
    if os.getuid() == 0:  # root is exempt from RLIMIT_NPROC: the pids cgroup must hold
        run = run_probe(executor, tmp_path, replies, max_processes=MAX_PROCESSES)
        check_common(run)
        as_root = re.search(r"fork failed after (\d+) processes", run.output())
        assert as_root and int(as_root.group(1)) <= MAX_PROCESSES, run.output()
        note += "; as root, a pids cgroup (pids.max)"
    record("res.fork_bomb", executor, "contained", note)


MEMORY_CAP_MB = 4096
MEMORY_BOMB = f"""
chunks = []
try:
    for _ in range({MEMORY_CAP_MB} // 64):
        chunks.append(b"x" * (64 * 1024 * 1024))
except MemoryError:
    print(f"MemoryError after {{len(chunks) * 64}} MB")
else:
    print(f"allocated all {{len(chunks) * 64}} MB")
"""


def test_memory_bomb(executor: str, tmp_path: Path) -> None:
    run = run_probe(executor, tmp_path, replies_for([MEMORY_BOMB]), memory="512m")
    check_common(run)
    result = run.results()[0]
    output = result.output
    assert "allocated all" not in output
    assert result.exit_code == 137 and "killed: out of memory (limit 512 MiB)" in output, output
    if executor == "docker":
        record("res.memory_bomb", executor, "contained", "the container's memory limit (OOM kill, reported)")
        return
    # As an unprivileged user autorun may not create a cgroup: the watchdog must hold too.
    cli = run_cli_unprivileged(executor, replies_for([MEMORY_BOMB]), memory="512m")
    check_cli(cli, executor)
    unprivileged = next(r for r in cli.records if r["event"] == "execution_result")
    assert unprivileged["exit_code"] == 137 and "killed: out of memory" in unprivileged["output"], unprivileged
    assert "allocated all" not in unprivileged["output"]
    note = f"resident memory of the block's processes: {memory_mechanism_here()}; as nobody, the watchdog; reported"
    record("res.memory_bomb", executor, "contained", note)


def memory_mechanism_here() -> str:
    from autorun.executors.host.memory import memory_limiter

    limiter = memory_limiter(512 * 1024**2)
    try:
        return limiter.mechanism.split(" (")[0]
    finally:
        limiter.close()


def test_cpu_spin_past_the_timeout(executor: str, tmp_path: Path) -> None:
    run = run_probe(executor, tmp_path, replies_for(["while True:\n    pass"]), timeout=1)
    check_common(run)
    result = run.results()[0]
    assert (result.exit_code, result.timed_out) == (124, True)
    assert "timed out after 1 s" in result.output
    assert result.duration_s < 10
    record("res.cpu_spin", executor, "contained", "killed at executor.timeout (exit 124)")


BIG_FILE = """
import os
written = 0
try:
    with open("big.bin", "wb") as fh:
        block = b"\\0" * (1024 * 1024)
        for _ in range(3 * 1024):
            fh.write(block)
            written += len(block)
except OSError as exc:
    print(f"write failed after {written // 2**20} MB: {exc.strerror}")
else:
    print(f"wrote all {written // 2**20} MB")
try:
    with open("sparse.bin", "wb") as fh:
        fh.seek(3 * 1024**3)
        fh.write(b"x")
    print("sparse 3 GB file written")
except OSError as exc:
    print(f"sparse write failed: {exc.strerror}")
"""


def test_multi_gb_file(executor: str, tmp_path: Path) -> None:
    limit = 64 * 1024**2
    run = run_probe(executor, tmp_path, replies_for([BIG_FILE]), max_file_size=limit)
    check_common(run)
    output = run.output()
    assert "write failed after 64 MB: File too large" in output, output
    assert "sparse write failed: File too large" in output
    assert (run.work_dir / "big.bin").stat().st_size <= limit
    assert (run.work_dir / "sparse.bin").stat().st_size <= limit
    record("res.big_file", executor, "contained", "executor.max_file_size (default 1 GiB): writes beyond fail")


def test_max_file_size_default_is_one_gib() -> None:
    assert Config().executor.max_file_size == 1024**3


OPEN_FILES = """
import os
handles = []
try:
    for i in range(5000):
        handles.append(open(f"f{i % 50}.txt", "a"))
except OSError as exc:
    count = len(handles)
    for handle in handles:  # free them first: a kernel's own threads need descriptors to send the output
        handle.close()
    print(f"open failed after {count} files: {exc.strerror}")
else:
    print(f"opened all {len(handles)} files")
"""


def test_thousands_of_open_files(executor: str, tmp_path: Path) -> None:
    run = run_probe(executor, tmp_path, replies_for([OPEN_FILES]), max_open_files=256)
    check_common(run)
    output = run.output()
    found = re.search(r"open failed after (\d+) files: Too many open files", output)
    assert found and int(found.group(1)) < 256, output
    how = "the container's nofile ulimit" if executor == "docker" else "RLIMIT_NOFILE"
    record("res.open_files", executor, "contained", f"executor.max_open_files ({how})")
