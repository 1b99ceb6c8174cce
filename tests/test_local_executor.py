import contextlib
import hashlib
import json
import os
import signal
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from autorun.block_results import BLOCK_TIMED_OUT
from autorun.codeblocks import CodeBlock
from autorun.errors import ExecutorError
from autorun.executors.local.executor import LocalExecutor
from autorun.executors.none import NoExecutor
from autorun.units import format_seconds

HANG_BOUND_S = 30


def py(code: str) -> CodeBlock:
    return CodeBlock(language="python", code=textwrap.dedent(code).lstrip("\n"), index=0)


def sh(code: str) -> CodeBlock:
    return CodeBlock(language="sh", code=textwrap.dedent(code).lstrip("\n"), index=0)


def live_pids_with(marker: str) -> list[int]:
    """Processes (not zombies, whose cmdline is empty) whose command line contains marker."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            pids.append(int(entry))
    return pids


@pytest.fixture
def marker():
    """A unique `sleep` argument; any process still carrying it is killed after the test."""
    value = f"300.{uuid.uuid4().int % 10**9}"
    yield value
    for pid in live_pids_with(value):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def ex(tmp_path):
    with LocalExecutor(tmp_path / "ws", timeout=HANG_BOUND_S) as executor:
        yield executor


def collect(executor: LocalExecutor, block: CodeBlock):
    chunks: list[str] = []
    result = executor.run(block, chunks.append)
    return result, chunks


# --- streaming and output -------------------------------------------------------------


def test_output_is_streamed_before_the_process_ends(ex, tmp_path):
    signal_file = tmp_path / "seen-first"
    block = py(f"""
        import os, sys, time
        print("first", flush=True)
        deadline = time.monotonic() + 20
        while not os.path.exists({str(signal_file)!r}):
            if time.monotonic() > deadline:
                print("never signalled")
                sys.exit(1)
            time.sleep(0.01)
        print("second")
    """)
    chunks: list[str] = []

    def on_output(text: str) -> None:
        chunks.append(text)
        if "first" in text:
            signal_file.touch()

    result = ex.run(block, on_output)
    assert result.exit_code == 0, result.output
    assert result.output == "first\nsecond\n"
    assert chunks[0].startswith("first"), "the first line must arrive while the block still runs"
    assert "".join(chunks) == result.output


def test_stdout_and_stderr_interleaved_as_produced(ex):
    block = py("""
        import sys
        print("out 1")
        print("err 1", file=sys.stderr)
        print("out 2")
        print("err 2", file=sys.stderr)
    """)
    result, _ = collect(ex, block)
    assert result.output == "out 1\nerr 1\nout 2\nerr 2\n"
    result, _ = collect(ex, sh("echo a; echo b >&2; echo c"))
    assert result.output == "a\nb\nc\n"


def test_invalid_utf8_bytes_are_replaced(ex):
    block = py(r"""
        import sys
        sys.stdout.buffer.write(b"ok \xff\xfe done\n")
    """)
    result, chunks = collect(ex, block)
    assert result.exit_code == 0
    assert result.output == "ok \ufffd\ufffd done\n"
    assert "".join(chunks) == result.output


def test_multibyte_character_split_across_reads_survives(ex, tmp_path):
    signal_file = tmp_path / "seen-A"
    block = py(f"""
        import os, sys, time
        out = sys.stdout.buffer
        out.write(b"A\\xe2\\x82"); out.flush()
        deadline = time.monotonic() + 20
        while not os.path.exists({str(signal_file)!r}) and time.monotonic() < deadline:
            time.sleep(0.01)
        out.write(b"\\xac B\\n"); out.flush()
    """)
    chunks: list[str] = []

    def on_output(text: str) -> None:
        chunks.append(text)
        signal_file.touch()

    result = ex.run(block, on_output)
    assert chunks[0] == "A"
    assert result.output == "A\u20ac B\n"


def test_large_output_is_collected_in_full(ex):
    block = py("""
        import sys
        for i in range(20000):
            print(f"line {i:06d} " + "x" * 80)
    """)
    result, chunks = collect(ex, block)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 20000
    assert lines[-1].startswith("line 019999 ")
    assert len(chunks) > 1


# --- exit codes, languages, files ------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "exit_code", "fragment"),
    [
        (py("print('fine')"), 0, "fine"),
        (py("raise SystemExit(3)"), 3, ""),
        (py("1 / 0"), 1, "ZeroDivisionError"),
        (py("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"), 128 + 9, ""),
        (sh("echo shell; exit 7"), 7, "shell"),
        (sh("x=5; echo $((x * 2))"), 0, "10"),
    ],
)
def test_exit_codes_and_output(ex, block, exit_code, fragment):
    result, _ = collect(ex, block)
    assert result.exit_code == exit_code, result.output
    assert fragment in result.output
    assert not result.timed_out
    assert result.duration_s > 0


def test_runs_in_the_work_dir(ex):
    result, _ = collect(ex, py("import os; print(os.getcwd())"))
    assert result.output.strip() == str(ex.work_dir)


def test_work_dir_created_on_first_use_and_resolved_when_constructed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    executor = LocalExecutor(Path("a/b"), timeout=HANG_BOUND_S)
    assert executor.work_dir == tmp_path / "a" / "b"
    assert not (tmp_path / "a").exists()
    monkeypatch.chdir(tmp_path.parent)
    result, _ = collect(executor, py("open('made.txt', 'w').write('x')"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "b" / "made.txt").read_text() == "x"


@pytest.mark.parametrize(("block", "extension"), [(py("print(1)\n"), "py"), (sh("echo 1\n"), "sh")])
def test_block_kept_in_a_file_named_by_content_hash(ex, block, extension):
    collect(ex, block)
    digest = hashlib.sha256(block.code.encode()).hexdigest()[:16]
    kept = ex.work_dir / f"tmp_code_{digest}.{extension}"
    assert kept.read_text() == block.code


def test_unknown_language_is_a_failed_result(ex):
    result, _ = collect(ex, CodeBlock(language="ruby", code="puts 1\n", index=0))
    assert result.exit_code == 1
    assert "ruby" in result.output
    assert "python, sh" in result.output
    assert not ex.work_dir.exists() or not any(ex.work_dir.iterdir())


def test_filename_line_names_the_file(ex):
    block = py("# filename: analysis.py\nprint('named')\n")
    result, _ = collect(ex, block)
    assert result.output == "named\n"
    assert (ex.work_dir / "analysis.py").read_text() == block.code
    assert not list(ex.work_dir.glob("tmp_code_*"))


def test_filename_may_name_a_subdirectory(ex):
    result, _ = collect(ex, sh("# filename: scripts/run.sh\necho from-sub\n"))
    assert result.output == "from-sub\n"
    assert (ex.work_dir / "scripts" / "run.sh").is_file()


def test_filename_starting_with_dash_is_not_an_option(ex):
    result, _ = collect(ex, py("# filename: -c\nprint('dash')\n"))
    assert result.output == "dash\n"
    assert (ex.work_dir / "-c").is_file()


@pytest.mark.parametrize(
    "first_line",
    ["#filename: other.py", "# Filename: other.py", "# file name: other.py", "print(1) # filename: other.py"],
)
def test_only_the_exact_filename_prefix_counts(ex, first_line):
    result, _ = collect(ex, py(f"{first_line}\nprint('ok')\n"))
    assert result.exit_code == 0, result.output
    assert not (ex.work_dir / "other.py").exists()
    assert list(ex.work_dir.glob("tmp_code_*.py"))


def test_filename_on_a_later_line_is_ignored(ex):
    collect(ex, py("print('ok')\n# filename: other.py\n"))
    assert not (ex.work_dir / "other.py").exists()


def test_filename_escaping_the_work_dir_is_refused(tmp_path):
    ex = LocalExecutor(tmp_path / "ws", timeout=HANG_BOUND_S)
    outside = tmp_path / "outside"
    outside.mkdir()
    ex.work_dir.mkdir()
    (ex.work_dir / "link").symlink_to(outside, target_is_directory=True)
    ran = tmp_path / "ran"
    for name in ["../escape.py", str(tmp_path / "abs.py"), "link/x.py", "sub/../../escape.py", "."]:
        result, _ = collect(ex, py(f"# filename: {name}\nopen({str(ran)!r}, 'w')\n"))
        assert result.exit_code == 1, name
        assert not result.timed_out
        assert "work directory" in result.output and name in result.output
    assert not ran.exists()
    assert not (tmp_path / "escape.py").exists() and not (tmp_path / "abs.py").exists()
    assert not list(outside.iterdir())


# --- timeout and process-group cleanup -------------------------------------------------


def test_timeout_kills_python_children(tmp_path, marker):
    ex = LocalExecutor(tmp_path, timeout=1)
    block = py(f"""
        import subprocess, time
        subprocess.Popen(["sleep", "{marker}"])
        subprocess.Popen(["sh", "-c", "sleep {marker}; echo never"])
        print("started", flush=True)
        time.sleep(300)
    """)
    result, chunks = collect(ex, block)
    assert result.exit_code == BLOCK_TIMED_OUT
    assert result.timed_out
    assert result.output == "started\ntimed out after 1 s\n"
    assert "".join(chunks) == result.output
    assert result.duration_s < HANG_BOUND_S
    assert live_pids_with(marker) == []


def test_timeout_kills_sh_background_children(tmp_path, marker):
    ex = LocalExecutor(tmp_path, timeout=1)
    block = sh(f"""
        sleep {marker} &
        sleep {marker} &
        printf partial
        wait
    """)
    result, _ = collect(ex, block)
    assert (result.exit_code, result.timed_out) == (BLOCK_TIMED_OUT, True)
    assert result.output == "partial\ntimed out after 1 s\n"
    assert live_pids_with(marker) == []


def test_timeout_escalates_to_sigkill_when_term_is_ignored(tmp_path, marker):
    ex = LocalExecutor(tmp_path, timeout=0.5, kill_grace_s=0.3)
    block = py(f"""
        import signal, subprocess, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        subprocess.Popen(["sh", "-c", "trap '' TERM; sleep {marker}"])
        time.sleep(300)
    """)
    result, _ = collect(ex, block)
    assert (result.exit_code, result.timed_out) == (BLOCK_TIMED_OUT, True)
    assert result.output == "timed out after 0.5 s\n"
    assert result.duration_s < HANG_BOUND_S
    assert live_pids_with(marker) == []


def test_format_seconds():
    assert [format_seconds(s) for s in (60, 60.0, 0.5, 2.25)] == ["60", "60", "0.5", "2.25"]


def test_background_child_holding_the_pipe_is_killed_when_block_ends(ex, marker):
    result, _ = collect(ex, sh(f"sleep {marker} &\necho started\n"))
    assert (result.exit_code, result.timed_out) == (0, False)
    assert result.output == "started\n"
    assert result.duration_s < HANG_BOUND_S
    assert live_pids_with(marker) == []


def test_background_child_with_its_own_output_is_killed_when_block_ends(ex, marker):
    block = py(f"""
        import subprocess
        subprocess.Popen(["sleep", "{marker}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print("parent done")
    """)
    result, _ = collect(ex, block)
    assert (result.exit_code, result.output) == (0, "parent done\n")
    assert live_pids_with(marker) == []


def test_close_from_another_thread_kills_a_running_block(ex, marker):
    def on_output(text: str) -> None:
        if "running" in text:
            threading.Thread(target=ex.close).start()

    block = py(f"""
        import subprocess, time
        subprocess.Popen(["sleep", "{marker}"])
        print("running", flush=True)
        time.sleep(300)
    """)
    result = ex.run(block, on_output)
    assert result.exit_code == 128 + signal.SIGTERM
    assert not result.timed_out
    assert live_pids_with(marker) == []
    ex.close()
    ex.close()


def test_exception_in_on_output_kills_the_group_and_propagates(ex, marker):
    def on_output(text: str) -> None:
        raise RuntimeError("consumer failed")

    with pytest.raises(RuntimeError, match="consumer failed"):
        block = py(f"""
            import subprocess, time
            subprocess.Popen(["sleep", "{marker}"])
            print("go", flush=True)
            time.sleep(300)
        """)
        ex.run(block, on_output)
    assert live_pids_with(marker) == []


# --- environment -------------------------------------------------------------------------

FAKE_SECRETS = {
    "OPENAI_API_KEY": "sk-fake-openai-1111",
    "GITHUB_TOKEN": "ghp_fake2222",
    "AWS_SECRET_ACCESS_KEY": "fake-aws-3333",
    "DB_PASSWORD": "fake-db-4444",
    "MYSQL_PASSWD": "fake-mysql-5555",
    "GOOGLE_APPLICATION_CREDENTIALS": "/fake/creds-6666.json",
    "proxy_authorization": "Basic fake-7777",
}


def run_env(tmp_path, passthrough=()):
    base_env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": "/evil/path",
        "MY_SETTING": "on",
        "UNLISTED": "hidden",
        **FAKE_SECRETS,
    }
    ex = LocalExecutor(tmp_path, timeout=HANG_BOUND_S, base_env=base_env, env_passthrough=passthrough)
    result, _ = collect(ex, py("import json, os; print(json.dumps(dict(os.environ)))"))
    assert result.exit_code == 0, result.output
    return ex, json.loads(result.output)


def test_environment_is_scrubbed(tmp_path):
    ex, env = run_env(tmp_path)
    for value in FAKE_SECRETS.values():
        assert value not in json.dumps(env)
    assert "PYTHONPATH" not in env and "UNLISTED" not in env and "MY_SETTING" not in env
    assert env["LC_ALL"] == "C.UTF-8" and env["HOME"] == str(tmp_path)
    assert env["MPLBACKEND"] == "Agg"
    assert env["PYTHONIOENCODING"] == "utf-8"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert ex.removed_env["OPENAI_API_KEY"] == FAKE_SECRETS["OPENAI_API_KEY"]


def test_passthrough_adds_names_but_never_secrets(tmp_path):
    _, env = run_env(tmp_path, passthrough=["MY_SETTING", "OPENAI_API_KEY", "GITHUB_TOKEN"])
    assert env["MY_SETTING"] == "on"
    assert "OPENAI_API_KEY" not in env and "GITHUB_TOKEN" not in env
    for value in FAKE_SECRETS.values():
        assert value not in json.dumps(env)


def test_sh_blocks_get_the_scrubbed_environment(tmp_path):
    ex = LocalExecutor(tmp_path, timeout=HANG_BOUND_S, base_env={"PATH": "/usr/bin:/bin", **FAKE_SECRETS})
    result, _ = collect(ex, sh("env"))
    assert result.exit_code == 0
    assert "MPLBACKEND=Agg" in result.output
    assert not any(value in result.output for value in FAKE_SECRETS.values())


# --- configuration -----------------------------------------------------------------------


def test_configured_python_is_used(tmp_path):
    wrapper = tmp_path / "mypython"
    wrapper.write_text(f'#!/bin/sh\necho via-wrapper\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    ex = LocalExecutor(tmp_path / "ws", timeout=HANG_BOUND_S, python=str(wrapper))
    result, _ = collect(ex, py("print('inside')"))
    assert result.output == "via-wrapper\ninside\n"


def test_missing_python_is_an_executor_error(tmp_path):
    ex = LocalExecutor(tmp_path, timeout=HANG_BOUND_S, python=str(tmp_path / "no-such-python"))
    with pytest.raises(ExecutorError, match="no-such-python"):
        ex.run(py("print(1)"), lambda _: None)


def test_expose_returns_the_absolute_path_without_copying(tmp_path, monkeypatch):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    monkeypatch.chdir(tmp_path)
    ex = LocalExecutor(tmp_path / "ws", timeout=HANG_BOUND_S)
    assert ex.expose(Path("data.csv")) == str(data)
    assert not (tmp_path / "ws").exists()
    assert ex.name == "local" and ex.executes is True


# --- the none executor -------------------------------------------------------------------


def test_no_executor_never_runs_anything(tmp_path):
    target = tmp_path / "created"
    chunks: list[str] = []
    with NoExecutor() as ex:
        for block in (py(f"open({str(target)!r}, 'w')"), sh(f"touch {target}")):
            result = ex.run(block, chunks.append)
            assert result.exit_code == 0
            assert result.output == "code execution is disabled; the block was not run"
    assert not target.exists()
    assert chunks == []
    assert ex.name == "none" and ex.executes is False
    assert ex.expose(Path("x.csv")) == str(Path("x.csv").resolve())
    ex.close()
