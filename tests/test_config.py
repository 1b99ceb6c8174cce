"""Config layering, validation messages, env parsing, `config show` and `config init`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from autorun.config.loading import (
    FLAG_NAMES,
    LoadedConfig,
    config_keys,
    default_config_text,
    env_var_name,
    load_config,
    write_starter_config,
)
from autorun.config.loading import _parse_env_value as parse_env_value
from autorun.config.schema import Config
from autorun.config.show import config_show_yaml, format_config_show, redacted_config_dict
from autorun.errors import ConfigError, ExitCode

REPO = Path(__file__).resolve().parents[1]
FAKE_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"


def load(cwd: Path, *, config_file: Path | None = None, flags=None, env=None) -> LoadedConfig:
    return load_config(config_file=config_file, flags=flags or {}, env=env or {}, cwd=cwd)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def error_of(cwd: Path, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        load(cwd, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert info.value.exit_code == ExitCode.USAGE
    return message


# --- precedence and sources ---------------------------------------------------------------


def test_no_files_no_env_no_flags_gives_defaults(tmp_path: Path) -> None:
    loaded = load(tmp_path)
    assert loaded.config == Config()
    assert set(loaded.sources) == set(config_keys())
    assert set(loaded.sources.values()) == {"default"}


def test_precedence_across_all_five_layers(tmp_path: Path) -> None:
    write(
        tmp_path / "autorun.yaml",
        "executor:\n  timeout: 10\n  last_n_messages: 4\n  output_limit: 100\n  work_dir: local_dir\n",
    )
    extra = write(tmp_path / "extra.yaml", "executor:\n  timeout: 20\n  last_n_messages: 5\n  output_limit: 200\n")
    env = {"AUTORUN_EXECUTOR_TIMEOUT": "30", "AUTORUN_EXECUTOR_LAST_N_MESSAGES": "6"}
    loaded = load(tmp_path, config_file=extra, env=env, flags={"executor.timeout": 40})

    ex = loaded.config.executor
    assert (ex.timeout, ex.last_n_messages, ex.output_limit, ex.work_dir, ex.image) == (
        40.0,
        6,
        200,
        "local_dir",
        "autorun-runtime:1",
    )
    assert loaded.sources["executor.timeout"] == "flag"
    assert loaded.sources["executor.last_n_messages"] == "env:AUTORUN_EXECUTOR_LAST_N_MESSAGES"
    assert loaded.sources["executor.output_limit"] == f"file:{extra}"
    assert loaded.sources["executor.work_dir"] == "file:autorun.yaml"
    assert loaded.sources["executor.image"] == "default"


def test_none_flags_mean_not_given(tmp_path: Path) -> None:
    write(tmp_path / "autorun.yaml", "model:\n  name: builtin\n")
    loaded = load(tmp_path, flags={"model.name": None, "executor.timeout": None})
    assert loaded.config.model.name == "builtin"
    assert loaded.sources["model.name"] == "file:autorun.yaml"
    assert loaded.sources["executor.timeout"] == "default"


def test_relative_config_file_is_found_from_cwd_and_reported_as_given(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    write(tmp_path / "conf" / "run.yaml", "session:\n  max_consecutive_auto_reply: 3\n")
    loaded = load(tmp_path, config_file=Path("conf/run.yaml"))
    assert loaded.config.session.max_consecutive_auto_reply == 3
    assert loaded.sources["session.max_consecutive_auto_reply"] == "file:conf/run.yaml"


def test_flag_values_may_be_paths(tmp_path: Path) -> None:
    loaded = load(tmp_path, flags={"executor.work_dir": tmp_path / "ws"})
    assert loaded.config.executor.work_dir == str(tmp_path / "ws")


def test_unknown_flag_key_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"executor\.timout"):
        load(tmp_path, flags={"executor.timout": 3})


def test_empty_and_comment_only_files_are_fine(tmp_path: Path) -> None:
    write(tmp_path / "autorun.yaml", "")
    comments = write(tmp_path / "c.yaml", "# nothing here\nexecutor:\n")
    loaded = load(tmp_path, config_file=comments)
    assert loaded.config == Config()
    assert set(loaded.sources.values()) == {"default"}


# --- validation messages ------------------------------------------------------------------

YAML_ERRORS = [
    ("executor:\n  timeout: ten\n", 'autorun.yaml: executor.timeout must be a positive number, got "ten"'),
    ("executor:\n  timeout: -5\n", "autorun.yaml: executor.timeout must be a positive number, got -5"),
    ("executor:\n  timeout: 0\n", "autorun.yaml: executor.timeout must be a positive number, got 0"),
    ("executor:\n  timeout: true\n", "autorun.yaml: executor.timeout must be a positive number, got true"),
    (
        "executor:\n  type: podman\n",
        'autorun.yaml: executor.type must be one of auto, sandbox, local, docker, none, got "podman"',
    ),
    (
        "session:\n  max_consecutive_auto_reply: 2.5\n",
        "autorun.yaml: session.max_consecutive_auto_reply must be a positive integer, got 2.5",
    ),
    ("model:\n  temperature: 3\n", "autorun.yaml: model.temperature must be a number from 0 to 2, got 3"),
    ("model:\n  name: [a, b]\n", "autorun.yaml: model.name must be non-empty text, got [a, b]"),
    (
        "executor:\n  env_passthrough: HOME\n",
        'autorun.yaml: executor.env_passthrough must be a list, got "HOME"',
    ),
    (
        "model:\n  base_url: localhost:8000\n",
        'autorun.yaml: model.base_url must be an http:// or https:// URL or null, got "localhost:8000"',
    ),
    (
        "executor:\n  timout: 5\n",
        "autorun.yaml: unknown key executor.timout (did you mean executor.timeout?)",
    ),
    ("session:\n  timeout: 5\n", "autorun.yaml: unknown key session.timeout (did you mean executor.timeout?)"),
    (
        "session:\n  colour: red\n",
        "autorun.yaml: unknown key session.colour; allowed keys in session: "
        "max_consecutive_auto_reply, human_input_mode, termination_keyword",
    ),
    ("modle:\n  name: builtin\n", "autorun.yaml: unknown section modle (did you mean model?)"),
    (
        "plugins:\n  x: 1\n",
        "autorun.yaml: unknown section plugins; allowed sections: model, executor, session, cluster",
    ),
    (
        "executor.timeout: 5\n",
        "autorun.yaml: unknown section executor.timeout (nest it: put 'timeout:' under 'executor:')",
    ),
    ("executor: 5\n", "autorun.yaml: executor must be a mapping of keys, got 5"),
    (
        "- model\n- executor\n",
        "autorun.yaml: the top level must be a mapping of sections (model, executor, session, cluster), got a list",
    ),
    (
        "just text\n",
        "autorun.yaml: the top level must be a mapping of sections (model, executor, session, cluster), "
        'got the value "just text"',
    ),
    ("model:\n  name: builtin\n  name: auto\n", "autorun.yaml: invalid YAML at line 3: duplicate key 'name'"),
]


@pytest.mark.parametrize(("text", "message"), YAML_ERRORS)
def test_yaml_validation_messages(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path / "autorun.yaml", text)
    assert error_of(tmp_path) == message


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", "model:\n  name: builtin\nexecutor:\n  timeout: [5\n")
    message = error_of(tmp_path, config_file=bad)
    assert message.startswith(f"{bad}: invalid YAML at line 5: ")


def test_malformed_yaml_line_points_at_the_problem(tmp_path: Path) -> None:
    write(tmp_path / "autorun.yaml", "model:\n  name: builtin\n   bad: indentation\n")
    assert error_of(tmp_path).startswith("autorun.yaml: invalid YAML at line 3: ")


def test_missing_config_file(tmp_path: Path) -> None:
    assert error_of(tmp_path, config_file=Path("missing.yaml")) == (
        "config file not found: missing.yaml (create one with 'autorun config init')"
    )


def test_config_file_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    assert error_of(tmp_path, config_file=Path("dir.yaml")).startswith("cannot read config file dir.yaml: ")


def test_each_layer_is_validated_even_when_a_higher_layer_overrides_it(tmp_path: Path) -> None:
    write(tmp_path / "autorun.yaml", "executor:\n  timeout: ten\n")
    message = error_of(tmp_path, flags={"executor.timeout": 5}, env={"AUTORUN_EXECUTOR_TIMEOUT": "7"})
    assert message.startswith("autorun.yaml: executor.timeout")


def test_error_names_the_config_file_not_autorun_yaml(tmp_path: Path) -> None:
    write(tmp_path / "autorun.yaml", "executor:\n  timeout: 5\n")
    other = write(tmp_path / "other.yaml", "executor:\n  type: podman\n")
    assert error_of(tmp_path, config_file=other).startswith(f"{other}: executor.type must be one of")


def test_env_errors_name_the_variable(tmp_path: Path) -> None:
    assert error_of(tmp_path, env={"AUTORUN_EXECUTOR_TIMEOUT": "ten"}) == (
        'env AUTORUN_EXECUTOR_TIMEOUT: executor.timeout must be a positive number, got "ten"'
    )
    assert error_of(tmp_path, env={"AUTORUN_EXECUTOR_TIMOUT": "5"}) == (
        "env AUTORUN_EXECUTOR_TIMOUT: unknown key executor.timout (did you mean AUTORUN_EXECUTOR_TIMEOUT?)"
    )


def test_flag_errors_name_the_flag(tmp_path: Path) -> None:
    assert error_of(tmp_path, flags={"executor.timeout": -1}) == (
        "--timeout: executor.timeout must be a positive number, got -1"
    )
    assert error_of(tmp_path, flags={"session.max_consecutive_auto_reply": 0}) == (
        "--max-turns: session.max_consecutive_auto_reply must be a positive integer, got 0"
    )


def test_cli_can_register_flag_names(tmp_path: Path) -> None:
    FLAG_NAMES["executor.image"] = "--docker"
    try:
        message = error_of(tmp_path, flags={"executor.image": ""})
    finally:
        del FLAG_NAMES["executor.image"]
    assert message == '--docker: executor.image must be non-empty text, got ""'


# --- secrets ------------------------------------------------------------------------------


def test_api_key_in_yaml_is_rejected_without_echoing_it(tmp_path: Path) -> None:
    write(tmp_path / "autorun.yaml", f"model:\n  api_key: {FAKE_KEY}\n")
    message = error_of(tmp_path)
    assert message.startswith("autorun.yaml: model.api_key looks like a secret")
    assert "environment variable named by model.api_key_env (default OPENAI_API_KEY)" in message
    assert FAKE_KEY not in message


def test_secret_key_names_anywhere_are_rejected(tmp_path: Path) -> None:
    write(tmp_path / "autorun.yaml", "openai_api_key: abc\n")
    assert error_of(tmp_path).startswith("autorun.yaml: openai_api_key looks like a secret")
    write(tmp_path / "autorun.yaml", "executor:\n  github_token: abc\n")
    assert error_of(tmp_path).startswith("autorun.yaml: executor.github_token looks like a secret")


def test_api_key_pasted_into_api_key_env_is_rejected_without_echoing_it(tmp_path: Path) -> None:
    write(tmp_path / "autorun.yaml", f"model:\n  api_key_env: {FAKE_KEY}\n")
    message = error_of(tmp_path)
    assert message.startswith("autorun.yaml: model.api_key_env holds what looks like an API key")
    assert "(default OPENAI_API_KEY)" in message
    assert FAKE_KEY not in message


def test_bad_api_key_env_value_is_not_echoed(tmp_path: Path) -> None:
    write(tmp_path / "autorun.yaml", "model:\n  api_key_env: not-a-var-name-12345\n")
    message = error_of(tmp_path)
    assert message.startswith("autorun.yaml: model.api_key_env must be the name of an environment variable")
    assert "not-a-var-name-12345" not in message


def test_api_key_as_env_config_var_is_rejected(tmp_path: Path) -> None:
    message = error_of(tmp_path, env={"AUTORUN_MODEL_API_KEY": FAKE_KEY})
    assert message.startswith("env AUTORUN_MODEL_API_KEY: model.api_key looks like a secret")
    assert FAKE_KEY not in message


# --- environment variables ----------------------------------------------------------------


def test_env_values_are_parsed_by_type(tmp_path: Path) -> None:
    env = {
        "AUTORUN_EXECUTOR_TIMEOUT": "2.5",
        "AUTORUN_EXECUTOR_OUTPUT_LIMIT": " 500 ",
        "AUTORUN_MODEL_TEMPERATURE": "0.7",
        "AUTORUN_EXECUTOR_ENV_PASSTHROUGH": "HTTP_PROXY, NO_PROXY,,",
        "AUTORUN_SESSION_HUMAN_INPUT_MODE": "TERMINATE",
        "AUTORUN_MODEL_NAME": "builtin",
    }
    config = load(tmp_path, env=env).config
    assert config.executor.timeout == 2.5
    assert config.executor.output_limit == 500
    assert config.model.temperature == 0.7
    assert config.executor.env_passthrough == ["HTTP_PROXY", "NO_PROXY"]
    assert config.session.human_input_mode == "TERMINATE"
    assert config.model.name == "builtin"


def test_autorun_cluster_names_the_scheduler_and_the_long_spelling_wins(tmp_path: Path) -> None:
    short = load(tmp_path, env={"AUTORUN_CLUSTER": "tcp://scheduler:8786"})
    assert short.config.cluster.address == "tcp://scheduler:8786"
    assert short.sources["cluster.address"] == "env:AUTORUN_CLUSTER"
    both = {"AUTORUN_CLUSTER": "tcp://a:1", "AUTORUN_CLUSTER_ADDRESS": "tcp://b:2"}
    assert load(tmp_path, env=both).config.cluster.address == "tcp://b:2"
    flag = load(tmp_path, env={"AUTORUN_CLUSTER": "tcp://a:1"}, flags={"cluster.address": "[::1]:8786"})
    assert flag.config.cluster.address == "[::1]:8786"


@pytest.mark.parametrize("address", ["tcp://two words:1", "http://x/y", "tcp://"])
def test_a_malformed_cluster_address_is_refused_naming_the_form(tmp_path: Path, address: str) -> None:
    message = error_of(tmp_path, env={"AUTORUN_CLUSTER": address})
    assert message.startswith("env AUTORUN_CLUSTER: cluster.address must be a Dask scheduler address such as")


def test_env_empty_list_and_null(tmp_path: Path) -> None:
    write(tmp_path / "autorun.yaml", "model:\n  base_url: http://x/v1\nexecutor:\n  env_passthrough: [A]\n")
    env = {"AUTORUN_MODEL_BASE_URL": "", "AUTORUN_EXECUTOR_ENV_PASSTHROUGH": ""}
    loaded = load(tmp_path, env=env)
    assert loaded.config.model.base_url is None
    assert loaded.config.executor.env_passthrough == []
    assert loaded.sources["model.base_url"] == "env:AUTORUN_MODEL_BASE_URL"


def test_env_integer_field_refuses_fraction(tmp_path: Path) -> None:
    assert error_of(tmp_path, env={"AUTORUN_EXECUTOR_LAST_N_MESSAGES": "1.5"}) == (
        'env AUTORUN_EXECUTOR_LAST_N_MESSAGES: executor.last_n_messages must be a positive integer, got "1.5"'
    )


def test_other_environment_variables_are_ignored(tmp_path: Path) -> None:
    env = {"AUTORUN_DEBUG": "1", "AUTORUN_HOME": "/x", "EXECUTOR_TIMEOUT": "ten", "PATH": "/bin"}
    assert load(tmp_path, env=env).config == Config()


class _Typed(BaseModel):
    flag: bool = False
    count: int = 0
    ratio: float = 0.0
    names: list[str] = []
    headers: dict[str, str] = {}


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("flag", "true", True),
        ("flag", "no", False),
        ("flag", "0", False),
        ("count", "42", 42),
        ("ratio", "1e-3", 0.001),
        ("names", "a,b , c", ["a", "b", "c"]),
        ("headers", "X-A=1, X-B=2", {"X-A": "1", "X-B": "2"}),
        ("headers", '{"X-A": "1"}', {"X-A": "1"}),
    ],
)
def test_env_parsing_for_each_field_type(name: str, raw: str, expected: object) -> None:
    """Types not in today's schema (bool, dict) get the same path when a key of that type is added."""
    value = parse_env_value(_Typed.model_fields[name], raw)
    assert getattr(_Typed.model_validate({name: value}), name) == expected


def test_env_var_names() -> None:
    assert env_var_name("executor.timeout") == "AUTORUN_EXECUTOR_TIMEOUT"
    assert env_var_name("session.max_consecutive_auto_reply") == "AUTORUN_SESSION_MAX_CONSECUTIVE_AUTO_REPLY"


# --- default.yaml, examples, starter ------------------------------------------------------


def test_packaged_default_yaml_equals_configs_copy() -> None:
    assert (REPO / "configs" / "default.yaml").read_text(encoding="utf-8") == default_config_text()
    assert (REPO / "autorun" / "config" / "default.yaml").read_text(encoding="utf-8") == default_config_text()


def test_default_yaml_lists_every_key_with_schema_defaults() -> None:
    data = yaml.safe_load(default_config_text())
    assert {f"{s}.{k}" for s, body in data.items() for k in body} == set(config_keys())
    assert Config.model_validate(data) == Config()


def test_every_key_line_in_default_yaml_has_a_comment() -> None:
    key_lines = [line for line in default_config_text().splitlines() if re.match(r"^  \w+:", line)]
    assert len(key_lines) == len(config_keys())
    assert [line for line in key_lines if " # " not in line] == []


def test_every_schema_field_has_a_description() -> None:
    missing = [key for key in config_keys() if not _field(key).description]
    assert missing == []


def _field(key: str):
    section, name = key.split(".")
    return type(getattr(Config(), section)).model_fields[name]


def test_example_configs_load(tmp_path: Path) -> None:
    docker = load(tmp_path, config_file=REPO / "configs" / "docker.yaml").config
    assert docker.executor.type == "docker"
    assert docker.executor.image == "python:3.11-slim"
    ci = load(tmp_path, config_file=REPO / "configs" / "ci.yaml").config
    assert ci.model.name == "builtin"
    assert ci.session.human_input_mode == "NEVER"
    assert ci.executor.timeout < Config().executor.timeout
    assert ci.session.max_consecutive_auto_reply < Config().session.max_consecutive_auto_reply


def test_starter_config_loads_back_to_defaults(tmp_path: Path) -> None:
    write_starter_config(tmp_path / "autorun.yaml")
    loaded = load(tmp_path)
    assert loaded.config == Config()
    assert {k: v for k, v in loaded.sources.items() if v != "file:autorun.yaml"} == {
        "session.human_input_mode": "default"  # left to each command: chat asks, analyse does not
    }
    assert "# " in (tmp_path / "autorun.yaml").read_text(encoding="utf-8")


def test_starter_config_refuses_to_overwrite(tmp_path: Path) -> None:
    target = write(tmp_path / "autorun.yaml", "model:\n  name: builtin\n")
    with pytest.raises(ConfigError) as info:
        write_starter_config(target)
    assert str(info.value) == f"{target} already exists; remove it or edit it"
    assert target.read_text(encoding="utf-8") == "model:\n  name: builtin\n"


def test_starter_config_message_uses_the_path_as_given(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "autorun.yaml", "")
    with pytest.raises(ConfigError, match=r"^autorun\.yaml already exists; remove it or edit it$"):
        write_starter_config(Path("autorun.yaml"))


# --- config show and redaction ------------------------------------------------------------


def test_config_show_rows_have_value_and_source(tmp_path: Path) -> None:
    write(tmp_path / "autorun.yaml", "executor:\n  env_passthrough: [HTTP_PROXY]\n")
    loaded = load(tmp_path, flags={"executor.timeout": 5}, env={"AUTORUN_MODEL_NAME": "builtin"})
    rows = {key: (value, source) for key, value, source in format_config_show(loaded)}
    assert list(rows) == config_keys()
    assert rows["executor.timeout"] == ("5.0", "flag")
    assert rows["model.name"] == ("builtin", "env:AUTORUN_MODEL_NAME")
    assert rows["executor.env_passthrough"] == ("[HTTP_PROXY]", "file:autorun.yaml")
    assert rows["model.base_url"] == ("null", "default")


def test_config_show_names_the_key_variable_and_never_its_value(tmp_path: Path) -> None:
    shown_set = load(tmp_path, env={"OPENAI_API_KEY": FAKE_KEY})
    rows = {key: value for key, value, _ in format_config_show(shown_set)}
    assert rows["model.api_key_env"] == "OPENAI_API_KEY  (set)"
    assert FAKE_KEY not in repr(format_config_show(shown_set)) + config_show_yaml(shown_set) + repr(shown_set)
    shown_unset = load(tmp_path, env={"OPENAI_API_KEY": ""})
    rows = {key: value for key, value, _ in format_config_show(shown_unset)}
    assert rows["model.api_key_env"] == "OPENAI_API_KEY  (not set)"


def test_config_show_yaml_round_trips_and_names_sources(tmp_path: Path) -> None:
    write(tmp_path / "autorun.yaml", "session:\n  termination_keyword: 'DONE #1'\n")
    loaded = load(tmp_path, flags={"executor.timeout": 5}, env={"OPENAI_API_KEY": "x"})
    text = config_show_yaml(loaded)
    assert Config.model_validate(yaml.safe_load(text)) == loaded.config
    lines = text.splitlines()
    assert any(re.fullmatch(r"  timeout: 5\.0 +# from: flag", line) for line in lines)
    assert any(line.endswith("# from: file:autorun.yaml") and "DONE #1" in line for line in lines)
    assert any(line.endswith("# from: default; OPENAI_API_KEY is set") for line in lines)


def test_redacted_config_dict_is_plain_data_without_secrets() -> None:
    plain = Config()
    assert redacted_config_dict(plain) == plain.model_dump(mode="json")
    leaky = Config.model_validate({"model": {"base_url": "https://user:hunter2@llm.example/v1", "name": FAKE_KEY}})
    redacted = redacted_config_dict(leaky)
    assert redacted["model"]["base_url"] == "https://user:***@llm.example/v1"
    assert redacted["model"]["name"] == "***"
    assert "hunter2" not in repr(redacted)


def test_sizes_are_bytes_once_read_and_print_as_written() -> None:
    executor = Config.model_validate(
        {"executor": {"memory": "512m", "disk": "3g", "min_free_disk": None, "tmpfs_size": 1048576}}
    ).executor
    assert (executor.memory, executor.disk, executor.min_free_disk, executor.tmpfs_size) == (
        512 * 1024**2,
        3 * 1024**3,
        None,
        1024**2,
    )
    dumped = Config.model_validate({"executor": {"memory": "512m"}}).model_dump(mode="json")["executor"]
    assert (dumped["memory"], dumped["disk"], dumped["max_file_size"]) == ("512m", "2g", "1g")
    for bad in ("lots", "0", "-1g", True, 1.5):
        with pytest.raises(ValueError, match="must be a size such as 512m or 1g"):
            Config.model_validate({"executor": {"memory": bad}})


# --- the session record and ./autorun.yaml ------------------------------------------------------


def test_an_unknown_key_with_key_in_its_name_is_unknown_not_a_secret(tmp_path: Path) -> None:
    write(tmp_path / "autorun.yaml", "model:\n  bogus_key: 1\n")
    message = error_of(tmp_path)
    assert message.startswith("autorun.yaml: unknown key model.bogus_key")
    assert "secret" not in message
    write(tmp_path / "autorun.yaml", "model:\n  api_keys_env: X\n")
    assert error_of(tmp_path) == "autorun.yaml: unknown key model.api_keys_env (did you mean model.api_key_env?)"


def recorded(work: Path, env: dict[str, str]) -> None:
    from datetime import datetime

    from autorun.record.state import new_session

    new_session(work, "s1", datetime(2026, 1, 1), env)


def test_autorun_yaml_in_a_work_dir_with_a_recorded_session_is_refused(tmp_path: Path) -> None:
    env = {"AUTORUN_STATE_DIR": str(tmp_path / "state")}
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    write(work / "autorun.yaml", "executor:\n  type: local\n")
    write(work / "sub" / "autorun.yaml", "executor:\n  type: local\n")
    assert load(work, env=env).config.executor.type == "local", "nothing recorded there yet: the user's file"
    recorded(work, env)
    for cwd in (work, work / "sub"):
        message = error_of(cwd, env=env)
        assert message.startswith(f"{cwd / 'autorun.yaml'} is inside the work dir {work}")
        assert f"pass --config {cwd / 'autorun.yaml'}" in message
    vouched = load(work, env=env, config_file=work / "autorun.yaml")
    assert vouched.config.executor.type == "local", "--config names a file the user vouches for"


def test_autorun_yaml_in_the_configured_work_dir_is_refused(tmp_path: Path) -> None:
    env = {"AUTORUN_STATE_DIR": str(tmp_path / "state")}
    write(tmp_path / "autorun.yaml", "executor:\n  type: local\n")
    message = error_of(tmp_path, env=env, flags={"executor.work_dir": "."})
    assert message.startswith(f"{tmp_path / 'autorun.yaml'} is inside the work dir {tmp_path}")
    assert load(tmp_path, env=env, flags={"executor.work_dir": "elsewhere"}).config.executor.type == "local"
