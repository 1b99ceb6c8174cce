"""ReplayModel: recorded assistant messages streamed back in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autorun.errors import ConfigError, ModelError
from autorun.events import ExecutionResultEvent, SessionEnd, SessionStart
from autorun.models.base import Message, Usage
from autorun.models.replay import ReplayModel
from autorun.models.retry import PartialReplyError

ASK = [Message("user", "go")]


def write_transcript(path: Path, events: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def message(role: str, content: str, **extra) -> dict:
    return {"event": "message", "role": role, "name": role, "content": content, "turn": 1, **extra}


@pytest.fixture
def transcript(tmp_path: Path) -> Path:
    return write_transcript(
        tmp_path / "t.jsonl",
        [
            SessionStart("x", "gpt-4o", "local", "/w", None, None).to_dict(),
            message("user", "Please analyse"),
            message(
                "assistant",
                "first step\n```python\nprint(1)\n```",
                usage={"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
            ),
            ExecutionResultEvent(0, "python", 0, 0.1, False, "1\n").to_dict(),
            message("user", "exitcode: 0 (execution succeeded)\nCode output:\n1\n"),
            message("assistant", "All done.\nTERMINATE", usage=None),
            SessionEnd("terminated", 0, "done", 2, 1, 1, 0, 1.0, "gpt-4o", "local", "/w", None).to_dict(),
        ],
    )


def test_replays_assistant_messages_in_order_with_usage(transcript: Path) -> None:
    model = ReplayModel(transcript)
    first = list(model.reply(ASK))
    assert len(first) > 1
    assert "".join(first) == "first step\n```python\nprint(1)\n```"
    assert model.usage == Usage(5, 3)
    assert "".join(model.reply(ASK)) == "All done.\nTERMINATE"
    assert model.usage is None
    assert model.name == f"replay:{transcript}"


def test_exhausted_replay_is_a_model_error(transcript: Path) -> None:
    model = ReplayModel(transcript)
    for _ in range(2):
        list(model.reply(ASK))
    with pytest.raises(ModelError, match=rf"^replay exhausted: {transcript} has 2 assistant messages$"):
        list(model.reply(ASK))


def test_partial_recorded_reply_fails_again_after_streaming(tmp_path: Path) -> None:
    path = write_transcript(tmp_path / "p.jsonl", [message("assistant", "half a", partial=True)])
    with pytest.raises(PartialReplyError) as info:
        list(ReplayModel(path).reply(ASK))
    assert info.value.partial_text == "half a"


def test_missing_or_invalid_transcript_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such transcript"):
        ReplayModel(tmp_path / "absent.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event": "notice", "text": "x"}\nnot json\n')
    with pytest.raises(ConfigError, match="line 2: not valid JSON"):
        ReplayModel(bad)
    forged = write_transcript(tmp_path / "forged.jsonl", [{"event": "message", "role": "assistant", "content": 1}])
    with pytest.raises(ConfigError, match="line 1: message record without name"):
        ReplayModel(forged)


def test_replay_takes_only_a_transcript_autorun_recorded(tmp_path: Path) -> None:
    from autorun.config.schema import Config
    from autorun.session.components import replay_transcript
    from tests.conftest import stored_transcript

    env = {"AUTORUN_STATE_DIR": str(tmp_path / "state")}
    lines = [message("assistant", "TERMINATE")]
    recorded = stored_transcript(tmp_path / "w", lines, env)

    def named(path: Path) -> Config:
        return Config.model_validate({"model": {"name": f"replay:{path}"}})

    assert replay_transcript(named(recorded), env) == recorded
    (tmp_path / "w").mkdir()
    for elsewhere in (
        write_transcript(tmp_path / "w" / "t.jsonl", lines),
        write_transcript(tmp_path / "t.jsonl", lines),
    ):
        with pytest.raises(ConfigError, match=r"takes only a transcript autorun recorded in .*; .*t\.jsonl is not one"):
            replay_transcript(named(elsewhere), env)
    link = recorded.with_name("link.jsonl")
    link.symlink_to(tmp_path / "t.jsonl")
    with pytest.raises(ConfigError, match="is not one"):
        replay_transcript(named(link), env)
