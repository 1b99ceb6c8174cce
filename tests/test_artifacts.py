"""Files a block writes in the work dir are reported: result event, model message, never through symlinks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from autorun.artifacts import ArtifactWatcher
from autorun.executors.local.executor import LocalExecutor
from autorun.nofollow import read_inside
from autorun.session.loop import Session
from tests.scripted import RecordingSink, ScriptedModel


def py(code: str) -> str:
    return f"```python\n{code}\n```"


def run_session(work: Path, replies: list[str]) -> tuple[RecordingSink, ScriptedModel]:
    model = ScriptedModel(replies)
    sink = RecordingSink()
    with LocalExecutor(work, timeout=30) as executor:
        Session(model, executor, sink, artifacts=ArtifactWatcher(work)).run("go")
    return sink, model


def test_created_and_changed_files_are_reported_with_size_hash_and_type(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "old.txt").write_text("before")
    (work / "same.txt").write_text("untouched")
    code = (
        "import pathlib\n"
        "pathlib.Path('out').mkdir()\n"
        "pathlib.Path('out/table.csv').write_text('a,b\\n1,2\\n')\n"
        "pathlib.Path('old.txt').write_text('after, longer')\n"
        "print('wrote')"
    )
    sink, model = run_session(work, [py(code), "TERMINATE"])
    [result] = sink.of("execution_result")
    by_path = {a.path: a for a in result.artifacts}
    assert set(by_path) == {"out/table.csv", "old.txt"}, "the block's own code file and untouched files are left out"
    table = by_path["out/table.csv"]
    assert table.change == "created" and table.size == 8 and table.media_type == "text/csv"
    assert table.sha256 == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert by_path["old.txt"].change == "modified"
    reply = model.seen[1][-1].content
    assert reply.startswith("exitcode: 0 (execution succeeded)\nCode output:\nwrote\n")
    assert reply.endswith("Files created or changed in the work dir: old.txt (13 B), out/table.csv (8 B)\n")


def test_no_files_means_no_extra_line(tmp_path: Path) -> None:
    _, model = run_session(tmp_path / "work", [py("print(1)"), "TERMINATE"])
    assert model.seen[1][-1].content == "exitcode: 0 (execution succeeded)\nCode output:\n1\n"


def test_a_symlink_created_by_a_block_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("host secret")
    outside_dir = tmp_path / "elsewhere"
    outside_dir.mkdir()
    (outside_dir / "inner.png").write_bytes(b"\x89PNG not yours")
    work = tmp_path / "work"
    code = (
        "import os\n"
        f"os.symlink({str(outside)!r}, 'link.txt')\n"
        f"os.symlink({str(outside_dir)!r}, 'linkdir')\n"
        "open('real.txt', 'w').write('mine')"
    )
    sink, _ = run_session(work, [py(code), "TERMINATE"])
    [result] = sink.of("execution_result")
    assert [a.path for a in result.artifacts] == ["real.txt"]
    assert os.path.islink(work / "link.txt")
    for planted in ("link.txt", "linkdir/inner.png"):
        try:
            read_inside(work, planted)
        except OSError:
            continue
        raise AssertionError(f"{planted} was read through a symlink")


def test_files_autorun_writes_are_ignored(tmp_path: Path) -> None:
    watcher = ArtifactWatcher(tmp_path, ignore=["data/sales.csv"])
    before = watcher.snapshot()
    (tmp_path / ".autorun" / "sessions").mkdir(parents=True)
    (tmp_path / ".autorun" / "sessions" / "x.jsonl").write_text("{}")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sales.csv").touch()
    (tmp_path / "data" / "mine.csv").write_text("1")
    assert [a.path for a in watcher.changes(before)] == ["data/mine.csv"]


def test_recorded_artifacts_replay_as_artifacts_and_show_under_the_result(tmp_path: Path) -> None:
    import io

    from autorun.events import Artifact
    from autorun.record.reader import read_transcript
    from autorun.render.plain import PlainRenderer
    from autorun.transcripts.store import TranscriptWriter

    work = tmp_path / "work"
    transcript = TranscriptWriter(tmp_path / "t.jsonl")
    with LocalExecutor(work, timeout=30) as executor:
        model = ScriptedModel([py("open('t.csv', 'w').write('a\\n1\\n')"), "TERMINATE"])
        Session(model, executor, transcript, artifacts=ArtifactWatcher(work)).run("go")
    transcript.close()
    events = read_transcript(tmp_path / "t.jsonl").events
    [result] = [e for e in events if e.kind == "execution_result"]
    assert result.artifacts == (Artifact("t.csv", 4, hashlib.sha256(b"a\n1\n").hexdigest(), "text/csv", "created"),)
    out = io.StringIO()
    display = PlainRenderer(out, io.StringIO())
    display.handle(result)
    assert "  file created t.csv (4 B)\n" in out.getvalue()


def test_a_secret_in_a_file_name_is_redacted_like_any_output(tmp_path: Path) -> None:
    from autorun.redact import REDACTED, Redactor, redacting_sink

    secret = "sk-artifact-0123456789abcdef"
    sink = RecordingSink()
    work = tmp_path / "work"
    with LocalExecutor(work, timeout=30) as executor:
        model = ScriptedModel([py(f"open('{secret}.txt', 'w').write('x')"), "TERMINATE"])
        Session(model, executor, redacting_sink(sink, Redactor([secret])), artifacts=ArtifactWatcher(work)).run("go")
    [result] = sink.of("execution_result")
    assert [a.path for a in result.artifacts] == [f"{REDACTED}.txt"]
    shown = [m.content for m in sink.of("message") if m.role == "user"]
    assert f"Files created or changed in the work dir: {REDACTED}.txt (1 B)" in shown[-1]


def test_a_ctrl_c_block_leaves_its_own_code_file_out_too(tmp_path: Path) -> None:
    """The session makes a Ctrl-C'd block's result itself: the executor's running_code_file keeps the
    block's own file out of the artifacts, as ExecResult.code_file does for a block that ends."""
    import signal
    import threading
    import time

    work = tmp_path / "work"
    work.mkdir()
    model = ScriptedModel([py("open('made.txt', 'w').write('x')\nimport time\ntime.sleep(30)"), "TERMINATE"])
    sink = RecordingSink()

    def interrupt_once_written() -> None:
        deadline = time.monotonic() + 20
        while not (work / "made.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    with LocalExecutor(work, timeout=30) as executor:
        session = Session(model, executor, sink, artifacts=ArtifactWatcher(work), interruptible_blocks=True)
        threading.Thread(target=interrupt_once_written, daemon=True).start()
        session.exchange("go")
    [result] = sink.of("execution_result")
    assert result.exit_code == 130
    assert [a.path for a in result.artifacts] == ["made.txt"]
