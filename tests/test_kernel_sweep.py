"""The sweep after a kernel block reads the kernel's cgroup, and /proc only when the cgroup holds more."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

import autorun.executors.local.kernel as local_kernel
from autorun.codeblocks import CodeBlock
from autorun.executors.host.limits import ProcessLimits
from autorun.executors.host.memory import CgroupMemoryLimit
from autorun.executors.host.procfs import CLOCK_SLACK_S, NewProcesses
from autorun.executors.host.reaper import child_pids
from autorun.executors.kernel.connection import KERNEL_MAIN
from autorun.executors.local.executor import LocalExecutor
from autorun.executors.local.kernel import KernelSweep
from autorun.executors.sandbox.executor import SandboxExecutor, sandbox_executor


@pytest.fixture
def proc_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the sweeps' passes over /proc."""
    passes: list[int] = []
    real = NewProcesses.scan

    def counted(self: NewProcesses, keep: Collection[int]) -> dict[int, list[bytes]]:
        passes.append(1)
        return real(self, keep)

    monkeypatch.setattr(NewProcesses, "scan", counted)
    return passes


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process with a kernel's command line (`python -c KERNEL_MAIN`) that only sleeps."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import time\ntime.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", KERNEL_MAIN], env={**os.environ, "PYTHONPATH": str(site)})
    deadline = time.monotonic() + 10
    while not local_kernel._is_kernel(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    yield proc
    proc.kill()
    proc.wait()


def _cgroup_holding(tmp_path: Path, kernel: subprocess.Popen[bytes]) -> Path:
    """A stand-in cgroup directory whose cgroup.procs lists only the kernel."""
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    (cgroup / "cgroup.procs").write_text(f"{kernel.pid}\n")
    return cgroup


def test_a_cgroup_holding_only_the_kernel_spares_the_pass_over_proc(
    tmp_path: Path, kernel: subprocess.Popen[bytes], proc_passes: list[int]
) -> None:
    cgroup = _cgroup_holding(tmp_path, kernel)
    sweep, known = KernelSweep(cgroup), _known(kernel)
    first = sweep.after_block({kernel.pid}, known)
    assert proc_passes == [1]  # nothing known of the kernel yet
    assert sweep.after_block({kernel.pid}, known) == first >= 1
    assert proc_passes == [1]


def test_a_cgroup_holding_more_sends_the_sweep_to_proc_and_the_leftover_dies(
    tmp_path: Path, kernel: subprocess.Popen[bytes], proc_passes: list[int]
) -> None:
    cgroup = _cgroup_holding(tmp_path, kernel)
    sweep, known = KernelSweep(cgroup), _known(kernel)
    sweep.after_block({kernel.pid}, known)
    leftover = subprocess.Popen(["sleep", "120"])  # as an orphan re-parented to autorun
    (cgroup / "cgroup.procs").write_text(f"{kernel.pid}\n{leftover.pid}\n")
    sweep.after_block({kernel.pid}, known)
    assert proc_passes == [1, 1]
    assert not Path(f"/proc/{leftover.pid}").exists()  # killed and reaped by the sweep
    assert kernel.poll() is None


def test_a_cgroup_made_below_the_kernels_sends_the_sweep_to_proc(
    tmp_path: Path, kernel: subprocess.Popen[bytes], proc_passes: list[int]
) -> None:
    cgroup = _cgroup_holding(tmp_path, kernel)
    sweep, known = KernelSweep(cgroup), _known(kernel)
    sweep.after_block({kernel.pid}, known)
    (cgroup / "hidden").mkdir()  # a block's processes moved there are not in cgroup.procs
    sweep.after_block({kernel.pid}, known)
    assert proc_passes == [1, 1]


def test_without_a_cgroup_every_sweep_passes_over_proc(kernel: subprocess.Popen[bytes], proc_passes: list[int]) -> None:
    sweep, known = KernelSweep(None), _known(kernel)
    for _ in range(3):
        sweep.after_block({kernel.pid}, known)
    assert proc_passes == [1, 1, 1]


def test_a_pass_reads_the_processes_started_since_the_last_and_those_kept() -> None:
    old, kept = subprocess.Popen(["sleep", "60"]), subprocess.Popen(["sleep", "60"])
    try:
        scan = NewProcesses()
        assert {old.pid, kept.pid} <= scan.scan(()).keys()  # the first pass reads every process
        time.sleep(CLOCK_SLACK_S * 2)
        scan.scan(())
        time.sleep(CLOCK_SLACK_S * 2)
        new = subprocess.Popen(["sleep", "60"])
        try:
            table = scan.scan({kept.pid})
            assert new.pid in table and kept.pid in table and old.pid not in table
            assert int(table[new.pid][1]) == os.getpid()  # the fields process_stats gives: 1 is the parent
        finally:
            new.kill()
            new.wait()
    finally:
        for proc in (old, kept):
            proc.kill()
            proc.wait()


def _known(kernel: subprocess.Popen[bytes]) -> set[int]:
    """The test's own children but the kernel: as an executor knows them before its kernel starts."""
    return child_pids() - {kernel.pid}


def _sandbox(work: Path) -> SandboxExecutor:
    if not shutil.which("bwrap"):
        pytest.skip("no bwrap")
    ex = sandbox_executor(work, 10, stateful=True, limits=ProcessLimits(memory_bytes=2**30))
    if not isinstance(ex.launcher.memory, CgroupMemoryLimit):
        ex.close()
        pytest.skip("no memory cgroup can be created here")
    return ex


def _run(ex: LocalExecutor, code: str, index: int) -> str:
    result = ex.run(CodeBlock("python", code, index), lambda _text: None)
    assert result.exit_code == 0, result.output
    return result.output


def test_in_the_sandbox_quiet_blocks_skip_proc_and_a_later_blocks_leftovers_still_die(
    tmp_path: Path, proc_passes: list[int]
) -> None:
    leave = (
        "import os, subprocess, time\n"
        "a = subprocess.Popen(['sleep', '300'])\n"
        "b = subprocess.Popen(['sleep', '301'], start_new_session=True)\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(300)\n    os._exit(0)\n"
        "os.wait()\n"
    )
    check = (
        "deadline = time.monotonic() + 5\n"
        "while (a.poll() is None or b.poll() is None) and time.monotonic() < deadline:\n    time.sleep(0.01)\n"
        "pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "alive = [p for p in pids if open(f'/proc/{p}/cmdline', 'rb').read().startswith(b'sleep')]\n"
        "print([p.pid for p in (a, b) if p.returncode != -9], alive)"
    )
    with _sandbox(tmp_path / "work") as ex:
        _run(ex, "x = 1", 1)
        passes = len(proc_passes)
        _run(ex, "x = 2", 2)
        assert len(proc_passes) == passes
        _run(ex, leave, 3)
        assert len(proc_passes) == passes + 1
        assert _run(ex, check, 4) == "[] []\n"
        assert _run(ex, "print(x)", 5) == "2\n"


def test_locally_a_later_blocks_leftovers_die_though_a_pass_reads_only_new_processes(tmp_path: Path) -> None:
    leave = (
        "import os, subprocess, time\n"
        "a = subprocess.Popen(['sleep', '300'])\n"
        "b = subprocess.Popen(['sleep', '301'], start_new_session=True)\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        open('daemon.pid', 'w').write(str(os.getpid()))\n        time.sleep(300)\n    os._exit(0)\n"
        "os.wait()\nwhile not os.path.exists('daemon.pid'):\n    time.sleep(0.01)\n"
        "print(a.pid, b.pid)"
    )
    work = tmp_path / "work"
    with LocalExecutor(work, 10, stateful=True) as ex:
        for n in range(3):  # passes that leave every process older than them unread
            _run(ex, f"x = {n}", n + 1)
            time.sleep(CLOCK_SLACK_S * 2)
        pids = [int(pid) for pid in _run(ex, leave, 4).split()]
        pids.append(int((work / "daemon.pid").read_text()))
        assert _run(ex, "print(x)", 5) == "2\n"
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True
