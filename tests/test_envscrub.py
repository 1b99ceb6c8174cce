import pytest

from autorun.executors.envscrub import (
    EXECUTION_ENV,
    execution_environment,
    refused_passthrough,
    scrub_environment,
)
from autorun.secrets import is_secret_name

ALLOWED = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/ana",
    "USER": "ana",
    "LOGNAME": "ana",
    "SHELL": "/bin/bash",
    "LANG": "en_GB.UTF-8",
    "LANGUAGE": "en_GB",
    "LC_ALL": "C.UTF-8",
    "LC_NUMERIC": "de_DE.UTF-8",
    "TMPDIR": "/tmp",
    "TZ": "Europe/London",
    "TERM": "xterm",
    "VIRTUAL_ENV": "/home/ana/.venv",
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONUTF8": "1",
    "PYTHONIOENCODING": "utf-8",
}
NOT_ALLOWED = {
    "PYTHONPATH": "/evil",
    "PYTHONSTARTUP": "/evil/startup.py",
    "LD_PRELOAD": "/evil/lib.so",
    "PWD": "/home/ana/project",
    "DISPLAY": ":0",
    "HTTPS_PROXY": "http://proxy:3128",
}
SECRET_NAMES = [
    "OPENAI_API_KEY",
    "openai_api_key",
    "GITHUB_TOKEN",
    "aws_secret_access_key",
    "DB_PASSWORD",
    "MYSQL_PASSWD",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "HTTP_AUTH",
    "Proxy_Authorization",
    "LC_AUTH_TOKEN",
    "SSH_KEYFILE",
]


def test_allowlisted_names_are_kept_and_others_removed():
    kept, removed = scrub_environment({**ALLOWED, **NOT_ALLOWED})
    assert kept == ALLOWED
    assert removed == NOT_ALLOWED


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names_are_removed_with_their_values(name):
    kept, removed = scrub_environment({"PATH": "/bin", name: "s3cr3t-value"})
    assert kept == {"PATH": "/bin"}
    assert removed == {name: "s3cr3t-value"}


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names_are_refused_even_when_passed_through(name):
    kept, removed = scrub_environment({name: "s3cr3t-value"}, passthrough=[name])
    assert kept == {}
    assert removed == {name: "s3cr3t-value"}


def test_passthrough_adds_names():
    env = {"PATH": "/bin", "MY_SETTING": "on", "OTHER": "x"}
    kept, removed = scrub_environment(env, passthrough=["MY_SETTING", "ABSENT_NAME"])
    assert kept == {"PATH": "/bin", "MY_SETTING": "on"}
    assert removed == {"OTHER": "x"}


def test_passthrough_is_case_sensitive():
    kept, _ = scrub_environment({"my_setting": "on"}, passthrough=["MY_SETTING"])
    assert kept == {}


def test_is_secret_name_and_refused_passthrough():
    assert all(is_secret_name(name) for name in SECRET_NAMES)
    assert not any(is_secret_name(name) for name in [*ALLOWED, *NOT_ALLOWED])
    assert refused_passthrough(["MY_SETTING", "api_key", "DEPLOY_TOKEN"]) == ["api_key", "DEPLOY_TOKEN"]


def test_execution_environment_forces_execution_settings():
    env = {"PATH": "/bin", "PYTHONIOENCODING": "latin-1", "MPLBACKEND": "TkAgg", "API_KEY": "k"}
    kept, removed = execution_environment(env)
    assert kept == {"PATH": "/bin", **EXECUTION_ENV}
    assert EXECUTION_ENV == {"MPLBACKEND": "Agg", "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"}
    assert removed == {"MPLBACKEND": "TkAgg", "API_KEY": "k"}


def test_scrub_does_not_modify_its_input():
    env = {"PATH": "/bin", "API_KEY": "k"}
    scrub_environment(env)
    assert env == {"PATH": "/bin", "API_KEY": "k"}
