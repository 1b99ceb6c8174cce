"""The pieces the probes rely on, one behaviour at a time: redaction, limits, output budget, no-follow writes,
the orphan sweep, the bwrap command line."""

from __future__ import annotations

import os
import resource
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path, PurePath

import pytest

from autorun.config.schema import Config
from autorun.errors import ConfigError
from autorun.events import ExecutionOutput, ExecutionResultEvent, Interrupted, MessageChunk, MessageEvent, SessionStart
from autorun.executors.host.limits import ProcessLimits, user_process_count
from autorun.executors.host.reaper import become_subreaper, child_pids, sweep_leftovers
from autorun.executors.sandbox.bwrap import SandboxSpec, python_roots
from autorun.models.base import Message, Usage
from autorun.nofollow import write_inside
from autorun.output import HIDING_NOTE, OutputKeeper, ShownOutput
from autorun.redact import (
    REDACTED,
    RedactingModel,
    RedactingSink,
    Redactor,
    StreamRedactor,
    redacting_sink,
)
from autorun.secrets import known_secrets
from autorun.session.components import large_file_warning
from autorun.session.factory import check_work_dir_links
from tests.scripted import RecordingSink, ScriptedModel
from tests.security.harness import check_common, run_probe

SECRET = "sk-unit-0123456789abcdef"

# --- redaction -------------------------------------------------------------------------------


def test_known_secrets_are_secret_named_values_and_the_api_key() -> None:
    env = {"GITHUB_TOKEN": "ghp_1234567", "MY_LLM": "llm-key-99", "PATH": "/usr/bin", "DB_PASSWORD": "pw-long-1"}
    assert sorted(known_secrets(env, "MY_LLM")) == ["ghp_1234567", "llm-key-99", "pw-long-1"]


def test_short_values_are_not_redacted_and_the_longest_match_wins() -> None:
    redactor = Redactor(["abc", "secret-1", "secret-1-longer"])
    assert redactor.text("abc secret-1-longer secret-1") == f"abc {REDACTED} {REDACTED}"
    assert not Redactor(["12345"])


def test_a_secret_cut_across_chunks_is_still_redacted() -> None:
    stream = StreamRedactor(Redactor([SECRET]))
    pieces = [stream.feed(SECRET[:5]), stream.feed(SECRET[5:12]), stream.feed(SECRET[12:] + " tail"), stream.flush()]
    assert "".join(pieces) == f"{REDACTED} tail"
    assert stream.feed("plain text ") == "plain text ", "text that cannot start a secret is not held back"


def test_redacting_sink_covers_chunks_results_messages_and_config() -> None:
    inner = RecordingSink()
    sink = RedactingSink(inner, Redactor([SECRET]))
    sink.handle(SessionStart("s", "m", "local", "/w", None, None, config={"model": {"headers": [SECRET]}}))
    sink.handle(MessageChunk(role="assistant", text=f"key {SECRET[:9]}"))
    sink.handle(MessageChunk(role="assistant", text=f"{SECRET[9:]} end"))
    sink.handle(MessageEvent(role="assistant", name="m", content=f"key {SECRET} end", turn=1))
    sink.handle(ExecutionOutput(index=1, text=SECRET[:4]))
    sink.handle(ExecutionResultEvent(1, "python", 0, 0.1, False, SECRET))
    sink.handle(ExecutionOutput(index=2, text=SECRET[:4]))
    sink.handle(Interrupted(signal="SIGINT"))
    text = repr([e.to_dict() for e in inner.events])
    assert SECRET not in text
    assert text.count(REDACTED) == 4
    assert "".join(e.text for e in inner.of("message_chunk")) == f"key {REDACTED} end"
    outputs = inner.of("execution_output")
    assert [(e.index, e.text) for e in outputs] == [(1, SECRET[:4]), (2, SECRET[:4])]


def test_a_sink_is_left_alone_without_secrets() -> None:
    inner = RecordingSink()
    assert redacting_sink(inner, Redactor([])) is inner


def test_redacting_model_cleans_what_is_sent_and_delegates_the_rest() -> None:
    inner = ScriptedModel(["ok"], name="scripted", usage=Usage(1, 2))
    inner.cost = lambda usage: 0.5  # type: ignore[attr-defined]
    model = RedactingModel(inner, Redactor([SECRET]))
    assert list(model.reply([Message("user", f"here: {SECRET}")])) == ["ok"]
    assert inner.seen[0][0].content == f"here: {REDACTED}"
    assert (model.name, model.usage, model.cost(None)) == ("scripted", Usage(1, 2), 0.5)


def test_a_known_secret_printed_one_character_at_a_time_never_shows(tmp_path: Path) -> None:
    """The model's code holds the secret (here: written into it) and trickles it out, flushing each character."""
    token = f"ghp_{secrets.token_hex(16)}"
    code = f"import sys, time\nfor c in {token!r}:\n    sys.stdout.write(c)\n    sys.stdout.flush()\n"
    code += "    time.sleep(0.01)"
    replies = [f"```python\n{code}\n```", "TERMINATE"]
    run = run_probe("local", tmp_path, replies, env={"GITHUB_TOKEN": token})
    check_common(run)
    for text in (run.plain, run.rich, run.transcript_text(), run.sent_to_model()):
        assert token not in text
    assert REDACTED in run.plain


# --- limits and the output budget --------------------------------------------------------------


def test_limits_are_capped_at_the_hard_limit_and_count_the_users_processes() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limits = dict(ProcessLimits(max_open_files=10**12, max_processes=5).rlimits())
    if hard != resource.RLIM_INFINITY:
        assert limits[resource.RLIMIT_NOFILE] == (hard, hard)
    soft_nproc = limits[resource.RLIMIT_NPROC][0]
    assert user_process_count() + 5 - 50 <= soft_nproc <= user_process_count() + 5 + 50
    assert limits[resource.RLIMIT_CORE] == (0, 0)


def test_limits_apply_in_the_child_and_cannot_be_raised() -> None:
    preexec = ProcessLimits(max_file_size=4096, max_open_files=64).preexec()
    code = (
        "import resource as r\nprint(r.getrlimit(r.RLIMIT_FSIZE), r.getrlimit(r.RLIMIT_NOFILE))\n"
        "try:\n    r.setrlimit(r.RLIMIT_NOFILE, (128, 128))\nexcept ValueError:\n    print('cannot raise')"
    )
    out = subprocess.run([sys.executable, "-c", code], preexec_fn=preexec, capture_output=True, text=True).stdout
    assert "(4096, 4096) (64, 64)" in out
    assert os.getuid() == 0 or "cannot raise" in out


def test_output_keeper_keeps_head_and_tail() -> None:
    keeper = OutputKeeper(10)
    for char in "abcdefghijklmnopqrstuvwxyz":
        keeper.add(char)
    assert keeper.text() == "abcde\n[... 16 characters omitted ...]\nvwxyz"
    small = OutputKeeper(10)
    small.add("abc")
    assert small.text() == "abc"


def test_shown_output_holds_back_a_flood_and_shows_its_tail_at_the_end() -> None:
    shown = ShownOutput(head=5, tail=3)
    assert shown.feed("abc") == "abc"
    assert shown.feed("defgh") == "de" + HIDING_NOTE
    assert shown.feed("ijklmn") == ""
    assert shown.finish() == "[... 6 characters not shown ...]\nlmn"
    quiet = ShownOutput(head=5, tail=3)
    quiet.feed("ab")
    assert quiet.finish() == ""


# --- writing without following symlinks ----------------------------------------------------------


def test_write_inside_replaces_a_planted_symlink_instead_of_following_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    root = tmp_path / "work"
    root.mkdir()
    (root / "code.py").symlink_to(victim)
    write_inside(root, PurePath("code.py"), b"print(1)\n")
    assert victim.read_text() == "keep me"
    assert not (root / "code.py").is_symlink() and (root / "code.py").read_bytes() == b"print(1)\n"


def test_write_inside_refuses_a_symlinked_directory_and_creates_real_ones(tmp_path: Path) -> None:
    root = tmp_path / "work"
    (root / "real").mkdir(parents=True)
    (root / "sub").symlink_to(tmp_path)
    with pytest.raises(OSError):
        write_inside(root, PurePath("sub/x.py"), b"x")
    assert not (tmp_path / "x.py").exists()
    write_inside(root, PurePath("new/deeper/x.py"), b"y")
    assert (root / "new" / "deeper" / "x.py").read_bytes() == b"y"
    with pytest.raises(ValueError):
        write_inside(root, PurePath("../x.py"), b"z")


def test_work_dir_links_out_are_refused_and_links_inside_are_fine(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "inside").mkdir(parents=True)
    (work / "data").symlink_to(work / "inside")
    check_work_dir_links(work)
    (work / ".autorun").symlink_to(tmp_path)
    with pytest.raises(ConfigError, match=r"\.autorun is a symlink to .*remove it"):
        check_work_dir_links(work)


# --- the orphan sweep and the sandbox ----------------------------------------------------------


def test_sweep_kills_an_orphan_that_escaped_its_group() -> None:
    assert become_subreaper()
    known = child_pids()
    marker = f"{time.monotonic_ns() % 10**6 + 400}"
    subprocess.run(["sh", "-c", f"setsid sleep {marker} >/dev/null 2>&1 & exit 0"], check=True)
    deadline = time.monotonic() + 5
    while not (child_pids() - known) and time.monotonic() < deadline:
        time.sleep(0.01)
    orphans = child_pids() - known
    assert orphans, "the orphan was re-parented to this process"
    assert sweep_leftovers(known) == len(orphans)
    assert child_pids() - known == set()


def test_bwrap_command_hides_tmp_before_binding_paths_inside_it(tmp_path: Path) -> None:
    spec = SandboxSpec("bwrap", tmp_path / "w", sys.executable, tmp_path / "etc", read_only=(tmp_path / "d.csv",))
    command = spec.wrap(["python", "x.py"], {"PATH": "/usr/bin"})
    text = " ".join(command)
    positions = [text.index("--tmpfs /tmp"), text.index(f"--bind {tmp_path}/w"), text.index(f"--ro-bind {tmp_path}/d")]
    assert positions == sorted(positions)
    assert "--unshare-all" in command and "--die-with-parent" in command
    assert command[-3:] == ["--", "python", "x.py"]
    assert sys.prefix in python_roots(sys.executable) or sys.prefix in ("/", "/usr")


# --- configuration ----------------------------------------------------------------------------


def test_new_executor_keys_validate() -> None:
    executor = Config.model_validate({"executor": {"max_file_size": "64m", "sandbox": "bwrap"}}).executor
    assert (executor.max_file_size, executor.sandbox, executor.memory) == (64 * 1024**2, "bwrap", 1024**3)
    assert (str(executor.max_file_size), str(executor.memory)) == ("64m", "1g"), "bytes that print as written"
    for bad in ({"memory": "lots"}, {"sandbox": "firejail"}, {"max_open_files": 0}):
        with pytest.raises(ValueError):
            Config.model_validate({"executor": bad})


def test_large_file_warning_names_the_size_and_the_memory_limit(tmp_path: Path) -> None:
    config = Config.model_validate({"executor": {"memory": "1g"}, "model": {"name": "gpt-4o"}})
    assert large_file_warning(tmp_path / "small.csv", 10_000_000, config, {}) is None
    warning = large_file_warning(tmp_path / "big.csv", 3 * 1024**3, config, {})
    assert warning is not None and "big.csv is 3 GiB" in warning and "executor.memory is 1g" in warning
    assert "DuckDB" in warning


def test_the_builtin_gets_no_large_file_warning(tmp_path: Path) -> None:
    """The builtin reads the whole file out of core (DuckDB), so "loading it whole" would be wrong advice."""
    for name in ("builtin", "auto"):  # auto without a key is the builtin
        config = Config.model_validate({"executor": {"memory": "1g"}, "model": {"name": name}})
        assert large_file_warning(tmp_path / "big.csv", 3 * 1024**3, config, {}) is None


def test_read_inside_refuses_a_planted_symlink(tmp_path: Path) -> None:
    """The builtin reads its facts file from the work dir: a symlink there must not hand it a host file."""
    from autorun.nofollow import read_inside

    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    work = tmp_path / "work"
    (work / ".autorun").mkdir(parents=True)
    (work / ".autorun" / "facts-x.json").symlink_to(secret)
    with pytest.raises(OSError):
        read_inside(work, PurePath(".autorun/facts-x.json"))
    (work / "linked").symlink_to(tmp_path)
    with pytest.raises(OSError):
        read_inside(work, PurePath("linked/secret.txt"))
    write_inside(work, PurePath(".autorun/plain.json"), b"{}")
    assert read_inside(work, PurePath(".autorun/plain.json")) == b"{}"


def test_read_inside_refuses_a_planted_fifo_without_waiting_for_a_writer(tmp_path: Path) -> None:
    """A block can leave a FIFO where autorun reads (a facts file, a chart, a file a worker sends back):
    autorun must neither hang on opening it nor read it."""
    from autorun.nofollow import read_inside

    work = tmp_path / "work"
    (work / ".autorun").mkdir(parents=True)
    fifo = work / ".autorun" / "facts-x.json"
    os.mkfifo(fifo)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            read_inside(work, ".autorun/facts-x.json")
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # a writer end lets the stuck read go, so the test does not leave it behind
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert not reader.is_alive() and len(errors) == 1 and isinstance(errors[0], OSError), errors
    (work / "big.bin").write_bytes(b"x" * 100)
    assert read_inside(work, "big.bin", limit=10) == b"x" * 10
