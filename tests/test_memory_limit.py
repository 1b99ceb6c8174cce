"""executor.memory bounds resident memory: a cgroup where autorun can make one, else the watchdog.

Real processes: a memory bomb is killed and reported, a pandas load that needs far
more address space than resident memory succeeds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autorun.executors.host.launcher import HostLauncher
from autorun.executors.host.limits import ProcessLimits
from autorun.executors.host.memory import (
    CgroupMemoryLimit,
    MemoryLimiter,
    WatchdogMemoryLimit,
    cgroup_peak,
    memory_limiter,
    process_table,
    tree_members,
)

MiB = 1024**2
BOMB = "chunks = []\nfor _ in range(64):\n    chunks.append(b'x' * (64 * 1024 * 1024))\nprint('allocated all')"
THREADED = (
    "import numpy as np\nfrom concurrent.futures import ThreadPoolExecutor\n"
    "with ThreadPoolExecutor(16) as pool:\n"
    "    sizes = list(pool.map(lambda _: np.ones(2_000_000).sum(), range(16)))\nprint('ok', len(sizes))"
)


def tree_resident_bytes(root: int) -> int:
    """What the watchdog sums for the tree of ``root``."""
    table = process_table()
    return sum(table[pid][2] for pid in tree_members(root, table))


def run(limiter: MemoryLimiter, code: str, tmp_path: Path) -> tuple[int, bool, str]:
    launcher = HostLauncher(tmp_path, {"PATH": "/usr/bin:/bin"}, limits=ProcessLimits(), memory=limiter)
    launched = launcher.launch([sys.executable, "-c", code])
    assert launched.proc.stdout is not None
    output = launched.proc.stdout.read().decode()
    launched.proc.wait()
    return launched.proc.returncode, launched.watch.stop(), output


def cgroup_or_skip(limit: int) -> CgroupMemoryLimit:
    made = CgroupMemoryLimit.create(limit)
    if made is None:
        if os.environ.get("CI") and os.getuid() == 0:
            pytest.fail("CI runs as root, where autorun must be able to create a memory cgroup")
        pytest.skip("no memory cgroup can be created here (not root, no delegated slice)")
    return made


def test_cgroup_stops_a_memory_bomb_and_says_so(tmp_path: Path) -> None:
    limiter = cgroup_or_skip(256 * MiB)
    try:
        code, exceeded, output = run(limiter, BOMB, tmp_path)
    finally:
        limiter.close()
    assert code == -9 and exceeded and "allocated all" not in output
    assert not limiter.directory.exists(), "close() removes the cgroup"


def test_cgroup_lets_threads_reserve_address_space(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    limiter = cgroup_or_skip(256 * MiB)
    try:
        code, exceeded, output = run(limiter, THREADED, tmp_path)
    finally:
        limiter.close()
    assert (code, exceeded) == (0, False) and "ok 16" in output


HOLD_80_MIB = "import time\nx = b'x' * (80 * 1024 * 1024)\ntime.sleep(0.5)\nprint('held')"


def test_cgroup_reports_the_peak_of_what_ran(tmp_path: Path) -> None:
    limiter = cgroup_or_skip(512 * MiB)
    try:
        assert (limiter.peak_bytes() or 0) < 80 * MiB
        code, exceeded, output = run(limiter, HOLD_80_MIB, tmp_path)
        peak = limiter.peak_bytes()
    finally:
        limiter.close()
    assert (code, exceeded, output.strip()) == (0, False, "held")
    assert peak is not None and 80 * MiB < peak < 512 * MiB


def test_watchdog_reports_the_peak_of_the_largest_tree(tmp_path: Path) -> None:
    limiter = WatchdogMemoryLimit(512 * MiB, interval=0.02)
    assert limiter.peak_bytes() is None, "nothing ran yet"
    run(limiter, "print('small')", tmp_path)
    code, _exceeded, _output = run(limiter, HOLD_80_MIB, tmp_path)
    peak = limiter.peak_bytes()
    assert code == 0 and peak is not None and 80 * MiB < peak < 512 * MiB


@pytest.mark.parametrize(("version", "name"), [(1, "memory.max_usage_in_bytes"), (2, "memory.peak")])
def test_cgroup_peak_reads_the_version_s_file(tmp_path: Path, version: int, name: str) -> None:
    assert cgroup_peak(tmp_path, version) is None, "no file (v2 before Linux 5.19): unknown"
    (tmp_path / name).write_text("0\n")
    assert cgroup_peak(tmp_path, version) is None, "nothing charged yet: unknown"
    (tmp_path / name).write_text("283115520\n")
    assert cgroup_peak(tmp_path, version) == 283115520


def test_watchdog_stops_a_memory_bomb(tmp_path: Path) -> None:
    code, exceeded, output = run(WatchdogMemoryLimit(256 * MiB), BOMB, tmp_path)
    assert code == -9 and exceeded and "allocated all" not in output


def test_watchdog_leaves_a_modest_process_alone(tmp_path: Path) -> None:
    code, exceeded, output = run(
        WatchdogMemoryLimit(256 * MiB), "x = b'x' * (32 * 1024 * 1024)\nprint('fine')", tmp_path
    )
    assert (code, exceeded, output.strip()) == (0, False, "fine")


def test_watchdog_counts_children_of_the_tree(tmp_path: Path) -> None:
    code = (
        "import subprocess, sys\n"
        "children = [subprocess.Popen([sys.executable, '-c', \"x = b'x' * (100 * 1024 * 1024)\\nimport time\\n"
        'time.sleep(30)"]) for _ in range(4)]\n'
        "[c.wait() for c in children]\nprint('survived')"
    )
    returncode, exceeded, output = run(WatchdogMemoryLimit(256 * MiB), code, tmp_path)
    assert exceeded and "survived" not in output and returncode == -9


def test_tree_members_follow_descendants_and_the_session() -> None:
    table = {10: (1, 10, 5), 11: (10, 10, 5), 12: (11, 12, 5), 20: (1, 10, 5), 30: (1, 30, 5)}
    assert tree_members(10, table) == {10, 11, 12, 20}
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"], start_new_session=True)
    try:
        deadline = time.monotonic() + 2
        while tree_resident_bytes(proc.pid) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert tree_resident_bytes(proc.pid) > 0
    finally:
        proc.kill()
        proc.wait()


def test_no_limit_and_the_best_mechanism() -> None:
    assert memory_limiter(None).mechanism == "none"
    limiter = memory_limiter(512 * MiB)
    try:
        assert limiter.mechanism.startswith(("cgroup v1", "cgroup v2", "watchdog"))
        assert limiter.limit_bytes == 512 * MiB
    finally:
        limiter.close()


def test_pids_cgroup_stops_a_fork_bomb_even_for_root(tmp_path: Path) -> None:
    from autorun.executors.host.pids import PidsCgroup

    probe = PidsCgroup.create(32)
    if probe is None:
        if os.environ.get("CI") and os.getuid() == 0:
            pytest.fail("CI runs as root, where autorun must be able to create a pids cgroup")
        pytest.skip("no pids cgroup can be created here")
    probe.close()
    bomb = (
        "import os, time\ncount = 0\ntry:\n    for _ in range(500):\n        if os.fork() == 0:\n"
        "            time.sleep(30)\n            os._exit(0)\n        count += 1\n"
        "except OSError:\n    print('stopped at', count)"
    )
    launcher = HostLauncher(tmp_path, {"PATH": "/usr/bin:/bin"}, limits=ProcessLimits(max_processes=32))
    try:
        launched = launcher.launch([sys.executable, "-c", bomb])
        assert launched.proc.stdout is not None
        output = launched.proc.stdout.readline().decode()  # the children keep the pipe open
    finally:
        launcher.close()
    assert output.startswith("stopped at") and int(output.split()[-1]) < 32, output
