"""Filesystem: writing, deleting and replacing host files, and symlinks autorun might follow later."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

from tests.conftest import SAMPLE, transcripts
from tests.security.harness import check_common, replies_for, run_probe
from tests.security.probes import record


def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir(exist_ok=True)
    return path


def own_copy(tmp_path: Path) -> Path:
    data = tmp_path / "input" / "sales.csv"
    data.parent.mkdir(exist_ok=True)
    data.write_bytes(SAMPLE.read_bytes())
    return data


def test_write_outside_the_work_dir(executor: str, tmp_path: Path) -> None:
    target = outside(tmp_path) / "written.txt"
    code = f"""
        import pathlib
        target = pathlib.Path({str(target)!r})
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("written by the model's code")
            print("wrote", target)
        except OSError as exc:
            print("refused:", exc.strerror)
    """
    run = run_probe(executor, tmp_path, replies_for([code]))
    check_common(run)
    if executor == "local":
        assert target.read_text() == "written by the model's code"
        record("fs.write_outside", executor, "allowed", "wherever the user may write")
    else:
        assert not target.exists()
        record("fs.write_outside", executor, "blocked", "only the work dir is writable (and a private /tmp)")


def test_delete_outside_the_work_dir(executor: str, tmp_path: Path) -> None:
    victim = outside(tmp_path) / "victim.txt"
    victim.write_text("keep me")
    code = f"""
        import os
        try:
            os.remove({str(victim)!r})
            print("deleted")
        except OSError as exc:
            print("refused:", exc.strerror)
    """
    run = run_probe(executor, tmp_path, replies_for([code]))
    check_common(run)
    if executor == "local":
        assert not victim.exists()
        record("fs.delete_outside", executor, "allowed", "whatever the user may delete")
    else:
        assert victim.read_text() == "keep me"
        record("fs.delete_outside", executor, "blocked", "host files outside the work dir are not visible")


def test_replace_the_input_file(executor: str, tmp_path: Path) -> None:
    data = own_copy(tmp_path)
    before = data.read_bytes()
    code = """
        path = DATA
        try:
            with open(path, "w") as fh:
                fh.write("replaced,by,the,model\\n")
            print("replaced")
        except OSError as exc:
            print("refused:", exc.strerror)
    """
    code = code.replace("DATA", repr(data_path(executor, data)))
    run = run_probe(executor, tmp_path, replies_for([code]), data_file=data)
    check_common(run)
    if executor == "local":
        assert data.read_bytes() != before
        record("fs.replace_input", executor, "allowed", "the data file is the user's own file")
    else:
        assert data.read_bytes() == before
        assert "refused" in run.output()
        record("fs.replace_input", executor, "blocked", "the data file is mounted read-only")


def data_path(executor: str, data: Path) -> str:
    """Where the code finds the data file (the path autorun gives the model)."""
    return f"/workspace/data/{data.name}" if executor == "docker" else str(data.resolve())


def code_as_extracted(code: str) -> str:
    return textwrap.dedent(code).strip() + "\n"


def test_symlink_where_the_next_code_file_goes(executor: str, tmp_path: Path) -> None:
    """Block 1 predicts block 2's content-hash file name and plants a symlink there to a host file."""
    victim = outside(tmp_path) / "victim.txt"
    victim.write_text("keep me")
    second = "print('second block ran')"
    name = f"tmp_code_{hashlib.sha256(code_as_extracted(second).encode()).hexdigest()[:16]}.py"
    first = f"""
        import os
        os.symlink({str(victim)!r}, {name!r})
        print("planted", os.readlink({name!r}))
    """
    run = run_probe(executor, tmp_path, replies_for([first, second]))
    check_common(run)
    assert victim.read_text() == "keep me", "autorun wrote the next block's code through the symlink"
    assert "second block ran" in run.output(1)
    assert not (run.work_dir / name).is_symlink()
    record("fs.symlink_script", executor, "blocked", "code files are written without following symlinks")


def test_symlinks_planted_for_the_next_session(executor: str, tmp_path: Path) -> None:
    """Session 1 turns .autorun/sessions and data/ into symlinks to a host dir; session 2 must not follow them."""
    host_dir = outside(tmp_path) / "host-dir"
    host_dir.mkdir()
    plant = f"""
        import os, shutil
        shutil.rmtree(".autorun/sessions", ignore_errors=True)
        os.makedirs(".autorun", exist_ok=True)
        os.symlink({str(host_dir)!r}, ".autorun/sessions")
        if os.path.isdir("data") and not os.path.islink("data"):
            shutil.rmtree("data", ignore_errors=True)
        if not os.path.lexists("data"):
            os.symlink({str(host_dir)!r}, "data")
        print(sorted(os.listdir(".")))
    """
    first = run_probe(executor, tmp_path, replies_for([plant]), session_id=f"first{tmp_path.name[-6:]}")
    assert first.results()[0].exit_code == 0, first.output()
    assert list(host_dir.iterdir()) == []
    again = replies_for(["print('second session')"])
    second = run_probe(executor, tmp_path, again, session_id=f"second{tmp_path.name[-6:]}")
    assert list(host_dir.iterdir()) == [], "a later session wrote through a planted symlink"
    if (first.work_dir / "data").is_symlink():
        assert second.exit_code == 2 and second.error is not None
        assert "symlink" in str(second.error)
    else:  # Docker's data/ is the mount point of the data files: the block could not replace it
        check_common(second)
        assert transcripts(second.work_dir, second.env), "the later session was recorded in the state dir"
    record(
        "fs.symlink_transcripts",
        executor,
        "blocked",
        "transcripts are in the state dir, not the work dir; a later session refuses a planted data/ or .autorun link",
    )


def test_filename_line_pointing_outside(executor: str, tmp_path: Path) -> None:
    """AutoGen's `# filename:` first line, aimed outside the work dir (relative, absolute, through a symlink)."""
    target = outside(tmp_path)
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "link").symlink_to(target)
    names = ["../outside/escape.py", str(target / "absolute.py"), "link/through.py"]
    replies = [f"```python\n# filename: {name}\nprint('ran')\n```" for name in names] + ["TERMINATE"]
    run = run_probe(executor, tmp_path, replies)
    check_common(run)
    assert [r.exit_code for r in run.results()] == [1, 1, 1]
    assert all("refused '# filename:" in r.output for r in run.results())
    assert list(target.iterdir()) == []
    record("fs.filename_escape", executor, "blocked", "a `# filename:` outside the work dir is refused")


def test_a_data_file_inside_the_work_dir(executor: str, tmp_path: Path) -> None:
    """The data file lives in the work dir: truncate, chmod and rename it there, and through data/ too."""
    work = tmp_path / "work"
    work.mkdir()
    data = work / "sales.csv"
    data.write_bytes(SAMPLE.read_bytes())
    data.chmod(0o644)
    before = data.read_bytes()
    seen_in_work = "/workspace/sales.csv" if executor == "docker" else str(data)
    code = f"""
        import os
        for path in ({seen_in_work!r}, {data_path(executor, data)!r}):
            for name, attempt in (
                ("chmod", lambda: os.chmod(path, 0o777)),
                ("truncate", lambda: os.truncate(path, 0)),
                ("rename", lambda: os.rename(path, path + ".moved")),
                ("delete", lambda: os.remove(path)),
            ):
                try:
                    attempt()
                    print(name, path, "done")
                except OSError as exc:
                    print(name, path, "refused:", exc.strerror)
    """
    run = run_probe(executor, tmp_path, replies_for([code]), data_file=data)
    check_common(run)
    if executor == "local":
        assert "done" in run.output()
        record("fs.data_in_work_dir", executor, "allowed", "the data file is the user's own file")
        return
    assert "done" not in run.output(), run.output()
    assert data.read_bytes() == before and oct(data.stat().st_mode & 0o777) == "0o644"
    assert not (work / "sales.csv.moved").exists()
    record("fs.data_in_work_dir", executor, "blocked", "mounted read-only over its own path in the work dir too")
