"""How the builtin's steps show and hand on their figures: one number format, tables, published facts.

Runs inside the executor and in autorun's process (the summary formats numbers the same way).
Each step prints tables for the reader and publishes the same figures (``publish``) for the
summary, which quotes them: what the summary says is what the tables show.
"""

from __future__ import annotations

from typing import Any

from autorun.published import plain, published_line

__all__ = ["AGG_WORDS", "MISSING", "fmt", "label", "plain", "publish", "show"]

MISSING = "(missing)"  # the group of rows with no value
AGG_WORDS = {"sum": "total", "mean": "mean", "median": "median", "count": "rows"}


def fmt(value: Any) -> str:
    """One number format for tables and summary alike: 73,300 · 4,584 · 3.73 · 0.123."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if value != value:
        return "-"
    if value.is_integer() or abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def publish(step: str, data: dict[str, Any]) -> None:
    """Hand a step's figures to the builtin's summary: one published line, taken out of the shown output."""
    print(published_line({"step": step, "data": data}), end="", flush=True)


def show(table: Any, index: bool = True) -> None:
    """Print a table with every number in ``fmt``'s format; in a kernel it is displayed with its HTML
    form too (the same text in the output; a report shows the table)."""
    import builtins

    import pandas as pd

    shown = table.copy()
    for name in shown.columns:
        if pd.api.types.is_numeric_dtype(shown[name]) and not pd.api.types.is_bool_dtype(shown[name]):
            shown[name] = shown[name].map(fmt)
    text = shown.to_string(index=index, max_colwidth=40)
    if getattr(builtins, "get_ipython", None) is None:
        print(text)
        return
    from IPython.display import display

    display({"text/plain": text, "text/html": shown.to_html(index=index, max_cols=40)}, raw=True)


def label(key: Any) -> str:
    return MISSING if key is None or key != key else str(key)
