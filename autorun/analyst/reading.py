"""Read what a data file holds into one pandas DataFrame, and say how it was read.

Runs inside the executor (the builtin analyst's blocks carry this source inline) and in
autorun's process for the inspected sample, so: stdlib imports at the top, pandas inside
the functions, no ``from __future__``, and code that runs on pandas 1.5 and 3.x.

``load_table`` returns the frame and a ``notes`` dict: rows that could not be parsed
(counted, never silently dropped), the workbook's sheets and the one read, nested JSON
fields that became columns, columns of numbers written as text that were converted, and
whether only the first rows were read.
"""

import os
from typing import Any

NUMBER_TEXT_RE = (
    r"^(?P<cur0>[$€£¥])?\s*(?P<open>\()?\s*(?P<sign>[-+])?\s*(?P<cur>[$€£¥])?\s*(?P<sign2>[-+])?\s*"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)\s*(?P<cur2>[$€£¥])?\s*(?P<pct>%)?\s*(?P<close>\))?$"
)
CONVERT_SHARE = 0.95


def load_table(path: str, fmt: str, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    """(frame, notes) for a csv | tsv | json | jsonl | parquet | excel file; see the module docstring."""
    import pandas as pd

    options = dict(options or {})
    nrows = options.pop("nrows", None)
    notes = {"bad_rows": 0, "bad_examples": [], "converted": {}, "flattened": [], "subset": nrows}
    if fmt in ("csv", "tsv"):
        df = _read_delimited(path, options, nrows, notes)
    elif fmt in ("json", "jsonl"):
        lines = {"lines": True, "nrows": nrows} if fmt == "jsonl" and nrows else {"lines": fmt == "jsonl"}
        df = pd.read_json(path, **lines)
        df = flatten_nested(df, notes)
    elif fmt == "excel":
        df = _read_workbook(path, options.get("sheet"), notes, options.get("engine"))
    else:
        df = pd.read_parquet(path, engine=options.get("engine", "auto"))
    if nrows and len(df) > nrows:
        df = df.head(nrows)
    df.columns = [str(c) for c in df.columns]
    notes["converted"] = convert_number_text(df)
    return df, notes


def _read_delimited(path: str, options: dict[str, Any], nrows: int | None, notes: dict[str, Any]) -> Any:
    import pandas as pd

    kwargs = dict(options.get("csv", {}))
    notes["skiprows"] = kwargs.get("skiprows", 0)
    if nrows:
        kwargs["nrows"] = nrows
    try:
        return pd.read_csv(path, **kwargs)
    except pd.errors.ParserError:
        pass

    def skip(fields: list[str]) -> None:  # the python engine hands over each row it cannot fit to the header
        notes["bad_rows"] += 1
        if len(notes["bad_examples"]) < 3:
            notes["bad_examples"].append(",".join(str(f) for f in fields)[:80])
        return None

    kwargs.pop("low_memory", None)
    return pd.read_csv(path, engine="python", on_bad_lines=skip, **kwargs)


def _read_workbook(path: str, sheet: str | None, notes: dict[str, Any], engine: str | None = None) -> Any:
    import pandas as pd

    frames = {str(name): frame for name, frame in pd.read_excel(path, sheet_name=None, engine=engine).items()}
    notes["sheets"] = [[name, int(frame.shape[0]), int(frame.shape[1])] for name, frame in frames.items()]
    chosen = str(sheet) if sheet is not None else largest_sheet(notes["sheets"])
    notes["sheet"] = chosen
    notes["sheet_by"] = "the largest table" if chosen == largest_sheet(notes["sheets"]) else "chosen with --sheet"
    return frames[chosen]


def largest_sheet(sheets: list[list[Any]]) -> str:
    """The name of the sheet with the largest table: most rows, then most columns, then the first."""
    best = max(sheets, key=lambda s: (s[1], s[2], -sheets.index(s)))
    return best[0]


def flatten_nested(df: Any, notes: dict[str, Any] | None = None) -> Any:
    """Columns holding JSON objects become one column per nested field ("user.country")."""
    import pandas as pd

    for name in list(df.columns):
        column = df[name]
        if column.dtype != object or not column.map(lambda v: isinstance(v, dict)).any():
            continue
        records = [v if isinstance(v, dict) else {} for v in column.tolist()]
        nested = pd.json_normalize(records)
        nested.columns = [f"{name}.{c}" for c in nested.columns]
        nested.index = df.index
        position = list(df.columns).index(name)
        df = pd.concat([df.iloc[:, :position], nested, df.iloc[:, position + 1 :]], axis=1)
        if notes is not None:
            notes["flattened"].append(str(name))
    return df


def convert_number_text(df: Any) -> dict[str, str]:
    """Convert text columns of numbers written with $, thousands separators, % or (1,234) negatives.

    A column qualifies when at least 95% of its values are such numbers; the rest (words like
    "unknown") become missing and are counted. Changes ``df`` in place; returns {column: what it
    was written as: "money" | "percent" | "number", plus the count of values left missing}.
    """
    converted = {}
    for name in df.columns:
        column = df[name]
        if column.dtype != object and str(column.dtype) not in ("string", "str"):
            continue
        head = column.dropna().head(1000).astype(str).str.strip()
        if head.empty or not head.str.match(NUMBER_TEXT_RE).mean() >= CONVERT_SHARE:
            continue  # decided on the first 1,000 values before the whole column is looked at
        text = column.dropna().astype(str).str.strip()
        text = text[text != ""]
        matches = text.str.match(NUMBER_TEXT_RE)
        if text.empty or not matches.mean() >= CONVERT_SHARE:
            continue
        junk = int((~matches.astype(bool)).sum())
        parts = column.astype(str).str.strip().str.extract(NUMBER_TEXT_RE)
        money = parts["cur0"].notna() | parts["cur"].notna() | parts["cur2"].notna()
        marked = money | parts["pct"].notna() | parts["open"].notna()
        marked = marked | parts["num"].str.contains(",", regex=False).fillna(False).astype(bool)
        if not marked.any() and not junk:
            continue
        df[name] = _to_numbers(parts)
        kind = "percent" if parts["pct"].notna().mean() >= 0.5 else "money" if money.any() else "number"
        converted[str(name)] = kind + (f"; {junk:,} values that are not numbers left missing" if junk else "")
    return converted


def _to_numbers(parts: Any) -> Any:
    import pandas as pd

    values = pd.to_numeric(parts["num"].str.replace(",", "", regex=False), errors="coerce")
    negative = (parts["sign"] == "-") | (parts["sign2"] == "-") | (parts["open"].notna() & parts["close"].notna())
    return values.where(~negative.fillna(False).astype(bool), -values)


def count_lines(path: str) -> int:
    """Line breaks in the (decompressed) file: the cheap way to know a text file's true size."""
    total, last = 0, b"\n"
    with open_decompressed(path) as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            total += chunk.count(b"\n")
            last = chunk[-1:]
    return total + (0 if last == b"\n" else 1)


def open_decompressed(path: str | os.PathLike[str]) -> Any:
    """A binary file object of the file's content, decompressed as pandas would by its extension."""
    import bz2
    import gzip
    import lzma
    import zipfile

    name = str(path).lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    if name.endswith(".xz"):
        return lzma.open(path, "rb")
    if name.endswith(".zip"):
        archive = zipfile.ZipFile(path)
        return archive.open(archive.namelist()[0])
    if name.endswith(".zst"):
        import zstandard

        return zstandard.open(path, "rb")
    return open(path, "rb")
