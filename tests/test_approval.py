"""Ask-before-run cannot be lost silently: `config init` leaves the mode to each command, and the
session header says when blocks run unasked and which setting says so."""

from __future__ import annotations

from pathlib import Path

import yaml

from autorun.config.loading import load_config, starter_config_text
from autorun.session.terminal import RUN_PROMPT
from tests.conftest import SAMPLE, run_autorun


def test_config_init_then_chat_still_asks_before_each_block(tmp_path: Path, clean_env: dict[str, str]) -> None:
    """The issue's sequence: `autorun config init`, then `printf 'hi\\n' | autorun chat sales.csv`."""
    init = run_autorun(["config", "init"], tmp_path, clean_env)
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "autorun.yaml").is_file()

    chat = run_autorun(["chat", str(SAMPLE), "--work-dir", "ws"], tmp_path, clean_env, stdin="hi\n")
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.count(RUN_PROMPT.strip()) >= 1, chat.stdout
    assert "asks before each block runs (human_input_mode ALWAYS, chat's default)" in chat.stderr
    assert not list((tmp_path / "ws").glob("chart-*.png")), "nothing ran: the person was asked and did not answer"


def test_starter_config_leaves_human_input_mode_to_each_command(tmp_path: Path) -> None:
    data = yaml.safe_load(starter_config_text())
    assert "human_input_mode" not in data["session"]
    assert "# human_input_mode:" in starter_config_text()
    (tmp_path / "autorun.yaml").write_text(starter_config_text(), encoding="utf-8")
    loaded = load_config(config_file=None, flags={}, env={}, cwd=tmp_path)
    assert loaded.sources["session.human_input_mode"] == "default"
    assert loaded.sources["session.max_consecutive_auto_reply"] == "file:autorun.yaml"


def test_header_names_the_file_that_turned_asking_off(tmp_path: Path, clean_env: dict[str, str]) -> None:
    (tmp_path / "autorun.yaml").write_text("session:\n  human_input_mode: NEVER\n", encoding="utf-8")
    chat = run_autorun(["chat", str(SAMPLE), "--work-dir", "ws"], tmp_path, clean_env, stdin="hi\n/exit\n")
    assert chat.returncode == 0, chat.stderr
    assert RUN_PROMPT.strip() not in chat.stdout
    header = next(line for line in chat.stderr.splitlines() if line.startswith("autorun: session "))
    assert header.endswith("; blocks run without asking (human_input_mode NEVER from ./autorun.yaml)"), header


def test_analyse_header_names_a_mode_set_outside_the_default(tmp_path: Path, clean_env: dict[str, str]) -> None:
    env = clean_env | {"AUTORUN_SESSION_HUMAN_INPUT_MODE": "TERMINATE"}
    args = ["analyse", str(SAMPLE), "--work-dir", "ws", "--model", "builtin"]
    asked = run_autorun(args, tmp_path, env, stdin="\n")
    assert asked.returncode == 0, asked.stderr
    assert (
        "blocks run without asking; you are asked when the assistant is done "
        "(human_input_mode TERMINATE from $AUTORUN_SESSION_HUMAN_INPUT_MODE)"
    ) in asked.stderr
    plain = run_autorun(args, tmp_path, clean_env)
    assert plain.returncode == 0, plain.stderr
    assert "human_input_mode" not in plain.stderr, "analyse's own default needs no word"


def test_config_show_says_the_mode_is_per_command_until_set(tmp_path: Path, clean_env: dict[str, str]) -> None:
    shown = run_autorun(["config", "show"], tmp_path, clean_env)
    assert "unset: chat ALWAYS, analyse NEVER" in shown.stdout
    as_yaml = run_autorun(["config", "show", "--yaml"], tmp_path, clean_env)
    assert "human_input_mode" not in yaml.safe_load(as_yaml.stdout)["session"]
