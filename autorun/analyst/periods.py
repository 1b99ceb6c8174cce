"""The trend step: the primary measure per period, the top period, the change from the first to the
last full period, and for a panel the same per entity (the largest ones), never pooled across them.

The period fits the data's span (hours, days, weeks, months or years); a year column, or a year
and a quarter or month column together, are periods as they are. A first or last period the data
covers only in part is shown, but the change is taken between full periods only.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from autorun.analyst.charts import line_chart
from autorun.analyst.engine import Data, literal, quote
from autorun.analyst.figures import group_key
from autorun.analyst.report import AGG_WORDS, fmt, plain, publish, show
from autorun.analyst.sources import TZ_OFFSET_RE, date_format_guess
from autorun.analyst.sqlstats import aggregate, number, quantiles

SHOWN_PERIODS = 12
TOP_ENTITIES = 5
PERIOD_FORMATS = {"year": "%Y", "month": "%Y-%m", "day": "%Y-%m-%d", "hour": "%Y-%m-%d %H:00"}
SEPARATOR = "\x1f"


def date_expression(data: Data, date: str, dayfirst: bool) -> str:
    """The column as a TIMESTAMP expression: as typed, or parsed from text (offsets dropped: local time)."""
    kind = data.types[date]
    if kind.startswith(("DATE", "TIMESTAMP")):
        return f"CAST({quote(date)} AS TIMESTAMP)"
    text = f"regexp_replace(trim(CAST({quote(date)} AS VARCHAR)), {literal(TZ_OFFSET_RE)}, '')"
    sample = [r[0] for r in data.sql(f"SELECT {text} FROM {data.table} WHERE {quote(date)} IS NOT NULL LIMIT 200")]
    cast = f"TRY_CAST({text} AS TIMESTAMP)"
    parsed = data.one(
        f"SELECT count(TRY_CAST(t AS TIMESTAMP)) FROM (SELECT {text} AS t FROM {data.table} "
        f"WHERE {quote(date)} IS NOT NULL LIMIT 200)"
    )[0]
    if sample and parsed >= 0.8 * len(sample):
        return cast
    pattern = date_format_guess([str(v) for v in sample], dayfirst)
    if pattern is None:
        return cast
    bare = f"regexp_replace({text}, '[ T]\\d{{1,2}}:\\d{{2}}.*$', '')"
    return f"CAST(try_strptime({bare}, {literal(pattern)}) AS TIMESTAMP)"


def period_label(kind: str, value: Any) -> str:
    """The label of a period from its start (``date_trunc``): '2026-03', 'week of 2026-03-02', ..."""
    if kind == "week":
        return "week of " + value.strftime("%Y-%m-%d")
    return value.strftime(PERIOD_FORMATS[kind])


def span_period(days: float) -> str:
    if days > 3 * 365:
        return "year"
    if days > 60:
        return "month"
    if days > 14:
        return "week"
    return "day" if days > 2 else "hour"


def period_bounds(period: str, key: str) -> tuple[dt.datetime, dt.datetime]:
    """The start of the period a key names, and the start of the next one."""
    if period == "year":
        start = dt.datetime(int(key), 1, 1)
        return start, dt.datetime(start.year + 1, 1, 1)
    if period == "month":
        start = dt.datetime.strptime(key, "%Y-%m")
        return start, dt.datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
    if period == "week":
        start = dt.datetime.strptime(key.replace("week of ", ""), "%Y-%m-%d")
        return start, start + dt.timedelta(days=7)
    if period == "day":
        start = dt.datetime.strptime(key, "%Y-%m-%d")
        return start, start + dt.timedelta(days=1)
    start = dt.datetime.strptime(key, "%Y-%m-%d %H:00")
    return start, start + dt.timedelta(hours=1)


def _full_by_calendar(
    data: Data, times: str, keys: list[str], period: str, bounds: tuple[Any, Any], whole_days: bool
) -> list[str]:
    """The periods the data covers whole: every inner one, and an edge one when the data reaches within
    1.5 typical gaps between its distinct times of the period's calendar start (first) or end (last)."""
    first, last = bounds
    if whole_days:
        last = last + dt.timedelta(days=1)
    start, end = period_bounds(period, keys[0])[0], period_bounds(period, keys[-1])[1]
    slack = dt.timedelta(0)
    if first != start or last != end:  # an edge not on the calendar's: how near is near enough
        gaps = (
            f"SELECT epoch(t - lag(t) OVER (ORDER BY t)) AS gap FROM (SELECT DISTINCT {times} AS t FROM {data.table})"
        )
        median = quantiles(data, "gap", (0.5,), source=gaps, counted=True).get(None, [None])[0]
        slack = dt.timedelta(seconds=1.5 * (median or 0))
    first_ok = first - start <= slack
    last_ok = end - last <= slack
    if len(keys) == 1:
        return keys if first_ok and last_ok else []
    return ([keys[0]] if first_ok else []) + keys[1:-1] + ([keys[-1]] if last_ok else [])


def _full_by_rows(rows: dict[str, int]) -> list[str]:
    """Periods without a calendar to check (years as numbers): an edge one counts with half the median's rows."""
    keys = list(rows)
    counts = sorted(rows.values())
    middle = (counts[(len(counts) - 1) // 2] + counts[len(counts) // 2]) / 2
    return [k for i, k in enumerate(keys) if 0 < i < len(keys) - 1 or rows[k] >= 0.5 * middle]


def trend_step(
    data: Data,
    date: str,
    measure: str | None,
    agg: str,
    *,
    part: str | None = None,
    part_kind: str | None = None,
    entity: str | None = None,
    year: bool = False,
    dayfirst: bool = False,
) -> None:
    """The measure per period (its aggregation), top period and first-to-last change; per entity for a panel.

    Periods are grouped in one pass (``date_trunc``), labelled afterwards, so the table is read a
    handful of times whatever its size: the span, the periods, and for a panel the entities.
    """
    import pandas as pd

    times = None
    name_of: Callable[[Any], str] = str  # a period's label from its key
    if part:
        y, p = f"TRY_CAST({quote(date)} AS INTEGER)", f"TRY_CAST({quote(part)} AS INTEGER)"
        text = (
            f"CAST({y} AS VARCHAR) || '-Q' || CAST({p} AS VARCHAR)"
            if part_kind == "quarter"
            else (f"CAST({y} AS VARCHAR) || '-' || lpad(CAST({p} AS VARCHAR), 2, '0')")
        )
        key = f"CASE WHEN {y} IS NOT NULL AND {p} IS NOT NULL THEN {text} END"
        period = part_kind or "period"
    elif year:
        key, period = f"CAST(TRY_CAST({quote(date)} AS INTEGER) AS VARCHAR)", "year"
    else:
        times = date_expression(data, date, dayfirst)
        bounds = data.one(f"SELECT min({times}), max({times}) FROM {data.table}")
        period = span_period((bounds[1] - bounds[0]).total_seconds() / 86400) if bounds[0] is not None else "day"
        key = f"date_trunc('{period}', {times})"

        def name_of(value: Any, kind: str = period) -> str:
            return period_label(kind, value)

    value = number(measure) if measure else "1"
    title = f"{AGG_WORDS[agg]} {measure}" if measure else "rows"
    method = agg if measure else "count"
    found = _per_period(data, key, value, method)
    valid = sum(n for n, _ in found.values())
    print(f"{valid:,} of {data.rows:,} rows have a valid {date}")
    if not valid:
        publish("trend", {"periods": []})
        return
    labelled = sorted((name_of(k), n, v) for k, (n, v) in found.items())
    rows = {k: n for k, n, _ in labelled}
    table = pd.DataFrame({"rows": pd.Series(rows, dtype="int64")})
    if measure:
        table[title] = pd.Series({k: v for k, _, v in labelled}, dtype="float64")
    keys = list(rows)
    if times is not None:
        full = _full_by_calendar(data, times, keys, period, bounds, _whole_days(data, date))
    else:
        full = _full_by_rows(rows)
    facts: dict[str, Any] = {"period": period, "title": title}
    if entity is None or agg in ("sum", "count") or not measure:
        _report_pooled(table, title, period, full, agg, facts)
    if entity is not None:
        labels = name_of if times is not None else None
        facts["entity"] = _entity_trends(data, entity, key, labels, value, method, title, period, full)
    publish("trend", facts)


def _per_period(data: Data, key: str, value: str, agg: str) -> dict[Any, tuple[int, float | None]]:
    """{period key: (rows, the aggregate of ``value``)} over the rows with a period, in one pass (a median
    from the value counts, in a second)."""
    function = {"sum": "sum", "mean": "avg", "count": "count", "median": "count"}[agg]
    found = data.sql(
        f"SELECT k, count(*), {function}(v) FROM (SELECT {key} AS k, {value} AS v FROM {data.table}) "
        "WHERE k IS NOT NULL GROUP BY 1"
    )
    result = {k: (int(n), None if v is None else float(v)) for k, n, v in found}
    if agg == "median":
        medians = aggregate(data, "median", value, key, f"{key} IS NOT NULL")
        result = {k: (n, medians.get(k)) for k, (n, _) in result.items()}
    return result


def _whole_days(data: Data, date: str) -> bool:
    return data.types[date] == "DATE"


def _report_pooled(table: Any, title: str, period: str, full: list[str], agg: str, facts: dict[str, Any]) -> None:
    import pandas as pd

    print(f"\n{title} by {period}:")
    long = len(table) > 2 * SHOWN_PERIODS
    show(pd.concat([table.head(SHOWN_PERIODS), table.tail(SHOWN_PERIODS)]) if long else table)
    if long:
        print(f"({len(table) - 2 * SHOWN_PERIODS} periods in the middle not shown)")
    column = table[title] if title in table else table["rows"]
    top = column.idxmax()
    print(f"\nTop {period} by {title}: {top} with {fmt(column[top])}")
    partial = {k for k in (table.index[0], table.index[-1]) if k not in full}
    if partial:
        print(f"Partial {period}s (the data covers them only in part): {', '.join(sorted(partial))}")
    keys = [str(k) for k in table.index]
    values = [None if v != v else float(v) for v in column]
    facts["chart"] = line_chart(keys, {title: values}, f"{title} by {period}", partial, agg in ("sum", "count"))
    facts.update(top=str(top), top_value=plain(column[top]))
    if len(full) >= 2:
        first, last = full[0], full[-1]
        a, b = float(column[first]), float(column[last])
        change: dict[str, Any] = {"first": str(first), "last": str(last), "from": a, "to": b}
        change["pct"] = (b - a) / abs(a) * 100 if a else None
        pct = f" ({change['pct']:+.1f}%)" if change["pct"] is not None else ""
        print(f"From the first to the last full {period}: {first} {fmt(a)} -> {last} {fmt(b)}{pct}")
        facts["change"] = change
    facts["periods"] = [[k, v] for k, v in zip(keys, values, strict=True)][-500:]


def _entity_trends(
    data: Data,
    entity: str,
    key: str,
    labels: Callable[[Any], str] | None,
    value: str,
    agg: str,
    title: str,
    period: str,
    full: list[str],
) -> dict[str, Any]:
    """Each of the largest entities' own trend: its first and last full periods and the change between.
    ``labels``: a period's label from its start (None: the keys are labels already)."""
    name_of: Callable[[Any], str] = labels or str
    group = group_key(data, entity)
    overall = aggregate(data, agg, value, group, f"{key} IS NOT NULL")
    known = {k: float(v) for k, v in overall.items() if v is not None}
    ranked = sorted(known, key=lambda k: (-known[k], k))
    top = ranked[:TOP_ENTITIES]
    where = f"{key} IS NOT NULL AND {group} IN ({', '.join(literal(k) for k in top)})"
    if agg == "median":
        composite = f"{group} || {literal(SEPARATOR)} || CAST({key} AS VARCHAR)"
        medians = aggregate(data, agg, value, composite, where)
        raw = {k.split(SEPARATOR, 1)[1]: k for k in medians}
        keys = {r: r if labels is None else labels(dt.datetime.fromisoformat(r)) for r in raw}
        found = {(k.split(SEPARATOR, 1)[0], keys[k.split(SEPARATOR, 1)[1]]): v for k, v in medians.items()}
    else:
        function = {"sum": "sum", "mean": "avg", "count": "count"}[agg]
        pairs = data.sql(f"SELECT {group}, {key}, {function}({value}) FROM {data.table} WHERE {where} GROUP BY 1, 2")
        found = {(e, name_of(k)): None if v is None else float(v) for e, k, v in pairs}
    periods = sorted({p for _, p in found})
    series: dict[str, list[float | None]] = {}
    rows: list[dict[str, Any]] = []
    for name in top:
        own = {p: v for (e, p), v in found.items() if e == name}
        series[name] = [own.get(p) for p in periods]
        kept = [p for p in periods if p in full and own.get(p) is not None]
        if len(kept) >= 2:
            a, b = float(own[kept[0]] or 0), float(own[kept[-1]] or 0)
            pct = (b - a) / abs(a) * 100 if a else None
            rows.append({"entity": name, "first": kept[0], "from": a, "last": kept[-1], "to": b, "pct": pct})
    print(
        f"\n{title} by {period} per {entity} (the {len(top)} largest of {len(ranked):,}, first to last full {period}):"
    )
    for r in rows:
        note = f" ({r['pct']:+.1f}%)" if r["pct"] is not None and not math.isnan(r["pct"]) else ""
        print(f"  {r['entity']}: {r['first']} {fmt(r['from'])} -> {r['last']} {fmt(r['to'])}{note}")
    partial = {p for p in (periods[:1] + periods[-1:]) if p not in full}
    chart = line_chart(periods, series, f"{title} by {period} per {entity}", partial, agg in ("sum", "count"))
    return {"column": entity, "title": title, "count": len(ranked), "rows": rows, "chart": chart}
