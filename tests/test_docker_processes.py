"""The host's view of a container's processes, which spares the agent's sweep after a quiet kernel block.

Stand-in cgroup directories (cgroup.procs, pids.current) listing real processes: the view
trusts a cgroup only while it holds the processes it knows, each still the one it was.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from autorun.executors.docker.processes import ContainerProcesses
from autorun.executors.host.cgroups import holding_only
from autorun.executors.host.procfs import START_TIME, stat_fields


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [subprocess.Popen(["sleep", "120"]) for _ in range(2)]
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


def _cgroup(tmp_path: Path, *pids: int, tasks: int = 7) -> Path:
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir(exist_ok=True)
    (cgroup / "cgroup.procs").write_text("".join(f"{pid}\n" for pid in pids))
    (cgroup / "pids.current").write_text(f"{tasks}\n")
    return cgroup


def test_a_cgroup_holding_only_the_known_processes_answers_its_task_count(
    tmp_path: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    init, kernel = sleepers
    seen = ContainerProcesses(_cgroup(tmp_path, init.pid, kernel.pid), always=(init.pid,))
    assert seen.tasks_if_only_known() is None  # nothing known before the first sweep
    seen.learn(kernel.pid)
    assert seen.tasks_if_only_known() == 7


def test_a_process_it_does_not_know_sends_the_block_to_the_agents_sweep(
    tmp_path: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    kernel, leftover = sleepers
    seen = ContainerProcesses(_cgroup(tmp_path, kernel.pid), always=())
    seen.learn(kernel.pid)
    _cgroup(tmp_path, kernel.pid, leftover.pid)
    assert seen.tasks_if_only_known() is None


def test_learning_takes_only_the_pids_it_is_told(tmp_path: Path, sleepers: list[subprocess.Popen[bytes]]) -> None:
    kernel, other = sleepers
    seen = ContainerProcesses(_cgroup(tmp_path, kernel.pid, other.pid), always=())
    seen.learn(kernel.pid)  # other was in the cgroup at the sweep (dying, say): not known
    assert seen.tasks_if_only_known() is None
    seen.learn(None)  # no kernel: nothing is known, every block is swept
    _cgroup(tmp_path, kernel.pid)
    assert seen.tasks_if_only_known() is None


def test_a_cgroup_below_or_a_known_process_that_ended_sends_it_to_the_sweep(
    tmp_path: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    kernel, _ = sleepers
    cgroup = _cgroup(tmp_path, kernel.pid)
    seen = ContainerProcesses(cgroup, always=())
    seen.learn(kernel.pid)
    (cgroup / "below").mkdir()  # processes moved there are not in cgroup.procs
    assert seen.tasks_if_only_known() is None
    (cgroup / "below").rmdir()
    assert seen.tasks_if_only_known() == 7
    kernel.kill()
    kernel.wait()
    assert seen.tasks_if_only_known() is None


def test_a_pid_used_again_by_another_process_is_not_taken_for_the_one_known(
    tmp_path: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    kernel, _ = sleepers
    fields = stat_fields(kernel.pid)
    assert fields is not None
    cgroup = _cgroup(tmp_path, kernel.pid)
    assert holding_only(cgroup, {kernel.pid: fields[START_TIME]}) is not None
    assert holding_only(cgroup, {kernel.pid: b"1"}) is None  # same pid, another start time
    assert holding_only(cgroup, {}) is None
