"""Inspect a data file from a small sample: format, encoding, delimiter, columns and their kinds.

Only the head of the file is ever read (64 KiB of text, or the first rows of a
Parquet/Excel file), so inspecting a 1 GB CSV is instant. The file is never modified.
"""

from __future__ import annotations

import io
import json
import lzma
import os
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autorun.analyst.describe import describe
from autorun.analyst.describe import read_code as read_code  # part of this module's API
from autorun.analyst.describe import read_kwargs as read_kwargs
from autorun.analyst.kinds import SAMPLE_ROWS, classify, few_values, preview
from autorun.analyst.reading import convert_number_text, flatten_nested, largest_sheet
from autorun.analyst.roles import infer_roles
from autorun.errors import InputFileError
from autorun.sampling import (
    NumberFormat,
    complete_rows,
    header_line,
    is_json_object,
    json_array_head,
    jsonl_records,
    sniff_delimiter,
    sniff_encoding,
    sniff_number_format,
)

SAMPLE_BYTES = 64 * 1024
MAX_LINE_BYTES = 1024 * 1024
JSON_WHOLE_LIMIT = 8 * 1024 * 1024

EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
}
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz", ".zst": "zstd"}
SUPPORTED = (
    "CSV (.csv, .txt), TSV (.tsv, .tab), JSON (.json), JSON Lines (.jsonl, .ndjson), "
    "Parquet (.parquet) and Excel (.xlsx, .xls); text formats also compressed (.gz, .bz2, .zip, .xz, .zst)"
)


@dataclass(frozen=True)
class DataFileInfo:
    """What a sample of the file says about it. Kinds are guessed from at most 1000 rows."""

    path: Path
    format: str  # csv | tsv | json | jsonl | parquet | excel
    encoding: str | None
    delimiter: str | None
    decimal: str
    size_bytes: int
    columns: list[str]
    preview: str
    n_columns: int
    dtypes: dict[str, str]  # column -> numeric | text | date
    low_cardinality: list[str]
    date_columns: list[str]
    numeric_columns: list[str]
    thousands: str | None = None
    text_columns: list[str] = field(default_factory=list)  # read as text (dotted dates next to 1.234,5)
    dayfirst: bool = False
    sample_rows: int = 0
    n_rows: int | None = None  # known when the sample is the whole file (or from Parquet metadata)
    compression: str | None = None  # gzip | bz2 | zip | xz | zstd, read by pandas from the extension
    skiprows: int = 0  # lines of preamble before the header
    sheets: list[tuple[str, int, int]] = field(default_factory=list)  # workbook: (name, rows seen, columns)
    sheet: str | None = None  # the workbook sheet read
    flattened: list[str] = field(default_factory=list)  # nested JSON columns flattened into fields
    converted: dict[str, str] = field(default_factory=dict)  # column -> money | percent | number (was text)
    roles: list[dict[str, Any]] = field(default_factory=list)  # autorun.analyst.roles.infer_roles on the sample
    memory_per_row: float = 0.0  # bytes pandas holds per row of the sample (deep), to judge whether the file fits

    def role_of(self, column: str) -> dict[str, Any] | None:
        return next((r for r in self.roles if r["column"] == column), None)


def inspect_data_file(path: Path, sheet: str | None = None) -> DataFileInfo:
    """Check that ``path`` is a readable tabular file and describe it, reading only a sample.

    ``sheet`` names the workbook sheet to read; by default the one with the largest table.
    """
    path = Path(path)
    size = check_data_file(path)
    suffix, compression = table_suffix(path)
    fmt = EXTENSIONS[suffix]
    if sheet is not None and fmt != "excel":
        raise InputFileError(f"{path} is not a workbook, so it has no sheets; drop --sheet {sheet}.")
    if fmt in ("csv", "tsv"):
        return _inspect_delimited(path, size, suffix, compression)
    if fmt in ("json", "jsonl"):
        return _inspect_json(path, size, fmt, compression)
    if compression is not None:
        raise InputFileError(f"{path}: compressed {fmt} files are not supported; decompress it first.")
    if fmt == "parquet":
        return _inspect_parquet(path, size)
    return _inspect_excel(path, size, sheet)


def inspect_data_files(paths: Sequence[Path], sheet: str | None = None) -> list[DataFileInfo]:
    """``inspect_data_file`` for each path; ``sheet`` applies to the workbooks among them."""
    return [
        inspect_data_file(path, sheet=sheet if path.suffix.lower() in WORKBOOK_SUFFIXES else None) for path in paths
    ]


def table_suffix(path: Path) -> tuple[str, str | None]:
    """('.csv', 'gzip') for sales.csv.gz; ('.csv', None) for sales.csv."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        inner = suffixes[-2] if len(suffixes) >= 2 else ""
        return inner, COMPRESSIONS[suffixes[-1]]
    return path.suffix.lower(), None


def check_data_file(path: Path) -> int:
    """The file's size, once it is known to be a non-empty, readable file of a supported type."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputFileError(f"{path}: file not found; check the path and try again.") from None
    except PermissionError:
        raise InputFileError(f"{path}: permission denied; make the file readable by you.") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot access the file ({exc.strerror}); check the path.") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputFileError(f"{path} is a directory; pass one data file inside it instead.")
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError(f"{path} is not a regular file; pass a data file saved on disk.")
    if table_suffix(path)[0] not in EXTENSIONS:
        shown = "".join(path.suffixes[-2:]) or "no extension"
        raise InputFileError(f"{path}: unsupported file type ({shown}); supported formats are {SUPPORTED}.")
    if st.st_size == 0:
        raise InputFileError(f"{path} is empty (0 bytes); pass a file with a header row and data rows.")
    if not os.access(path, os.R_OK):
        raise InputFileError(f"{path}: permission denied; make the file readable by you.")
    return st.st_size


def _read_head(path: Path, limit: int | None = SAMPLE_BYTES) -> tuple[bytes, bool]:
    """(the first 64 KiB decompressed, extended up to 1 MiB until it holds two line breaks; more follows).

    ``limit`` None reads the whole (decompressed) content.
    """
    from autorun.analyst.reading import open_decompressed

    try:
        with open_decompressed(path) as fh:
            if limit is None:
                return fh.read(), False
            head = fh.read(limit)
            while head.count(b"\n") < 2 and len(head) < MAX_LINE_BYTES:
                more = fh.read(SAMPLE_BYTES)
                if not more:
                    break
                head += more
            truncated = bool(fh.read(1))
    except PermissionError:
        raise InputFileError(f"{path}: permission denied; make the file readable by you.") from None
    except ImportError:
        raise InputFileError(f"{path}: reading .zst files needs zstandard; `pip install zstandard`.") from None
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        why = getattr(exc, "strerror", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
        raise InputFileError(f"{path}: cannot read the file ({why}).") from None
    return head, truncated


def _not_tabular(path: Path, why: str, fix: str = "") -> InputFileError:
    fix = fix or "pass a CSV, TSV, JSON, JSON Lines, Parquet or Excel file with a header and data rows"
    return InputFileError(f"{path} does not look like a table ({why}); {fix}.")


def _decode_sample(path: Path, head: bytes, encoding: str, truncated: bool) -> str:
    text = head.decode(encoding, errors="replace")
    if truncated:
        if "\n" not in text:
            raise _not_tabular(path, f"no line break in its first {len(head) // 1024:,} KiB")
        text = text[: text.rfind("\n") + 1]
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    if controls > max(2, len(text) // 100):
        raise _not_tabular(path, "binary content: many control characters")
    if not text.strip():
        raise InputFileError(f"{path} contains no data (only blank lines); pass a file with data rows.")
    start = text.lstrip("\ufeff \t\r\n")[:1]
    if start in "{[":
        raise _not_tabular(path, "it looks like JSON", "rename it to .json or .jsonl")
    if start == "<":
        raise _not_tabular(path, "it looks like HTML or XML", "export the data as CSV")
    return text


def _inspect_delimited(path: Path, size: int, suffix: str, compression: str | None) -> DataFileInfo:
    head, truncated = _read_head(path)
    encoding = sniff_encoding(head, truncated)
    if encoding is None:
        raise _not_tabular(path, "binary content: it contains NUL bytes")
    text = _decode_sample(path, head, encoding, truncated)
    delimiter = sniff_delimiter(text, suffix)
    skip = header_line(text, delimiter)
    lines = io.StringIO(text).readlines()[skip:]
    if truncated and len(lines) < 2 and len(head) >= MAX_LINE_BYTES:
        raise InputFileError(
            f"{path}: the row after its header is longer than {MAX_LINE_BYTES // 1024**2} MiB, the most autorun "
            "reads of one row to learn the file's layout; split the long field out, or pass a file with shorter rows."
        )
    table = "".join(lines)
    numbers = sniff_number_format(table, delimiter)
    sample = complete_rows(table, delimiter, truncated, SAMPLE_ROWS)
    df = _read_delimited_sample(path, sample, delimiter, numbers, first_line=skip + 1)
    return _build_info(
        path,
        "tsv" if delimiter == "\t" else "csv",
        df,
        size,
        encoding=encoding,
        delimiter=delimiter,
        decimal=numbers.decimal,
        thousands=numbers.thousands,
        text_columns=list(numbers.text_columns),
        n_rows=None if truncated or len(df) >= SAMPLE_ROWS else len(df),
        compression=compression,
        skiprows=skip,
    )


def _read_delimited_sample(path: Path, sample: str, sep: str, numbers: NumberFormat, first_line: int = 1) -> Any:
    """The sample as a DataFrame; ``first_line`` is the file's line number of the sample's header."""
    import csv

    import pandas as pd

    kwargs: dict[str, Any] = {"sep": sep, "decimal": numbers.decimal, "nrows": SAMPLE_ROWS}
    if numbers.thousands:
        kwargs["thousands"] = numbers.thousands
    if numbers.text_columns:
        kwargs["dtype"] = {name: "str" for name in numbers.text_columns}
    try:
        return pd.read_csv(io.StringIO(sample), **kwargs)
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{path} contains no columns or rows; pass a file with a header and data.") from None
    except (pd.errors.ParserError, ValueError):
        open_quote = unclosed_quote_line(sample)
        if open_quote is not None:  # the rest of the file would read as one value: say so, not "no data rows"
            raise InputFileError(
                f'{path}: the quote (") opened on line {first_line + open_quote - 1} is never closed, so '
                'everything after it reads as one value; close it, or write a quote inside a value as "".'
            ) from None
    try:
        return pd.read_csv(io.StringIO(sample), engine="python", on_bad_lines="skip", **kwargs)
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise _not_tabular(path, f"it cannot be parsed: {str(exc).splitlines()[0]}") from None


def unclosed_quote_line(text: str) -> int | None:
    """The line (from 1) of a double quote that no later quote closes, or None.

    A quoted value may span lines; the quotes seen so far are then odd in number until it closes.
    """
    opened: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.count('"') % 2:
            opened = number if opened is None else None
    return opened


def _inspect_json(path: Path, size: int, fmt: str, compression: str | None) -> DataFileInfo:
    import pandas as pd

    whole = size <= JSON_WHOLE_LIMIT and fmt == "json"
    head, truncated = _read_head(path, None if whole else SAMPLE_BYTES)
    text = head.decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if not stripped:
        raise InputFileError(f"{path} contains no data (only blank space); pass a file with records.")
    lines = [ln for ln in stripped.splitlines() if ln.strip()]
    if fmt == "json" and len(lines) > 1 and is_json_object(lines[0]) and is_json_object(lines[1]):
        fmt = "jsonl"
    if fmt == "jsonl":
        try:
            records = jsonl_records(lines[:-1] if truncated and len(lines) > 1 else lines, SAMPLE_ROWS)
        except ValueError as exc:
            raise _not_tabular(path, str(exc)) from None
        df = pd.DataFrame(records)
    elif stripped[0] == "[" and truncated:
        df = pd.DataFrame(json_array_head(stripped, SAMPLE_ROWS))
    elif truncated:
        raise InputFileError(
            f"{path} is a JSON object larger than {JSON_WHOLE_LIMIT // 2**20} MiB; "
            "convert it to JSON Lines (.jsonl), one record per line."
        )
    else:
        df = _json_whole(path, stripped)
    n_rows = None if truncated else len(df)
    flattened: dict[str, list[str]] = {"flattened": []}
    df = flatten_nested(df.head(SAMPLE_ROWS), flattened)
    return _build_info(
        path, fmt, df, size, encoding="utf-8", n_rows=n_rows, compression=compression, flattened=flattened["flattened"]
    )


def _json_whole(path: Path, text: str) -> Any:
    import pandas as pd

    try:
        json.loads(text)
    except ValueError as exc:
        raise _not_tabular(path, f"it is not valid JSON: {exc}") from None
    try:
        return pd.read_json(io.StringIO(text))
    except ValueError as exc:
        raise _not_tabular(path, f"the JSON is not a list of records or columns: {exc}") from None


def _inspect_parquet(path: Path, size: int) -> DataFileInfo:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputFileError(f"{path}: reading Parquet needs pyarrow; install it with `pip install pyarrow`.") from None
    try:
        pf = pq.ParquetFile(path)
        batch = next(pf.iter_batches(batch_size=SAMPLE_ROWS), None)
        table = batch if batch is not None else pf.schema_arrow.empty_table()
        df = table.to_pandas()
    except PermissionError:
        raise InputFileError(f"{path}: permission denied; make the file readable by you.") from None
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError and others for corrupt files
        raise _not_tabular(path, f"not a valid Parquet file: {str(exc).splitlines()[0]}") from None
    return _build_info(path, "parquet", df, size, n_rows=pf.metadata.num_rows)


def _inspect_excel(path: Path, size: int, sheet: str | None) -> DataFileInfo:
    import pandas as pd

    engine = "xlrd" if path.suffix.lower() == ".xls" else "openpyxl"
    try:
        frames = {str(k): v for k, v in pd.read_excel(path, sheet_name=None, nrows=SAMPLE_ROWS).items()}
    except ImportError:
        raise InputFileError(
            f"{path}: reading {path.suffix} files needs {engine}; install it with `pip install {engine}`."
        ) from None
    except PermissionError:
        raise InputFileError(f"{path}: permission denied; make the file readable by you.") from None
    except Exception as exc:  # zipfile.BadZipFile, ValueError, KeyError ... for files that are not workbooks
        raise _not_tabular(path, f"not a valid Excel workbook: {str(exc).splitlines()[0]}") from None
    sheets = [(name, len(frame), frame.shape[1]) for name, frame in frames.items()]
    if sheet is not None and sheet not in frames:
        names = ", ".join(frames)
        raise InputFileError(f"{path} has no sheet named {sheet!r}; its sheets are {names}: choose one with --sheet.")
    chosen = sheet if sheet is not None else largest_sheet([list(s) for s in sheets])
    df = frames[chosen]
    n_rows = len(df) if len(df) < SAMPLE_ROWS else None
    return _build_info(path, "excel", df, size, n_rows=n_rows, sheets=sheets, sheet=chosen)


def _build_info(path: Path, fmt: str, df: Any, size: int, **extra: Any) -> DataFileInfo:
    if len(df.columns) == 0:
        raise _not_tabular(path, "no columns were found")
    if len(df) == 0:
        raise InputFileError(f"{path} has a header but no data rows; add data rows or pass another file.")
    df = df.copy()
    df.columns = [str(c) for c in df.columns]
    converted = convert_number_text(df)
    kinds, dayfirst = classify(df)
    columns = list(df.columns)
    return DataFileInfo(
        path=path,
        format=fmt,
        encoding=extra.pop("encoding", None),
        delimiter=extra.pop("delimiter", None),
        decimal=extra.pop("decimal", "."),
        size_bytes=size,
        columns=columns,
        preview=preview(df),
        n_columns=len(columns),
        dtypes=kinds,
        low_cardinality=[c for c in columns if kinds[c] == "text" and few_values(df[c])],
        date_columns=[c for c in columns if kinds[c] == "date"],
        numeric_columns=[c for c in columns if kinds[c] == "numeric"],
        dayfirst=dayfirst,
        sample_rows=len(df),
        converted=converted,
        roles=infer_roles(df, converted),
        memory_per_row=float(df.memory_usage(deep=True, index=False).sum()) / max(len(df), 1),
        **extra,
    )


def describe_for_prompt(
    info: DataFileInfo, path_as_seen: str, max_columns: int = 60, memory_limit: int | None = None
) -> str:
    """A short schema, column roles and preview of the file for an LLM's system prompt: with its size on
    disk, its row count and whether pandas can hold it within ``memory_limit`` (the executor's)."""
    return describe(info, path_as_seen, max_columns, rows=row_count(info), memory_limit=memory_limit)


COUNT_LIMIT_BYTES = 2 * 1024**3  # counting lines reads the file: beyond this the count is estimated


def row_count(info: DataFileInfo) -> tuple[int, bool]:
    """(rows, exact): known from the inspection, counted for a text file up to 2 GiB, else estimated."""
    if info.n_rows is not None:
        return info.n_rows, True
    if info.format in ("csv", "tsv", "jsonl") and info.compression is None and info.size_bytes <= COUNT_LIMIT_BYTES:
        from autorun.analyst.reading import count_lines

        try:
            return max(count_lines(str(info.path)) - info.skiprows - (0 if info.format == "jsonl" else 1), 0), True
        except OSError:
            pass
    head, _ = _read_head(info.path)
    per_row = max(len(head) / max(head.count(b"\n"), 1), 1.0)  # a compressed text about five times its size
    return int(info.size_bytes * (5 if info.compression else 1) / per_row), False
