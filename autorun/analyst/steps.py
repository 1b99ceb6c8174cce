"""The builtin analyst's steps, as its blocks call them: plain calls with literal arguments.

A block imports this module from autorun's own package, read-only where the code runs, so its
first act is to take the work dir off ``sys.path``: nothing a block may have left there (a
``matplotlib/`` or ``json.py``) can shadow a module the steps import. Each step prints its
tables and publishes the same figures for the summary (``report.publish``).
"""

from __future__ import annotations

import os
import sys


def _isolate() -> None:
    """Drop the work dir ('' in a kernel, the script's directory in a process) from the import path."""
    here = os.path.realpath(os.getcwd())
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and os.path.realpath(p) != here]


_isolate()

from typing import Any  # noqa: E402

from autorun.analyst.charts import import_meanwhile  # noqa: E402
from autorun.analyst.engine import Data, describe, duckdb_memory, open_cached, quote  # noqa: E402
from autorun.analyst.figures import groups_step, measures_step  # noqa: E402
from autorun.analyst.periods import trend_step  # noqa: E402
from autorun.analyst.report import fmt as figure  # noqa: E402
from autorun.analyst.report import publish, show  # noqa: E402
from autorun.analyst.roles import infer_roles  # noqa: E402
from autorun.analyst.shapes import entity_column, melt, split_period, trend_date  # noqa: E402
from autorun.analyst.sources import build_table  # noqa: E402
from autorun.analyst.sqlstats import EXACT_DISTINCT_MAX, duplicate_rows, profiles  # noqa: E402

__all__ = ["groups_step", "load_step", "measures_step", "open_data", "trend_step"]
MOSTLY_MISSING = 0.9
SAMPLE_ROWS = 1000


def open_data(
    path: str, fmt: str, read: dict[str, Any] | None = None, *, memory_limit: int | None = None, cache: str = "auto"
) -> Data:
    """The whole file as DuckDB table ``data`` (read once: a cache serves later blocks), reshaped as analysed."""
    import warnings

    warnings.simplefilter("ignore")  # pandas' notes about dtypes are not findings
    read = dict(read or {})
    con, notes = open_cached(path, fmt, read, lambda c: build_table(c, path, fmt, read), memory_limit, cache)
    rows, columns, types = describe(con)
    data = Data(con, rows, columns, types, notes, memory=duckdb_memory(memory_limit))
    shape = melt(data)
    if shape:
        data.notes["shape"] = shape
    return data


def load_step(
    path: str,
    fmt: str,
    read: dict[str, Any] | None = None,
    *,
    memory_limit: int | None = None,
    cache: str = "auto",
    charts: bool = False,
) -> Data:
    """Read the whole file, work out each column's role on all of it, report data quality; the data, for later steps.

    ``charts``: start importing matplotlib meanwhile (later steps in the same kernel draw charts).
    """
    import_meanwhile(charts=charts)
    data = open_data(path, fmt, read, memory_limit=memory_limit, cache=cache)
    notes = data.notes
    _say_how_read(data)
    sample = data.frame(f"SELECT * FROM {data.table} LIMIT {SAMPLE_ROWS}")
    found = profiles(data, sample)
    units = {k: v.split(";")[0] for k, v in notes.get("converted", {}).items()}
    roles = infer_roles(sample, units, found)
    import pandas as pd

    for role in roles:
        if found[role["column"]].get("approx"):
            role["distinct_estimated"] = True
            role["why"] = role["why"].replace(f"{role['distinct']:,} distinct", f"about {role['distinct']:,} distinct")
    print("\nColumn roles:")
    shown = pd.DataFrame(roles).rename(columns={"agg": "aggregation"})
    shown["distinct"] = [("~" if r.get("distinct_estimated") else "") + figure(r["distinct"]) for r in roles]
    show(shown.drop(columns=["distinct_estimated"], errors="ignore"), index=False)
    if any(r.get("distinct_estimated") for r in roles):
        print(
            f"(~: estimated, within a few percent; columns of up to {EXACT_DISTINCT_MAX:,} values are counted exactly)"
        )
    rows = data.rows
    missing = {c: rows - p["non_null"] for c, p in found.items() if rows - p["non_null"]}
    duplicates = duplicate_rows(data, found)
    constant = [r["column"] for r in roles if r["role"] == "constant"]
    mostly = [k for k, v in missing.items() if rows and v >= MOSTLY_MISSING * rows]
    print(f"\nDuplicate rows: {duplicates:,}")
    if missing:
        print("Missing values:")
        table = pd.DataFrame({"missing": pd.Series(missing), "share %": pd.Series(missing) / max(rows, 1) * 100})
        show(table)
    else:
        print("Missing values: none")
    if constant:
        print("Constant columns: " + ", ".join(constant))
    if mostly:
        print(f"Columns at least {MOSTLY_MISSING:.0%} empty: " + ", ".join(mostly))
    print("\nFirst rows:")
    print(sample.head().to_string(max_colwidth=40))
    shape = dict(notes.get("shape") or {})
    split = split_period(roles)
    if split:
        shape["split"] = list(split)
        print(f"\n{split[0]} and {split[1]} together name the {split[2]}: trends use them as one period.")
    date = trend_date(roles)
    skip = tuple(split or ()) + ((date["column"],) if date else ())
    entity = entity_column(data, roles, date["column"] if date else None, skip, found)
    if entity:
        shape["entity"] = entity
        print(f"\nA panel: each {entity} is observed over time, so trends are shown per {entity}.")
    file_rows = shape.get("wide_rows", rows)
    file_columns = len(data.columns) - 2 + shape["columns"] if "melted" in shape else len(data.columns)
    facts = {"rows": file_rows, "total_rows": file_rows, "columns": file_columns, "roles": roles, "notes": notes}
    facts.update(duplicates=duplicates, missing=missing, constant=constant, mostly_missing=mostly, shape=shape)
    publish("load", facts)
    return data


def _say_how_read(data: Data) -> None:
    notes = data.notes
    engine = notes.get("engine", "duckdb")
    cache = {"made": "; cached for later steps in .autorun/cache", "reused": "; from its cache in .autorun/cache"}
    shape = notes.get("shape")
    rows = shape["wide_rows"] if shape else data.rows
    columns = len(data.columns) - 1 + shape["columns"] - 1 if shape else len(data.columns)
    print(
        f"Loaded {rows:,} rows x {columns} columns "
        f"(the whole file, read by {engine}{cache.get(str(notes.get('cache')), '')})"
    )
    for name, n_rows, n_cols in notes.get("sheets", []):
        chosen = f" <- analysed ({notes.get('sheet_by', 'the largest table')})" if name == notes.get("sheet") else ""
        print(f"  sheet {name!r}: {n_rows:,} rows x {n_cols} columns{chosen}")
    if notes.get("skiprows"):
        print(f"Skipped {notes['skiprows']} lines of preamble before the header.")
    if notes.get("bad_rows"):
        bad = notes["bad_rows"]
        print(f"{bad:,} row{'s' if bad != 1 else ''} could not be parsed (wrong number of fields) and left out, e.g.:")
        for example in notes.get("bad_examples", []):
            print(f"  {example}")
    if notes.get("flattened"):
        print("Nested JSON objects flattened into columns: " + ", ".join(notes["flattened"]))
    for name, unit in notes.get("converted", {}).items():
        print(f"Converted {name!r} from text to numbers (written as {unit}).")
    for name in notes.get("local_time", []):
        print(f"{name}: dates with time-zone offsets, read as the local time they name.")
    if shape:
        print(
            f"A wide table (one column per {shape['melted']}): melted to {data.rows:,} rows of "
            f"{', '.join(quote(c)[1:-1] for c in data.columns)}."
        )
