"""Pure helpers that read a text sample: encoding, delimiter, number format, whole records.

They look at the first bytes of a file only and never import pandas.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any

DELIMITERS = (",", ";", "\t", "|")
_COMMA_DECIMAL_RE = re.compile(r"^-?(\d{1,3}(\.\d{3})+|\d+),\d+$")
_DOT_DECIMAL_RE = re.compile(r"^-?\d+\.\d+$")
_THOUSANDS_DOT_RE = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")
_DOTTED_DATE_RE = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{2,4}$")


def sniff_encoding(head: bytes, truncated: bool) -> str | None:
    """utf-8, utf-8-sig (BOM), utf-16 (BOM), cp1252 or latin-1; None for binary content (NUL bytes)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if truncated and exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    if re.search(rb"[\x80-\x9f]", head):
        try:
            head.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    return "latin-1"


def parse_rows(text: str, delimiter: str, limit: int = 200) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:
        pass
    return rows


def table_start(rows: list[list[str]]) -> int:
    """The index of the header: the first row (of the first 20) that at least 90% of the rows after it match in width.

    Rows before it are a preamble (a title, an export date) that is not part of the table.
    """
    for start in range(min(20, max(len(rows) - 1, 0))):
        width = len(rows[start])
        rest = rows[start + 1 :]
        if width >= 2 and rest and sum(1 for r in rest if len(r) == width) >= 0.9 * len(rest):
            return start
    return 0


def _delimiter_score(text: str, delimiter: str) -> tuple[bool, int]:
    """(at least 90% of rows after the header as wide as it, header width); width 1 scores nothing."""
    rows = parse_rows(text, delimiter)
    rows = rows[table_start(rows) :]
    if not rows or len(rows[0]) < 2:
        return (False, 0)
    width = len(rows[0])
    same = sum(1 for r in rows if len(r) == width)
    return (same >= 0.9 * len(rows), width)


def header_line(text: str, delimiter: str) -> int:
    """How many physical lines come before the header (0 without a preamble)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    starts: list[int] = []
    rows: list[list[str]] = []
    line = 0
    try:
        for row in reader:
            if row:
                starts.append(line)
                rows.append(row)
            line = reader.line_num
            if len(rows) >= 200:
                break
    except csv.Error:
        pass
    start = table_start(rows)
    return starts[start] if start < len(starts) else 0


def sniff_delimiter(text: str, suffix: str) -> str:
    """csv.Sniffer's answer when the rows agree with it, else the most consistent candidate."""
    scores = {d: _delimiter_score(text, d) for d in DELIMITERS}
    if suffix in (".tsv", ".tab") and scores["\t"][0]:
        return "\t"
    try:
        sniffed = csv.Sniffer().sniff(text[:16384], delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in scores and scores[sniffed][0]:
        return sniffed
    best = max(DELIMITERS, key=lambda d: scores[d])
    if scores[best][1] >= 2:
        return best
    return "\t" if suffix in (".tsv", ".tab") else ","


@dataclass(frozen=True)
class NumberFormat:
    decimal: str = "."
    thousands: str | None = None
    text_columns: tuple[str, ...] = ()  # read as text so the thousands separator leaves them alone


def sniff_number_format(text: str, delimiter: str) -> NumberFormat:
    """A decimal comma (1.234,56 or 12,5) is only considered when the delimiter is not a comma."""
    if delimiter == ",":
        return NumberFormat()
    rows = parse_rows(text, delimiter)
    fields = [f.strip() for row in rows[1:] for f in row]
    comma = sum(1 for f in fields if _COMMA_DECIMAL_RE.match(f))
    dot = sum(1 for f in fields if _DOT_DECIMAL_RE.match(f))
    if comma == 0 or comma < dot:
        return NumberFormat()
    if not any(_THOUSANDS_DOT_RE.match(f) for f in fields):
        return NumberFormat(decimal=",")
    header = rows[0]
    dotted = [
        name
        for i, name in enumerate(header)
        if any(len(row) > i and _DOTTED_DATE_RE.match(row[i].strip()) for row in rows[1:])
    ]
    return NumberFormat(decimal=",", thousands=".", text_columns=tuple(dotted))


def complete_rows(text: str, delimiter: str, truncated: bool, max_rows: int) -> str:
    """The header and at most ``max_rows`` records, without a last record the byte cut may have split."""
    lines = io.StringIO(text).readlines()
    reader = csv.reader(iter(lines), delimiter=delimiter)
    ends: list[int] = []
    try:
        for _ in reader:
            ends.append(reader.line_num)
            if len(ends) > max_rows + 1:
                break
    except csv.Error:
        pass
    if truncated and len(ends) > 2:
        ends.pop()
    return "".join(lines[: ends[-1]]) if ends else text


def is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def jsonl_records(lines: list[str], limit: int) -> list[dict[str, Any]]:
    """Parse JSON Lines; ValueError names the first line that is not a JSON object."""
    records = []
    for number, line in enumerate(lines[:limit], start=1):
        try:
            record = json.loads(line)
        except ValueError:
            raise ValueError(f"line {number} is not valid JSON") from None
        if not isinstance(record, dict):
            raise ValueError(f"line {number} is not a JSON object")
        records.append(record)
    return records


def json_array_head(text: str, limit: int) -> list[Any]:
    """The complete items at the start of a (possibly cut) JSON array."""
    decoder = json.JSONDecoder()
    items: list[Any] = []
    pos = 1
    while len(items) < limit:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except ValueError:
            break
        items.append(item)
    return items
