"""A new executor kind plugs in by one line in build_executor's EXECUTOR_KINDS: the loop, the factory,
the export and doctor handle the test-only EchoExecutor with no edit anywhere else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autorun.config.schema import Config
from autorun.doctor import run_doctor
from autorun.export import export_transcript
from autorun.session import components
from autorun.session.factory import open_session
from tests.conftest import SAMPLE
from tests.echo_executor import ECHO_WORK_DIR, build_echo
from tests.fake_openai_server import FakeOpenAIServer
from tests.scripted import RecordingSink

CODE = f"import pandas as pd\ndf = pd.read_csv('{ECHO_WORK_DIR}/data/sample.csv')\ndf.to_csv('{ECHO_WORK_DIR}/out.csv')"


@pytest.fixture
def echo_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(components.EXECUTOR_KINDS, "echo", components.ExecutorKind(build_echo))  # the one line


def echo_config(work: Path, base_url: str = "http://127.0.0.1:9/v1") -> Config:
    config = Config.model_validate(
        {"model": {"name": "gpt-test", "base_url": base_url}, "executor": {"work_dir": str(work)}}
    )
    # executor.type's schema lists the built-in kinds; the test kind is set past it, as a plugin's would be
    return config.model_copy(update={"executor": config.executor.model_copy(update={"type": "echo"})})


def test_a_session_runs_on_the_echo_executor_and_its_report_maps_its_paths(
    tmp_path: Path, clean_env: dict[str, str], echo_kind: None
) -> None:
    data = tmp_path / "sample.csv"
    data.write_bytes(SAMPLE.read_bytes())
    replies = [{"reply": f"Let me look.\n\n```python\n{CODE}\n```"}, {"reply": "All done.\n\nTERMINATE"}]
    sink = RecordingSink()
    with FakeOpenAIServer(replies) as server:
        config = echo_config(tmp_path / "work", server.base_url)
        with open_session(config, [data], sink, env=clean_env) as opened:
            assert opened.executor.name == "echo"
            result = opened.session.run("Analyse it.")
            transcript = opened.transcript
    assert result.exit_code == 0
    start = next(e for e in sink.events if e.kind == "session_start")
    assert (start.executor, start.limits, start.data_path) == (
        "echo",
        "nothing bounded: the echo runs nothing",
        f"{ECHO_WORK_DIR}/data/sample.csv",
    )
    assert start.code_work_dir == ECHO_WORK_DIR
    executed = [e for e in sink.events if e.kind == "execution_result"]
    assert [e.exit_code for e in executed] == [0] and CODE in executed[0].output

    notebook = json.loads(export_transcript(transcript, "ipynb", tmp_path / "s.ipynb").read_text())
    code = "".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code")
    assert f"pd.read_csv('{data}')" in code and "df.to_csv('./out.csv')" in code
    assert ECHO_WORK_DIR not in code


def test_doctor_checks_a_config_of_the_echo_kind(tmp_path: Path, clean_env: dict[str, str], echo_kind: None) -> None:
    checks = {check.name: check for check in run_doctor(echo_config(tmp_path / "work"), clean_env)}
    assert checks["Sandbox (bwrap)"].status in ("ok", "warn"), "the echo kind needs no bwrap"
    assert checks["Docker engine"].status in ("ok", "warn"), "nor a Docker engine"


def test_an_unknown_kind_is_refused_in_one_line(tmp_path: Path, clean_env: dict[str, str]) -> None:
    from autorun.errors import ConfigError

    with pytest.raises(ConfigError, match=r"executor\.type .echo. is no executor: use one of none, local"):
        components.build_executor(echo_config(tmp_path / "work"), session_id="x", env=clean_env, on_notice=print)
