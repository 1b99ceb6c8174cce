"""Exact statistics in DuckDB SQL that stay within its memory limit: quantiles, aggregates, profiles.

DuckDB's ``quantile_cont`` keeps every value of a group in memory and cannot spill, so on a
large table a median is taken from the counts of each distinct value instead (a hash
aggregate and a window, both of which spill): exact, and as pandas computes it (linear
interpolation between the two middle values).
"""

from __future__ import annotations

import math
from typing import Any

from autorun.analyst.engine import Data, quote

INTEGER_TYPES: tuple[str, ...] = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT")
INTEGER_TYPES += ("UINTEGER", "UBIGINT", "UHUGEINT")
NUMERIC_TYPES = (*INTEGER_TYPES, "FLOAT", "DOUBLE", "REAL", "DECIMAL")
IN_MEMORY_QUANTILE_ROWS = 2_000_000  # below this, quantile_cont's values fit in any memory limit


def is_numeric(kind: str) -> bool:
    return str(kind).split("(")[0] in NUMERIC_TYPES


def number(column: str) -> str:
    """A column as DOUBLE, values that are no number as NULL."""
    return f"TRY_CAST({quote(column)} AS DOUBLE)"


def quantiles(
    data: Data, value: str, qs: tuple[float, ...], group: str | None = None, where: str = "TRUE", source: str = ""
) -> dict[Any, list[float | None]]:
    """{group key (None without ``group``): [value at each quantile in qs]} of the SQL expression ``value``
    over the table (or the subquery ``source``)."""
    key = group or "NULL"
    table = f"({source})" if source else data.table
    rows = data.one(f"SELECT count({value}) FROM {table} WHERE {where}")[0]
    if rows <= IN_MEMORY_QUANTILE_ROWS:
        found = data.sql(f"SELECT {key}, quantile_cont({value}, {list(qs)}) FROM {table} WHERE {where} GROUP BY 1")
        return {k: [None if v is None else float(v) for v in (values or [None] * len(qs))] for k, values in found}
    counts = (
        f"SELECT {key} AS autorun_k, {value} AS autorun_v, count(*) AS autorun_c FROM {table} "
        f"WHERE {where} AND {value} IS NOT NULL GROUP BY 1, 2"
    )
    ranked = (
        "SELECT autorun_k AS k, autorun_v AS v, sum(autorun_c) OVER (PARTITION BY autorun_k ORDER BY autorun_v "
        f"ROWS UNBOUNDED PRECEDING) AS upto, sum(autorun_c) OVER (PARTITION BY autorun_k) AS n FROM ({counts})"
    )
    picks = []
    for q in qs:
        for side in ("floor", "ceil"):  # the 0-based rank of each value interpolated between
            picks.append(f"min(v) FILTER (WHERE upto > {side}({q} * (n - 1)))")
    found = data.sql(f"SELECT k, any_value(n), {', '.join(picks)} FROM ({ranked}) GROUP BY k")
    result = {}
    for k, n, *values in found:
        out: list[float | None] = []
        for i, q in enumerate(qs):
            low, high = values[2 * i], values[2 * i + 1]
            position = q * (n - 1)
            out.append(float(low) + (float(high) - float(low)) * (position - math.floor(position)))
        result[k] = out
    return result


def aggregate(
    data: Data, agg: str, value: str, group: str | None = None, where: str = "TRUE"
) -> dict[Any, float | None]:
    """{group key: sum | mean | median | count of ``value``} (None without ``group``)."""
    if agg == "median":
        return {k: v[0] for k, v in quantiles(data, value, (0.5,), group, where).items()}
    function = {"sum": "sum", "mean": "avg", "count": "count"}[agg]
    key = group or "NULL"
    found = data.sql(f"SELECT {key}, {function}({value}) FROM {data.table} WHERE {where} GROUP BY 1")
    return {k: (None if v is None else float(v)) for k, v in found}


def profiles(data: Data) -> dict[str, dict[str, Any]]:
    """Each column's counts over the whole table, as ``roles.infer_roles`` takes them."""
    found: dict[str, dict[str, Any]] = {}
    for name in data.columns:
        kind = data.types[name]
        column = quote(name)
        parts = [f"count({column})", f"count(DISTINCT {column})"]
        numeric = is_numeric(kind)
        if numeric:
            integral = "TRUE" if kind.split("(")[0] in INTEGER_TYPES else f"bool_and({column} = round({column}))"
            parts += [f"min({column})::DOUBLE", f"max({column})::DOUBLE", integral, f"skewness({column}::DOUBLE)"]
        row = data.one(f"SELECT {', '.join(parts)} FROM {data.table}")
        profile: dict[str, Any] = {"rows": data.rows, "non_null": int(row[0]), "distinct": int(row[1])}
        if numeric and row[0]:
            skew = None if row[5] is None or math.isnan(row[5]) else float(row[5])
            profile.update(min=float(row[2]), max=float(row[3]), integral=bool(row[4]), skew=skew)
        found[name] = profile
    return found


def duplicate_rows(data: Data, found: dict[str, dict[str, Any]]) -> int:
    """Rows equal to an earlier row: none when a column is unique; else counted (by a 64-bit row hash
    on large tables, where a collision is less likely than one in a million)."""
    if any(p["distinct"] == data.rows == p["non_null"] for p in found.values()):
        return 0
    if data.rows <= IN_MEMORY_QUANTILE_ROWS:
        return data.rows - int(data.one(f"SELECT count(*) FROM (SELECT DISTINCT * FROM {data.table})")[0])
    columns = ", ".join(quote(c) for c in data.columns)
    return data.rows - int(data.one(f"SELECT count(DISTINCT hash({columns})) FROM {data.table}")[0])
