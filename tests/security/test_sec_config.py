"""Bad configuration: refused before anything runs, with one line naming the file, the key and the fix."""

from __future__ import annotations

import subprocess
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from autorun.config.loading import config_keys, load_config
from autorun.config.schema import Config
from autorun.errors import ConfigError
from tests.conftest import SAMPLE, autorun_cmd
from tests.security.probes import ANY, record


def wrong_value(key: str) -> Any:
    """A value of the wrong type for ``key``: a mapping for scalars, a list for mappings, a mapping for lists."""
    section, name = key.split(".")
    annotation = type(Config()).model_fields[section].annotation.model_fields[name].annotation  # type: ignore[union-attr]
    args = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else ()
    base = next((a for a in args if a is not type(None)), annotation)
    origin = typing.get_origin(base)
    if origin is dict or base is dict:
        return [1, 2]
    if origin is list or base is list:
        return {"not": "a list"}
    return {"not": ["a", "scalar"]}


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(
        autorun_cmd("analyse", str(SAMPLE), "--model", "builtin", "--work-dir", str(tmp_path / "w"), *args),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )


def assert_one_clear_line(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("autorun: error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_every_key_with_a_wrong_type(tmp_path: Path) -> None:
    problems = []
    for key in config_keys():
        section, name = key.split(".")
        path = tmp_path / f"{section}-{name}.yaml"
        path.write_text(yaml.safe_dump({section: {name: wrong_value(key)}}))
        try:
            load_config(config_file=path, flags={}, env={}, cwd=tmp_path)
        except ConfigError as err:
            message = str(err)
            if key not in message or path.name not in message or "\n" in message:
                problems.append(f"{key}: {message}")
        else:
            problems.append(f"{key}: accepted {wrong_value(key)!r}")
    assert problems == []
    proc = run_cli(tmp_path, "--config", str(tmp_path / "executor-timeout.yaml"))
    assert_one_clear_line(proc, "executor.timeout", "must be a positive number")
    assert not (tmp_path / "w").exists()
    record("config.wrong_types", ANY, "refused", "every key: one line naming the file and the key")


@pytest.mark.parametrize(
    ("probe", "text", "fragments"),
    [
        ("config.negative_timeout", "executor:\n  timeout: -5\n", ("executor.timeout", "positive", "-5")),
        ("config.unknown_executor", "executor:\n  type: kubernetes\n", ("executor.type", "local, docker, none")),
        ("config.yaml_list", "- executor\n- model\n", ("top level must be a mapping", "a list")),
    ],
)
def test_bad_config_file(tmp_path: Path, probe: str, text: str, fragments: tuple[str, ...]) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    proc = run_cli(tmp_path, "--config", str(config))
    assert_one_clear_line(proc, "bad.yaml", *fragments)
    assert not (tmp_path / "w").exists()
    record(probe, ANY, "refused", "one line naming the file, the key and what is allowed")


def test_config_file_that_does_not_exist(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "--config", str(tmp_path / "nope.yaml"))
    assert_one_clear_line(proc, "config file not found", "nope.yaml", "autorun config init")
    assert not (tmp_path / "w").exists()
    record("config.missing_file", ANY, "refused", "one line saying how to create one")
