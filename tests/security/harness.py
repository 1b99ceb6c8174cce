"""Run a probe through the real session loop and check what every probe must satisfy.

A probe is code blocks delivered by a scripted model: the fake OpenAI-compatible
server (tests/fake_openai_server.py) serves them over real HTTP, autorun.app.analyse
builds the real model, executor, renderers and transcript, and the session runs.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from autorun.analyse import AnalyseRequest, analyse
from autorun.config.schema import Config
from autorun.errors import AutorunError
from autorun.events import Event
from autorun.render.rich_display import RichRenderer
from autorun.render.sinks import Fanout, PlainRenderer
from tests.conftest import SAMPLE, transcripts
from tests.fake_openai_server import FakeOpenAIServer
from tests.scripted import RecordingSink

EXECUTORS = ("local", "sandbox", "docker")
EXECUTOR_CONFIG: dict[str, dict[str, Any]] = {
    "local": {"type": "local"},
    "sandbox": {"type": "sandbox"},
    "docker": {"type": "docker"},
}
MODEL_NAME = "probe-model"
KNOWN_EXIT_CODES = {0, 1, 2, 3, 4, 130, 143}


def fenced(code: str, language: str = "python") -> str:
    return f"```{language}\n{textwrap.dedent(code).strip()}\n```"


def replies_for(blocks: Sequence[str], language: str = "python") -> list[str]:
    """One reply per block, then TERMINATE."""
    return [f"Next step.\n\n{fenced(code, language)}" for code in blocks] + ["Done.\n\nTERMINATE"]


def probe_config(executor: str, work_dir: Path, base_url: str, *, timeout: float = 10, **executor_keys: Any) -> Config:
    return Config.model_validate(
        {
            "model": {"name": MODEL_NAME, "base_url": base_url, "max_retries": 0, "request_timeout": 20},
            "executor": {
                **EXECUTOR_CONFIG[executor],
                "work_dir": str(work_dir),
                "timeout": timeout,
                "memory": "512m",
                "max_file_size": 64 * 1024**2,
                **executor_keys,
            },
            "session": {"max_consecutive_auto_reply": 6},
        }
    )


def probe_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A small, known environment: PATH, a temporary HOME, the Docker engine address, ``extra``."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    if os.environ.get("DOCKER_HOST"):
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    return env | dict(extra or {})


@dataclass
class ProbeRun:
    executor: str
    work_dir: Path
    events: list[Event]
    records: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    plain: str
    rich: str
    exit_code: int
    error: AutorunError | None = None
    session_id: str = ""
    env: dict[str, str] = field(default_factory=dict)

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.events if e.kind == kind]

    def results(self) -> list[Any]:
        results = self.of("execution_result")
        ends = self.of("session_end")
        assert results, f"no block ran; the session ended: {ends[-1].reason if ends else self.error}"
        return results

    def output(self, index: int = 0) -> str:
        return self.results()[index].output

    def sent_to_model(self) -> str:
        return json.dumps([r["body"] for r in self.requests], ensure_ascii=False)

    def transcript_text(self) -> str:
        return json.dumps(self.records, ensure_ascii=False)

    def shown(self) -> str:
        return self.plain + self.rich


def read_transcript_records(
    work_dir: Path, env: Mapping[str, str] | None = None, session_id: str | None = None
) -> list[dict[str, Any]]:
    """The records of the session's transcript (in the state dir ``env`` names); each line a JSON object.

    ``session_id`` picks one session of a work dir that had several; without it there must be one.
    """
    paths = transcripts(work_dir, env)
    if session_id is not None:
        paths = [path for path in paths if path.name.endswith(f"-{session_id}.jsonl")]
    if not paths:
        return []
    assert len(paths) == 1, f"one session, one transcript: {paths}"
    records = []
    for number, line in enumerate(paths[0].read_text(encoding="utf-8").splitlines(), start=1):
        record = json.loads(line)
        assert isinstance(record, dict), f"line {number} is not a JSON object"
        records.append(record)
    return records


def run_probe(
    executor: str,
    tmp_path: Path,
    replies: Sequence[str],
    *,
    data_file: Path = SAMPLE,
    env: Mapping[str, str] | None = None,
    timeout: float = 10,
    session_id: str | None = None,
    **executor_keys: Any,
) -> ProbeRun:
    """Run one session whose assistant sends ``replies``; never raises for an AutorunError."""
    work_dir = tmp_path / "work"
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    session_id = session_id or f"probe{secrets.token_hex(4)}"
    steps = [{"reply": text} for text in replies]
    recorder = RecordingSink()
    plain_out, plain_err, rich_out = io.StringIO(), io.StringIO(), io.StringIO()
    display = Fanout(recorder, PlainRenderer(plain_out, plain_err), _rich_renderer(rich_out))
    error: AutorunError | None = None
    session_env = probe_env(home, env)
    with FakeOpenAIServer(steps) as server:
        config = probe_config(executor, work_dir, server.base_url, timeout=timeout, **executor_keys)
        try:
            outcome = analyse(
                AnalyseRequest(data_file, config),
                display,
                env=session_env,
                session_id=session_id,
            )
            exit_code = outcome.exit_code
        except AutorunError as err:
            error, exit_code = err, int(err.exit_code)
        finally:
            display.close()
        requests = server.chat_requests
    return ProbeRun(
        executor=executor,
        work_dir=work_dir,
        events=recorder.events,
        records=read_transcript_records(work_dir, session_env, session_id),
        requests=requests,
        plain=plain_out.getvalue() + plain_err.getvalue(),
        rich=rich_out.getvalue(),
        exit_code=exit_code,
        error=error,
        session_id=session_id,
        env=session_env,
    )


def _rich_renderer(out: io.StringIO) -> RichRenderer:
    from rich.console import Console

    console = Console(file=out, force_terminal=True, width=100, height=40, color_system="truecolor")
    return RichRenderer(console, console)


# --- the checks every probe makes ------------------------------------------------------------


def check_common(run: ProbeRun) -> None:
    """No crash, a clear result, a valid and complete transcript, nothing of the session left."""
    assert run.exit_code in KNOWN_EXIT_CODES, f"unexpected exit code {run.exit_code}"
    if run.error is not None:
        assert str(run.error).strip() and "\n" not in str(run.error).strip(), "errors are one clear sentence"
    ends = run.of("session_end")
    assert len(ends) == 1, "the session reports exactly one end"
    assert ends[0].exit_code == run.exit_code and ends[0].reason
    check_transcript(run)
    assert leftover_processes(run.work_dir) == [], "a process of the session outlived it"
    if run.executor == "docker":
        assert leftover_containers(run.session_id) == [], "the session's container outlived it"


def check_transcript(run: ProbeRun) -> None:
    records = run.records
    assert records, "the session wrote a transcript"
    kinds = [r["event"] for r in records if r["event"] != "notice"]
    assert kinds[0] == "session_start" and kinds[-1] == "session_end", kinds
    assert kinds.count("session_end") == 1
    ran = [r["index"] for r in records if r["event"] == "code_block" and r["will_run"]]
    finished = [r["index"] for r in records if r["event"] == "execution_result"]
    cut_short = "interrupted" in kinds or records[-1]["status"] == "error"
    assert finished == ran or (cut_short and finished == ran[: len(finished)]), (ran, finished)
    assert records[-1]["exit_code"] == run.exit_code


def leftover_processes(work_dir: Path) -> list[str]:
    """Live processes whose working directory or command line is inside ``work_dir``."""
    found = []
    marker = str(work_dir.resolve())
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except (OSError, IndexError):
            continue
        if state in (b"Z", b"X"):
            continue
        if cwd.startswith(marker) or marker in cmdline:
            found.append(f"{entry}: {cmdline.strip()} (cwd {cwd})")
    return found


def leftover_containers(session_id: str) -> list[str]:
    proc = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=autorun.session={session_id}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return proc.stdout.split()


# --- the real CLI as a subprocess --------------------------------------------------------------

UNPRIVILEGED = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


def cli_env(executor: str, home: Path, extra: Mapping[str, str] | None = None, **keys: Any) -> dict[str, str]:
    """The CLI's environment: probe_env plus AUTORUN_EXECUTOR_* for the executor and ``keys``."""
    settings = {**EXECUTOR_CONFIG[executor], "memory": "512m", "max_file_size": str(64 * 1024**2), **keys}
    env = probe_env(home, extra)
    for key, value in settings.items():
        env[f"AUTORUN_EXECUTOR_{key.upper()}"] = str(value)
    env["AUTORUN_MODEL_MAX_RETRIES"] = env.get("AUTORUN_MODEL_MAX_RETRIES", "0")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def cli_command(data_file: Path, base_url: str, work_dir: Path, *extra: str, unprivileged: bool = False) -> list[str]:
    import sys

    command = [sys.executable, "-m", "autorun", "analyse", str(data_file), "--model", MODEL_NAME]
    command += ["--base-url", base_url, "--work-dir", str(work_dir), *extra]
    return (UNPRIVILEGED + command) if unprivileged and os.getuid() == 0 else command


@dataclass
class CliRun:
    exit_code: int
    stdout: str
    stderr: str
    records: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    work_dir: Path

    def sent_to_model(self) -> str:
        return json.dumps([r["body"] for r in self.requests], ensure_ascii=False)

    def transcript_text(self) -> str:
        return json.dumps(self.records, ensure_ascii=False)


def run_cli(executor: str, tmp_path: Path, replies: Sequence[str], **kwargs: Any) -> CliRun:
    """`autorun analyse` as a subprocess, its assistant being the fake server serving ``replies``."""
    return _run_cli_in(executor, tmp_path, replies, **kwargs)


def _run_cli_in(
    executor: str,
    base: Path,
    replies: Sequence[str],
    *,
    data_file: Path = SAMPLE,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 120,
    unprivileged: bool = False,
    **keys: Any,
) -> CliRun:
    work_dir, home = base / "work", base / "home"
    home.mkdir(exist_ok=True)
    child_env = cli_env(executor, home, env, **keys)
    with FakeOpenAIServer([{"reply": text} for text in replies]) as server:
        proc = subprocess.run(
            cli_command(data_file, server.base_url, work_dir, unprivileged=unprivileged),
            env=child_env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        requests = server.chat_requests
    records = read_transcript_records(work_dir, child_env)
    run = CliRun(proc.returncode, proc.stdout, proc.stderr, records, requests, work_dir)
    assert leftover_processes(work_dir) == [], "a process of the session outlived it"
    return run


@contextlib.contextmanager
def shared_dir() -> Iterator[Path]:
    """A world-writable scratch dir outside pytest's private tmp, for runs as an unprivileged user."""
    path = Path(tempfile.mkdtemp(prefix="autorun-probe-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@functools.cache
def unprivileged_python() -> str | None:
    """A Python that user nobody can run (autorun's own may live in root's home), or None."""
    import sys

    if os.getuid() != 0:
        return sys.executable
    cli = subprocess.run([*UNPRIVILEGED, sys.executable, "-c", "import autorun.cli"], capture_output=True, timeout=60)
    if cli.returncode != 0:
        return None
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        command = [*UNPRIVILEGED, "/bin/sh", "-c", '"$0" -c pass', candidate]
        probe = subprocess.run(command, capture_output=True, timeout=30)
        if probe.returncode == 0:
            return candidate
    return None


def run_cli_unprivileged(
    executor: str, replies: Sequence[str], *, prepare: Callable[[Path], Path] | None = None, **kwargs: Any
) -> CliRun:
    """run_cli as user nobody when the tests run as root (RLIMIT_NPROC and permissions bind only non-root).

    ``prepare(scratch)`` may create the data file in the scratch dir and return its path.
    """
    python = unprivileged_python()
    if python is None:
        problem = "PROBE NOT RUN: user nobody cannot run autorun or any Python (needed to drop root)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so this is a failure. {problem}")
        pytest.skip(problem)
    kwargs.setdefault("python", python)
    with shared_dir() as scratch:
        for name in ("work", "home"):
            (scratch / name).mkdir()
            (scratch / name).chmod(0o777)
        if prepare is not None:
            kwargs["data_file"] = prepare(scratch)
        return _run_cli_in(executor, scratch, replies, unprivileged=True, **kwargs)


def check_cli(run: CliRun, executor: str) -> None:
    """check_common for a CLI run: known exit code, complete transcript, no container left."""
    assert run.exit_code in KNOWN_EXIT_CODES, f"exit code {run.exit_code}: {run.stderr[-2000:]}"
    kinds = [r["event"] for r in run.records if r["event"] != "notice"]
    assert kinds and kinds[0] == "session_start" and kinds[-1] == "session_end", kinds
    assert run.records[-1]["exit_code"] == run.exit_code
    ran = [r["index"] for r in run.records if r["event"] == "code_block" and r["will_run"]]
    finished = [r["index"] for r in run.records if r["event"] == "execution_result"]
    cut_short = "interrupted" in kinds or run.records[-1]["status"] == "error"
    assert finished == ran or (cut_short and finished == ran[: len(finished)]), (ran, finished)
    if executor == "docker":
        assert leftover_containers(run.records[0]["session_id"]) == []


def check_refused(run: ProbeRun | CliRun, executor: str, *fragments: str) -> str:
    """A bad input or config: exit 2, one clear line naming the problem, no session, nothing left behind."""
    message = str(run.error) if isinstance(run, ProbeRun) else run.stderr.strip()
    assert run.exit_code == 2, message
    assert message and "\n" not in message.strip(), message
    assert "Traceback" not in message
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    assert run.records == [], "a refused input starts no session"
    assert leftover_processes(run.work_dir) == []
    if executor == "docker" and isinstance(run, ProbeRun):
        assert leftover_containers(run.session_id) == []
    return message
