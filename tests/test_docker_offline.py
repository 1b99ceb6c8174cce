"""The Docker executor's settings, engine error messages and doctor rows that need no engine."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from autorun.config.loading import load_config
from autorun.config.schema import Config, ExecutorConfig
from autorun.doctor import python_check, run_doctor
from autorun.errors import ConfigError, ExecutorError, ExitCode
from autorun.executors.docker.engine import connect
from autorun.executors.docker.executor import DockerSettings
from autorun.executors.docker.image import RUNTIME_IMAGE as IMAGE_BUILT
from autorun.session.executor_settings import docker_settings
from autorun.units import human_size, parse_size

REPO = Path(__file__).resolve().parent.parent
TEST_IMAGE = "python:3.11-slim"
RUNTIME_IMAGE = "autorun-runtime:1"  # the default: `autorun image build`


def test_no_engine_is_one_clear_error(tmp_path):
    with pytest.raises(ExecutorError) as caught:
        connect({"DOCKER_HOST": f"unix://{tmp_path}/missing.sock"})
    assert "No Docker engine is running" in str(caught.value) and "DOCKER_HOST" in str(caught.value)
    assert caught.value.exit_code == ExitCode.EXECUTOR


def test_engine_down_is_connection_refused(tmp_path):
    path = tmp_path / "down.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))  # bound but not listening: connections are refused
    try:
        with pytest.raises(ExecutorError, match="is not running \\(connection refused\\)"):
            connect({"DOCKER_HOST": f"unix://{path}"})
    finally:
        listener.close()


def test_socket_permission_denied_names_the_fix(tmp_path):
    path = tmp_path / "private.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    code = (
        "from autorun.executors.docker.engine import connect\n"
        "try:\n"
        f"    connect({{'DOCKER_HOST': 'unix://{path}'}})\n"
        "except Exception as exc:\n"
        "    print(exc)\n"
    )
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: cannot drop privileges to test EACCES")
        tmp_path.chmod(0o755)
        path.chmod(0o600)
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code]
    else:
        path.chmod(0)
        command = [sys.executable, "-c", code]
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO).stdout
    finally:
        listener.close()
    assert "Permission denied on the Docker socket" in output and "docker group" in output


def test_settings_defaults_and_validation(tmp_path):
    """The defaults and the checks are the config schema's: the settings have none of their own."""
    settings = docker_settings(ExecutorConfig())
    assert (settings.image, settings.network, str(settings.memory), settings.cpus) == (RUNTIME_IMAGE, "none", "1g", 1.0)
    assert (settings.pids_limit, settings.read_only_root, settings.pull) == (256, True, True)
    assert settings.max_file_size == 1024**3 and settings.setup == ()
    assert settings.memory_bytes == 1024**3 and str(settings.tmpfs_size) == "256m"
    assert ExecutorConfig().image == IMAGE_BUILT, "the default image is the one `autorun image build` makes"
    with pytest.raises(ConfigError, match=r"executor\.memory must be a size"):
        load_config(config_file=None, flags={}, env={"AUTORUN_EXECUTOR_MEMORY": "lots"}, cwd=tmp_path)
    with pytest.raises(ConfigError, match=r"executor\.cpus"):
        load_config(config_file=None, flags={}, env={"AUTORUN_EXECUTOR_CPUS": "0"}, cwd=tmp_path)


def test_settings_from_config_section():
    section = ExecutorConfig(image="my/image:1", memory="512m", setup=["polars"], user=None, max_file_size=None)
    settings = docker_settings(section)
    assert (settings.image, str(settings.memory), settings.setup) == ("my/image:1", "512m", ("polars",))
    assert settings.user == f"{os.getuid()}:{os.getgid()}" and settings.max_file_size is None
    assert settings.network == "none"
    assert docker_settings(ExecutorConfig(user="4321:4321", max_open_files=None)).user == "4321:4321"


def test_every_setting_is_its_config_key_as_validated():
    """Field by field: a setting is the validated config value of the key of its name, nothing else."""
    section = ExecutorConfig(
        image="i:1", pull=False, network="bridge", memory="3g", cpus=2.5, pids_limit=9, read_only_root=False,
        tmpfs_size="64m", user="1:2", max_file_size="5m", max_open_files=7, setup=["a", "b"],
    )  # fmt: skip
    settings = docker_settings(section)
    for field in fields(DockerSettings):
        value = getattr(section, field.name)
        assert getattr(settings, field.name) == (tuple(value) if field.name == "setup" else value), field.name
        assert field.default is MISSING and field.default_factory is MISSING, f"{field.name}: the schema's default"


def test_sizes():
    assert parse_size("1g") == 1024**3 and parse_size("64MiB") == 64 * 1024**2 and parse_size(512) == 512
    assert human_size(1024**3) == "1 GiB" and human_size(64 * 1024**2) == "64 MiB"
    with pytest.raises(ValueError):
        parse_size("-1g")


def test_doctor_reports_each_problem_with_a_fix(tmp_path):
    config = Config.model_validate(
        {"executor": {"type": "docker"}, "model": {"name": "gpt-4o", "base_url": "http://127.0.0.1:9/v1"}}
    )
    checks = {check.name: check for check in run_doctor(config, env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"})}
    engine = checks["Docker engine"]
    assert engine.status == "fail" and "DOCKER_HOST" in engine.fix
    assert checks[f"Default image {RUNTIME_IMAGE}"].status == "skip"
    key = checks["API key $OPENAI_API_KEY"]
    assert key.status == "warn" and "export OPENAI_API_KEY" in key.fix
    endpoint = checks["Model endpoint"]
    assert endpoint.status == "fail" and "model.base_url" in endpoint.fix
    assert python_check((3, 10, 2)).status == "fail" and python_check((3, 12, 0)).ok
