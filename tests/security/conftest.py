"""Fixtures of the adversarial suite: the executor under test, Docker and bwrap gates, the outcomes file."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.docker_fixtures import docker_client  # noqa: F401  (a fixture)
from tests.security import probes

TABLE_TEST = "test_security_md_table_matches_the_outcomes"


def _require(problem: str | None, what: str) -> None:
    if problem is None:
        return
    reason = f"SECURITY PROBES FOR {what} NOT RUN: {problem}; run scripts/docker-test-env.sh"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so this is a failure. {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sandbox_ready() -> None:
    from autorun.executors.sandbox.bwrap import sandbox_problem

    path = shutil.which("bwrap")
    _require(None if path else "bwrap is not installed", "THE BWRAP SANDBOX")
    assert path is not None
    _require(sandbox_problem(path), "THE BWRAP SANDBOX")


@pytest.fixture(
    params=[
        "local",
        "sandbox",
        pytest.param("docker", marks=pytest.mark.docker),
    ]
)
def executor(request: pytest.FixtureRequest) -> str:
    """The executor a probe runs against (a session is built from `executor.type` in its config)."""
    if request.param == "docker":
        request.getfixturevalue("docker_client")
    elif request.param == "sandbox":
        request.getfixturevalue("sandbox_ready")
    return request.param


@pytest.fixture(scope="session", autouse=True)
def outcomes_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path = probes.default_outcomes_path(tmp_path_factory.getbasetemp())
    probes.set_outcomes_path(path)
    yield path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The SECURITY.md comparison runs after every probe."""
    last = [item for item in items if item.name == TABLE_TEST]
    items[:] = [item for item in items if item.name != TABLE_TEST] + last
