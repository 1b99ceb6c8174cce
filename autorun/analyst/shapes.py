"""Table shapes an analyst reads before any statistic: wide time series, split dates, panels.

- A wide time series (a column per year, or per month) is melted into a long one: the other
  columns, the period and one ``value`` per row, so years are periods, never measures.
- A date split across columns (year + quarter, year + month) is one period ("1959-Q3").
- A long panel (an entity column, a time column and measures: firm/year/invest,
  symbol/date/price, store/ts/amount) gets trends per entity, never one pooled across them.
"""

from __future__ import annotations

import re
from typing import Any

from autorun.analyst.engine import Data, quote
from autorun.analyst.roles import name_tokens
from autorun.analyst.sqlstats import is_numeric

YEAR_NAME_RE = re.compile(r"^\s*(1[89]\d\d|20\d\d|2100)\s*$")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MIN_WIDE_COLUMNS = 3
ENTITY_WORDS = (
    "symbol", "ticker", "stock", "firm", "company", "country", "state", "province", "county", "store", "shop",
    "branch", "station", "city", "site", "entity", "customer", "account", "player", "team", "patient", "sensor",
    "device", "isin",
)  # fmt: skip
MAX_ENTITIES = 10_000
QUARTER_WORDS = ("quarter", "qtr", "q")
MONTH_WORDS = ("month", "mnth", "mon")


def month_number(name: str) -> int | None:
    """1 for 'Jan', 'january' or 'JAN'; None for anything else."""
    text = str(name).strip().lower()
    for number, start in enumerate(MONTHS, 1):
        if len(text) >= 3 and (text == start or (start.startswith(text[:3]) and text.startswith(start))):
            return number
    return None


def wide_columns(data: Data) -> tuple[str, list[str]] | None:
    """('year' | 'month', the period columns) when the table holds one numeric column per period."""
    numeric = [c for c in data.columns if is_numeric(data.types[c])]
    years = [c for c in numeric if YEAR_NAME_RE.match(c)]
    if len(years) >= MIN_WIDE_COLUMNS and len(years) >= 0.5 * len(numeric):
        return "year", years
    months = [c for c in numeric if month_number(c)]
    if len(months) >= 6 and len(months) >= 0.5 * len(numeric):
        return "month", months
    return None


def melt(data: Data) -> dict[str, Any] | None:
    """Melt a wide time series into view ``long`` and make it the table analysed; what was done, or None."""
    found = wide_columns(data)
    if found is None:
        return None
    period, columns = found
    listed = ", ".join(quote(c) for c in columns)
    if period == "year":
        key = "CAST(trim(period) AS INTEGER)"
    else:
        cases = " ".join(f"WHEN {quote(c)[1:-1]!r} THEN {month_number(c)}" for c in columns)
        key = f"CASE period {cases} END"
    name = "month" if period == "month" and "month" not in data.columns else period
    name = name if name not in data.columns else f"{name}_"
    others = [quote(c) for c in data.columns if c not in columns]
    select = ", ".join([*others, f"{key} AS {quote(name)}", "value"])
    data.con.execute(
        f"CREATE OR REPLACE TEMP VIEW long AS SELECT {select} FROM "
        f"(UNPIVOT {data.table} ON {listed} INTO NAME period VALUE value)"
    )
    wide_rows = data.rows
    data.table = "long"
    data.rows = int(data.one("SELECT count(*) FROM long")[0])
    described = data.sql("DESCRIBE long")
    data.columns = [str(r[0]) for r in described]
    data.types = {str(r[0]): str(r[1]) for r in described}
    return {"melted": period, "period_column": name, "columns": len(columns), "wide_rows": wide_rows}


def split_period(roles: list[dict[str, Any]]) -> tuple[str, str, str] | None:
    """(year column, part column, 'quarter' | 'month') when a date is split into a year and a part of it."""
    years = [r["column"] for r in roles if r["role"] == "date" and r["why"].startswith("year")]
    if not years:
        return None
    for r in roles:
        tokens = name_tokens(r["column"])
        if r["column"] in years or r["role"] not in ("category", "measure", "date"):
            continue
        if tokens and tokens[-1] in QUARTER_WORDS and 2 <= r.get("distinct", 0) <= 4:
            return years[0], r["column"], "quarter"
        if tokens and tokens[-1] in MONTH_WORDS and 2 <= r.get("distinct", 0) <= 12:
            return years[0], r["column"], "month"
    return None


def trend_date(roles: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The role of the column trends run over: the first real date, else the first year column."""
    dates = [r for r in roles if r["role"] == "date"]
    real = [r for r in dates if not r["why"].startswith("year")]
    return (real or dates)[0] if dates else None


def entity_column(
    data: Data,
    roles: list[dict[str, Any]],
    time: str | None,
    skip: tuple[str, ...],
    found: dict[str, dict[str, Any]] | None = None,
) -> str | None:
    """The column naming the entities of a panel, whose values recur over time; None for other tables.

    An entity by name (firm, symbol, country, store ...) recurring in several periods, or any
    category that with the time column identifies the rows while neither alone does. The
    columns' profiles (``found``) settle most cases without another pass over the table.
    """
    if time is None:
        return None
    candidates = [
        r["column"]
        for r in roles
        if r["role"] in ("category", "identifier")
        and r["column"] not in skip
        and 2 <= r.get("distinct", 0) <= MAX_ENTITIES
    ]
    named = [c for c in candidates if set(name_tokens(c)) & set(ENTITY_WORDS)]
    for column in named + [c for c in candidates if c not in named]:
        settled = _settled_by_profiles(data, found or {}, column, time, column in named)
        if settled is False:
            continue
        if settled or _recurs(data, column, time, column in named):
            return column
    return None


def _settled_by_profiles(
    data: Data, found: dict[str, dict[str, Any]], column: str, time: str, named: bool
) -> bool | None:
    """Whether ``column`` is the entity, from the profiles alone (no missing values in either column);
    None when only counting its pairs with the time column can tell."""
    entity, times = found.get(column), found.get(time)
    if not entity or not times or entity["non_null"] < data.rows or times["non_null"] < data.rows:
        return None
    rows, entities, margin = data.rows, entity["distinct"], 1.1 if times.get("approx") else 1.0
    if entities < 2 or entities > 0.5 * rows:
        return False
    if named and times["distinct"] >= 2 * entities * margin:
        return True  # each time names a pair: the entities recur over time
    if not named and (times["distinct"] > 0.5 * rows * margin or entities * times["distinct"] * margin < 0.95 * rows):
        return False  # a time on most rows, or too few pairs to tell the rows apart
    return None


def _recurs(data: Data, column: str, time: str, named: bool) -> bool:
    e, t = quote(column), quote(time)
    pairs, entities, times, rows = data.one(
        f"SELECT count(DISTINCT ({e}, {t})), count(DISTINCT {e}), count(DISTINCT {t}), count(*) "
        f"FROM {data.table} WHERE {e} IS NOT NULL AND {t} IS NOT NULL"
    )
    if not rows or entities < 2 or entities > 0.5 * rows or pairs < 2 * entities:
        return False
    return named or (pairs >= 0.95 * rows and times <= 0.5 * rows)
