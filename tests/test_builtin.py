"""The builtin analyst, driven by a small loop that really runs its blocks in a subprocess.

The loop feeds results back in the exact AutoGen format the session uses, with the values the
blocks published taken out of their output (as the session does). The blocks import the
builtin's runtime from autorun's package; pandas 1.5 is no longer a target (the runtime needs
DuckDB, which the Docker runtime image ships with a current pandas).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from autorun.analyst.report import fmt
from autorun.block_results import BLOCK_KILLED, format_result, oom_line
from autorun.codeblocks import extract_code_blocks
from autorun.datafile import inspect_data_file
from autorun.models.base import Message
from autorun.models.builtin import BuiltinAnalyst, published_facts
from autorun.models.builtin_code import REOPENED_CACHE_BYTES
from autorun.published import split_published
from tests.conftest import SAMPLE
from tests.persistent_python import PersistentPython
from tests.test_datafile import SALES, write_eu_csv

MAX_TURNS = 16
UNICODE_FAILURE = format_result(
    1,
    "Traceback (most recent call last):\n"
    '  File "x.py", line 12, in <module>\n'
    "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe9 in position 1234: invalid continuation byte\n",
)
PARSER_FAILURE = format_result(
    1, "Traceback (most recent call last):\n_duckdb.InvalidInputException: Invalid Input Error: CSV Error on Line: 7\n"
)
PYTHONS = [pytest.param(sys.executable, id=f"pandas-{pd.__version__}")]


@dataclass
class Run:
    messages: list[Message]
    stderr: list[str]

    @property
    def final(self) -> str:
        return self.messages[-1].content

    @property
    def assistant(self) -> list[str]:
        return [m.content for m in self.messages if m.role == "assistant"]


Runner = Callable[[str], tuple[int, str, str]]


def execute(code: str, python: str, cwd: Path) -> tuple[int, str, str]:
    script = cwd / "block.py"
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([python, str(script)], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)
    return proc.returncode, proc.stdout, proc.stderr


def result_message(exit_code: int, output: str) -> str:
    return format_result(exit_code, output, limit=0)


def drive(
    model: BuiltinAnalyst,
    python: str,
    cwd: Path,
    inject: dict[int, str] | None = None,
    runner: Runner | None = None,
) -> Run:
    """Run each block the model writes (a fresh process each, or ``runner``); ``inject`` replaces turn N's result.

    What a block publishes leaves its output and travels with its result message, as in a session."""
    run = Run([Message("user", "Analyse the data file.")], [])
    for turn in range(MAX_TURNS):
        text = "".join(model.reply(run.messages))
        run.messages.append(Message("assistant", text, name="builtin"))
        blocks = extract_code_blocks(text)
        if not blocks:
            assert re.search(r"^TERMINATE$", text, re.MULTILINE), text
            return run
        assert [b.language for b in blocks] == ["python"]
        if inject and turn in inject:
            run.messages.append(Message("user", inject[turn]))
            continue
        exit_code, out, err = (runner or (lambda code: execute(code, python, cwd)))(blocks[0].code)
        run.stderr.append(err)
        output, published = split_published(out + err)
        run.messages.append(Message("user", result_message(exit_code, output), published=tuple(published)))
    raise AssertionError(f"no TERMINATE within {MAX_TURNS} turns")


def analyst(
    path: Path, work_dir: Path, data_path: str | None = None, sheet: str | None = None, **options: Any
) -> BuiltinAnalyst:
    """The builtin for ``path``; its blocks run in ``work_dir`` and import the runtime from autorun's package."""
    return BuiltinAnalyst(inspect_data_file(path, sheet), data_path or str(path), **options)


def facts_of(run: Run) -> dict[str, Any]:
    """The figures the run's blocks published, by step."""
    return published_facts(run.messages)


def figures(value: float) -> str:
    return fmt(value)


@pytest.fixture(scope="module")
def expected_sales() -> dict[str, object]:
    df = pd.read_csv(SAMPLE)
    by_product = df.groupby("product")["revenue"].sum().sort_values(ascending=False)
    by_region = df.groupby("region")["revenue"].sum().sort_values(ascending=False)
    by_month = df.groupby(pd.to_datetime(df["date"]).dt.strftime("%Y-%m"))["revenue"].sum()
    return {"product": by_product, "region": by_region, "month": by_month}


def machine_lines(run: Run) -> list[str]:
    return [line for m in run.messages for line in m.content.split("\n") if "autorun-facts" in line]


@pytest.mark.parametrize("python", PYTHONS)
def test_sales_summary_has_the_real_figures(tmp_path: Path, python: str, expected_sales) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(SAMPLE, data / "sales.csv")
    model = analyst(data / "sales.csv", tmp_path, data_path="data/sales.csv")  # relative: as the executor sees it
    run = drive(model, python, tmp_path)

    product, region, month = expected_sales["product"], expected_sales["region"], expected_sales["month"]
    top = month.idxmax()
    assert f"Total revenue by product: Widget Pro {product['Widget Pro']:,.0f}, Gadget Lite " in run.final
    assert f"Total revenue by region: North {region['North']:,.0f}, West " in run.final
    assert f"top month {top} with {month[top]:,.0f}" in run.final
    assert "- Total revenue by product: Widget Pro 73,300, Gadget Lite 17,800.\n" in run.final
    assert "- Total revenue by region: North 31,800, West 20,600, South 20,200, East 18,500.\n" in run.final
    assert "- Total revenue by month: top month 2026-03 with 36,200;" in run.final
    assert "2026-01 25,600 -> 2026-03 36,200, +41.4%" in run.final
    assert run.final.startswith("Summary of `sales.csv` (10 rows, 5 columns):")
    assert run.final.rstrip().endswith("\nTERMINATE")
    assert len([line for line in run.final.splitlines() if line.startswith("- ")]) <= 8
    assert len(run.assistant) == 5, "load, measures, groups, trend, summary"
    assert all("data/sales.csv" in text for text in run.assistant[:-1])
    codes = [extract_code_blocks(text)[0].code for text in run.assistant[:-1]]
    assert all(len(code.splitlines()) < 30 and "def " not in code for code in codes), "blocks show the analysis only"
    assert all("from autorun.analyst.steps import " in code for code in codes)
    assert not list(tmp_path.rglob("__pycache__")), "importing the runtime leaves nothing behind"
    assert all(err == "" for err in run.stderr), f"blocks printed warnings or errors: {run.stderr}"
    outputs = [m.content for m in run.messages if m.role == "user"][1:]
    assert all(text.startswith("exitcode: 0 (execution succeeded)") for text in outputs)
    assert "Column roles:" in outputs[0] and "Measures" in outputs[1] and "By region" in outputs[2]
    assert "31,800" in outputs[2] and "36,200" in outputs[3], "every figure of the summary is in a printed table"
    assert machine_lines(run) == [], "no machine-readable lines in what the user sees"
    assert facts_of(run)["groups"]["region"]["table"]["North"]["total revenue"] == 31_800, "published, not filed"
    assert not (tmp_path / ".autorun" / "analyst").exists(), "nothing of autorun's code in the work dir"


@pytest.mark.parametrize("python", PYTHONS)
def test_latin1_semicolon_decimal_comma_figures(tmp_path: Path, python: str) -> None:
    path = write_eu_csv(tmp_path / "umsatz.csv")
    run = drive(analyst(path, tmp_path), python, tmp_path)

    df = pd.read_csv(path, sep=";", decimal=",", thousands=".", encoding="latin-1", dtype={"datum": str})
    by_product = df.groupby("produkt")["umsatz"].sum().sort_values(ascending=False)
    by_month = df.groupby(pd.to_datetime(df["datum"], dayfirst=True).dt.strftime("%Y-%m"))["umsatz"].sum()
    top = by_month.idxmax()
    assert by_product.index[0] == "Käse"
    assert f"Total umsatz by produkt: Käse {figures(by_product['Käse'])}, " in run.final
    assert f"Brötchen {figures(by_product['Brötchen'])}" in run.final
    assert f"Total umsatz by month: top month {top} with {figures(by_month[top])}" in run.final
    assert f"Overall: total umsatz {figures(df['umsatz'].sum())}" in run.final
    assert "Self-correction" not in run.final


@pytest.mark.parametrize("python", PYTHONS)
def test_real_encoding_error_past_the_sample_is_corrected(tmp_path: Path, python: str) -> None:
    """utf-8 for the sniffed head, a latin-1 byte 100 KB later: the load fails for real and is retried."""
    rows = "".join(f"2026-01-{i % 28 + 1:02d},Widget,{i}\n" for i in range(5000))
    path = tmp_path / "late.csv"
    path.write_bytes(("date,product,amount\n" + rows).encode() + "2026-02-01,Caf\xe9,5\n".encode("latin-1"))
    run = drive(analyst(path, tmp_path), python, tmp_path)

    first, second = run.assistant[0], run.assistant[1]
    assert "'encoding': 'utf-8'" in first and "attempt=1" in first
    assert "UnicodeError: Invalid unicode" in run.messages[2].content
    assert "# autorun-builtin step=load attempt=2" in second and "'encoding': 'latin-1'" in second
    assert all("'encoding': 'latin-1'" in text for text in run.assistant[2:-1]), "the fix applies to later blocks"
    assert "Total amount by product: Widget 12,497,500, Café 5." in run.final
    assert "Self-correction: the loading block failed with `UnicodeError: Invalid unicode" in run.final


@pytest.mark.parametrize("python", PYTHONS)
def test_dates_with_mixed_offsets_are_read_as_local_time(tmp_path: Path, python: str) -> None:
    path = tmp_path / "tz.csv"
    lines = ["when,amount,cat", "2026-01-05T00:00:00+01:00,5,a"]
    lines += [f"2026-02-0{d}T00:00:00+02:00,7,{'ab'[d % 2]}" for d in range(1, 8)]
    lines += ["2026-04-01T00:00:00+02:00,1,a"]
    path.write_text("\n".join(lines) + "\n")
    run = drive(analyst(path, tmp_path), python, tmp_path)

    assert "when: dates with time-zone offsets, read as the local time they name." in run.messages[2].content
    assert "Total amount by month: top month 2026-02 with 49" in run.final, "local months, not UTC ones"
    assert "full month" not in run.final, "one reading on 5 January and one on 1 April make no full month"
    assert "Self-correction" not in run.final


@pytest.mark.parametrize("fmt_name", ["json", "jsonl", "parquet", "xlsx"])
def test_other_formats(tmp_path: Path, fmt_name: str) -> None:
    path = tmp_path / f"sales.{fmt_name}"
    if fmt_name == "json":
        SALES.to_json(path, orient="records")
    elif fmt_name == "jsonl":
        SALES.to_json(path, orient="records", lines=True)
    elif fmt_name == "parquet":
        pytest.importorskip("pyarrow")
        SALES.to_parquet(path)
    else:
        pytest.importorskip("openpyxl")
        SALES.to_excel(path, index=False)
    run = drive(analyst(path, tmp_path), sys.executable, tmp_path)
    assert "Total revenue by product: Widget Pro 73,300, Gadget Lite 17,800." in run.final
    assert "top month 2026-03 with 36,200" in run.final


def test_injected_unicode_error_gets_latin1_block(tmp_path: Path) -> None:
    model = analyst(SAMPLE, tmp_path)
    first = model.next_message([Message("user", "go")])
    retry = model.next_message([Message("user", "go"), Message("assistant", first), Message("user", UNICODE_FAILURE)])
    block = extract_code_blocks(retry)[0].code
    assert block.startswith("# autorun-builtin step=load attempt=2")
    assert "'encoding': 'latin-1'" in block and "'encoding': 'utf-8'" not in block
    assert "UnicodeDecodeError" in retry.split("```")[0]


def test_injected_parser_error_gets_sniffing_then_care(tmp_path: Path) -> None:
    model = analyst(SAMPLE, tmp_path)
    messages = [Message("user", "go"), Message("assistant", model.next_message([Message("user", "go")]))]
    messages.append(Message("user", PARSER_FAILURE))
    second = model.next_message(messages)
    assert "'sep': None" in second and "attempt=2" in second and "let DuckDB detect the delimiter" in second
    messages += [Message("assistant", second), Message("user", PARSER_FAILURE)]
    third = model.next_message(messages)
    assert "'sep': None" in third and "attempt=3" in third
    messages += [Message("assistant", third), Message("user", PARSER_FAILURE)]
    final = model.next_message(messages)
    assert not extract_code_blocks(final), "after two retries of the load step there is nothing left to run"
    assert "could not load" in final and "CSV Error" in final and final.rstrip().endswith("TERMINATE")


def test_injected_import_error_for_a_workbook_tries_the_other_engine(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    path = tmp_path / "sales.xlsx"
    SALES.to_excel(path, index=False)
    model = analyst(path, tmp_path)
    failure = format_result(1, "ImportError: Missing optional dependency 'openpyxl'\n")
    messages = [Message("user", "go"), Message("assistant", model.next_message([Message("user", "go")]))]
    retry = model.next_message([*messages, Message("user", failure)])
    assert "'engine': 'calamine'" in retry
    messages += [Message("user", failure), Message("assistant", retry), Message("user", failure)]
    assert "could not load" in model.next_message(messages)


def test_out_of_memory_gets_the_disk_cache(tmp_path: Path) -> None:
    model = analyst(SAMPLE, tmp_path)
    failure = format_result(BLOCK_KILLED, oom_line(1024**3) + "\n")
    messages = [Message("user", "go"), Message("assistant", model.next_message([Message("user", "go")]))]
    retry = model.next_message([*messages, Message("user", failure)])
    assert "cache='always'" in retry and "spills to disk" in retry


def test_failures_in_a_later_step_are_retried_then_skipped_and_reported(tmp_path: Path) -> None:
    model = analyst(SAMPLE, tmp_path)
    run = drive(model, sys.executable, tmp_path, inject={1: PARSER_FAILURE, 2: PARSER_FAILURE, 3: PARSER_FAILURE})
    tags = [re.search(r"step=(\w+) attempt=(\d)", text).groups() for text in run.assistant[:-1]]
    assert tags == [
        ("load", "1"),
        ("measures", "1"),
        ("measures", "2"),
        ("measures", "3"),
        ("groups", "1"),
        ("trend", "1"),
    ]
    assert "The measures step failed (`_duckdb.InvalidInputException: Invalid Input Error: CSV Error" in run.final
    assert "Total revenue by product: Widget Pro 73,300" in run.final
    assert "Overall:" not in run.final, "no figures from the step that failed"


def test_same_messages_same_reply(tmp_path: Path) -> None:
    messages = [Message("user", "go")]
    first = analyst(SAMPLE, tmp_path)
    for _ in range(3):
        text = first.next_message(messages)
        assert text == first.next_message(messages) == analyst(SAMPLE, tmp_path).next_message(messages)
        messages += [Message("assistant", text), Message("user", UNICODE_FAILURE)]


def test_reply_streams_chunks_of_the_message(tmp_path: Path) -> None:
    model = analyst(SAMPLE, tmp_path)
    chunks = list(model.reply([Message("user", "go")]))
    assert len(chunks) > 3
    assert "".join(chunks) == model.next_message([Message("user", "go")])
    assert model.name == "builtin" and model.usage is None


def test_question_is_ignored() -> None:
    """Questions need an LLM: the builtin runs its fixed plan whatever the request says."""
    info = inspect_data_file(SAMPLE)
    plain = BuiltinAnalyst(info, "sales.csv").next_message([Message("user", "go")])
    asked = BuiltinAnalyst(info, "sales.csv").next_message([Message("user", "Which region grew fastest?")])
    assert plain == asked


def test_without_execution_it_ends_with_a_plain_notice(tmp_path: Path) -> None:
    model = analyst(SAMPLE, tmp_path)
    messages = [Message("user", "go")]
    for _ in range(MAX_TURNS):
        text = model.next_message(messages)
        messages.append(Message("assistant", text))
        if not extract_code_blocks(text):
            break
        messages.append(Message("user", "Code execution is disabled: the block was not run."))
    assert len(messages) == 2 * 4 + 2
    assert "Code execution is disabled, so I have no figures" in messages[-1].content


@pytest.mark.parametrize(
    ("content", "steps"),
    [
        ("name,city\nann,paris\nbob,rome\ncy,oslo\ndan,rome\n", 2),  # tiny: both are categories
        ("value\n1\n2\n3\n", 2),  # one numeric column
        ("word\nalpha beta gamma delta\nbeta gamma delta epsilon\nx y z w\nq r s t\nl m n o\n", 1),  # free text
        ("kind,when\na,2026-01-03\na,2026-02-04\nb,2026-02-05\na,2026-03-01\nb,2026-03-09\n", 3),  # no numbers
    ],
)
def test_odd_files_terminate_quickly(tmp_path: Path, content: str, steps: int) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(content)
    run = drive(analyst(path, tmp_path), sys.executable, tmp_path)
    assert len(run.assistant) == steps + 1
    assert all(m.content.startswith("exitcode: 0") for m in run.messages[2::2])
    assert "Summary of `odd.csv`" in run.final and "TERMINATE" in run.final


def test_counts_when_there_are_no_numbers(tmp_path: Path) -> None:
    path = tmp_path / "kinds.csv"
    path.write_text("kind,when\na,2026-01-03\na,2026-02-04\nb,2026-02-05\na,2026-03-01\nb,2026-03-09\n")
    run = drive(analyst(path, tmp_path), sys.executable, tmp_path)
    assert "- Rows by kind: a 3 (60.0%), b 2 (40.0%)." in run.final
    assert "- Rows by month: top month 2026-02 with 2;" in run.final


@pytest.mark.parametrize("python", PYTHONS)
def test_words_in_a_numeric_column_are_counted_and_left_missing(tmp_path: Path, python: str) -> None:
    """Numbers, then a word after row 1,500: the column is still a measure, the word becomes missing and is said."""
    path = tmp_path / "mixed.csv"
    rows = "".join(f"2026-0{i % 3 + 1}-01,{'AB'[i % 2]},{i}\n" for i in range(1500))
    path.write_text("date,kind,amount\n" + rows + "2026-03-02,A,unknown\n")
    run = drive(analyst(path, tmp_path), python, tmp_path)

    df = pd.read_csv(path)
    amount = pd.to_numeric(df["amount"], errors="coerce")
    by_kind = amount.groupby(df["kind"]).sum().sort_values(ascending=False)
    assert f"Total amount by kind: {by_kind.index[0]} {figures(by_kind.iloc[0])}" in run.final
    assert f"Overall: total amount {figures(amount.sum())}" in run.final
    assert "converted text to numbers: amount (number; 1 values that are not numbers left missing)" in run.final


def test_unrecognised_failure_gets_a_conservative_block(tmp_path: Path) -> None:
    boom = format_result(1, "Traceback (most recent call last):\nRuntimeError: boom\n")
    run = drive(analyst(SAMPLE, tmp_path), sys.executable, tmp_path, inject={2: boom})
    retry = extract_code_blocks(run.assistant[3])[0].code
    assert retry.startswith("# autorun-builtin step=groups attempt=2")
    assert "if m in data.columns]" in retry
    assert "North 31,800" in run.final
    assert "Self-correction: the group block failed with `RuntimeError: boom`" in run.final


def test_missing_values_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    text = SAMPLE.read_text().replace(",12500,", ",,").replace(",4200,", ",,").replace("South,11300", ",11300")
    path.write_text(text)
    run = drive(analyst(path, tmp_path), sys.executable, tmp_path)
    assert "- Data quality: missing values in revenue (2), region (1); no duplicate rows." in run.final
    assert "Total revenue by product: Widget Pro 60,800" in run.final


def test_a_process_per_block_in_an_empty_dir_reports_the_trend(tmp_path: Path) -> None:
    """Every block imports the runtime from autorun's package, nothing from the work dir: the trend step too
    (the inline fallback of old failed there with NameError: full_periods)."""
    model = BuiltinAnalyst(inspect_data_file(SAMPLE), str(SAMPLE))
    run = drive(model, sys.executable, tmp_path)
    assert all(m.content.startswith("exitcode: 0") for m in run.messages[2::2]), run.messages
    assert "- Total revenue by month: top month 2026-03 with 36,200;" in run.final
    assert "2026-01 25,600 -> 2026-03 36,200, +41.4%" in run.final
    assert not (tmp_path / ".autorun" / "analyst").exists()


def test_a_process_per_block_reads_a_larger_file_once_into_the_cache(tmp_path: Path) -> None:
    """Without a kernel each block opens the data again: from the disk cache the first one made."""
    data = tmp_path / "sales.csv"
    frame = pd.read_csv(SAMPLE)
    pd.concat([frame] * 30_000, ignore_index=True).to_csv(data, index=False)
    assert data.stat().st_size >= REOPENED_CACHE_BYTES
    run = drive(BuiltinAnalyst(inspect_data_file(data), str(data)), sys.executable, tmp_path)
    outputs = [m.content for m in run.messages[2::2]]
    assert all(o.startswith("exitcode: 0") for o in outputs), outputs
    assert "(the whole file, read by duckdb; cached for later steps in .autorun/cache)" in outputs[0]
    (cache,) = (tmp_path / ".autorun" / "cache").glob("*.duckdb")
    assert cache.stat().st_mtime < os.stat(tmp_path / "chart-total-revenue-by-month.png").st_mtime
    assert f"- Overall: total revenue {fmt(frame['revenue'].sum() * 30_000)}" in run.final


@pytest.mark.parametrize("python", PYTHONS)
def test_groups_and_trend_save_charts_named_by_their_aggregation(tmp_path: Path, python: str) -> None:
    run = drive(analyst(SAMPLE, tmp_path), python, tmp_path)
    names = ["chart-total-revenue-by-product.png", "chart-total-revenue-by-region.png"]
    names.append("chart-total-revenue-by-month.png")
    outputs = "\n".join(m.content for m in run.messages if m.role == "user")
    for name in names:
        assert f"Chart: {name}" in outputs
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(names)


def test_charts_read_at_a_glance() -> None:
    from autorun.analyst.charts import compact

    assert [compact(v) for v in (74_000_000, 1_200, 3_500_000_000, 950, 0, 0.25, -2_000)] == [
        "74M", "1.2k", "3.5B", "950", "0", "0.25", "-2k",
    ]  # fmt: skip


def test_bar_charts_start_at_zero_with_few_compact_ticks() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from autorun.analyst.charts import MAX_TICKS, bar_figure

    fig = bar_figure(plt, ["North", "South"], [94_000_000.0, 96_500_000.0], "total revenue by region")
    try:
        [ax] = fig.axes
        fig.canvas.draw()
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert ax.get_xlim()[0] == 0, "bars from zero: 94M against 96.5M must not look like a crash"
        assert 2 <= len(labels) <= MAX_TICKS and all(len(text) <= 5 for text in labels), labels
        assert any(text.endswith("M") for text in labels), labels
    finally:
        plt.close(fig)


def test_line_charts_mark_partial_periods_and_start_at_zero() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from autorun.analyst.charts import MAX_TICKS, line_figure

    periods = [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 13)]
    values: list[float | None] = [100e6 + 1e6 * (i % 5) for i in range(24)]
    values[1] = 94e6  # February: fewer days, not a crash
    fig = line_figure(plt, periods, {"total": values}, "total revenue by month", {"2026-12"}, True)
    try:
        [ax] = fig.axes
        fig.canvas.draw()
        assert ax.get_ylim()[0] == 0
        assert len([t for t in ax.get_xticklabels() if t.get_text()]) <= MAX_TICKS
        assert len([t for t in ax.get_yticklabels() if t.get_text()]) <= MAX_TICKS
        hollow = [line for line in ax.get_lines() if line.get_markerfacecolor() == "white" and len(line.get_xdata())]
        assert [list(line.get_xdata()) for line in hollow] == [[23]], "the partial last month is drawn hollow"
        assert "partial period" in [t.get_text() for t in ax.get_legend().get_texts()]
    finally:
        plt.close(fig)


def test_without_matplotlib_the_steps_say_so_and_go_on(tmp_path: Path) -> None:
    kernel = PersistentPython(sys.executable, tmp_path)
    try:
        kernel.run("import sys\nsys.modules['matplotlib'] = None  # matplotlib absent where the code runs\n")
        model = analyst(SAMPLE, tmp_path, stateful=lambda: True)
        run = drive(model, sys.executable, tmp_path, runner=lambda code: (*kernel.run(code), ""))
    finally:
        kernel.close()
    outputs = "\n".join(m.content for m in run.messages if m.role == "user")
    assert "(no chart for total revenue by region: matplotlib is not installed where the code runs)" in outputs
    assert not list(tmp_path.glob("*.png"))
    assert "- Total revenue by region: North 31,800" in run.final
