"""`autorun replay TRANSCRIPT`: a recorded session shown again through the renderer, nothing run."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from autorun.chat import run_chat
from autorun.config.schema import Config
from autorun.session.terminal import ChatHuman, Terminal
from tests.conftest import SAMPLE, autorun_cmd, transcripts
from tests.fake_openai_server import FakeOpenAIServer
from tests.scripted import RecordingSink

MAKE_FILE = "open('made.txt', 'w').write('x')\nprint('MADE', 1 + 2)"


def replay(transcript: Path, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        autorun_cmd("replay", str(transcript)),
        env=env | {"NO_COLOR": "1"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def sessions(work: Path) -> list[Path]:
    return sorted(transcripts(work))


@pytest.fixture
def chat_transcript(tmp_path: Path, clean_env: dict[str, str]) -> Path:
    """A finished chat whose one block created made.txt (deleted again before the test)."""
    work = tmp_path / "work"
    steps = [
        {"reply": f"I will write a file.\n\n```python\n{MAKE_FILE}\n```\n"},
        {"reply": "The file is written.\n\nTERMINATE"},
    ]
    with FakeOpenAIServer(steps) as server:
        config = Config.model_validate(
            {
                "model": {"name": "fake-analyst", "base_url": server.base_url},
                "executor": {"work_dir": str(work)},
                "session": {"human_input_mode": "NEVER"},
            }
        )
        human = ChatHuman("NEVER", Terminal(io.StringIO("make the file please\n/exit\n"), io.StringIO()))
        outcome = run_chat(config, [SAMPLE], display=RecordingSink(), human=human, env=clean_env)
    assert outcome.exit_code == 0
    assert (work / "made.txt").exists()
    (work / "made.txt").unlink()
    for script in work.glob("tmp_code_*"):
        script.unlink()
    (transcript,) = sessions(work)
    return transcript


def test_replay_shows_messages_code_and_output_without_running_anything(chat_transcript, clean_env) -> None:
    work = Path(json.loads(chat_transcript.read_text().splitlines()[0])["work_dir"])
    proc = replay(chat_transcript, clean_env, work)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for expected in (
        "make the file please",
        "I will write a file.",
        "open('made.txt', 'w').write('x')",
        "MADE 3",
        "The file is written.",
        "status:     ended (exit code 0)",
    ):
        assert expected in out
    assert out.index("make the file please") < out.index("I will write a file.") < out.index("MADE 3")
    assert not (work / "made.txt").exists(), "replay must not run code"
    assert not list(work.glob("tmp_code_*")), "replay must not even write code files"
    assert sessions(work) == [chat_transcript], "replay records no new session"


def test_replay_output_is_what_the_live_session_printed(tmp_path, clean_env) -> None:
    work = tmp_path / "work"
    env = clean_env | {"NO_COLOR": "1"}
    live = subprocess.run(
        autorun_cmd("analyse", str(SAMPLE), "--model", "builtin", "--work-dir", str(work)),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert live.returncode == 0, live.stderr
    (transcript,) = sessions(work)
    shown = replay(transcript, clean_env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == live.stdout
    assert shown.stderr == live.stderr


def test_a_transcript_cut_mid_line_is_shown_up_to_the_cut(chat_transcript, clean_env) -> None:
    lines = chat_transcript.read_text().splitlines()
    chat_transcript.write_text("\n".join(lines[:4]) + "\n" + lines[4][: len(lines[4]) // 2])
    proc = replay(chat_transcript, clean_env, chat_transcript.parent)
    assert proc.returncode == 0, proc.stderr
    assert "make the file please" in proc.stdout
    assert "ends mid-record: the session was cut off here" in proc.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"event": "notice", "text": "hi"}\n{oops\n{"event": "notice", "text": "bye"}\n', "line 2: not valid JSON"),
        ('{"hello": "world"}\n', "holds no autorun events"),
        (
            '{"event": "message", "role": "user", "name": "x", "content": 5, "turn": 0}\n',
            "message.content must be text, got 5",
        ),
        ('{"event": "code_block", "index": 1}\n', "code_block record without language"),
        ("", "is empty"),
        ("[1, 2]\n", "expected a JSON object"),
    ],
)
def test_a_bad_transcript_is_a_one_line_usage_error(tmp_path, clean_env, content, message) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    proc = replay(path, clean_env, tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("name", ["missing.jsonl", "."])
def test_a_missing_path_or_a_directory_is_a_usage_error(tmp_path, clean_env, name) -> None:
    proc = replay(tmp_path / name, clean_env, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("autorun: error: ")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_replayed_events_keep_their_recorded_values(chat_transcript) -> None:
    from autorun.record.reader import read_records, read_transcript

    events = read_transcript(chat_transcript).events
    recorded = [record for _, record in read_records(chat_transcript)[0]]
    assert [e.kind for e in events] == [r["event"] for r in recorded]
    for event, record in zip(events, recorded, strict=True):
        assert {k: v for k, v in record.items() if k not in ("event", "ts")} == json.loads(
            json.dumps({k: v for k, v in event.to_dict().items() if k != "event"})
        )
