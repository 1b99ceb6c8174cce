"""inspect_data_file on real files: formats, sniffing, bad inputs, and sampling only the head."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from autorun.datafile import (
    DataFileInfo,
    describe_for_prompt,
    inspect_data_file,
    read_code,
    read_kwargs,
)
from autorun.errors import ExitCode, InputFileError
from tests.conftest import REPO, SAMPLE

SALES = pd.read_csv(SAMPLE)
EU_ROWS = [
    ("05.01.2026", "Käse", "Nord", "1.234,50", 3),
    ("13.01.2026", "Brötchen", "Süd", "12,5", 7),
    ("02.02.2026", "Käse", "Süd", "2.000,25", 4),
    ("20.02.2026", "Äpfel", "Nord", "99,75", 10),
    ("03.03.2026", "Käse", "Nord", "10,00", 1),
    ("14.03.2026", "Brötchen", "Süd", "1.000,00", 2),
    ("15.03.2026", "Äpfel", "Süd", "5,25", 3),
    ("16.03.2026", "Käse", "Nord", "7,00", 1),
]


def write_eu_csv(path: Path) -> Path:
    lines = ["datum;produkt;region;umsatz;menge"] + [";".join(map(str, row)) for row in EU_ROWS]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    return path


def load_with_info(info: DataFileInfo) -> pd.DataFrame:
    """Read the whole file the way generated code will (reader + read_kwargs)."""
    reader = {"csv": pd.read_csv, "tsv": pd.read_csv, "json": pd.read_json, "jsonl": pd.read_json}
    return reader[info.format](info.path, **read_kwargs(info))


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_sample_sales_csv() -> None:
    info = inspect_data_file(SAMPLE)
    assert (info.format, info.encoding, info.delimiter, info.decimal) == ("csv", "utf-8", ",", ".")
    assert info.columns == ["date", "product", "region", "revenue", "units"]
    assert info.n_columns == 5 and info.n_rows == 10 and info.sample_rows == 10
    assert info.dtypes == {
        "date": "date",
        "product": "text",
        "region": "text",
        "revenue": "numeric",
        "units": "numeric",
    }
    assert info.low_cardinality == ["product", "region"]
    assert info.date_columns == ["date"]
    assert info.numeric_columns == ["revenue", "units"]
    assert info.size_bytes == SAMPLE.stat().st_size
    preview = info.preview.splitlines()
    assert len(preview) == 6 and "Widget Pro" in preview[1] and "12500" in preview[1]


def test_tsv(tmp_path: Path) -> None:
    path = tmp_path / "sales.tsv"
    SALES.to_csv(path, sep="\t", index=False)
    info = inspect_data_file(path)
    assert (info.format, info.delimiter) == ("tsv", "\t")
    assert info.numeric_columns == ["revenue", "units"]
    assert load_with_info(info)["revenue"].sum() == 91_100


def test_pipe_delimited_txt(tmp_path: Path) -> None:
    path = tmp_path / "sales.txt"
    SALES.to_csv(path, sep="|", index=False)
    info = inspect_data_file(path)
    assert (info.format, info.delimiter) == ("csv", "|")
    assert info.columns == list(SALES.columns)


def test_semicolon_decimal_comma_latin1(tmp_path: Path) -> None:
    info = inspect_data_file(write_eu_csv(tmp_path / "umsatz.csv"))
    assert (info.encoding, info.delimiter, info.decimal, info.thousands) == ("latin-1", ";", ",", ".")
    assert info.numeric_columns == ["umsatz", "menge"]
    assert info.date_columns == ["datum"] and info.dayfirst
    assert info.text_columns == ["datum"], "dotted dates must be protected from the thousands separator"
    assert set(info.low_cardinality) == {"produkt", "region"}
    df = load_with_info(info)
    assert df["umsatz"].sum() == pytest.approx(4369.25)
    assert df.groupby("produkt")["umsatz"].sum()["Käse"] == pytest.approx(3251.75)
    assert df["datum"].iloc[0] == "05.01.2026"


def test_decimal_comma_without_thousands(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("name;price\na;12,5\nb;3,25\nc;7,0\n", encoding="utf-8")
    info = inspect_data_file(path)
    assert (info.decimal, info.thousands, info.numeric_columns) == (",", None, ["price"])
    assert load_with_info(info)["price"].sum() == pytest.approx(22.75)


def test_semicolon_with_dot_decimals_keeps_dot(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("name;price\na;12.5\nb;3.25\n", encoding="utf-8")
    info = inspect_data_file(path)
    assert (info.delimiter, info.decimal) == (";", ".")


def test_cp1252_when_windows_only_bytes_appear(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes("item,price\n“Deluxe” €,5\nplain,6\n".encode("cp1252"))
    info = inspect_data_file(path)
    assert info.encoding == "cp1252"
    assert load_with_info(info)["item"].iloc[0] == "“Deluxe” €"


def test_quoted_newlines_and_commas(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text(
        'id,note,amount\n1,"first line\nsecond, with comma",10\n2,"plain",20\n3,"a ""quoted"" word",30\n',
        encoding="utf-8",
    )
    info = inspect_data_file(path)
    assert info.columns == ["id", "note", "amount"]
    assert info.n_rows == 3 and info.delimiter == ","


def test_quoted_newline_across_the_sample_cut(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    row = 'x,"a long note\nspanning lines, with commas, ' + "z" * 80 + '",5\n'
    path.write_text("kind,note,value\n" + row * 2000, encoding="utf-8")
    info = inspect_data_file(path)
    assert info.columns == ["kind", "note", "value"]
    assert info.numeric_columns == ["value"] and info.n_rows is None
    assert info.sample_rows > 100


def test_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + SAMPLE.read_bytes())
    info = inspect_data_file(path)
    assert info.encoding == "utf-8-sig"
    assert info.columns[0] == "date" and info.date_columns == ["date"]


def test_utf16_with_bom_is_not_binary(tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes(SAMPLE.read_text().encode("utf-16"))
    info = inspect_data_file(path)
    assert info.encoding == "utf-16" and info.columns == list(SALES.columns)


def test_json_records(tmp_path: Path) -> None:
    path = tmp_path / "sales.json"
    SALES.to_json(path, orient="records")
    info = inspect_data_file(path)
    assert info.format == "json" and info.columns == list(SALES.columns) and info.n_rows == 10
    assert info.numeric_columns == ["revenue", "units"]
    assert info.date_columns == ["date"] and info.low_cardinality == ["product", "region"]
    assert read_code(info, "/d/sales.json") == "pd.read_json('/d/sales.json')"


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".json"])
def test_json_lines(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"sales{suffix}"
    SALES.to_json(path, orient="records", lines=True)
    info = inspect_data_file(path)
    assert info.format == "jsonl"
    assert info.columns == list(SALES.columns) and info.numeric_columns == ["revenue", "units"]
    assert "lines=True" in read_code(info, "x")
    assert load_with_info(info)["revenue"].sum() == 91_100


def test_parquet(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "sales.parquet"
    SALES.to_parquet(path)
    info = inspect_data_file(path)
    assert (info.format, info.encoding, info.delimiter) == ("parquet", None, None)
    assert info.columns == list(SALES.columns) and info.n_rows == 10
    assert info.date_columns == ["date"] and info.numeric_columns == ["revenue", "units"]


def test_excel(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    path = tmp_path / "sales.xlsx"
    SALES.assign(date=pd.to_datetime(SALES["date"])).to_excel(path, index=False)
    info = inspect_data_file(path)
    assert info.format == "excel" and info.columns == list(SALES.columns)
    assert info.date_columns == ["date"] and info.low_cardinality == ["product", "region"]
    assert read_code(info, "/w/sales.xlsx") == "pd.read_excel('/w/sales.xlsx')"


def test_describe_for_prompt_uses_the_executor_path(tmp_path: Path) -> None:
    info = inspect_data_file(write_eu_csv(tmp_path / "umsatz.csv"))
    text = describe_for_prompt(info, "/workspace/data/umsatz.csv")
    assert "Data file: /workspace/data/umsatz.csv" in text
    assert str(tmp_path) not in text
    assert (
        "pd.read_csv('/workspace/data/umsatz.csv', sep=';', encoding='latin-1', decimal=',', "
        "thousands='.', dtype={'datum': 'str'})" in text
    )
    assert "- umsatz: numeric; additive measure: sums are meaningful (named 'umsatz': adds up)" in text
    assert "- datum: date; date/time: group by period" in text
    assert "- produkt: text; category: group by it (3 distinct values)" in text
    assert "Käse" in text.split("First rows:")[1]


# --- bad inputs: one clear sentence naming the path and what to do -------------------------


def expect_error(path: Path, *fragments: str) -> str:
    with pytest.raises(InputFileError) as caught:
        inspect_data_file(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message and message.endswith(".")
    assert caught.value.exit_code == ExitCode.USAGE
    return message


def test_missing_file(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope.csv", "not found", "check the path")


def test_directory(tmp_path: Path) -> None:
    expect_error(tmp_path, "is a directory", "pass one data file")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    expect_error(path, "is empty (0 bytes)")


def test_blank_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n  \n")
    expect_error(path, "no data")


def test_header_only(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("date,product,revenue\n")
    expect_error(path, "header but no data rows")


def test_one_50_mb_row_is_a_row_too_long_not_a_header_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    with path.open("w") as file:
        file.write("id,text\n1,")
        file.write("x" * (50 * 2**20))
        file.write("\n")
    expect_error(path, "the row after its header is longer than 1 MiB")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('a,b,c\n1,"unterminated,3\n4,5,6\n7,8,9\n', 2),
        ('title\nnotes line\n\na,b,c\n1,2,3\n4,"x,6\n7,8,9\n', 6),
        ('a;b\n"fine\nover two lines";1\n2;"open\n3;4\n', 4),
    ],
)
def test_an_unterminated_quote_is_named_with_its_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "quote.csv"
    path.write_text(text)
    message = expect_error(path, f'the quote (") opened on line {line} is never closed')
    assert "no data rows" not in message


def test_binary_content(tmp_path: Path) -> None:
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    expect_error(path, "binary content")


def test_zip_renamed_to_csv_is_binary(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    xlsx = tmp_path / "book.xlsx"
    SALES.to_excel(xlsx, index=False)
    path = tmp_path / "book.csv"
    shutil.copy(xlsx, path)
    expect_error(path, "binary content")


def test_unsupported_extension_lists_formats(tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    path.write_bytes(b"whatever")
    expect_error(path, "unsupported file type (.docx)", "CSV", "TSV", "JSON Lines", "Parquet", "Excel")


def test_no_line_break_in_the_first_mebibyte(tmp_path: Path) -> None:
    path = tmp_path / "blob.csv"
    path.write_text("x" * (3 * 2**20))
    expect_error(path, "no line break in its first 1,024 KiB")


def test_json_content_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text('[{"a": 1}, {"a": 2}]')
    expect_error(path, "looks like JSON", "rename it to .json")


def test_html_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "page.csv"
    path.write_text("<!doctype html>\n<html><body>Not found</body></html>\n")
    expect_error(path, "HTML or XML")


def test_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"a": [1, 2,')
    expect_error(path, "not valid JSON")


def test_json_scalar_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "scalar.json"
    path.write_text('{"a": 1, "b": 2}')
    expect_error(path, "does not look like a table")


def test_bad_json_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n{"a": 2\n{"a": 3}\n')
    expect_error(path, "line 2 is not valid JSON")


def test_corrupt_parquet(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "bad.parquet"
    path.write_text("date,revenue\n2026-01-01,5\n")
    expect_error(path, "not a valid Parquet file")


def test_corrupt_excel(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    path = tmp_path / "bad.xlsx"
    path.write_text("date,revenue\n2026-01-01,5\n")
    expect_error(path, "not a valid Excel workbook")


def test_unreadable_file(tmp_path: Path) -> None:
    """Permission denied; as root (who may read anything) the check runs as user nobody."""
    if os.geteuid() != 0:
        path = tmp_path / "secret.csv"
        shutil.copy(SAMPLE, path)
        path.chmod(0)
        expect_error(path, "permission denied", "make the file readable")
        return
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    folder = Path(tempfile.mkdtemp(prefix="autorun-perm-"))
    try:
        folder.chmod(0o755)
        path = folder / "secret.csv"
        shutil.copy(SAMPLE, path)
        path.chmod(0)
        code = (
            "import sys\nfrom autorun.datafile import inspect_data_file\n"
            "try:\n    inspect_data_file(sys.argv[1])\nexcept Exception as exc:\n"
            "    print(type(exc).__name__, exc)\n"
        )
        proc = subprocess.run(
            [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", code, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        )
        assert proc.stdout.strip() == f"InputFileError {path}: permission denied; make the file readable by you."
    finally:
        shutil.rmtree(folder)


# --- never read or modify the whole file -------------------------------------------------


def read_bytes_so_far() -> int:
    with open("/proc/self/io") as fh:
        return int(next(line for line in fh if line.startswith("rchar:")).split()[1])


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/self/io to count bytes read")
def test_one_gigabyte_csv_is_inspected_from_its_head(tmp_path: Path) -> None:
    """A 1 GiB file (sparse: real rows, then NULs) is described from its first bytes only."""
    path = tmp_path / "huge.csv"
    with path.open("wb") as fh:
        fh.write(b"date,product,revenue\n")
        for i in range(20_000):
            fh.write(f"2026-01-{i % 28 + 1:02d},P{i % 7},{i}\n".encode())
        fh.truncate(2**30)
    inspect_data_file(SAMPLE)  # warm up imports so only the inspection's reads are counted
    before = read_bytes_so_far()
    info = inspect_data_file(path)
    read = read_bytes_so_far() - before
    assert read < 4 * 2**20, f"read {read:,} bytes of a 1 GiB file"
    assert info.size_bytes == 2**30 and info.n_rows is None
    assert info.columns == ["date", "product", "revenue"] and info.sample_rows == 1000
    assert info.low_cardinality == ["product"] and info.date_columns == ["date"]


@pytest.mark.parametrize("name", ["sales.csv", "umsatz.csv", "sales.jsonl", "sales.parquet"])
def test_the_file_is_never_modified(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name == "umsatz.csv":
        write_eu_csv(path)
    elif name.endswith(".jsonl"):
        SALES.to_json(path, orient="records", lines=True)
    elif name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
        SALES.to_parquet(path)
    else:
        shutil.copy(SAMPLE, path)
    before = fingerprint(path)
    inspect_data_file(path)
    assert fingerprint(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
