"""Finding sessions like `gh run` / `llm logs`: `autorun sessions` lists them, and `results`, `replay`
and `export` take nothing (the newest session of the work dir), an id prefix, or several paths."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from autorun.errors import ConfigError
from autorun.events import ExecutionResultEvent, MessageEvent, SessionEnd, SessionStart
from autorun.record.find import chosen_transcripts, resume_selector, session_by_id
from autorun.record.state import STATE_DIR_ENV, new_session
from autorun.session_list import final_line, list_sessions
from autorun.transcripts.store import TranscriptWriter, transcript_record
from tests.conftest import autorun_cmd, run_autorun


@pytest.fixture
def env(tmp_path: Path, clean_env: dict[str, str]) -> dict[str, str]:
    """A state dir of this test's own, so `--all` sees only its sessions."""
    return clean_env | {STATE_DIR_ENV: str(tmp_path / "state")}


def record(
    env: dict[str, str],
    work_dir: Path,
    session_id: str,
    started: str,
    *,
    model: str = "builtin",
    final: str = "Total revenue is 91,100.\n\nTERMINATE",
    failed_blocks: int = 0,
    ended: bool = True,
    data_file: str = "/data/sales.csv",
) -> Path:
    """A recorded session of ``work_dir`` started at ``started`` (YYYYmmdd-HHMMSS), as autorun writes one."""
    when = datetime.strptime(started, "%Y%m%d-%H%M%S")
    path = new_session(work_dir, session_id, when, env).transcript
    real = str(Path(os.path.realpath(work_dir)))
    events = [
        SessionStart(
            session_id=session_id,
            model=model,
            executor="sandbox",
            work_dir=real,
            data_file=data_file,
            transcript=str(path),
            config={"session": {"termination_keyword": "TERMINATE"}},
        ),
        MessageEvent(role="user", name="user", content="Analyse it", turn=0),
        ExecutionResultEvent(index=1, language="python", exit_code=0, duration_s=0.1, timed_out=False, output="ok"),
    ]
    events += [
        ExecutionResultEvent(index=2 + n, language="python", exit_code=1, duration_s=0.1, timed_out=False, output="")
        for n in range(failed_blocks)
    ]
    events.append(MessageEvent(role="assistant", name="assistant", content=final, turn=2))
    if ended:
        events.append(
            SessionEnd(
                status="terminated",
                exit_code=1 if failed_blocks else 0,
                reason="the assistant replied TERMINATE",
                turns=2,
                blocks_run=1 + failed_blocks,
                blocks_ok=1,
                blocks_failed=failed_blocks,
                duration_s=1.0,
                model=model,
                executor="sandbox",
                work_dir=real,
                transcript=str(path),
                final_message=final.replace("\n\nTERMINATE", ""),
            )
        )
    lines = [json.dumps(transcript_record(event, when)) + "\n" for event in events]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def autorun(args: list[str], cwd: Path, env: dict[str, str]):
    return run_autorun(args, cwd, env, timeout=120)


def test_sessions_lists_the_work_dirs_sessions_newest_first_with_what_a_person_looks_for(
    tmp_path: Path, env: dict[str, str]
) -> None:
    ws = tmp_path / "coding_workspace"
    record(env, ws, "aaaa1111", "20260105-100000", final="Revenue grew.\n\n- West grew fastest (+41%).\n\nTERMINATE")
    record(env, ws, "bbbb2222", "20260106-110000", model="gpt-4o-mini", failed_blocks=1)
    record(env, ws / "sales", "cccc3333", "20260107-120000", data_file="/data/q1.csv")  # a batch's per-file dir
    record(env, tmp_path / "elsewhere", "dddd4444", "20260108-130000")

    listed = autorun(["sessions"], tmp_path, env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["time", "id", "file", "model", "status", "final", "line"]
    assert [line.split()[2] for line in lines[1:]] == ["cccc3333", "bbbb2222", "aaaa1111"]
    assert lines[1].split()[:6] == ["2026-01-07", "12:00", "cccc3333", "q1.csv", "builtin", "terminated"]
    assert "gpt-4o-mini  terminated (1)" in lines[2]
    assert lines[3].endswith("West grew fastest (+41%).")
    assert "dddd4444" not in listed.stdout, "another work dir's session is listed only with --all"

    every = autorun(["sessions", "--all", "--json"], tmp_path, env)
    rows = json.loads(every.stdout)
    assert [row["id"] for row in rows] == ["dddd4444", "cccc3333", "bbbb2222", "aaaa1111"]
    assert rows[2] | {"transcript": None} == {
        "id": "bbbb2222",
        "started": "2026-01-06T11:00:00",
        "work_dir": str(ws),
        "transcript": None,
        "data_file": "/data/sales.csv",
        "model": "gpt-4o-mini",
        "executor": "sandbox",
        "status": "terminated",
        "exit_code": 1,
        "blocks_run": 2,
        "final_line": "Total revenue is 91,100.",
    }
    assert Path(rows[2]["transcript"]).is_file()
    newest = autorun(["sessions", "-n", "1", "--json", "--work-dir", str(tmp_path / "elsewhere")], tmp_path, env)
    assert [row["id"] for row in json.loads(newest.stdout)] == ["dddd4444"]

    empty = autorun(["sessions", "--work-dir", "never-used"], tmp_path, env)
    assert empty.returncode == 0 and empty.stdout == ""
    assert f"no session is recorded for the work dir {tmp_path / 'never-used'}" in empty.stderr


def test_without_an_argument_results_replay_and_export_take_the_newest_session(
    tmp_path: Path, env: dict[str, str]
) -> None:
    ws = tmp_path / "coding_workspace"
    record(env, ws, "aaaa1111", "20260105-100000", final="Old answer.\n\nTERMINATE")
    record(env, ws, "bbbb2222", "20260106-110000", final="New answer.\n\nTERMINATE", failed_blocks=2)

    results = autorun(["results", "--json"], tmp_path, env)
    assert results.returncode == 0, results.stderr
    summary = json.loads(results.stdout)
    assert (summary["total"], summary["failed"], summary["exit_code"]) == (3, 2, 1)
    assert summary["transcript"].endswith("-bbbb2222.jsonl")
    replay = autorun(["replay"], tmp_path, env)
    assert replay.returncode == 0 and "New answer." in replay.stdout and "Old answer." not in replay.stdout
    export = autorun(["export", "--format", "md"], tmp_path, env)
    assert export.returncode == 0, export.stderr
    assert Path(export.stdout.strip()).name == "20260106-110000-bbbb2222.md"

    other = autorun(["results", "--work-dir", "ws2"], tmp_path, env)
    assert other.returncode == 2
    assert other.stderr.strip() == (
        f"autorun: error: no session is recorded for the work dir {tmp_path / 'ws2'}; run one, or name a "
        "session: `autorun sessions` lists them (`--all` for every work dir)"
    )


def test_an_id_prefix_names_a_session_from_any_directory(tmp_path: Path, env: dict[str, str]) -> None:
    record(env, tmp_path / "ws", "abc12345", "20260105-100000", final="Answer A.\n\nTERMINATE")
    record(env, tmp_path / "ws", "abd67890", "20260106-110000", final="Answer B.\n\nTERMINATE")
    (tmp_path / "far").mkdir()

    one = autorun(["replay", "abc"], tmp_path / "far", env)
    assert one.returncode == 0, one.stderr
    assert "Answer A." in one.stdout and "Answer B." not in one.stdout

    ambiguous = autorun(["results", "ab"], tmp_path / "far", env)
    assert ambiguous.returncode == 2
    assert ambiguous.stderr.count("\n") == 1
    assert ambiguous.stderr.startswith("autorun: error: the session id 'ab' is ambiguous: ")
    assert f"abd67890 (2026-01-06 11:00:00, {tmp_path / 'ws'}), abc12345 (2026-01-05" in ambiguous.stderr
    assert ambiguous.stderr.rstrip().endswith("; give more of it")

    unknown = autorun(["export", "zz9"], tmp_path / "far", env)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "autorun: error: no recorded session has an id starting with 'zz9'; "
        "`autorun sessions` lists them (`--all` for every work dir)"
    )


def test_several_paths_as_a_glob_gives_them(tmp_path: Path, env: dict[str, str]) -> None:
    first = record(env, tmp_path / "ws", "aaaa1111", "20260105-100000")
    second = record(env, tmp_path / "ws", "bbbb2222", "20260106-110000", failed_blocks=1)
    glob = str(first.parent / "*.jsonl")

    as_json = subprocess.run(
        ["sh", "-c", f"{shlex.join(autorun_cmd('results', '--json'))} {glob}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert as_json.returncode == 0, as_json.stderr
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(line["transcript"], line["failed"]) for line in lines] == [(str(first), 0), (str(second), 1)]

    text = autorun(["results", str(first), str(second)], tmp_path, env)
    assert text.returncode == 0, text.stderr
    assert f"== {first} ==" in text.stdout and f"== {second} ==" in text.stdout
    assert text.stdout.rstrip().endswith(
        "All 2 sessions: 3 code executions, 2 successful, 1 failed; 1 of 2 sessions ended with exit code 0"
    )
    exported = autorun(["export", "--format", "html", str(first), str(second)], tmp_path, env)
    assert exported.returncode == 0, exported.stderr
    assert [Path(line).name for line in exported.stdout.splitlines()] == [
        "20260105-100000-aaaa1111.html",
        "20260106-110000-bbbb2222.html",
    ]
    one_output = autorun(["export", "-o", "r.html", str(first), str(second)], tmp_path, env)
    assert one_output.returncode == 2 and "-o names one file, but 2 sessions were given" in one_output.stderr


def test_an_exact_id_wins_over_longer_ids_it_begins(tmp_path: Path, env: dict[str, str]) -> None:
    short = record(env, tmp_path / "ws", "abcd", "20260105-100000")
    record(env, tmp_path / "ws", "abcdef", "20260106-110000")
    assert session_by_id("abcd", env).transcript == short
    with pytest.raises(ConfigError, match="ambiguous"):
        session_by_id("abc", env)
    assert resume_selector(short, env) == "abcd"
    assert resume_selector(tmp_path / "elsewhere.jsonl", env) == str(tmp_path / "elsewhere.jsonl")
    assert chosen_transcripts(["./notes.jsonl", "abcd"], None, env) == [Path("notes.jsonl"), short]


def test_a_running_a_cut_off_and_a_damaged_session_each_say_so(tmp_path: Path, env: dict[str, str]) -> None:
    ws = tmp_path / "ws"
    cut = record(env, ws, "cut00001", "20260105-100000", ended=False, final="Half done.")
    damaged = record(env, ws, "bad00001", "20260106-110000")
    damaged.write_text("not json\n{}\n", encoding="utf-8")
    live_path = new_session(ws, "live0001", datetime(2026, 1, 7, 12), env).transcript
    writer = TranscriptWriter(live_path)
    try:
        writer.handle(
            SessionStart(
                session_id="live0001",
                model="builtin",
                executor="local",
                work_dir=str(ws),
                data_file=None,
                transcript="",
            )
        )
        rows = {row.id: row for row in list_sessions(ws, env=env)}
    finally:
        writer.close()
    assert rows["live0001"].status == "running"
    assert (rows["cut00001"].status, rows["cut00001"].final_line, rows["cut00001"].exit_code) == (
        "unfinished",
        "Half done.",
        None,
    )
    assert rows["bad00001"].status == "unreadable" and "line 1: not valid JSON" in rows["bad00001"].final_line
    assert {row.id: row.status for row in list_sessions(ws, env=env)}["live0001"] == "unfinished"
    assert cut.is_file()


def test_the_final_line_is_plain_text_without_code_keyword_or_escapes() -> None:
    text = "Here:\n```python\nprint(1)\n```\n\n* **West** grew \x1b]52;c;ZXZpbA==\x07fastest.\n\nTERMINATE"
    assert final_line(text) == "**West** grew fastest."
    assert final_line("") == ""
    assert len(final_line("x" * 500)) == 200
