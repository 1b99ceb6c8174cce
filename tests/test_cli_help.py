"""Help a person can read: no type labels such as <bool> or <str>, prose wrapped to the terminal
(never at the source's line breaks), examples on every command, and `analyze` as an alias."""

from __future__ import annotations

import itertools
import re
import subprocess

import pytest

from tests.conftest import SAMPLE, autorun_cmd

COMMANDS = [[], ["analyse"], ["chat"], ["sessions"], ["replay"], ["results"], ["export"], ["doctor"], ["clean"]]
COMMANDS += [["config"], ["config", "show"], ["config", "init"]]
TYPE_LABEL = re.compile(r"<(bool|str|int|float|path|list\[[^\]]*\]|[a-z]+)>")


def help_text(args: list[str], columns: int, env: dict[str, str]) -> str:
    done = subprocess.run(
        autorun_cmd(*args, "--help"), capture_output=True, text=True, env=env | {"COLUMNS": str(columns)}, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "autorun")
def test_help_has_no_type_labels_and_examples(args: list[str], clean_env: dict[str, str]) -> None:
    text = help_text(args, 100, clean_env)
    assert TYPE_LABEL.findall(text) == []
    if args != ["config"]:
        assert "\n  Examples:\n" in text
        examples = text.split("\n  Examples:\n", 1)[1].strip("\n").split("\n\n")[0]
        assert all(line.startswith("    autorun ") for line in examples.splitlines()), examples


@pytest.mark.parametrize("args", [["analyse"], ["chat"], ["export"]], ids=lambda a: a[0])
def test_prose_is_wrapped_to_the_terminal_not_at_the_sources_line_breaks(
    args: list[str], clean_env: dict[str, str]
) -> None:
    text = help_text(args, 80, clean_env)
    prose = text.split("\n  Examples:\n", 1)[0].split("\n", 2)[2]
    for paragraph in prose.strip("\n").split("\n\n"):
        lines = paragraph.splitlines()
        assert all(len(line) <= 80 for line in lines)
        early = [a for a, b in itertools.pairwise(lines) if len(a) + 1 + len(b.split()[0]) <= 78]
        assert early == [], f"a line broken before the next word would have filled it:\n{paragraph}"
    narrow = help_text(args, 50, clean_env)
    assert max(len(line) for line in narrow.split("\n  Examples:\n", 1)[0].splitlines()) <= 50


def test_analyze_is_an_alias_of_analyse(tmp_path, clean_env: dict[str, str]) -> None:
    done = subprocess.run(
        autorun_cmd("analyze", str(SAMPLE), "--model", "builtin", "--no-exec", "--work-dir", str(tmp_path / "w")),
        capture_output=True,
        text=True,
        env=clean_env | {"NO_COLOR": "1"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "--- python block 1 (not run) ---" in done.stdout
    assert "analyze" not in help_text([], 100, clean_env), "the alias is not listed twice"


def test_every_session_command_has_the_session_options_once_and_in_one_order() -> None:
    import dataclasses

    import typer.main

    from autorun.cli import app
    from autorun.cli.options import SessionOptions

    shared = [option.name for option in dataclasses.fields(SessionOptions)]
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for name in ("analyse", "chat", "eval"):
        params = [param.name for param in commands[name].params]
        start = params.index(shared[0])
        assert params[start : start + len(shared)] == shared, name
        assert all(params.count(option) == 1 for option in shared), name
