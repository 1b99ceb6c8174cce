"""ReplayModel: recorded assistant messages streamed back in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autorun.errors import ConfigError, ModelError
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
            {"event": "session_start", "session_id": "x", "model": "gpt-4o"},
            message("user", "Please analyse"),
            message(
                "assistant",
                "first step\n```python\nprint(1)\n```",
                usage={"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
            ),
            {"event": "execution_result", "index": 0, "exit_code": 0, "output": "1\n"},
            message("user", "exitcode: 0 (execution succeeded)\nCode output:\n1\n"),
            message("assistant", "All done.\nTERMINATE", usage=None),
            {"event": "session_end", "status": "terminated"},
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
    with pytest.raises(ConfigError, match="cannot read the transcript"):
        ReplayModel(tmp_path / "absent.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event": "message"}\nnot json\n')
    with pytest.raises(ConfigError, match="line 2 is not JSON"):
        ReplayModel(bad)
