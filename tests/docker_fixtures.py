"""Fixtures for tests that need the real Docker engine (imported by tests/test_docker_executor.py).

Outside CI, without an engine or the test image, these tests skip with one reason; with
CI set, that is a failure. After every test, no container of the test's sessions may
remain (anything left is removed, then reported).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from autorun.codeblocks import CodeBlock
from autorun.config.schema import ExecutorConfig
from autorun.executors.base import ExecResult
from autorun.executors.docker.engine import engine_host, engine_problem
from autorun.executors.docker.executor import SESSION_LABEL, DockerExecutor, DockerSettings
from autorun.session import executor_settings

TEST_IMAGE = "python:3.11-slim"
RUNTIME_IMAGE = "autorun-runtime:1"  # `autorun image build` (.ci/run builds it from TEST_IMAGE)


def docker_settings(**keys: Any) -> DockerSettings:
    """The settings `executor:` with these keys gives (the schema's defaults for the rest)."""
    return executor_settings.docker_settings(ExecutorConfig(**keys))


@pytest.fixture
def runtime_image() -> str:
    """autorun's runtime image (pandas, DuckDB, ipykernel): the builtin's Docker tests need it."""
    import docker

    try:
        docker.from_env().images.get(RUNTIME_IMAGE)
    except Exception:
        reason = f"THE RUNTIME IMAGE {RUNTIME_IMAGE} IS MISSING: build it with `autorun image build`"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so this is a failure. {reason}", pytrace=False)
        pytest.skip(reason)
    return RUNTIME_IMAGE


def _engine_problem() -> tuple[Any, str | None]:
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:
        return None, engine_problem(exc, engine_host(os.environ))[0]
    try:
        client.images.get(TEST_IMAGE)
    except Exception:
        return None, f"the image {TEST_IMAGE} is missing"
    return client, None


def _unavailable(problem: str, *, module_level: bool) -> None:
    reason = f"Docker tests need a running engine and {TEST_IMAGE}: {problem}; run scripts/docker-test-env.sh"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so this is a failure. {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=module_level)


def skip_without_engine() -> None:
    """Call in a test: without an engine or the test image, skip it loudly (fail it in CI)."""
    client, problem = _engine_problem()
    if problem:
        _unavailable(problem, module_level=False)
    client.close()


def require_engine() -> None:
    """Call at a test module's top: without an engine, skip the whole module once (fail it in CI)."""
    client, problem = _engine_problem()
    if problem:
        _unavailable(problem, module_level=True)
    client.close()


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    client, problem = _engine_problem()
    if problem:
        _unavailable(problem, module_level=False)
    yield client
    client.close()


def session_containers(client: Any, session_id: str) -> list[Any]:
    return client.containers.list(all=True, filters={"label": f"{SESSION_LABEL}={session_id}"})


@pytest.fixture
def session_ids(docker_client: Any) -> Iterator[Callable[[], str]]:
    """Hands out session ids; afterwards, asserts that none of them left a container behind."""
    issued: list[str] = []

    def new_id() -> str:
        issued.append(f"test{secrets.token_hex(4)}")
        return issued[-1]

    yield new_id
    leftovers = [container for sid in issued for container in session_containers(docker_client, sid)]
    for container in leftovers:
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            container.remove(force=True)
    assert not leftovers, f"containers left behind: {[(c.name, c.status) for c in leftovers]}"


@pytest.fixture
def make_executor(tmp_path: Path, session_ids: Callable[[], str]) -> Callable[..., DockerExecutor]:
    """Builds DockerExecutors in a fresh work dir with an empty host environment by default."""

    def make(settings: DockerSettings | None = None, *, timeout: float = 30, **kwargs: Any) -> DockerExecutor:
        kwargs.setdefault("base_env", {})
        work_dir = kwargs.pop("work_dir", tmp_path / "work")
        return DockerExecutor(work_dir, timeout, settings or docker_settings(), session_id=session_ids(), **kwargs)

    return make


def run_code(executor: DockerExecutor, code: str, language: str = "python", *, runs: bool = True) -> ExecResult:
    """Run one block; checks that what was streamed is the result's output (nothing, if it cannot run)."""
    streamed: list[str] = []
    result = executor.run(CodeBlock(language, code, 0), streamed.append)
    assert "".join(streamed) == (result.output if runs else "")
    return result


def bridge_gateway(client: Any) -> str:
    """The host's address on Docker's default bridge network."""
    config = client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    return config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))


class TcpServer:
    """Accepts TCP connections on ``host`` (all host addresses by default), answers each with `hello`, counts them."""

    def __init__(self, host: str = "0.0.0.0") -> None:
        self.sock = socket.create_server((host, 0))
        self.host, self.port = host, self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                conn.sendall(b"hello")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def tcp_server() -> Iterator[TcpServer]:
    server = TcpServer()
    yield server
    server.close()
