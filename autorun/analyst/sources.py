"""Read a data file into DuckDB's table ``data``, as faithfully as pandas would, and say how.

DuckDB reads CSV/TSV (plain, gzip or zstd; utf-8, utf-16 or latin-1), JSON, JSON Lines and
Parquet itself; a text file in another compression or encoding is first decompressed and
re-encoded to a plain utf-8 copy under ``.autorun/cache`` (streamed, so memory stays flat).
Workbooks go through pandas (DuckDB has no reader for them). Rows DuckDB cannot parse are
counted with examples, never dropped silently; a value that cannot be cast past DuckDB's type
sample makes its column text, read again; numbers written as text ("$12,500", "(1,200)",
"12.5%") become numbers when nearly all values are such numbers; dates with time-zone offsets
keep their local wall time; nested JSON objects become one column per field ("user.country").
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from typing import Any

from autorun.analyst.engine import CACHE_DIR, TABLE, literal, quote, safe_dir

NATIVE_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16": "utf-16", "latin-1": "latin-1"}
COPIED_COMPRESSIONS = (".bz2", ".xz", ".zip")
TZ_OFFSET_RE = r"\s*(Z|UTC|[+-]\d\d:?\d\d)$"
NUMBER_TEXT_RE = (
    r"^(?P<cur0>[$€£¥])?\s*(?P<open>\()?\s*(?P<sign>[-+])?\s*(?P<cur>[$€£¥])?\s*(?P<sign2>[-+])?\s*"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)\s*(?P<cur2>[$€£¥])?\s*(?P<pct>%)?\s*(?P<close>\))?$"
)
CONVERT_SHARE = 0.95
MAX_EXAMPLES = 3


def build_table(con: Any, path: str, fmt: str, read: dict[str, Any]) -> dict[str, Any]:
    """Read ``path`` into table ``data`` of ``con``; the notes of how it was read (see the module docstring)."""
    notes: dict[str, Any] = {"engine": "duckdb", "bad_rows": 0, "bad_examples": [], "converted": {}, "flattened": []}
    notes["skiprows"] = int(read.get("skiprows") or 0)
    if fmt in ("csv", "tsv"):
        _read_delimited(con, path, read, notes)
    elif fmt in ("json", "jsonl"):
        _read_json(con, path, fmt, read, notes)
    elif fmt == "parquet":
        con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM read_parquet({literal(path)})")
    else:
        _read_with_pandas(con, path, fmt, read, notes)
    notes["converted"] = convert_number_text(con)
    return notes


def _read_delimited(con: Any, path: str, read: dict[str, Any], notes: dict[str, Any]) -> None:
    encoding = str(read.get("encoding") or "utf-8").lower()
    lowered = path.lower()
    copy = None
    if encoding not in NATIVE_ENCODINGS or lowered.endswith(COPIED_COMPRESSIONS):
        copy = _plain_copy(path, encoding)
        path, encoding = copy, "utf-8"
        notes["engine"] = "duckdb (from a decompressed utf-8 copy)"
    try:
        text_columns = set(read.get("text_columns") or ())
        zoned: list[str] = []  # read as text, then as the local time they name
        columns: list[str] = []
        for _attempt in range(4):
            source = _csv_call(path, read, NATIVE_ENCODINGS[encoding], text_columns | set(zoned))
            select = ", ".join(_local_time(c) if c in zoned else quote(c) for c in columns) if zoned else "*"
            con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS SELECT {select} FROM {source}")
            cast_failed = _rejects(con, notes)
            described = con.execute(f"DESCRIBE {TABLE}").fetchall()
            columns = [str(r[0]) for r in described]
            offsets = [str(r[0]) for r in described if "TIME ZONE" in str(r[1])]
            if offsets:  # rare: read once more with those columns as text
                zoned += offsets
                continue
            if zoned:
                notes["local_time"] = zoned
            if not cast_failed - text_columns - set(zoned):
                return
            text_columns |= cast_failed  # a value past DuckDB's type sample: read the column as text
        raise ValueError("the file's column types could not be settled")
    finally:
        if copy is not None:
            with contextlib.suppress(OSError):
                os.unlink(copy)


def _csv_call(path: str, read: dict[str, Any], encoding: str, text_columns: set[str]) -> str:
    options = ["header = true", "ignore_errors = true", "store_rejects = true", f"encoding = {literal(encoding)}"]
    if read.get("sep"):
        options.append(f"delim = {literal(read['sep'])}")
    if read.get("skiprows"):
        options.append(f"skip = {int(read['skiprows'])}")
    if read.get("decimal", ".") != ".":
        options.append(f"decimal_separator = {literal(read['decimal'])}")
    if read.get("thousands"):
        options.append(f"thousands = {literal(read['thousands'])}")
    if read.get("names"):
        options.append(f"names = [{', '.join(literal(n) for n in read['names'])}]")
    if text_columns:
        types = ", ".join(f"{literal(c)}: 'VARCHAR'" for c in sorted(text_columns))
        options.append(f"types = {{{types}}}")
    return f"read_csv({literal(path)}, {', '.join(options)})"


def _local_time(column: str) -> str:
    """A timestamp written with an offset, as the local time it names (the offset dropped)."""
    text = f"regexp_replace(trim({quote(column)}), {literal(TZ_OFFSET_RE)}, '')"
    return f"try_cast({text} AS TIMESTAMP) AS {quote(column)}"


def _rejects(con: Any, notes: dict[str, Any]) -> set[str]:
    """Count the rows DuckDB could not parse (with examples); the columns whose values failed a cast."""
    found = con.execute("SELECT error_type, line, csv_line, column_name FROM reject_errors ORDER BY line").fetchall()
    con.execute("DELETE FROM reject_errors")
    wrong = ("INVALID UNICODE", "INVALID ENCODING")
    if any(str(kind) in wrong for kind, *_ in found):
        line = next(line for kind, line, *_ in found if str(kind) in wrong)
        raise UnicodeError(f"Invalid unicode at line {line}: the file is not in the encoding it was read with")
    cast = {str(column) for kind, _, _, column in found if str(kind) == "CAST" and column is not None}
    bad = {line: text for kind, line, text, _ in found if str(kind) != "CAST"}
    notes["bad_rows"] = len(bad)
    notes["bad_examples"] = [str(text)[:80] for text in list(bad.values())[:MAX_EXAMPLES]]
    return cast


def _plain_copy(path: str, encoding: str) -> str:
    """The file decompressed (by its extension) and re-encoded to utf-8, streamed into the cache directory."""
    import codecs

    from autorun.analyst.reading import open_decompressed

    target = os.path.join(safe_dir(CACHE_DIR), f"plain-{uuid.uuid4().hex}.csv")
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with open_decompressed(path) as source, os.fdopen(os.open(target, flags, 0o600), "wb") as out:
        while True:
            chunk = source.read(1 << 20)
            if not chunk:
                break
            out.write(decoder.decode(chunk).encode("utf-8"))
        out.write(decoder.decode(b"", final=True).encode("utf-8"))
    return target


def _read_json(con: Any, path: str, fmt: str, read: dict[str, Any], notes: dict[str, Any]) -> None:
    lines = fmt == "jsonl" or bool(read.get("lines"))
    layout = "newline_delimited" if lines else "auto"
    try:
        con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM read_json({literal(path)}, format = {literal(layout)})")
    except Exception:  # JSON of columns rather than records, values DuckDB cannot type alike: pandas reads it
        _read_with_pandas(con, path, "jsonl" if lines else "json", read, notes)
        return
    described = con.execute(f"DESCRIBE {TABLE}").fetchall()
    fields: list[str] = []
    for name, kind, *_ in described:
        if str(kind).startswith("STRUCT("):
            notes["flattened"].append(str(name))
            fields += _struct_fields(con, [str(name)])
        else:
            fields.append(quote(name))
    if notes["flattened"]:
        con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS SELECT {', '.join(fields)} FROM {TABLE}")


def _struct_fields(con: Any, trail: list[str]) -> list[str]:
    """'"user"."address"."country" AS "user.address.country"' for each leaf field of a struct column."""
    access = ".".join(quote(part) for part in trail)
    kinds = con.execute(f"SELECT * FROM (DESCRIBE SELECT unnest({access}) FROM {TABLE})").fetchall()
    fields = []
    for name, kind, *_ in kinds:
        if str(kind).startswith("STRUCT("):
            fields += _struct_fields(con, [*trail, str(name)])
        else:
            fields.append(f"{access}.{quote(name)} AS {quote('.'.join([*trail, str(name)]))}")
    return fields


def _read_with_pandas(con: Any, path: str, fmt: str, read: dict[str, Any], notes: dict[str, Any]) -> None:
    from autorun.analyst.reading import load_table

    options = {"sheet": read.get("sheet"), "engine": read.get("engine")}
    frame, found = load_table(path, fmt, {k: v for k, v in options.items() if v is not None})
    for key in ("sheets", "sheet", "sheet_by", "flattened"):
        if found.get(key):
            notes[key] = found[key]
    notes["engine"] = "pandas" if fmt != "excel" else f"pandas ({read.get('engine') or 'openpyxl'})"
    con.register("autorun_frame", frame)
    con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM autorun_frame")
    con.unregister("autorun_frame")


def convert_number_text(con: Any) -> dict[str, str]:
    """Convert text columns of numbers written with $, thousands separators, % or (1,234) negatives.

    A column qualifies when at least 95% of its first 1,000 and of all its non-empty values are
    such numbers; the rest (words like "unknown") become missing and are counted. Plain digits
    (zip codes read as text) are left alone. Returns {column: "money" | "percent" | "number"
    and the count of values left missing}.
    """
    pattern = literal(NUMBER_TEXT_RE)
    converted = {}
    for name, kind, *_ in con.execute(f"DESCRIBE {TABLE}").fetchall():
        if str(kind) != "VARCHAR":
            continue
        column = quote(name)
        text = f"trim({column})"
        head = con.execute(
            f"SELECT avg(regexp_full_match(v, {pattern})::INTEGER) FROM "
            f"(SELECT {text} AS v FROM {TABLE} WHERE {column} IS NOT NULL AND {text} <> '' LIMIT 1000)"
        ).fetchone()[0]
        if head is None or head < CONVERT_SHARE:
            continue
        matched = f"regexp_full_match({text}, {pattern})"

        def part(group: int, text: str = text) -> str:
            return f"regexp_extract({text}, {pattern}, {group})"

        money = f"({part(1)} <> '' OR {part(4)} <> '' OR {part(7)} <> '')"
        marked = f"({money} OR {part(8)} <> '' OR {part(2)} <> '' OR contains({part(6)}, ','))"
        values, matches, marks, pct, cash = con.execute(
            f"SELECT count(*), count(*) FILTER ({matched}), count(*) FILTER ({matched} AND {marked}), "
            f"count(*) FILTER ({part(8)} <> ''), count(*) FILTER ({money}) "
            f"FROM {TABLE} WHERE {column} IS NOT NULL AND {text} <> ''"
        ).fetchone()
        junk = values - matches
        if not values or matches < CONVERT_SHARE * values or (not marks and not junk):
            continue
        negative = f"({part(3)} = '-' OR {part(5)} = '-' OR ({part(2)} <> '' AND {part(9)} <> ''))"
        number = f"CAST(replace({part(6)}, ',', '') AS DOUBLE)"
        value = f"CASE WHEN {matched} THEN (CASE WHEN {negative} THEN -1 ELSE 1 END) * {number} END"
        con.execute(f"ALTER TABLE {TABLE} ALTER {column} SET DATA TYPE DOUBLE USING ({value})")
        what = "percent" if pct >= 0.5 * matches else "money" if cash else "number"
        converted[str(name)] = what + (f"; {junk:,} values that are not numbers left missing" if junk else "")
    return converted


def date_format_guess(values: list[str], dayfirst: bool) -> str | None:
    """A strptime format that parses at least 80% of ``values`` (dates written as text), or None."""
    candidates = ["%Y-%m-%d", "%Y/%m/%d", "%Y-%m", "%Y.%m.%d"]
    first = ["%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%y"]
    second = ["%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y"]
    candidates += first + second if dayfirst else second + first
    candidates += ["%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%b %d %Y", "%d %b %y"]
    import datetime

    sample = [re.sub(r"[ T]\d{1,2}:\d{2}.*$", "", v.strip()) for v in values if v and v.strip()][:200]
    for pattern in candidates:
        parsed = 0
        for value in sample:
            with contextlib.suppress(ValueError):
                datetime.datetime.strptime(value, pattern)
                parsed += 1
        if sample and parsed >= 0.8 * len(sample):
            return pattern
    return None
