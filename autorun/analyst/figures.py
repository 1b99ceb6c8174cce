"""The measures and groups steps: every figure over the whole table, in DuckDB.

Measures: per measure the aggregation its role allows, spread, outliers beyond 1.5 IQR and
the strongest correlations. Groups: rows, share and each measure per category, largest first,
with a bar chart.
"""

from __future__ import annotations

from typing import Any

from autorun.analyst.charts import bar_chart
from autorun.analyst.engine import Data, quote
from autorun.analyst.report import AGG_WORDS, MISSING, fmt, label, plain, publish, show
from autorun.analyst.sqlstats import aggregate, column_quantiles, number

MIN_CORRELATION = 0.5
SHOWN_CORRELATIONS = 8


def measures_step(data: Data, measures: list[tuple[str, str]]) -> None:
    """Per measure: the aggregation its role allows, spread, outliers beyond 1.5 IQR; strong correlations.

    Three passes over the table whatever the number of measures: the plain aggregates and every
    pair's correlation, the quartiles, the outliers.
    """
    import pandas as pd

    names = [name for name, _ in measures]
    values = [number(name) for name in names]
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    parts = [f"count({v}), sum({v}), avg({v}), min({v}), max({v})" for v in values]
    parts += [f"corr({number(a)}, {number(b)}), regr_count({number(a)}, {number(b)})" for a, b in pairs]
    found = list(data.one(f"SELECT {', '.join(parts)} FROM {data.table}")) if parts else []
    plain_stats = {name: found[5 * i : 5 * i + 5] for i, name in enumerate(names)}
    kept = [(name, agg, value) for (name, agg), value in zip(measures, values, strict=True) if plain_stats[name][0]]
    quartiles = dict(
        zip([k[0] for k in kept], column_quantiles(data, [k[2] for k in kept], (0.25, 0.5, 0.75)), strict=True)
    )
    fences = {}
    checks = []
    for name, _, value in kept:
        q1, _, q3 = quartiles[name]
        assert q1 is not None and q3 is not None
        fences[name] = (q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1))
        outside = f"({value} < {fences[name][0]!r} OR {value} > {fences[name][1]!r})"
        median = quartiles[name][1]
        checks.append(f"count(*) FILTER ({outside}), arg_max({value}, abs({value} - {median!r})) FILTER ({outside})")
    outside_found = list(data.one(f"SELECT {', '.join(checks)} FROM {data.table}")) if checks else []
    stats: dict[str, dict[str, Any]] = {}
    rows = []
    for i, (name, agg, _) in enumerate(kept):
        n, total, mean, low, high = plain_stats[name]
        outliers, extreme = outside_found[2 * i], outside_found[2 * i + 1]
        entry: dict[str, Any] = {"agg": agg, "n": int(n), "mean": float(mean), "median": quartiles[name][1]}
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
    strong = correlations(pairs, found[5 * len(names) :], set(stats))
    print("\nStrongest correlations (Pearson r, |r| >= 0.5):")
    for p in strong:
        print(f"  {p['a']} ~ {p['b']}: r = {p['r']:.2f} (n = {p['n']:,})")
    if not strong:
        print("  none")
    publish("measures", {"stats": stats, "correlations": strong})


def correlations(pairs: list[tuple[str, str]], found: list[Any], kept: set[str]) -> list[dict[str, Any]]:
    """Pearson r of each pair of measures (``found``: r and n of each pair in turn) over the rows holding
    both, strongest first, |r| >= 0.5."""
    result: list[dict[str, Any]] = []
    for i, (a, b) in enumerate(pairs):
        r, n = found[2 * i], found[2 * i + 1]
        if a in kept and b in kept and r is not None and r == r and n >= 3 and abs(r) >= MIN_CORRELATION:
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
    return f"coalesce({text}, '{MISSING}')"


def same_groups(data: Data, a: str, b: str) -> bool:
    """Whether two columns split the rows the same way (station and station_id)."""
    pairs, left, right = data.one(
        f"SELECT count(DISTINCT ({group_key(data, a)}, {group_key(data, b)})), "
        f"count(DISTINCT {group_key(data, a)}), count(DISTINCT {group_key(data, b)}) FROM {data.table}"
    )
    return pairs == left == right


def group_rows(data: Data, groups: list[str], measures: list[tuple[str, str]]) -> dict[str, dict[str, list[Any]]]:
    """{group column: {label: [rows, each measure's sum or mean]}} for every column in one pass (grouping
    sets); a median is left None here, taken from the value counts (``aggregate``)."""
    parts = "".join(
        f", {'sum' if agg == 'sum' else 'avg'}({number(name)})" if agg != "median" else ", NULL"
        for name, agg in measures
    )
    columns = [quote(g) for g in groups]
    flags = ", ".join(f"GROUPING({c})" for c in columns)
    sets = ", ".join(f"({c})" for c in columns)
    found = data.sql(
        f"SELECT {', '.join(columns)}, {flags}, count(*){parts} FROM {data.table} GROUP BY GROUPING SETS ({sets})"
    )
    result: dict[str, dict[str, list[Any]]] = {g: {} for g in groups}
    n = len(groups)
    for row in found:
        which = row[n : 2 * n].index(0)
        result[groups[which]][label(row[which])] = list(row[2 * n :])
    return result


def groups_step(data: Data, groups: list[str], measures: list[tuple[str, str]], primary: str | None) -> None:
    """Rows and share per category, with each measure aggregated the way its role allows."""
    import pandas as pd

    by_group = group_rows(data, groups, measures) if groups else {}
    found: dict[str, dict[str, Any]] = {}
    for group in groups:
        rows_of = by_group[group]
        twin = next((o for o in found if len(by_group[o]) == len(rows_of) and same_groups(data, group, o)), None)
        if twin is not None:
            print(f"\n{group}: the same groups as {twin} (one value each way), so not repeated.")
            continue
        table = pd.DataFrame({"rows": pd.Series({k: v[0] for k, v in sorted(rows_of.items())}, dtype="int64")})
        table["share %"] = table["rows"] / max(data.rows, 1) * 100
        columns = []
        for i, (name, agg) in enumerate(measures):
            title = f"{AGG_WORDS[agg]} {name}"
            if agg == "median":
                medians = aggregate(data, agg, number(name), quote(group))
                values = {label(k): v for k, v in medians.items()}
            else:
                values = {k: v[1 + i] for k, v in rows_of.items()}
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
