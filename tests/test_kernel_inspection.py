"""The data files inspected in the session's kernel: the same result as in autorun's process, without pandas there."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from autorun.datafile import inspect_data_file
from autorun.datafile_json import info_from_json, info_to_json
from autorun.errors import InputFileError
from autorun.executors.local.executor import LocalExecutor
from tests.conftest import SAMPLE, autorun_cmd
from tests.fake_openai_server import FakeOpenAIServer
from tests.host_executors import host_executor
from tests.test_sandbox import bwrap_or_skip


def files(tmp_path: Path) -> list[Path]:
    european = tmp_path / "european.csv"
    european.write_text(
        'datum;land;umsatz\n03.01.2025;DE;"1.234,50"\n04.01.2025;AT;"2.000,00"\n05.01.2025;DE;"15,25"\n'
    )
    tsv = tmp_path / "sales.tsv"
    tsv.write_text(SAMPLE.read_text().replace(",", "\t"))
    return [SAMPLE, european, tsv]


@pytest.mark.parametrize("sandbox", ["none", "bwrap"])
def test_the_kernel_inspects_as_autorun_does(tmp_path: Path, sandbox: str) -> None:
    if sandbox == "bwrap":
        bwrap_or_skip()
    paths = files(tmp_path)
    with host_executor(tmp_path / "w", 30, sandbox=sandbox, stateful=True) as executor:
        for path in paths:
            executor.expose(path)
        executor.warm_up()
        inspected = executor.inspect_files(paths, None)
    assert inspected == [inspect_data_file(path) for path in paths]


def test_a_bad_file_found_by_the_kernel_gets_autorun_s_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a,b\n" + b"\x00\x01\x02" * 100)
    with pytest.raises(InputFileError) as in_process:
        inspect_data_file(bad)
    with LocalExecutor(tmp_path / "w", 30, stateful=True) as executor, pytest.raises(InputFileError) as in_kernel:
        executor.warm_up()
        executor.inspect_files([bad], None)
    assert str(in_kernel.value) == str(in_process.value)


def test_without_a_kernel_autorun_inspects(tmp_path: Path) -> None:
    with LocalExecutor(tmp_path / "w", 30, stateful=False) as executor:
        executor.warm_up()
        assert executor.inspect_files([SAMPLE], None) is None


@pytest.mark.parametrize(
    "change",
    [
        {"extra": 1},
        {"path": 1},
        {"size_bytes": "403"},
        {"n_rows": True},
        {"columns": {"date": 1}},
        {"dtypes": {"date": 1}},
        {"roles": ["date"]},
        {"sheets": [["Sheet1", 3]]},
        {"encoding": 8},
        {"memory_per_row": "12"},
        {"memory_per_row": float("nan")},
        {"memory_per_row": float("inf")},
    ],
)
def test_what_crosses_from_the_kernel_is_checked_field_by_field(change: dict[str, object]) -> None:
    info = inspect_data_file(SAMPLE)
    assert info_from_json(info_to_json(info)) == info
    with pytest.raises(ValueError):
        info_from_json({**info_to_json(info), **change})
    with pytest.raises(ValueError):
        info_from_json([info_to_json(info)])


def test_an_llm_session_never_imports_pandas_in_autorun_s_process(tmp_path: Path, clean_env: dict[str, str]) -> None:
    """pandas loads once, in the kernel; autorun imports openai meanwhile (python -X importtime lists imports)."""
    block = f"```python\nimport pandas as pd\nprint(pd.read_csv({str(SAMPLE)!r})['revenue'].sum())\n```"
    with FakeOpenAIServer([{"reply": block}, {"reply": "Done.\nTERMINATE"}]) as server:
        command = autorun_cmd(
            "analyse", str(SAMPLE), "--model", "fake", "--base-url", server.base_url, "--work-dir", str(tmp_path / "w")
        )
        proc = subprocess.run(
            [command[0], "-X", "importtime", *command[1:]], env=clean_env, capture_output=True, text=True, timeout=120
        )
        system = server.chat_requests[0]["body"]["messages"][0]["content"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = re.findall(r"^import time:.*\|\s*([\w.]+)$", proc.stderr, re.MULTILINE)
    assert "openai" in imported and "pandas" not in imported and "numpy" not in imported
    assert "revenue" in system and "Widget Pro" in system, "the system message describes the inspected file"
    assert str(pd.read_csv(SAMPLE)["revenue"].sum()) in proc.stdout
