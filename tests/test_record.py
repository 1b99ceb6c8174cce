"""The session record: where it lives (the state dir), how it is read back (one hardened reader), and
how the writer keeps it complete when something else changes the file."""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import datetime
from pathlib import Path

import pytest

from autorun.errors import AutorunError, ConfigError
from autorun.events import (
    Artifact,
    CodeBlockEvent,
    ExecutionResultEvent,
    MessageEvent,
    Notice,
    SessionEnd,
    SessionStart,
)
from autorun.record import state
from autorun.record.reader import read_regular_file, read_transcript
from autorun.transcripts.store import TranscriptWriter

# --- where the record lives -------------------------------------------------------------------


def test_the_root_is_autorun_state_dir_else_xdg_else_home(tmp_path: Path) -> None:
    assert state.state_root({"AUTORUN_STATE_DIR": str(tmp_path / "s"), "XDG_STATE_HOME": "/x"}) == tmp_path / "s"
    assert state.state_root({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "autorun"
    assert state.state_root({"XDG_STATE_HOME": "relative", "HOME": str(tmp_path)}) == (
        tmp_path / ".local" / "state" / "autorun"
    )
    assert state.state_root({"HOME": str(tmp_path)}) == tmp_path / ".local" / "state" / "autorun"


def test_a_session_is_recorded_under_its_work_dirs_record(tmp_path: Path) -> None:
    env = {"AUTORUN_STATE_DIR": str(tmp_path / "state")}
    work = tmp_path / "My Work"
    session = state.new_session(work, "ab12cd34", datetime(2026, 3, 9, 14, 5, 7), env)
    digest = hashlib.sha256(str(work).encode()).hexdigest()[:12]
    record = tmp_path / "state" / "workdirs" / f"My-Work-{digest}"
    assert session.transcript == record / "sessions" / "20260309-140507-ab12cd34.jsonl"
    assert session.files_dir == record / "sessions" / "20260309-140507-ab12cd34"
    assert (record / "workdir").read_text() == f"{work}\n"
    for directory in (tmp_path / "state", tmp_path / "state" / "workdirs", record, record / "sessions"):
        assert directory.stat().st_mode & 0o777 == 0o700, directory
    assert not session.transcript.exists(), "the writer creates it at the first event"


def test_an_odd_session_id_stays_inside_the_sessions_dir(tmp_path: Path) -> None:
    env = {"AUTORUN_STATE_DIR": str(tmp_path / "state")}
    session = state.new_session(tmp_path / "w", "../../x", datetime(2026, 1, 1), env)
    assert session.transcript.parent == state.work_dir_record(tmp_path / "w", env).sessions_dir
    assert "/" not in session.transcript.name


def test_sessions_are_found_from_the_work_dir_and_listed(tmp_path: Path) -> None:
    env = {"AUTORUN_STATE_DIR": str(tmp_path / "state")}
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    later = state.new_session(tmp_path / "link", "bbbb", datetime(2026, 1, 2), env)
    first = state.new_session(tmp_path / "real", "aaaa", datetime(2026, 1, 1), env)
    for session in (later, first):
        session.transcript.write_text("{}\n")
    state.new_session(tmp_path / "other", "cccc", datetime(2026, 1, 3), env).transcript.write_text("{}\n")
    found = state.sessions_of(tmp_path / "real", env)
    assert [s.session_id for s in found] == ["aaaa", "bbbb"], "one record per real path, oldest first"
    assert found[0].started == datetime(2026, 1, 1) and found[0].work_dir == tmp_path / "real"
    assert [r.work_dir for r in state.recorded_work_dirs(env)] == sorted(
        [tmp_path / "real", tmp_path / "other"], key=lambda p: state.record_name(p)
    )
    assert [s.session_id for s in state.all_sessions(env)] == ["aaaa", "bbbb", "cccc"]
    assert state.sessions_of(tmp_path / "never-used", env) == []


def test_a_work_dir_and_the_state_dir_must_not_hold_each_other(tmp_path: Path) -> None:
    env = {"AUTORUN_STATE_DIR": str(tmp_path / "state")}
    with pytest.raises(ConfigError, match="is inside autorun's state dir") as inside:
        state.new_session(tmp_path / "state" / "work", "x", datetime(2026, 1, 1), env)
    with pytest.raises(ConfigError, match=r"state dir .* is inside the work dir") as holding:
        state.new_session(tmp_path, "x", datetime(2026, 1, 1), env)
    for error in (inside, holding):
        assert "\n" not in str(error.value)
    assert not (tmp_path / "state").exists(), "nothing is created for a refused work dir"


def test_the_work_dir_holding_a_path_and_recorded_transcripts(tmp_path: Path) -> None:
    env = {"AUTORUN_STATE_DIR": str(tmp_path / "state")}
    session = state.new_session(tmp_path / "w", "x", datetime(2026, 1, 1), env)
    (tmp_path / "w" / "sub").mkdir(parents=True)
    assert state.recorded_work_dir_holding(tmp_path / "w" / "sub", env) == tmp_path / "w"
    assert state.recorded_work_dir_holding(tmp_path, env) is None
    session.transcript.write_text("{}\n")
    assert state.is_recorded_transcript(session.transcript, env)
    copy = tmp_path / "w" / "copy.jsonl"
    copy.write_text("{}\n")
    link = session.transcript.with_name("link.jsonl")
    link.symlink_to(copy)
    assert not state.is_recorded_transcript(copy, env)
    assert not state.is_recorded_transcript(link, env), "a symlink in the record may lead anywhere"


# --- reading it back: one hardened reader ---------------------------------------------------------


def test_a_fifo_and_a_symlink_to_dev_zero_are_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.jsonl"
    zero.symlink_to("/dev/zero")
    started = time.monotonic()
    with pytest.raises(ConfigError, match="is a FIFO"):
        read_transcript(fifo)
    with pytest.raises(ConfigError, match="is a symlink"):
        read_transcript(zero)
    with pytest.raises(ConfigError, match="is a character device"):
        read_transcript(Path("/dev/zero"))
    assert time.monotonic() - started < 2


def test_a_file_over_the_size_bound_is_refused_naming_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"x" * 5000)
    with pytest.raises(ConfigError, match=r"larger than the 4 KiB a transcript may be"):
        read_regular_file(path, 4096)
    assert read_regular_file(path, 5000) == b"x" * 5000


def start_event(path: Path) -> SessionStart:
    return SessionStart("id1", "m", "local", "/w", "sales.csv", str(path))


def test_every_event_type_reads_back_as_it_was_written(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    artifact = Artifact("chart.png", 10, "ab" * 32, "image/png", "created")
    events = [
        start_event(path),
        Notice(text="n", level="warning"),
        MessageEvent(role="assistant", name="m", content="hi", turn=1, usage={"prompt_tokens": 1}),
        CodeBlockEvent(index=1, language="python", code="print(1)", turn=1),
        ExecutionResultEvent(1, "python", 0, 1, False, "1\n", (artifact,)),
        SessionEnd("terminated", 0, "r", 1, 1, 1, 0, 2, "m", "local", "/w", str(path), cost_usd=1),
    ]
    writer = TranscriptWriter(path)
    for event in events:
        writer.handle(event)
    writer.close()
    assert read_transcript(path).events == tuple(events)


def test_the_work_dir_as_code_saw_it_is_read_from_the_record_and_from_older_records_by_executor() -> None:
    from dataclasses import replace

    from autorun.record.decode import code_work_dir_of

    start = SessionStart("id1", "m", "local", "/w", "sales.csv", None)
    assert code_work_dir_of(replace(start, code_work_dir="/elsewhere")) == "/elsewhere"
    assert code_work_dir_of(start) == "/w", "an older record of a session whose code saw host paths"
    assert code_work_dir_of(replace(start, executor="docker")) == "/workspace", "an older Docker record"


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"event": "execution_result", "index": 1}, "execution_result record without language"),
        (
            {"event": "code_block", "index": True, "language": "py", "code": "", "turn": 1},
            "code_block.index must be an integer, got true",
        ),
        (
            {"event": "message", "role": "assistant", "name": "m", "content": 5, "turn": 1},
            "message.content must be text, got 5",
        ),
        (
            {"event": "message", "role": "a", "name": "m", "content": "", "turn": 1, "usage": {"x": "1"}},
            "message.usage must be a mapping of counts",
        ),
        (
            {
                "event": "execution_result",
                **{"index": 1, "language": "sh", "exit_code": 0, "duration_s": 1, "timed_out": False, "output": ""},
                "artifacts": [{"path": "a.png"}],
            },
            "execution_result.artifacts must be a list of files",
        ),
    ],
)
def test_each_event_type_is_checked_field_by_field(tmp_path: Path, record: dict, message: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"event": "notice", "text": "ok"}) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(ConfigError, match="t.jsonl, line 2: " + message):
        read_transcript(path)


def test_unknown_kinds_and_keys_are_skipped_and_chat_history_lines_are_messages(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    lines = [
        {"event": "from_a_later_version", "x": 1},
        {"event": "notice", "text": "t", "ts": "now", "new_field": 2},
        {"role": "user", "content": "hello"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert read_transcript(path).events == (
        Notice(text="t"),
        MessageEvent(role="user", name="user", content="hello", turn=0),
    )


# --- the writer keeps the record complete ------------------------------------------------------------


def three_notices(writer: TranscriptWriter) -> None:
    for n in range(3):
        writer.handle(Notice(text=f"event {n}"))


def result() -> ExecutionResultEvent:
    return ExecutionResultEvent(1, "python", 0, 0.1, False, "out\n")


@pytest.mark.parametrize(
    ("tamper", "said"),
    [
        (lambda p: p.unlink(), "was deleted"),
        (lambda p: p.write_text(p.read_text().splitlines()[0] + "\n"), "was cut short"),
        (lambda p: p.write_text(p.read_text().replace("event 1", "event 9")), "was rewritten"),
        (lambda p: (p.unlink(), p.symlink_to("/etc/hostname")), "was replaced by another file"),
        (lambda p: p.open("a").write('{"event": "notice", "text": "forged"}\n'), "was added to"),
    ],
)
def test_a_changed_transcript_is_put_back_and_the_session_told(tmp_path: Path, tamper, said: str) -> None:
    path = tmp_path / "sessions" / "t.jsonl"
    writer = TranscriptWriter(path)
    three_notices(writer)
    tamper(path)
    with pytest.raises(AutorunError, match=f"{said} while the session ran") as error:
        writer.handle(result())
    assert "\n" not in str(error.value) and "wrote it again" in str(error.value)
    writer.handle(Notice(text="after"))  # the session's end is still recorded
    writer.close()
    assert not path.is_symlink()
    kinds = [type(e).__name__ for e in read_transcript(path).events]
    assert kinds == ["Notice"] * 3 + ["ExecutionResultEvent", "Notice"]
    assert [e.text for e in read_transcript(path).of(Notice)] == ["event 0", "event 1", "event 2", "after"]
    assert not list(path.parent.glob(".*restored"))


def test_doctor_says_where_sessions_are_recorded_and_refuses_overlap(tmp_path: Path) -> None:
    from autorun.config.schema import Config
    from autorun.doctor import record_check

    env = {"AUTORUN_STATE_DIR": str(tmp_path / "work" / "state")}
    apart = record_check(Config.model_validate({"executor": {"work_dir": str(tmp_path / "w")}}), env)
    assert apart.status == "ok" and str(tmp_path / "work" / "state") in apart.detail
    inside = record_check(Config.model_validate({"executor": {"work_dir": str(tmp_path / "work")}}), env)
    assert inside.status == "fail" and "is inside the work dir" in inside.detail and "AUTORUN_STATE_DIR" in inside.fix


def test_the_suite_and_its_child_processes_record_into_its_own_state_dir(clean_env, state_dir: Path) -> None:
    import subprocess
    import sys

    assert clean_env["AUTORUN_STATE_DIR"] == str(state_dir)
    child = "from autorun.record.state import state_root; print(state_root())"
    done = subprocess.run([sys.executable, "-c", child], env=clean_env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(state_dir.resolve())
