"""The builtin analyst's steps as functions that run inside the executor, one per step.

The generated blocks carry the source of the functions they call (see ``inline.py``), so
like ``roles.py`` this module is self-contained: stdlib at the top, pandas inside the
functions, no ``from __future__``, pandas 1.5 and 3.x alike. Each step prints tables for
the reader and saves the same figures, machine-readable, under its name in a JSON facts
file in the work directory; the builtin's summary is built from that file, so no
machine lines appear in the output.
"""

import json
import os
from typing import Any

MOSTLY_MISSING = 0.9
CHART_BARS = 20
MIN_CORRELATION = 0.5
SHOWN_PERIODS = 12
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


def plain(value: Any) -> Any:
    """JSON for numpy scalars, timestamps and the like."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):
        try:
            return value.item()
        except (ValueError, TypeError):
            pass
    return str(value)


def save_facts(path: str, step: str, data: Any) -> None:
    """Merge ``data`` under ``step`` into the JSON facts file (written whole, then renamed)."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    try:
        with open(path, encoding="utf-8") as fh:
            facts = json.load(fh)
    except (OSError, ValueError):
        facts = {}
    facts[step] = data
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(facts, fh, default=plain)
    os.replace(path + ".tmp", path)


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


def report_load(
    df: Any, notes: dict[str, Any], roles: list[dict[str, Any]], facts_path: str, total_rows: int | None = None
) -> None:
    """How the file was read, the column roles, and data quality: duplicates, constant and empty columns."""
    import pandas as pd

    rows = len(df)
    total = total_rows if total_rows is not None else rows
    if notes.get("subset"):
        print(f"Read only the first {rows:,} of {total:,} rows: the whole file did not fit. Figures cover these rows.")
    print(f"Loaded {rows:,} rows x {df.shape[1]} columns")
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
    print("\nColumn roles:")
    show(pd.DataFrame(roles).rename(columns={"agg": "aggregation"}), index=False)
    missing = {str(k): int(v) for k, v in df.isna().sum().items() if v}
    try:
        duplicates = int(df.duplicated().sum())
    except TypeError:  # unhashable cells (lists in JSON)
        duplicates = 0
    constant = [r["column"] for r in roles if r["role"] == "constant"]
    mostly = [k for k, v in missing.items() if rows and v >= MOSTLY_MISSING * rows]
    print(f"\nDuplicate rows: {duplicates:,}")
    if missing:
        print("Missing values:")
        show(pd.DataFrame({"missing": pd.Series(missing), "share %": pd.Series(missing) / max(rows, 1) * 100}))
    else:
        print("Missing values: none")
    if constant:
        print("Constant columns: " + ", ".join(constant))
    if mostly:
        print(f"Columns at least {MOSTLY_MISSING:.0%} empty: " + ", ".join(mostly))
    print("\nFirst rows:")
    print(df.head().to_string(max_colwidth=40))
    facts = {"rows": rows, "total_rows": total, "columns": int(df.shape[1]), "roles": roles, "notes": notes}
    facts.update(duplicates=duplicates, missing=missing, constant=constant, mostly_missing=mostly)
    save_facts(facts_path, "load", facts)


def numbers(df: Any, name: str) -> Any:
    import pandas as pd

    return pd.to_numeric(df[name], errors="coerce")


def report_measures(df: Any, measures: list[tuple[str, str]], facts_path: str) -> None:
    """Per measure: the aggregation its role allows, spread, outliers beyond 1.5 IQR; strong correlations."""
    import pandas as pd

    stats, rows = {}, []
    for name, agg in measures:
        values = numbers(df, name).dropna()
        if values.empty:
            continue
        q1, q3 = float(values.quantile(0.25)), float(values.quantile(0.75))
        low, high = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
        outliers = values[(values < low) | (values > high)]
        median = float(values.median())
        extreme = float(outliers.loc[(outliers - median).abs().idxmax()]) if len(outliers) else None
        entry = {"agg": agg, "n": len(values), "mean": float(values.mean()), "median": median}
        entry.update(min=float(values.min()), max=float(values.max()), outliers=len(outliers), extreme=extreme)
        if agg == "sum":
            entry["total"] = float(values.sum())
        stats[name] = entry
        rows.append({"measure": name, "aggregation": agg, "n": entry["n"], "total": entry.get("total"), **{
            k: entry[k] for k in ("mean", "median", "min", "max", "outliers")}})  # fmt: skip
    if rows:
        table = pd.DataFrame(rows)
        table["total"] = table["total"].map(lambda v: "" if v is None or v != v else fmt(v))
        print("Measures (totals only where values add up; outliers: beyond 1.5 IQR):")
        show(table, index=False)
    pairs: list[dict[str, Any]] = []
    names = list(stats)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            both = pd.DataFrame({"a": numbers(df, a), "b": numbers(df, b)}).dropna()
            if len(both) >= 3 and both["a"].nunique() > 1 and both["b"].nunique() > 1:
                r = float(both["a"].corr(both["b"]))
                if abs(r) >= MIN_CORRELATION:
                    pairs.append({"a": a, "b": b, "r": r, "n": len(both)})
    pairs.sort(key=lambda p: -abs(p["r"]))
    print("\nStrongest correlations (Pearson r, |r| >= 0.5):")
    for p in pairs[:8]:
        print(f"  {p['a']} ~ {p['b']}: r = {p['r']:.2f} (n = {p['n']:,})")
    if not pairs:
        print("  none")
    save_facts(facts_path, "measures", {"stats": stats, "correlations": pairs[:8]})


def report_groups(
    df: Any, groups: list[str], measures: list[tuple[str, str]], primary: str | None, facts_path: str
) -> None:
    """Rows and share per category, with each measure aggregated the way its role allows."""
    import pandas as pd

    found: dict[str, dict[str, Any]] = {}
    keys: dict[str, Any] = {}
    for group in groups:
        key = group_labels(df[group])
        twin = next((other for other, seen in keys.items() if same_groups(key, seen)), None)
        if twin is not None:
            print(f"\n{group}: the same groups as {twin} (one value each way), so not repeated.")
            continue
        keys[group] = key
        table = pd.DataFrame({"rows": key.value_counts()})
        table["share %"] = table["rows"] / max(len(df), 1) * 100
        columns = []
        for name, agg in measures:
            title = f"{AGG_WORDS[agg]} {name}"
            table[title] = getattr(numbers(df, name).groupby(key, observed=True), agg)()
            columns.append([name, agg, title])
        table.index = table.index.astype(object)
        order = next((c[2] for c in columns if c[0] == primary), "rows")
        table = table.sort_values([order] if order == "rows" else [order, "rows"], ascending=False)
        print(f"\nBy {group} (sorted by {order}):")
        show(table)
        found[group] = {"table": {str(k): {c: plain(v) for c, v in row.items()} for k, row in table.iterrows()}}
        found[group]["columns"] = columns
        found[group]["chart"] = save_chart("bar", table.index, table[order], f"{order} by {group}")
    save_facts(facts_path, "groups", found)


def group_labels(values: Any) -> Any:
    """Each value's ``label``, '(missing)' for gaps, as a categorical: labelled once per distinct value
    and grouped by integer codes, which on a million rows is several times faster than by text."""
    import numpy as np
    import pandas as pd

    try:
        codes, uniques = pd.factorize(values)
    except TypeError:  # unhashable cells (lists in JSON)
        codes, uniques = None, []
    names = [label(u) for u in uniques]
    if codes is not None and (codes < 0).any():
        names.append(MISSING)
        codes = np.where(codes < 0, len(names) - 1, codes)
    if codes is None or len(set(names)) < len(names):  # values that print alike (1 and "1") are one group
        return values.astype(object).where(values.notna(), MISSING).map(label)
    return pd.Series(pd.Categorical.from_codes(codes, categories=names), index=values.index, name=values.name)


def same_groups(a: Any, b: Any) -> bool:
    """Whether two labellings split the rows the same way (station and station_id)."""
    import pandas as pd

    codes_a, uniques_a = pd.factorize(a)
    codes_b, uniques_b = pd.factorize(b)
    if len(uniques_a) != len(uniques_b):
        return False
    pairs = codes_a.astype("int64") * (len(uniques_b) + 1) + codes_b
    return len(pd.unique(pairs)) == len(uniques_a)


def chart_name(title: str) -> str:
    """'Total revenue by region' -> 'chart-total-revenue-by-region.png'."""
    import re

    return "chart-" + (re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "chart") + ".png"


def load_charts_meanwhile() -> None:
    """Import matplotlib on a thread while the data loads (pandas leaves the GIL free in much of
    that), so the chart steps of a stateful session do not wait for it; silent if it is missing."""
    import threading

    def load() -> None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot
        except Exception:
            pass

    threading.Thread(target=load, name="autorun-load-charts", daemon=True).start()


def save_chart(kind: str, labels: Any, values: Any, title: str) -> str | None:
    """Save a bar (categories) or line (periods) chart as PNG in the current directory; its name, or None.

    Without matplotlib where the code runs, a note is printed and no chart is made.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        print(f"(no chart for {title}: matplotlib is not installed where the code runs)")
        return None
    labels = [str(k) for k in labels]
    values = [float(v) for v in values]
    if kind == "bar":
        labels, values = labels[:CHART_BARS][::-1], values[:CHART_BARS][::-1]
        fig, ax = plt.subplots(figsize=(8, max(2.5, 0.35 * len(labels) + 1.2)))
        ax.barh(labels, values, color="#4C72B0")
        ax.set_xlabel(title.split(" by ")[0])
    else:
        fig, ax = plt.subplots(figsize=(9, 4))
        ax.plot(labels, values, marker="o" if len(values) <= 40 else None, color="#4C72B0")
        step = max(1, len(labels) // 12)
        ax.set_xticks(range(0, len(labels), step))
        ax.set_xticklabels(labels[::step], rotation=45, ha="right")
        ax.set_ylabel(title.split(" by ")[0])
    (ax.xaxis if kind == "bar" else ax.yaxis).set_major_formatter(FuncFormatter(lambda v, _: fmt(v)))
    ax.set_title(title[:1].upper() + title[1:])
    ax.grid(axis="x" if kind == "bar" else "y", alpha=0.3)
    fig.tight_layout()
    name = chart_name(title)
    fig.savefig(name, dpi=100)
    plt.close(fig)
    print(f"Chart: {name}")
    return name


def period_keys(dates: Any, span_days: int) -> tuple[str, Any]:
    """(period name, one label per row) for the period that fits the span: hours, days, weeks, months or years."""
    import pandas as pd

    if span_days > 3 * 365:
        return "year", date_labels(dates, "%Y")
    if span_days > 60:
        return "month", date_labels(dates, "%Y-%m")
    if span_days > 14:
        start = dates - pd.to_timedelta(dates.dt.weekday, unit="D")
        return "week", date_labels(start, "week of %Y-%m-%d")
    if span_days > 2:
        return "day", date_labels(dates, "%Y-%m-%d")
    return "hour", date_labels(dates, "%Y-%m-%d %H:00")


def date_labels(dates: Any, pattern: str) -> Any:
    """``dates.dt.strftime(pattern)`` as a categorical, each distinct date formatted once (a million
    rows hold few days) and grouped by integer codes; missing dates have no label."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(dates)
    label_codes, labels = pd.factorize(np.asarray(pd.DatetimeIndex(uniques).strftime(pattern), dtype=object))
    row_codes = np.where(codes < 0, -1, np.append(label_codes, -1)[codes])
    return pd.Series(pd.Categorical.from_codes(row_codes, categories=labels), index=dates.index, name=dates.name)


def period_bounds(period: str, key: str, tz: Any = None) -> tuple[Any, Any]:
    """The start of the period a key of ``period_keys`` names, and the start of the next one."""
    import pandas as pd

    if period == "year":
        start = pd.Timestamp(f"{key}-01-01")
        end = start + pd.DateOffset(years=1)
    elif period == "month":
        start = pd.Timestamp(f"{key}-01")
        end = start + pd.DateOffset(months=1)
    elif period == "week":
        start = pd.Timestamp(key.replace("week of ", ""))
        end = start + pd.Timedelta(days=7)
    elif period == "day":
        start = pd.Timestamp(key)
        end = start + pd.Timedelta(days=1)
    else:
        start = pd.Timestamp(key.replace(":00", ":00:00"))
        end = start + pd.Timedelta(hours=1)
    if tz is not None:
        start, end = start.tz_localize(tz), end.tz_localize(tz)
    return start, end


def full_periods(table: Any, period: str, dates: Any) -> list[Any]:
    """The periods the data covers whole: every inner one, and an edge one only when the data
    reaches within 1.5 typical gaps between observations of its calendar start (first) or end (last).

    Years given as numbers (or dates pandas keeps as objects) have no calendar to check: there
    an edge period counts when it holds at least half the median period's rows.
    """
    import pandas as pd

    keys = list(table.index)
    if not pd.api.types.is_datetime64_any_dtype(dates):
        middle = float(table["rows"].median())
        return [k for i, k in enumerate(keys) if 0 < i < len(keys) - 1 or table.loc[k, "rows"] >= 0.5 * middle]
    seen = dates.dropna().sort_values()
    slack = seen.diff().median() * 1.5 if len(seen) > 1 else pd.Timedelta(0)
    tz = getattr(seen.dt, "tz", None)
    first_ok = seen.iloc[0] - period_bounds(period, str(keys[0]), tz)[0] <= slack
    last_ok = period_bounds(period, str(keys[-1]), tz)[1] - seen.iloc[-1] <= slack
    inner = keys[1:-1]
    if len(keys) == 1:
        return keys if first_ok and last_ok else []
    return ([keys[0]] if first_ok else []) + inner + ([keys[-1]] if last_ok else [])


def report_trend(df: Any, date: str, dates: Any, primary: str | None, agg: str, facts_path: str) -> None:
    """The primary measure per period (same aggregation rule), the top period and the change first to last."""
    import pandas as pd

    valid = dates.notna()
    print(f"{int(valid.sum()):,} of {len(df):,} rows have a valid {date}")
    if not valid.any():
        save_facts(facts_path, "trend", {"periods": []})
        return
    if pd.api.types.is_numeric_dtype(dates):
        period, keys = "year", dates.map(lambda v: label(int(v)) if v == v else None)
    else:
        period, keys = period_keys(dates, (dates.max() - dates.min()).days)
    title = f"{AGG_WORDS[agg]} {primary}" if primary else "rows"
    table = pd.DataFrame({"rows": keys.value_counts()})
    if primary:
        table[title] = getattr(numbers(df, primary).groupby(keys, observed=True), agg)()
    table.index = table.index.astype(object)
    table = table.sort_index()
    full = full_periods(table, period, dates)
    print(f"\n{title} by {period}:")
    long = len(table) > 2 * SHOWN_PERIODS
    show(pd.concat([table.head(SHOWN_PERIODS), table.tail(SHOWN_PERIODS)]) if long else table)
    if long:
        print(f"({len(table) - 2 * SHOWN_PERIODS} periods in the middle not shown)")
    top = table[title].idxmax()
    print(f"\nTop {period} by {title}: {top} with {fmt(table.loc[top, title])}")
    chart = save_chart("line", table.index, table[title], f"{title} by {period}")
    facts = {"period": period, "title": title, "top": str(top), "top_value": plain(table.loc[top, title])}
    facts["chart"] = chart
    if len(full) >= 2:
        first, last = full[0], full[-1]
        a, b = float(table.loc[first, title]), float(table.loc[last, title])
        change = {"first": str(first), "last": str(last), "from": a, "to": b}
        change["pct"] = (b - a) / abs(a) * 100 if a else None
        pct = f" ({change['pct']:+.1f}%)" if change["pct"] is not None else ""
        print(f"From the first to the last full {period}: {first} {fmt(a)} -> {last} {fmt(b)}{pct}")
        facts["change"] = change
    facts["periods"] = [[str(k), plain(v)] for k, v in table[title].items()][-500:]
    save_facts(facts_path, "trend", facts)
