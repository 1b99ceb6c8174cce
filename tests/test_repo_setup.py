"""The README's two set-up commands and CI stay the same path."""

from __future__ import annotations

import re

from tests.conftest import REPO


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    first_block = re.search(r"```sh\n(.*?)```", text, re.DOTALL)
    assert first_block is not None
    return [line for line in first_block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("autorun analyse sample_data/sales.csv")
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci_lines = (REPO / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci_lines
    assert any("scripts/docker-test-env.sh" in line for line in ci_lines)


def test_packaged_defaults_match_the_documented_copy() -> None:
    assert (REPO / "autorun" / "config" / "default.yaml").read_bytes() == (
        REPO / "configs" / "default.yaml"
    ).read_bytes()


def test_ci_checks_format_lint_and_types_before_the_tests() -> None:
    ci_lines = (REPO / ".ci" / "run").read_text().splitlines()
    check = (REPO / "scripts" / "check.sh").read_text()
    assert 'ruff" format --check' in check and 'ruff" check' in check and "mypy" in check
    guard = ci_lines.index("bash scripts/check.sh")
    assert guard < ci_lines.index(readme_commands()[1])
