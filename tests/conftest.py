from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.docker_fixtures", "tests.security.harness")

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "sales.csv"


@pytest.fixture(scope="session", autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """autorun's state dir (the session record) for the whole run: a temporary one, inherited by child processes.

    Tests that build an environment of their own get a state dir under the HOME they give.
    """
    from autorun.record.state import STATE_DIR_ENV

    path = tmp_path_factory.mktemp("autorun-state")
    previous = os.environ.get(STATE_DIR_ENV)
    os.environ[STATE_DIR_ENV] = str(path)
    yield path
    if previous is None:
        os.environ.pop(STATE_DIR_ENV, None)
    else:
        os.environ[STATE_DIR_ENV] = previous


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, state_dir: Path) -> dict[str, str]:
    """The process environment without keys or AUTORUN_* settings, so tests are offline and hermetic.

    The suite's own state dir stays: it keeps every session record of the run out of the user's.
    """
    from autorun.record.state import STATE_DIR_ENV

    for name in list(os.environ):
        if name.startswith("AUTORUN_") or name.endswith("_API_KEY") or name == "NO_COLOR":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(STATE_DIR_ENV, str(state_dir))
    return dict(os.environ)


def transcripts(work_dir: Path, env: Mapping[str, str] | None = None) -> list[Path]:
    """The transcripts autorun recorded for sessions in ``work_dir``, oldest first (``env`` picks the state dir)."""
    from autorun.record.state import sessions_of

    return [session.transcript for session in sessions_of(work_dir, env) if session.transcript.is_file()]


def stored_transcript(work_dir: Path, lines: Sequence[Mapping[str, Any]], env: Mapping[str, str] | None = None) -> Path:
    """A hand-made transcript recorded as a session of ``work_dir`` (``--model replay:`` takes only recorded ones)."""
    from datetime import datetime

    from autorun.record.state import new_session

    path = new_session(work_dir, uuid.uuid4().hex[:8], datetime.now(), env).transcript
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def autorun_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "autorun", *args]


def assistant_message(content: str) -> dict[str, Any]:
    """A recorded assistant message, as a transcript line."""
    return {"event": "message", "role": "assistant", "name": "recorded", "content": content, "turn": 1}


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
