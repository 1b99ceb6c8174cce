"""The data description an LLM gets in its system prompt: format, how to read it, column roles, preview."""

from __future__ import annotations

from typing import Any

from autorun.analyst.kinds import SAMPLE_ROWS
from autorun.units import human_size

# ``info`` below is an autorun.datafile.DataFileInfo; this module sits below datafile, so it is typed Any.
READERS = {
    "csv": "read_csv",
    "tsv": "read_csv",
    "json": "read_json",
    "jsonl": "read_json",
    "parquet": "read_parquet",
    "excel": "read_excel",
}


WRITTEN_AS = {"percent": "percentages like 12.5%", "money": "money like $1,234"}


def read_kwargs(info: Any) -> dict[str, Any]:
    """The keyword arguments the pandas reader needs for this file (besides its path)."""
    if info.format in ("csv", "tsv"):
        kwargs: dict[str, Any] = {"sep": info.delimiter, "encoding": info.encoding}
        if info.skiprows:
            kwargs["skiprows"] = info.skiprows
        if info.decimal != ".":
            kwargs["decimal"] = info.decimal
        if info.thousands:
            kwargs["thousands"] = info.thousands
        if info.text_columns:
            kwargs["dtype"] = {name: "str" for name in info.text_columns}
        return kwargs
    if info.format == "jsonl":
        return {"lines": True}
    if info.format == "excel" and info.sheet is not None and len(info.sheets) > 1:
        return {"sheet_name": info.sheet}
    return {}


def read_code(info: Any, path_as_seen: str, overrides: dict[str, Any] | None = None) -> str:
    """A pandas expression that loads the file, e.g. ``pd.read_csv('/data/x.csv', sep=';')``."""
    kwargs = {**read_kwargs(info), **(overrides or {})}
    args = [repr(path_as_seen)] + [f"{key}={value!r}" for key, value in kwargs.items() if value is not None]
    return f"pd.{READERS[info.format]}({', '.join(args)})"


ROLE_ADVICE = {
    "identifier": "identifier: never sum or average",
    "category": "category: group by it",
    "flag": "flag: report shares",
    "date": "date/time: group by period",
    "coordinate": "coordinate: never sum or average",
    "text": "free text",
    "additive": "additive measure: sums are meaningful",
    "measure": "non-additive measure: use means/medians, never sums",
    "constant": "constant: one value only",
    "empty": "empty: no values",
}


def _fits_line(info: Any, rows: int | None, memory_limit: int | None, path: str) -> str | None:
    """Whether pandas can hold the whole file within the memory limit, and DuckDB when it cannot."""
    if not memory_limit or rows is None or not info.memory_per_row:
        return None
    needed = int(rows * info.memory_per_row)
    limit = human_size(memory_limit)
    if needed <= PANDAS_SHARE * memory_limit:
        about = human_size(needed)
        return f"Memory: loaded whole with pandas it takes about {about}, which fits the {limit} memory limit."
    source = f"read_csv({path!r})" if info.format in ("csv", "tsv") else repr(path)
    return (
        f"Memory: loaded whole with pandas it takes about {human_size(needed)}, too much for the {limit} memory "
        f"limit: do not pd.read_csv it whole. Query it with DuckDB SQL (import duckdb; "
        f'duckdb.sql("SELECT region, sum(amount) FROM {source} GROUP BY ALL").df()), '
        "or read only the columns you need (usecols=) in chunks (chunksize=)."
    )


def reading_notes(info: Any) -> list[str]:
    """What a reader of the file must know beyond the reader call: sheets, preamble, text numbers, nesting."""
    notes = []
    if info.compression:
        notes.append(f"The file is {info.compression}-compressed; pandas reads it directly (from the extension).")
    if info.skiprows:
        notes.append(f"The first {info.skiprows} lines are a preamble before the header (skiprows={info.skiprows}).")
    if len(info.sheets) > 1:
        sheets = ", ".join(
            f"{name} ({rows:,}{'+' if rows >= SAMPLE_ROWS else ''} rows)" for name, rows, _ in info.sheets
        )
        notes.append(f"Workbook sheets: {sheets}; the data is in sheet {info.sheet!r}.")
    if info.flattened:
        names = ", ".join(info.flattened)
        notes.append(f"Nested JSON objects in {names}: flatten them with pd.json_normalize (fields become a.b).")
    for column, unit in info.converted.items():
        how = WRITTEN_AS.get(unit, "text like 1,234 or (1,234)")
        notes.append(f"Column {column!r} holds numbers written as {how}: convert it before computing.")
    return notes


PANDAS_SHARE = 0.5  # of the memory limit a whole frame may take: operations on it need as much again


def describe(
    info: Any,
    path_as_seen: str,
    max_columns: int = 60,
    rows: tuple[int, bool] | None = None,
    memory_limit: int | None = None,
) -> str:
    """A short schema, column roles and preview of the file for an LLM's system prompt.

    ``rows``: (row count, exact) when known; ``memory_limit``: the executor's, to say whether
    pandas can hold the file, and how to read it with DuckDB when it cannot.
    """
    details = [info.format.upper(), f"{human_size(info.size_bytes)} on disk"]
    if info.delimiter is not None:
        details += [f"delimiter {info.delimiter!r}", f"decimal {info.decimal!r}", f"encoding {info.encoding}"]
    if rows is not None:
        count = f"{rows[0]:,} rows" if rows[1] else f"about {rows[0]:,} rows (estimated)"
    else:
        count = f"{info.n_rows:,} rows" if info.n_rows is not None else f"more than {info.sample_rows:,} rows"
    fits = _fits_line(info, rows[0] if rows else info.n_rows, memory_limit, path_as_seen)
    lines = [
        f"Data file: {path_as_seen}",
        f"Format: {', '.join(details)}; {count}, {info.n_columns} columns",
        *([fits] if fits else []),
        f"Load it with: {read_code(info, path_as_seen)}",
        *reading_notes(info),
        "Columns (kind, role guessed from a sample, and why):",
    ]
    for name in info.columns[:max_columns]:
        role = info.role_of(name)
        advice = f"; {ROLE_ADVICE[role['role']]} ({role['why']})" if role else ""
        lines.append(f"- {name}: {info.dtypes[name]}{advice}")
    if info.n_columns > max_columns:
        lines.append(f"- ... and {info.n_columns - max_columns} more columns")
    lines += ["First rows:", info.preview]
    return "\n".join(lines)
