"""Exact statistics in DuckDB SQL that stay within its memory limit: profiles, duplicates, quantiles.

Every figure here is one pass over the table where it can be: all columns' counts in one
SELECT, all measures' quantiles in another. DuckDB's ``quantile_cont`` keeps every value of a
group in memory and cannot spill, so on a table too large for that a quantile is taken from the
counts of each distinct value instead (a hash aggregate and a window, both of which spill):
exact, and as pandas computes it (linear interpolation between the two middle values).
"""

from __future__ import annotations

import math
from typing import Any

from autorun.analyst.engine import Data, quote

INTEGER_TYPES: tuple[str, ...] = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT")
INTEGER_TYPES += ("UINTEGER", "UBIGINT", "UHUGEINT")
NUMERIC_TYPES = (*INTEGER_TYPES, "FLOAT", "DOUBLE", "REAL", "DECIMAL")
IN_MEMORY_QUANTILE_ROWS = 2_000_000  # beyond this (or DuckDB's memory), quantiles come from value counts
QUANTILE_BYTES_PER_VALUE = 32  # what quantile_cont holds per value, with room to spare
EXACT_TABLE_ROWS = 200_000  # up to this many rows every distinct count is exact
DUPLICATE_PASS_ROWS = 16_000_000  # rows hashed per pass of the duplicate check (a larger table takes several)
EXACT_DISTINCT_MAX = 100_000  # a column with more distinct values than this has them estimated (a few %)


def is_numeric(kind: str) -> bool:
    return str(kind).split("(")[0] in NUMERIC_TYPES


def number(column: str) -> str:
    """A column as DOUBLE, values that are no number as NULL."""
    return f"TRY_CAST({quote(column)} AS DOUBLE)"


def _in_memory(data: Data, values: int) -> bool:
    """Whether quantile_cont may hold ``values`` values within DuckDB's memory (half of it, to be safe)."""
    budget = (data.memory or 2**31) // 2
    return values <= IN_MEMORY_QUANTILE_ROWS and values * QUANTILE_BYTES_PER_VALUE <= budget


def _floats(values: Any, size: int) -> list[float | None]:
    return [None if v is None else float(v) for v in (values or [None] * size)]


def column_quantiles(data: Data, values: list[str], qs: tuple[float, ...]) -> list[list[float | None]]:
    """[value at each quantile in qs] for each SQL expression in ``values``, over the whole table:
    in one pass when quantile_cont's values fit in memory, else from each one's value counts."""
    if not values:
        return []
    if _in_memory(data, data.rows * len(values)):
        found = data.one(f"SELECT {', '.join(f'quantile_cont({v}, {list(qs)})' for v in values)} FROM {data.table}")
        return [_floats(v, len(qs)) for v in found]
    return [quantiles(data, v, qs, counted=True).get(None, [None] * len(qs)) for v in values]


def quantiles(
    data: Data,
    value: str,
    qs: tuple[float, ...],
    group: str | None = None,
    where: str = "TRUE",
    source: str = "",
    *,
    counted: bool | None = None,
) -> dict[Any, list[float | None]]:
    """{group key (None without ``group``): [value at each quantile in qs]} of the SQL expression ``value``
    over the table (or the subquery ``source``). ``counted``: from value counts (None: when too large)."""
    key = group or "NULL"
    table = f"({source})" if source else data.table
    if counted is None:
        counted = not _in_memory(data, data.rows if not source else data.rows * 2)
    if not counted:
        found = data.sql(f"SELECT {key}, quantile_cont({value}, {list(qs)}) FROM {table} WHERE {where} GROUP BY 1")
        return {k: _floats(values, len(qs)) for k, values in found}
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


def profiles(data: Data, sample: Any = None) -> dict[str, dict[str, Any]]:
    """Each column's counts over the whole table, as ``roles.infer_roles`` takes them, in two passes:
    the plain aggregates of every column, then every exact distinct count (DuckDB is much slower
    when a query mixes the two kinds).

    Distinct counts are exact up to EXACT_DISTINCT_MAX; beyond that (ids, timestamps, free text:
    columns whose first rows in ``sample`` are mostly distinct) estimated, and marked ``approx``.
    """
    exact_all = data.rows <= EXACT_TABLE_ROWS or sample is None
    estimated = {name for name in data.columns if not exact_all and _mostly_distinct(sample, name)}
    parts: list[str] = []
    for name in data.columns:
        kind, column = data.types[name], quote(name)
        parts.append(f"count({column})")
        if name in estimated:
            parts.append(f"approx_count_distinct({column})")
        if is_numeric(kind):
            integral = "TRUE" if kind.split("(")[0] in INTEGER_TYPES else f"bool_and({column} = round({column}))"
            parts += [f"min({column})::DOUBLE", f"max({column})::DOUBLE", integral, f"skewness({column}::DOUBLE)"]
    row = list(data.one(f"SELECT {', '.join(parts)} FROM {data.table}"))
    found: dict[str, dict[str, Any]] = {}
    for name in data.columns:
        non_null = int(row.pop(0))
        profile: dict[str, Any] = {"rows": data.rows, "non_null": non_null, "distinct": 0}
        if name in estimated:
            profile.update(distinct=min(int(row.pop(0)), non_null), approx=True)
        if is_numeric(data.types[name]):
            low, high, integral, skew = (row.pop(0) for _ in range(4))
            if non_null:
                skew = None if skew is None or math.isnan(skew) else float(skew)
                profile.update(min=float(low), max=float(high), integral=bool(integral), skew=skew)
        found[name] = profile
    exact = [n for n, p in found.items() if not p.get("approx") or p["distinct"] <= EXACT_DISTINCT_MAX * 1.1]
    if exact:
        counted = data.one(f"SELECT {', '.join(f'count(DISTINCT {quote(n)})' for n in exact)} FROM {data.table}")
        for name, distinct in zip(exact, counted, strict=True):
            found[name]["distinct"] = int(distinct)
            found[name].pop("approx", None)
    return found


def _mostly_distinct(sample: Any, name: str) -> bool:
    try:
        values = sample[name].dropna()
        return len(values) >= 100 and values.nunique() > 0.5 * len(values)
    except TypeError:  # unhashable cells (lists)
        return False


def duplicate_rows(data: Data, found: dict[str, dict[str, Any]]) -> int:
    """Rows equal to an earlier row, exactly: none when a column is unique; else rows are grouped by a
    64-bit hash of the whole row (in slices of the hash's range for a very large table, so no pass
    spills), and only rows whose hash recurs are compared value by value."""
    if any(p["distinct"] == data.rows == p["non_null"] and not p.get("approx") for p in found.values()):
        return 0
    row_hash = f"hash({', '.join(quote(c) for c in data.columns)})"
    data.con.execute("CREATE OR REPLACE TEMP TABLE autorun_recurring (h UBIGINT, c BIGINT)")
    passes = max(1, math.ceil(data.rows / DUPLICATE_PASS_ROWS))  # each pass's hash table fits in memory
    try:
        for part in range(passes):
            where = f"WHERE {row_hash} % {passes} = {part}" if passes > 1 else ""
            data.con.execute(
                f"INSERT INTO autorun_recurring SELECT h, c FROM "
                f"(SELECT {row_hash} AS h, count(*) AS c FROM {data.table} {where} GROUP BY 1) WHERE c > 1"
            )
        recurring = int(data.one("SELECT coalesce(sum(c), 0) FROM autorun_recurring")[0])
        if not recurring:
            return 0
        distinct = data.one(
            f"SELECT count(*) FROM (SELECT DISTINCT * FROM {data.table} "
            f"WHERE {row_hash} IN (SELECT h FROM autorun_recurring))"
        )[0]
        return recurring - int(distinct)
    finally:
        data.con.execute("DROP TABLE IF EXISTS autorun_recurring")
