"""End to end: `autorun analyse` on the sample, checked against an independent pandas computation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from autorun.cli.app import app
from autorun.prompts import NOT_RUN_NOTE
from autorun.record.state import sessions_of
from autorun.session.terminal import WHY_PROMPT
from autorun.units import human_size
from tests.conftest import SAMPLE, autorun_cmd, transcripts


@pytest.fixture(scope="module")
def expected() -> dict[str, str]:
    df = pd.read_csv(SAMPLE)
    by_product = df.groupby("product")["revenue"].sum()
    by_region = df.groupby("region")["revenue"].sum()
    by_month = df.groupby(pd.to_datetime(df["date"]).dt.strftime("%Y-%m"))["revenue"].sum()
    top = by_month.idxmax()
    return {
        "widget": f"{by_product['Widget Pro']:,.0f}",
        "north": f"{by_region['North']:,.0f}",
        "top_month": top,
        "top_value": f"{by_month[top]:,.0f}",
    }


def test_expected_figures_are_the_corrected_ones(expected: dict[str, str]) -> None:
    assert expected == {"widget": "73,300", "north": "31,800", "top_month": "2026-03", "top_value": "36,200"}


def test_analyse_sample_with_builtin_prints_correct_figures(tmp_path: Path, clean_env, expected) -> None:
    result = CliRunner().invoke(
        app, ["analyse", str(SAMPLE), "--model", "builtin", "--work-dir", str(tmp_path)], env=clean_env
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Widget Pro" in out and expected["widget"] in out
    assert expected["north"] in out
    assert expected["top_month"] in out and expected["top_value"] in out
    assert "\x1b[" not in out, "plain output off a TTY must carry no escape codes"


def test_auto_without_key_uses_builtin_and_says_so(tmp_path: Path, clean_env) -> None:
    proc = subprocess.run(
        autorun_cmd("analyse", str(SAMPLE), "--work-dir", str(tmp_path)),
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "OPENAI_API_KEY is not set: using the builtin offline analyst" in proc.stderr
    assert "73,300" in proc.stdout


def test_json_mode_is_json_lines_only(tmp_path: Path, clean_env, expected) -> None:
    proc = subprocess.run(
        autorun_cmd("analyse", str(SAMPLE), "--model", "builtin", "--work-dir", str(tmp_path), "--json"),
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "session_start" and kinds[-1] == "session_end"
    assert {"message", "code_block", "execution_output", "execution_result"} <= set(kinds)
    end = events[-1]
    assert end["status"] == "terminated" and end["exit_code"] == 0
    assert expected["north"] in end["final_message"]
    assert all(e["exit_code"] == 0 for e in events if e["event"] == "execution_result")


def test_quiet_prints_only_the_final_message(tmp_path: Path, clean_env, expected) -> None:
    proc = subprocess.run(
        autorun_cmd("analyse", str(SAMPLE), "--model", "builtin", "--work-dir", str(tmp_path), "--quiet"),
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert expected["widget"] in proc.stdout
    assert "exitcode:" not in proc.stdout and "import pandas" not in proc.stdout


def test_results_reads_the_transcript(tmp_path: Path, clean_env) -> None:
    runner = CliRunner()
    run = runner.invoke(app, ["analyse", str(SAMPLE), "--model", "builtin", "--work-dir", str(tmp_path)], env=clean_env)
    assert run.exit_code == 0
    found = transcripts(tmp_path)
    assert len(found) == 1
    records = [json.loads(line) for line in found[0].read_text().splitlines()]
    n_results = sum(1 for r in records if r["event"] == "execution_result")
    res = runner.invoke(app, ["results", str(found[0]), "--json"])
    assert res.exit_code == 0
    summary = json.loads(res.stdout)
    assert summary["total"] == n_results >= 3
    assert summary["succeeded"] == n_results and summary["failed"] == 0


def test_input_file_is_never_modified(tmp_path: Path, clean_env) -> None:
    data = tmp_path / "sales.csv"
    data.write_bytes(SAMPLE.read_bytes())
    before = (data.read_bytes(), data.stat().st_mtime_ns)
    result = CliRunner().invoke(
        app, ["analyse", str(data), "--model", "builtin", "--work-dir", str(tmp_path / "w")], env=clean_env
    )
    assert result.exit_code == 0
    assert (data.read_bytes(), data.stat().st_mtime_ns) == before


def _written(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.csv", "not found"),
        (lambda d: d, "directory"),
        (lambda d: _written(d / "empty.csv", ""), "empty"),
        (lambda d: _written(d / "header.csv", "a,b\n"), "no data rows"),
        (lambda d: _written(d / "binary.csv", "\x00\x01\x02" * 50), "binary"),
    ],
)
def test_bad_input_exits_2_before_any_session(tmp_path: Path, clean_env, make, message) -> None:
    target = make(tmp_path)
    work = tmp_path / "w"
    result = CliRunner().invoke(
        app, ["analyse", str(target), "--model", "builtin", "--work-dir", str(work)], env=clean_env
    )
    assert result.exit_code == 2
    assert message in result.stderr.lower()
    assert result.stderr.count("\n") == 1
    assert not sessions_of(work, clean_env)


def test_bad_config_exits_2_naming_file_and_key(tmp_path: Path, clean_env) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("executor:\n  timeout: ten\n")
    result = CliRunner().invoke(app, ["analyse", str(SAMPLE), "--config", str(cfg)], env=clean_env)
    assert result.exit_code == 2
    assert "executor.timeout" in result.stderr and "bad.yaml" in result.stderr


def test_bad_flag_value_exits_2(tmp_path: Path, clean_env) -> None:
    result = CliRunner().invoke(app, ["analyse", str(SAMPLE), "--timeout", "-5"], env=clean_env)
    assert result.exit_code == 2
    assert "--timeout" in result.stderr


def test_named_model_without_key_never_falls_back(tmp_path: Path, clean_env) -> None:
    result = CliRunner().invoke(
        app, ["analyse", str(SAMPLE), "--model", "gpt-4o-mini", "--work-dir", str(tmp_path)], env=clean_env
    )
    assert result.exit_code == 3
    assert "OPENAI_API_KEY" in result.stderr
    assert "builtin offline analyst" not in result.stderr.split("error:")[0]


def test_million_row_csv_is_read_once_and_peak_memory_reported(tmp_path: Path, clean_env) -> None:
    """The default executor under its default memory limit: figures right, one read, peak memory shown."""
    import numpy as np

    rng = np.random.default_rng(7)
    n = 1_000_000
    df = pd.DataFrame(
        {
            "date": (pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")).strftime(
                "%Y-%m-%d"
            ),
            "product": rng.choice(["A", "B", "C"], n),
            "region": rng.choice(["North", "South", "East", "West"], n),
            "revenue": rng.integers(1, 1000, n),
        }
    )
    path = tmp_path / "big.csv"
    df.to_csv(path, index=False)
    work = tmp_path / "w"
    proc = subprocess.run(
        autorun_cmd("analyse", str(path), "--model", "builtin", "--work-dir", str(work)),
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for column in ("product", "region"):
        for total in df.groupby(column)["revenue"].sum():
            assert f"{total:,.0f}" in proc.stdout
    month = df.groupby(df["date"].str[:7])["revenue"].sum()
    assert f"Top month by total revenue: {month.idxmax()} with {month.max():,.0f}" in proc.stdout
    (transcript,) = transcripts(work)
    records = [json.loads(line) for line in transcript.read_text().splitlines()]
    blocks = [r["code"] for r in records if r["event"] == "code_block"]
    assert len(blocks) == 4 and [str(path) in code for code in blocks] == [True, False, False, False]
    end = records[-1]
    assert end["event"] == "session_end" and end["executor"] in ("sandbox", "local")
    assert 50 * 2**20 < end["peak_memory_bytes"] < 2**30  # a million rows loaded, under the 1 GiB default
    assert f"memory:     peak {human_size(end['peak_memory_bytes'])}" in proc.stdout


HEAVY = ("pandas", "openai", "docker", "jupyter_client", "zmq", "ipykernel", "matplotlib")


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_no_heavy_packages(flag: str) -> None:
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules)))\n"
        f"sys.argv = ['autorun', {flag!r}]\n"
        "from autorun.cli import app\n"
        "app()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert ("Usage" if flag == "--help" else "autorun ") in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY=", proc.stdout


def test_version() -> None:
    from autorun import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"autorun {__version__}"


def test_always_mode_asks_before_each_block_and_n_skips(tmp_path: Path, clean_env) -> None:
    proc = subprocess.run(
        autorun_cmd(
            "analyse",
            str(SAMPLE),
            "--model",
            "builtin",
            "--work-dir",
            str(tmp_path),
            "--human-input-mode",
            "always",
            "--json",
        ),
        env=clean_env,
        input="y\nn\nstep 2 is enough\n" + "\n" * 20,
        capture_output=True,
        text=True,
        timeout=120,
    )
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert "Run it?" in proc.stderr
    blocks = [e for e in events if e["event"] == "code_block"]
    assert blocks[0]["will_run"] is True and blocks[1]["will_run"] is False
    user_replies = [e["content"] for e in events if e["event"] == "message" and e["role"] == "user"]
    assert NOT_RUN_NOTE + "\n\nstep 2 is enough" in user_replies
    assert WHY_PROMPT in proc.stderr
    assert [e["text"] for e in events if e["event"] == "notice" and e["text"].startswith("not run")] == [
        "not run: block 2"
    ]


def test_conflicting_executor_flags_are_a_usage_error(tmp_path: Path, clean_env) -> None:
    result = CliRunner().invoke(
        app, ["analyse", str(SAMPLE), "--local", "--no-exec", "--work-dir", str(tmp_path / "w")], env=clean_env
    )
    assert result.exit_code == 2
    assert "--local and --no-exec cannot be combined" in result.stderr
    assert not (tmp_path / "w").exists()


def test_secret_named_passthrough_is_refused_with_a_notice(tmp_path: Path, clean_env) -> None:
    env = {**clean_env, "AUTORUN_EXECUTOR_ENV_PASSTHROUGH": "HF_TOKEN,LANG", "HF_TOKEN": "hf_not_a_real_token"}
    proc = subprocess.run(
        autorun_cmd("analyse", str(SAMPLE), "--model", "builtin", "--work-dir", str(tmp_path)),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "hf_not_a_real_token" not in proc.stdout + proc.stderr
    assert "HF_TOKEN is not passed to the code, because its name looks secret" in proc.stderr
    assert "LANG is not passed" not in proc.stderr


def test_config_show_yaml_names_sources_and_loads_back(tmp_path: Path, clean_env) -> None:
    import yaml

    result = CliRunner().invoke(app, ["config", "show", "--yaml"], env={**clean_env, "AUTORUN_EXECUTOR_TIMEOUT": "7"})
    assert result.exit_code == 0
    import re

    assert re.search(r"^  timeout: 7\.0 +# from: env:AUTORUN_EXECUTOR_TIMEOUT$", result.stdout, re.MULTILINE)
    assert yaml.safe_load(result.stdout)["executor"]["timeout"] == 7.0


def test_output_has_no_machine_lines_and_the_facts_are_in_the_record(tmp_path: Path, clean_env) -> None:
    proc = subprocess.run(
        autorun_cmd("analyse", str(SAMPLE), "--model", "builtin", "--work-dir", str(tmp_path), "--json"),
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "autorun-facts" not in proc.stdout + proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    results = [e for e in events if e["event"] == "execution_result"]
    steps = [value["step"] for e in results for value in e["published"]]
    assert steps == ["load", "measures", "groups", "trend"], "each step's figures travel in its result"
    assert "Column roles:" in results[0]["output"] and "autorun-facts" not in results[0]["output"]
    final = next(e for e in events if e["event"] == "session_end")["final_message"]
    assert "- Total revenue by product: Widget Pro 73,300" in final
    assert not (tmp_path / ".autorun" / "analyst").exists() and not list(tmp_path.rglob("facts-*.json"))


@pytest.mark.parametrize("quiet", [[], ["--quiet"]], ids=["default", "quiet"])
def test_question_without_an_llm_exits_2_saying_how_to_pick_one(tmp_path: Path, clean_env, quiet: list[str]) -> None:
    for model, why in (
        (["--model", "builtin"], "the builtin analyst cannot answer"),
        ([], "$OPENAI_API_KEY is not set"),
    ):
        proc = subprocess.run(
            autorun_cmd("analyse", str(SAMPLE), *model, "--work-dir", str(tmp_path), "-q", "Why?", *quiet),
            env=clean_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        [line] = proc.stderr.splitlines()
        assert line.startswith("autorun: error: --question needs an LLM") and why in line and "--model NAME" in line
        assert proc.stdout == "" and not sessions_of(tmp_path, clean_env), "no session was started"


def test_sheet_option_picks_the_sheet(tmp_path: Path, clean_env) -> None:
    pytest.importorskip("openpyxl")
    path = tmp_path / "report.xlsx"
    sales = pd.read_csv(SAMPLE)
    with pd.ExcelWriter(path) as writer:
        sales.head(3).to_excel(writer, sheet_name="Notes", index=False)
        sales.to_excel(writer, sheet_name="Data", index=False)
    args = ["analyse", str(path), "--model", "builtin", "--quiet"]
    default = CliRunner().invoke(app, [*args, "--work-dir", str(tmp_path / "a")], env=clean_env)
    chosen = CliRunner().invoke(app, [*args, "--work-dir", str(tmp_path / "b"), "--sheet", "Notes"], env=clean_env)
    wrong = CliRunner().invoke(app, [*args, "--work-dir", str(tmp_path / "c"), "--sheet", "Sales"], env=clean_env)
    assert default.exit_code == 0 and "Overall: total revenue 91,100" in default.stdout
    assert chosen.exit_code == 0 and "Overall: total revenue 25,600" in chosen.stdout
    assert wrong.exit_code == 2 and "no sheet named 'Sales'; its sheets are Notes, Data" in wrong.stderr


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path, clean_env) -> None:
    """`autorun analyse --json | head -1`: the pipe closes; autorun stops quietly (click's exit 1 for EPIPE)
    and the transcript is valid JSON Lines up to that point."""
    proc = subprocess.Popen(
        autorun_cmd("analyse", str(SAMPLE), "--json", "--work-dir", str(tmp_path)),
        env=clean_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = json.loads(proc.stdout.readline())
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1, stderr
    assert first["event"] in ("notice", "session_start")
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
    transcript = transcripts(tmp_path)[0]
    records = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert records and records[0]["event"] in ("notice", "session_start")
