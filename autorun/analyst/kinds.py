"""Column kinds of an inspected sample (numeric, text, date) and its preview, for the data description."""

from __future__ import annotations

import re
import warnings
from typing import Any

SAMPLE_ROWS = 1000  # rows of a file's head that inspection reads
LOW_CARDINALITY_MAX = 20
# What date text looks like (ISO, day or month first, month names): kinds and roles both judge by it.
DATE_RE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}([-/.]\d{1,2})?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})([ T]\d{1,2}:\d{2}.*)?\s*$"
    r"|^\s*\d{1,2}[ -]?[A-Za-z]{3,9}[ -,]+\d{2,4}\s*$|^\s*[A-Za-z]{3,9}[ .-]\d{1,2},? \d{4}\s*$"
)
DAY_FIRST_RE = re.compile(r"^\s*(\d{1,2})[./-](\d{1,2})[./-]\d{2,4}")


def few_values(series: Any) -> bool:
    try:
        distinct = series.nunique(dropna=True)
    except TypeError:  # unhashable cells (nested JSON)
        return False
    return 1 <= distinct <= LOW_CARDINALITY_MAX and distinct < max(len(series) / 2, 2)


def classify(df: Any) -> tuple[dict[str, str], bool]:
    import pandas as pd

    kinds: dict[str, str] = {}
    dayfirst = False
    for name in df.columns:
        series = df[name]
        if pd.api.types.is_bool_dtype(series):
            kinds[name] = "text"
        elif pd.api.types.is_numeric_dtype(series):
            kinds[name] = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(series):
            kinds[name] = "date"
        else:
            is_date, first = date_like(series)
            kinds[name] = "date" if is_date else "text"
            dayfirst = dayfirst or first
    return kinds, dayfirst


def date_like(series: Any) -> tuple[bool, bool]:
    """(is a date column, written day first) judged on up to 200 non-empty text values."""
    import pandas as pd

    values = [v for v in series.dropna().head(200).tolist() if isinstance(v, str) and v.strip()]
    if not values or sum(1 for v in values if DATE_RE.match(v)) < 0.8 * len(values):
        return False, False
    parts = [m.groups() for m in map(DAY_FIRST_RE.match, values) if m]
    dayfirst = any(int(a) > 12 for a, _ in parts) and not any(int(b) > 12 for _, b in parts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(pd.Series(values), errors="coerce", dayfirst=dayfirst, utc=True)
        except (ValueError, TypeError, OverflowError):
            return False, False
    return bool(parsed.notna().mean() >= 0.8), dayfirst


def preview(df: Any, rows: int = 5, max_cols: int = 12) -> str:
    text = df.head(rows).to_string(index=False, max_cols=max_cols, max_colwidth=30)
    return "\n".join(line[:200] for line in text.splitlines())
