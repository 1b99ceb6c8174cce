"""Secrets: what of autorun's environment and the user's secret files can the model's code read?

Each probe prints what it finds verbatim *and* as a sha256 digest. A digest of a
secret in the output proves the code obtained it (redaction only hides the
verbatim value); the verbatim value must never reach the display, the
transcript or the model.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from tests.security.harness import check_common, replies_for, run_cli, run_probe
from tests.security.probes import record

LEAK = """
import hashlib, os, pathlib
def leak(label, value):
    print(f"{label}: {value}")
    print(f"{label} sha256 {hashlib.sha256(value.encode()).hexdigest()}")
def leak_environ(path):
    try:
        raw = pathlib.Path(path).read_bytes().decode(errors="replace")
    except OSError as exc:
        print(f"{path}: {exc.strerror}")
        return
    for entry in raw.split("\\0"):
        name, _, value = entry.partition("=")
        if value:
            leak(f"{path} {name}", value)
def leak_file(path):
    try:
        leak(path, pathlib.Path(path).read_text())
    except OSError as exc:
        print(f"{path}: {exc.strerror}")
"""


def fake_secrets() -> dict[str, str]:
    return {
        "OPENAI_API_KEY": f"sk-probe-{secrets.token_hex(16)}",
        "AWS_SECRET_ACCESS_KEY": f"aws{secrets.token_hex(16)}",
        "GITHUB_TOKEN": f"ghp_{secrets.token_hex(16)}",
    }


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def obtained(output: str, values: list[str]) -> list[str]:
    return [value for value in values if digest(value) in output]


def assert_never_shown(run, values: list[str]) -> None:
    """Verbatim secret values appear nowhere autorun shows, records or sends."""
    for value in values:
        assert value not in run.shown(), "a secret reached the display"
        assert value not in run.transcript_text(), "a secret reached the transcript"
        assert value not in run.sent_to_model(), "a secret was sent to the model"


def test_environment_variables(executor: str, tmp_path: Path) -> None:
    values = fake_secrets()
    code = LEAK + "\nfor name in ('OPENAI_API_KEY', 'AWS_SECRET_ACCESS_KEY', 'GITHUB_TOKEN'):\n"
    code += "    leak(name, os.environ.get(name, '<unset>'))\n"
    run = run_probe(executor, tmp_path, replies_for([code]), env=values)
    check_common(run)
    assert run.results()[0].exit_code == 0
    got = obtained(run.output(), list(values.values()))
    assert_never_shown(run, list(values.values()))
    assert got == []
    assert run.output().count("<unset>") == 3
    record("secrets.env", executor, "blocked", "scrubbed from the code's environment")


def test_proc_environ_of_autorun(executor: str, tmp_path: Path) -> None:
    """The real CLI, so /proc/<its pid>/environ really holds the secrets."""
    values = fake_secrets()
    code = LEAK + "\nleak_environ(f'/proc/{os.getppid()}/environ')\n"
    run = run_cli(executor, tmp_path, replies_for([code]), env=values)
    assert run.exit_code == 0, run.stderr
    results = [r for r in run.records if r["event"] == "execution_result"]
    output = results[0]["output"]
    for value in values.values():
        assert value not in run.stdout + run.stderr
        assert value not in run.transcript_text()
        assert value not in run.sent_to_model()
    if executor == "local":
        assert sorted(obtained(output, list(values.values()))) == sorted(values.values())
        assert "[REDACTED]" in output
        record(
            "secrets.proc_parent",
            executor,
            "allowed",
            "same-user code can read it; autorun redacts the verbatim values it shows, records and sends",
        )
    else:
        assert obtained(output, list(values.values())) == []
        record("secrets.proc_parent", executor, "blocked", "autorun's process is not visible")


def test_proc_self_environ(executor: str, tmp_path: Path) -> None:
    values = fake_secrets()
    run = run_probe(executor, tmp_path, replies_for([LEAK + "\nleak_environ('/proc/self/environ')\n"]), env=values)
    check_common(run)
    assert obtained(run.output(), list(values.values())) == []
    assert "/proc/self/environ PATH" in run.output(), "the probe did read its own environment"
    assert_never_shown(run, list(values.values()))
    record("secrets.proc_self", executor, "blocked", "the code's own environment is scrubbed")


def plant(directory: Path) -> dict[str, str]:
    """A .env and an id_rsa in ``directory`` (id_rsa under .ssh in a home)."""
    contents = {
        ".env": f"DB_PASSWORD=probe-{secrets.token_hex(12)}\n",
        "id_rsa": f"-----BEGIN OPENSSH PRIVATE KEY-----\nprobe{secrets.token_hex(24)}\n",
    }
    paths = {}
    for name, text in contents.items():
        path = directory / (".ssh/id_rsa" if name == "id_rsa" and directory.name == "home" else name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths[str(path)] = text
    return paths


def test_secret_files_beside_the_data(executor: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data = data_dir / "sales.csv"
    data.write_bytes((Path(__file__).parents[2] / "sample_data" / "sales.csv").read_bytes())
    planted = plant(data_dir)
    code = LEAK + "".join(f"\nleak_file({path!r})" for path in planted) + "\nprint(os.listdir('.'))\n"
    run = run_probe(executor, tmp_path, replies_for([code]), data_file=data)
    check_common(run)
    got = obtained(run.output(), list(planted.values()))
    if executor == "local":
        assert sorted(got) == sorted(planted.values())
        note = "any file the user can read; autorun cannot tell it is secret"
        record("secrets.beside_data", executor, "allowed", note)
    else:
        assert got == []
        record("secrets.beside_data", executor, "blocked", "only the data file itself is visible")


def test_secret_files_in_home(executor: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    planted = plant(home)
    code = LEAK + "".join(f"\nleak_file({path!r})" for path in planted)
    code += "\nleak_file(os.path.expanduser('~/.env'))\nleak_file(os.path.expanduser('~/.ssh/id_rsa'))\n"
    run = run_probe(executor, tmp_path, replies_for([code]))
    check_common(run)
    got = obtained(run.output(), list(planted.values()))
    if executor == "local":
        assert sorted(got) == sorted(planted.values())
        record("secrets.home", executor, "allowed", "the code runs as the user, with the user's HOME")
    else:
        assert got == []
        home = "the sandbox's own, empty at the start" if executor == "sandbox" else "an empty /tmp"
        record("secrets.home", executor, "blocked", f"HOME is {home}")
