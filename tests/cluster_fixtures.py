"""A real Dask cluster on this machine for the tests: a ``dask scheduler`` and ``dask worker`` processes
(not LocalCluster in-process), one of them able to run in a mount namespace of its own where the
client's folders are hidden under a tmpfs (``unshare -m``, as root), so that sending files and
bringing results back are proven rather than assumed.

Every process is started in a process group of its own and stopped at teardown whatever happened
(SIGTERM, then SIGKILL), and so is any process left whose command line names the test's folder:
nothing of another test run is touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CAP_SYS_ADMIN = 21
_DASK = Path(sys.executable).with_name("dask")


def skip_or_fail(reason: str) -> None:
    """Skip loudly; in CI (CI set) fail instead: these tests must run there."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so this is a failure. {reason}")
    pytest.skip(reason)


def distributed_or_skip() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        skip_or_fail("CLUSTER TESTS NOT RUN: distributed is not installed (pip install -e '.[cluster]')")


def can_hide_folders() -> str | None:
    """Why a worker cannot get a mount namespace of its own here (None: it can)."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:") and not int(line.split()[1], 16) >> CAP_SYS_ADMIN & 1:
            return "no CAP_SYS_ADMIN in CapEff (run the tests as root)"
    return None


def hiding_or_skip() -> None:
    problem = can_hide_folders()
    if problem is not None:
        skip_or_fail(f"CLUSTER TESTS WITH A WORKER THAT CANNOT SEE THE CLIENT'S FILES NOT RUN: {problem}")


def pids_with(marker: str) -> list[int]:
    """Live processes whose command line holds ``marker`` (this one left out)."""
    from tests.test_batch import live_pids_with

    return [pid for pid in live_pids_with(marker) if pid != os.getpid()]


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def ancestors(pid: int) -> list[int]:
    chain = []
    current = parent_of(pid)
    while current and current > 1 and len(chain) < 64:
        chain.append(current)
        current = parent_of(current)
    return chain


@dataclass
class TestCluster:
    """The cluster's processes by name ("scheduler", "worker-a"...) and its address."""

    __test__ = False  # not a test class, whatever its name

    folder: Path
    env: dict[str, str]
    address: str = ""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def _start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env or self.env, start_new_session=True
        )
        self.processes[name] = process
        return process

    def start_scheduler(self) -> str:
        info = self.folder / "scheduler.json"
        command = [str(_DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
        process = self._start("scheduler", [*command, "--scheduler-file", str(info)])
        deadline = time.monotonic() + 60
        while not info.is_file() or not info.read_text().strip():
            assert process.poll() is None, (self.folder / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.1)
        time.sleep(0.2)
        self.address = json.loads(info.read_text())["address"]
        return self.address

    def start_worker(
        self,
        name: str,
        *,
        threads: int = 2,
        sessions: int | None = None,
        hide: Sequence[Path] = (),
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """A worker named ``name``; ``sessions``: its ``autorun`` resource; ``hide``: folders it cannot see."""
        local = self.folder / name
        (local / "tmp").mkdir(parents=True)
        command = [str(_DASK), "worker", self.address, "--name", name, "--nthreads", str(threads)]
        command += ["--no-nanny", "--no-dashboard", "--local-directory", str(local), "--death-timeout", "60"]
        if sessions is not None:
            command += ["--resources", f"autorun={sessions}"]
        if hide:
            mounts = " && ".join(f"mount -t tmpfs -o size=1m autorun-hidden {_quoted(p)}" for p in hide)
            command = [
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                f'{mounts} && exec "$@"',
                "sh",
                *command,
            ]
        return self._start(name, command, {**(env or self.env), "TMPDIR": str(local / "tmp")})

    def wait_for_workers(self, count: int, timeout: float = 90) -> None:
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=timeout)

    def sees(self, worker: str, path: Path) -> bool:
        """Whether ``worker``'s process can see ``path`` (asked of the worker itself)."""
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            addresses = [a for a, w in client.scheduler_info()["workers"].items() if w["name"] == worker]
            return bool(client.run(os.path.exists, str(path), workers=addresses)[addresses[0]])

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.processes[name].pid, signum)
        self.processes[name].wait(timeout=60)

    def own_pids(self) -> list[int]:
        return [p.pid for p in self.processes.values() if p.poll() is None]

    def leftovers(self) -> list[int]:
        """Processes naming this cluster's folder that are not the cluster itself (sessions, kernels...)."""
        mine = set(self.own_pids())
        return [pid for pid in pids_with(str(self.folder)) if pid not in mine and not mine & set(ancestors(pid))]

    def close(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        deadline = time.monotonic() + 30
        while pids_with(str(self.folder)) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in pids_with(str(self.folder)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _quoted(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))


@contextlib.contextmanager
def running_cluster(folder: Path, env: dict[str, str]) -> Iterator[TestCluster]:
    distributed_or_skip()
    folder.mkdir(parents=True, exist_ok=True)
    cluster = TestCluster(folder, env)
    try:
        cluster.start_scheduler()
        yield cluster
    finally:
        cluster.close()
