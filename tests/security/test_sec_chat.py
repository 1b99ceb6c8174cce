"""`autorun chat` builds its own session: it must redact known secrets and refuse planted symlinks too."""

from __future__ import annotations

import io
import json
import os
import secrets
from pathlib import Path

import pytest

from autorun.chat import run_chat
from autorun.config.schema import Config
from autorun.errors import ConfigError
from autorun.session.terminal import ChatHuman, Terminal
from tests.conftest import SAMPLE, transcripts
from tests.fake_openai_server import FakeOpenAIServer
from tests.scripted import RecordingSink
from tests.security.harness import fenced


def chat_config(base_url: str, work: Path) -> Config:
    return Config.model_validate(
        {
            "model": {"name": "probe-model", "base_url": base_url, "max_retries": 0},
            "executor": {"work_dir": str(work)},
            "session": {"human_input_mode": "NEVER"},
        }
    )


def test_chat_redacts_the_secrets_it_knows(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    token = f"ghp_{secrets.token_hex(16)}"
    (work / "found.txt").write_text(f"token={token}\n")
    replies = [fenced("print(open('found.txt').read())"), "Done.\n\nTERMINATE"]
    display = RecordingSink()
    with FakeOpenAIServer([{"reply": r} for r in replies]) as server:
        human = ChatHuman("NEVER", Terminal(io.StringIO("look\n/exit\n"), io.StringIO()))
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GITHUB_TOKEN": token}
        outcome = run_chat(chat_config(server.base_url, work), [SAMPLE], display=display, human=human, env=env)
        sent = json.dumps([r["body"] for r in server.chat_requests])
    assert outcome.exit_code == 0
    shown = json.dumps([e.to_dict() for e in display.events])
    (transcript,) = transcripts(work, env)
    assert "[REDACTED]" in shown
    assert token not in shown and token not in transcript.read_text() and token not in sent


def test_chat_refuses_a_planted_symlink_where_autorun_writes(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (work / ".autorun").symlink_to(outside)
    human = ChatHuman("NEVER", Terminal(io.StringIO("look\n/exit\n"), io.StringIO()))
    with pytest.raises(ConfigError, match="symlink"):
        run_chat(chat_config("http://127.0.0.1:9/v1", work), [SAMPLE], display=RecordingSink(), human=human, env={})
    assert list(outside.iterdir()) == []
