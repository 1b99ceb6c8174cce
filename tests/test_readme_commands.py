"""The README's every command runs as written.

Which lines run: every command of every ```sh block but the first (the set-up commands, which
CI runs itself: tests/test_repo_setup.py). A comment line is skipped and a trailing backslash
joins a line to the next. Each command runs with ``bash -o pipefail -c`` (so autorun's own exit
code counts inside a pipe), in README order, in one scratch folder holding the files the README
names (``sales.csv``, ``sample_data/sales.csv``, ``data/*.csv``, the question sets) and two
sessions already recorded, with HOME a scratch home: the state dir is ``~/.local/state/autorun``,
as the README says.

Offline and without a key: a command that needs a model (it names one other than ``builtin``,
gives ``--base-url``, or is ``eval``) talks to tests/fake_openai_server.py instead: its
``--base-url`` is replaced by the fake's, else ``AUTORUN_MODEL_BASE_URL`` points there, and
``OPENAI_API_KEY`` / ``GATEWAY_KEY`` hold a dummy key. ``<id>`` stands for the id of the newest
recorded session. A command that needs Docker runs where the engine and the test image are
(always in CI) and skips loudly elsewhere. Every command must exit 0. A recipe for several
machines (the cluster's scheduler, workers and client) is a ```text block: tests/test_cluster.py
runs it on a real local cluster.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from autorun.record.state import STATE_DIR_ENV
from tests.conftest import REPO, SAMPLE
from tests.eval_sets import make_set
from tests.fake_openai_server import FakeOpenAIServer

SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.DOTALL | re.MULTILINE)
BASE_URL = re.compile(r"(--base-url\s+)(\S+)")
NAMED_MODEL = re.compile(r"--model\s+(\S+)")
REPLY = {"reply": "The figures are in the output above.\n\nTERMINATE"}


def readme_commands() -> list[str]:
    """The runnable commands of the README, in order (see the module's docstring for the rule)."""
    blocks = SH_BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8"))
    commands: list[str] = []
    for block in blocks[1:]:
        pending = ""
        for line in block.splitlines():
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            commands.append(" ".join((pending + line).split()))
            pending = ""
    return commands


def needs_model(command: str) -> bool:
    models = [name for name in NAMED_MODEL.findall(command) if name != "builtin" and not name.startswith("replay:")]
    return bool(models) or "--base-url" in command or command.startswith("autorun eval ")


@dataclass
class Scratch:
    folder: Path
    env: dict[str, str]
    server: FakeOpenAIServer


def _files(folder: Path) -> None:
    """The files the README's commands name, as a user would have them."""
    (folder / "sample_data").mkdir()
    (folder / "data").mkdir()
    for target in (folder / "sales.csv", folder / "sample_data" / "sales.csv", folder / "data" / "q1.csv"):
        shutil.copy(SAMPLE, target)
    (folder / "data" / "q2.csv").write_text("region,revenue\nNorth,10\nSouth,20\n", encoding="utf-8")
    questions = make_set(folder / "dabench", 2)
    questions.questions_file.rename(folder / "da-dev-questions.jsonl")
    questions.labels_file.rename(folder / "da-dev-labels.jsonl")
    questions.data_dir.rename(folder / "da-dev-tables")
    (folder / "context").mkdir()
    (folder / "context" / "payments.csv").write_text("id,amount\n1,10.5\n2,20\n", encoding="utf-8")
    task = {"task_id": "1", "question": "What is the total amount?", "guidelines": "A number.", "level": "easy"}
    (folder / "dev.jsonl").write_text(json.dumps(task) + "\n", encoding="utf-8")
    shim = folder / "bin" / "autorun"  # `autorun` as a user's PATH has it: this checkout's
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m autorun "$@"\n', encoding="utf-8")
    shim.chmod(0o755)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    folder = tmp_path_factory.mktemp("readme")
    home = folder / "home"
    home.mkdir()
    _files(folder)
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AUTORUN_")
        and not name.endswith("_API_KEY")
        and name not in ("NO_COLOR", "XDG_STATE_HOME")
    }
    env |= {"HOME": str(home), "PATH": f"{folder / 'bin'}{os.pathsep}{env.get('PATH', '')}", "NO_COLOR": "1"}
    server = FakeOpenAIServer([REPLY] * 400).start()
    try:
        for data in ("sales.csv", "data/q2.csv"):  # two recorded sessions, whatever the README runs first
            made = subprocess.run(
                ["autorun", "analyse", data], cwd=folder, env=env, capture_output=True, text=True, timeout=300
            )
            assert made.returncode == 0, made.stderr
        yield Scratch(folder, env, server)
    finally:
        server.stop()


def _newest_id(scratch: Scratch) -> str:
    listed = subprocess.run(
        ["autorun", "sessions", "--json", "-n", "1"],
        cwd=scratch.folder,
        env=scratch.env,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)[0]["id"]


def _skip_without(tool: str) -> None:
    reason = f"the README's command needs {tool}, which this machine lacks"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so this is a failure: {reason}", pytrace=False)
    pytest.skip(reason)


def test_the_rule_finds_the_commands_a_user_would_type() -> None:
    commands = readme_commands()
    uncommented = [command.split(" # ")[0] for command in commands]
    assert "autorun results" in uncommented and "autorun sessions" in uncommented
    assert any(command.startswith("autorun export <id>") for command in commands)
    assert any(" --resume " in command and command.startswith("autorun eval ") for command in commands), (
        "a continued line is one command"
    )
    assert not any("pip install" in command for command in commands), "the set-up block is CI's"
    assert not any(command.startswith("#") for command in commands)
    assert not any(".autorun/sessions" in command for command in commands), "the record lives in the state dir"


@pytest.mark.parametrize("command", readme_commands(), ids=lambda command: command.split(" # ")[0][:80])
def test_the_readme_command_runs_as_written(command: str, scratch: Scratch) -> None:
    if "--docker" in command:
        from tests.docker_fixtures import skip_without_engine

        skip_without_engine()
    if " jq " in f" {command} " and shutil.which("jq") is None:
        _skip_without("jq")
    env = dict(scratch.env)
    run = command.replace("<id>", _newest_id(scratch)) if "<id>" in command else command
    if needs_model(command):
        env |= {"OPENAI_API_KEY": "sk-readme", "GATEWAY_KEY": "gw-readme"}
        env["AUTORUN_MODEL_BASE_URL"] = scratch.server.base_url
        run = BASE_URL.sub(lambda match: match.group(1) + scratch.server.base_url, run)
    assert STATE_DIR_ENV not in env
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", run],
        cwd=scratch.folder,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{run}\nexit {done.returncode}\n{done.stderr[-3000:]}"
