from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.docker_fixtures", "tests.security.harness")

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "sales.csv"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The process environment without keys or AUTORUN_* settings, so tests are offline and hermetic."""
    for name in list(os.environ):
        if name.startswith("AUTORUN_") or name.endswith("_API_KEY") or name == "NO_COLOR":
            monkeypatch.delenv(name, raising=False)
    return dict(os.environ)


def autorun_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "autorun", *args]


def run_autorun(
    args: list[str], cwd: Path, env: dict[str, str], stdin: str = "", timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """``autorun ARGS`` in ``cwd`` with plain output, ``stdin`` typed in, everything captured."""
    return subprocess.run(
        autorun_cmd(*args),
        cwd=cwd,
        env=env | {"NO_COLOR": "1"},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
