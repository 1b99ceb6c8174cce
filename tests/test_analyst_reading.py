"""The builtin reads what the file holds: sheets, nested JSON, compression, a preamble, numbers as text,
rows it cannot parse (counted), a subset only when it must (and said), and state kept between blocks."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import shutil
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from autorun.codeblocks import extract_code_blocks
from autorun.datafile import inspect_data_file
from autorun.errors import InputFileError
from tests.conftest import SAMPLE
from tests.persistent_python import PersistentPython
from tests.test_builtin import PYTHONS, analyst, drive
from tests.test_datafile import SALES


def workbook(path: Path) -> Path:
    pytest.importorskip("openpyxl")
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame(
            {"note": ["exported by ERP", "figures in EUR", "do not edit"], "revenue": [12500, 4200, 8900]}
        ).to_excel(writer, sheet_name="Notes", index=False)
        SALES.to_excel(writer, sheet_name="Data", index=False)
    return path


@pytest.mark.parametrize("python", PYTHONS)
def test_workbook_whose_first_sheet_is_not_the_data(tmp_path: Path, python: str) -> None:
    path = workbook(tmp_path / "report.xlsx")
    info = inspect_data_file(path)
    assert info.sheet == "Data" and [s[0] for s in info.sheets] == ["Notes", "Data"]
    run = drive(analyst(path, tmp_path), python, tmp_path)
    assert "Overall: total revenue 91,100" in run.final
    assert "Reading: read sheet Data (the largest table; also: Notes (3 rows))." in run.final
    assert "sheet 'Notes': 3 rows x 2 columns" in run.messages[2].content


def test_a_sheet_chosen_with_the_option_is_not_called_the_largest_table(tmp_path: Path) -> None:
    path = workbook(tmp_path / "report.xlsx")
    run = drive(analyst(path, tmp_path, sheet="Notes"), sys.executable, tmp_path)
    assert "Reading: read sheet Notes (chosen with --sheet; also: Data (10 rows))." in run.final
    assert "sheet 'Notes': 3 rows x 2 columns <- analysed (chosen with --sheet)" in run.messages[2].content
    assert "largest" not in run.final


def test_sheet_option_chooses_another_sheet_and_a_wrong_name_is_one_clear_error(tmp_path: Path) -> None:
    path = workbook(tmp_path / "report.xlsx")
    assert inspect_data_file(path, sheet="Notes").columns == ["note", "revenue"]
    with pytest.raises(InputFileError, match=r"has no sheet named 'Sales'; its sheets are Notes, Data: choose one"):
        inspect_data_file(path, sheet="Sales")
    with pytest.raises(InputFileError, match="not a workbook"):
        inspect_data_file(SAMPLE, sheet="Data")


@pytest.mark.parametrize("python", PYTHONS)
def test_nested_json_records_are_flattened(tmp_path: Path, python: str) -> None:
    records = [
        {"order": i, "amount": 10 * (i % 7 + 1), "user": {"name": f"u{i}", "address": {"country": "NOSE"[i % 2 :: 2]}}}
        for i in range(30)
    ]
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(records))
    info = inspect_data_file(path)
    assert "user.address.country" in info.columns and info.flattened == ["user"]
    run = drive(analyst(path, tmp_path), python, tmp_path)
    flat = pd.json_normalize(records)
    by_country = flat.groupby("user.address.country")["amount"].sum().sort_values(ascending=False)
    expected = ", ".join(f"{k} {v:,}" for k, v in by_country.items())
    assert f"- Total amount by user.address.country: {expected}." in run.final
    assert "flattened nested user" in run.final


@pytest.mark.parametrize(
    ("suffix", "opener"),
    [(".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open), (".zip", None)],
)
def test_compressed_csv_is_inspected_and_described(tmp_path: Path, suffix: str, opener: object) -> None:
    path = tmp_path / f"sales.csv{suffix}"
    if opener is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.write(SAMPLE, "sales.csv")
    else:
        with opener(path, "wb") as fh:  # type: ignore[operator]
            fh.write(SAMPLE.read_bytes())
    info = inspect_data_file(path)
    assert info.compression is not None and info.columns == list(SALES.columns) and info.n_rows == 10


@pytest.mark.parametrize("python", PYTHONS)
def test_csv_gz_is_analysed(tmp_path: Path, python: str) -> None:
    path = tmp_path / "sales.csv.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(SAMPLE.read_bytes())
    run = drive(analyst(path, tmp_path), python, tmp_path)
    assert "gzip-compressed" in run.assistant[0]
    assert "- Total revenue by product: Widget Pro 73,300, Gadget Lite 17,800." in run.final


@pytest.mark.parametrize("python", PYTHONS)
def test_export_with_a_preamble(tmp_path: Path, python: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Sales report, all regions\nExported 2026-04-01 by ERP\n" + SAMPLE.read_text())
    info = inspect_data_file(path)
    assert info.skiprows == 2 and info.columns == list(SALES.columns)
    run = drive(analyst(path, tmp_path), python, tmp_path)
    assert "Summary of `export.csv` (10 rows, 5 columns):" in run.final
    assert "- Total revenue by region: North 31,800, West 20,600, South 20,200, East 18,500." in run.final
    assert "skipped 2 lines of preamble" in run.final


@pytest.mark.parametrize("python", PYTHONS)
def test_money_and_percent_written_as_text(tmp_path: Path, python: str) -> None:
    df = SALES.assign(
        revenue=[f"${v:,}" for v in SALES["revenue"]],
        margin=[f"{v / 1000:.1f}%" for v in SALES["revenue"]],
    )
    path = tmp_path / "money.csv"
    df.to_csv(path, index=False)
    info = inspect_data_file(path)
    assert info.converted == {"revenue": "money", "margin": "percent"}
    assert info.role_of("margin")["role"] == "measure" and info.role_of("revenue")["role"] == "additive"
    run = drive(analyst(path, tmp_path), python, tmp_path)
    assert "- Total revenue by product: Widget Pro 73,300, Gadget Lite 17,800." in run.final
    assert "converted text to numbers: revenue (money), margin (percent)" in run.final
    text = "\n".join(m.content for m in run.messages)
    assert "total margin" not in text and "mean margin" in text


@pytest.mark.parametrize("python", PYTHONS)
def test_rows_that_cannot_be_parsed_are_counted_not_dropped_silently(tmp_path: Path, python: str) -> None:
    path = tmp_path / "ragged.csv"
    lines = SAMPLE.read_text().splitlines()
    lines.insert(3, "2026-01-15,Widget Pro,North,999,9,EXTRA")
    path.write_text("\n".join(lines) + "\n")
    run = drive(analyst(path, tmp_path), python, tmp_path)
    assert "1 row could not be parsed (wrong number of fields) and left out" in run.final
    assert "Total revenue by product: Widget Pro 73,300" in run.final
    assert "2026-01-15,Widget Pro,North,999,9,EXTRA" in run.messages[2].content


def test_a_whole_file_is_read_without_a_row_limit(tmp_path: Path) -> None:
    run = drive(analyst(SAMPLE, tmp_path), sys.executable, tmp_path)
    assert all("'nrows':" not in text for text in run.assistant)
    assert "first" not in run.final.splitlines()[0]


@pytest.mark.parametrize("python", PYTHONS)
def test_stateful_blocks_reuse_the_loaded_data(tmp_path: Path, python: str) -> None:
    fresh, kept = tmp_path / "fresh", tmp_path / "kept"
    for work in (fresh, kept):
        work.mkdir()
        shutil.copy(SAMPLE, work / "sales.csv")
    stateless = drive(analyst(fresh / "sales.csv", fresh, data_path="sales.csv"), python, fresh)
    kernel = PersistentPython(python, kept)
    try:
        model = analyst(kept / "sales.csv", kept, data_path="sales.csv", stateful=lambda: True)
        run = drive(model, python, kept, runner=lambda code: (*kernel.run(code), ""))
    finally:
        kernel.close()

    first = extract_code_blocks(run.assistant[0])[0].code
    assert "import groups_step, load_step, measures_step, trend_step" in first and "charts=True" in first
    later = [extract_code_blocks(text)[0].code for text in run.assistant[1:-1]]
    assert len(later) == 3
    assert all(len(code.splitlines()) == 2 and "open_data" not in code for code in later), "one call each, no reload"
    assert all("data = open_data(" in extract_code_blocks(t)[0].code for t in stateless.assistant[1:-1])
    assert run.final == stateless.final


def test_a_lost_state_is_noticed_and_later_blocks_reload(tmp_path: Path) -> None:
    """Stateful intent, but each block runs in a fresh process: the lost data makes every block reopen it."""
    model = analyst(SAMPLE, tmp_path, stateful=lambda: True)
    run = drive(model, sys.executable, tmp_path)
    assert "NameError: name 'measures_step' is not defined" in run.messages[4].content
    assert "open the data again in each block" in run.assistant[2]
    assert "- Total revenue by product: Widget Pro 73,300, Gadget Lite 17,800." in run.final
    assert "Self-correction: the measures block failed with `NameError" in run.final


def test_the_llm_description_says_how_to_read_the_file_and_the_roles(tmp_path: Path) -> None:
    from autorun.datafile import describe_for_prompt

    path = tmp_path / "export.csv"
    money = SALES.assign(revenue=[f"${v:,}" for v in SALES["revenue"]]).to_csv(index=False)
    path.write_text("Sales report\nExported 2026-04-01\n" + money)
    text = describe_for_prompt(inspect_data_file(path), "/workspace/data/export.csv")
    assert "pd.read_csv('/workspace/data/export.csv', sep=',', encoding='utf-8', skiprows=2)" in text
    assert "The first 2 lines are a preamble before the header" in text
    assert "Column 'revenue' holds numbers written as money like $1,234: convert it before computing." in text
    assert "- revenue: numeric; additive measure: sums are meaningful" in text
    assert "- units: numeric; additive measure" in text and "- region: text; category: group by it" in text
    book = workbook(tmp_path / "book.xlsx")
    text = describe_for_prompt(inspect_data_file(book), "book.xlsx")
    assert "pd.read_excel('book.xlsx', sheet_name='Data')" in text
    assert "Workbook sheets: Notes (3 rows), Data (10 rows); the data is in sheet 'Data'." in text
