"""The measures and groups steps: every figure over the whole table, in DuckDB.

Measures: per measure the aggregation its role allows, spread, outliers beyond 1.5 IQR and
the strongest correlations. Groups: rows, share and each measure per category, largest first,
with a bar chart.
"""

from __future__ import annotations

from typing import Any

from autorun.analyst.charts import bar_chart
from autorun.analyst.engine import Data, quote
from autorun.analyst.report import AGG_WORDS, fmt, plain, publish, show
from autorun.analyst.sqlstats import aggregate, number, quantiles

MIN_CORRELATION = 0.5
SHOWN_CORRELATIONS = 8


def measures_step(data: Data, measures: list[tuple[str, str]]) -> None:
    """Per measure: the aggregation its role allows, spread, outliers beyond 1.5 IQR; strong correlations."""
    import pandas as pd

    stats: dict[str, dict[str, Any]] = {}
    rows = []
    for name, agg in measures:
        value = number(name)
        n, total, mean, low, high = data.one(
            f"SELECT count({value}), sum({value}), avg({value}), min({value}), max({value}) FROM {data.table}"
        )
        if not n:
            continue
        q1, median, q3 = quantiles(data, value, (0.25, 0.5, 0.75))[None]
        assert q1 is not None and q3 is not None
        fence_low, fence_high = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
        outside = f"({value} < {fence_low!r} OR {value} > {fence_high!r})"
        outliers, extreme = data.one(
            f"SELECT count(*) FILTER ({outside}), arg_max({value}, abs({value} - {median!r})) FILTER ({outside}) "
            f"FROM {data.table}"
        )
        entry: dict[str, Any] = {"agg": agg, "n": int(n), "mean": float(mean), "median": median}
        entry.update(min=float(low), max=float(high), outliers=int(outliers))
        entry["extreme"] = None if extreme is None else float(extreme)
        if agg == "sum":
            entry["total"] = float(total)
        stats[name] = entry
        shown = {k: entry[k] for k in ("mean", "median", "min", "max", "outliers")}
        rows.append({"measure": name, "aggregation": agg, "n": entry["n"], "total": entry.get("total"), **shown})
    if rows:
        table = pd.DataFrame(rows)
        table["total"] = table["total"].map(lambda v: "" if v is None or v != v else fmt(v))
        print("Measures (totals only where values add up; outliers: beyond 1.5 IQR):")
        show(table, index=False)
    pairs = correlations(data, list(stats))
    print("\nStrongest correlations (Pearson r, |r| >= 0.5):")
    for p in pairs:
        print(f"  {p['a']} ~ {p['b']}: r = {p['r']:.2f} (n = {p['n']:,})")
    if not pairs:
        print("  none")
    publish("measures", {"stats": stats, "correlations": pairs})


def correlations(data: Data, names: list[str]) -> list[dict[str, Any]]:
    """Pearson r of each pair of measures over the rows holding both, strongest first, |r| >= 0.5."""
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    if not pairs:
        return []
    parts = [f"corr({number(a)}, {number(b)}), regr_count({number(a)}, {number(b)})" for a, b in pairs]
    found = data.one(f"SELECT {', '.join(parts)} FROM {data.table}")
    result: list[dict[str, Any]] = []
    for i, (a, b) in enumerate(pairs):
        r, n = found[2 * i], found[2 * i + 1]
        if r is not None and r == r and n >= 3 and abs(r) >= MIN_CORRELATION:
            result.append({"a": a, "b": b, "r": float(r), "n": int(n)})
    result.sort(key=lambda p: -abs(p["r"]))
    return result[:SHOWN_CORRELATIONS]


def group_key(data: Data, column: str) -> str:
    """The group label of each row, as text: '(missing)' for an empty value, True/False for booleans."""
    kind = data.types[column]
    text = (
        f"CASE WHEN {quote(column)} THEN 'True' ELSE 'False' END"
        if kind == "BOOLEAN"
        else f"CAST({quote(column)} AS VARCHAR)"
    )
    return f"coalesce({text}, '(missing)')"


def same_groups(data: Data, a: str, b: str) -> bool:
    """Whether two columns split the rows the same way (station and station_id)."""
    pairs, left, right = data.one(
        f"SELECT count(DISTINCT ({group_key(data, a)}, {group_key(data, b)})), "
        f"count(DISTINCT {group_key(data, a)}), count(DISTINCT {group_key(data, b)}) FROM {data.table}"
    )
    return pairs == left == right


def groups_step(data: Data, groups: list[str], measures: list[tuple[str, str]], primary: str | None) -> None:
    """Rows and share per category, with each measure aggregated the way its role allows."""
    import pandas as pd

    found: dict[str, dict[str, Any]] = {}
    for group in groups:
        twin = next((other for other in found if same_groups(data, group, other)), None)
        if twin is not None:
            print(f"\n{group}: the same groups as {twin} (one value each way), so not repeated.")
            continue
        key = group_key(data, group)
        plain_aggs = [(name, agg) for name, agg in measures if agg != "median"]
        parts = "".join(f", {'sum' if agg == 'sum' else 'avg'}({number(name)})" for name, agg in plain_aggs)
        found_rows = data.sql(f"SELECT {key}, count(*){parts} FROM {data.table} GROUP BY 1")  # one pass
        counts = {r[0]: r[1] for r in found_rows}
        by_measure = {m: {r[0]: r[2 + i] for r in found_rows} for i, m in enumerate(plain_aggs)}
        table = pd.DataFrame({"rows": pd.Series(dict(sorted(counts.items())), dtype="int64")})
        table["share %"] = table["rows"] / max(data.rows, 1) * 100
        columns = []
        for name, agg in measures:
            title = f"{AGG_WORDS[agg]} {name}"
            values = by_measure.get((name, agg)) or aggregate(data, agg, number(name), key)
            table[title] = pd.Series({k: values.get(k) for k in table.index}, dtype="float64")
            columns.append([name, agg, title])
        table.index = table.index.astype(object)
        order = next((c[2] for c in columns if c[0] == primary), "rows")
        table = table.sort_values([order] if order == "rows" else [order, "rows"], ascending=False, kind="stable")
        print(f"\nBy {group} (sorted by {order}):")
        show(table)
        found[group] = {"table": {str(k): {c: plain(v) for c, v in row.items()} for k, row in table.iterrows()}}
        found[group]["columns"] = columns
        found[group]["chart"] = bar_chart(list(table.index), list(table[order].fillna(0)), f"{order} by {group}")
    publish("groups", found)
