"""The builtin's charts, drawn from the aggregates its tables show: bars by category, lines over periods.

Readable at a glance: compact tick labels (74M, 1.2k), at most six ticks on an axis, bars
that start at zero, totals over time on an axis from zero, and periods the data covers only
in part (a first or last month cut short) drawn hollow on a dashed line, and said in the legend.
"""

from __future__ import annotations

import re
import threading
from typing import Any

CHART_BARS = 20
MAX_TICKS = 6
COLOR = "#4C72B0"
COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860")


def compact(value: float) -> str:
    """74M, 1.2k, 3.5B, 950, 0.25: a tick label that never collides with its neighbours."""
    size = abs(value)
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            text = f"{value / limit:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    if size >= 1 or value == 0:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2g}"


def chart_name(title: str) -> str:
    """'Total revenue by region' -> 'chart-total-revenue-by-region.png'."""
    return "chart-" + (re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "chart") + ".png"


def import_meanwhile(charts: bool) -> None:
    """Import pandas (and for ``charts`` matplotlib) on a thread while the data loads (DuckDB leaves the
    GIL free), so the steps after it do not wait for them; silent if one is missing."""

    def load() -> None:
        try:
            import pandas  # noqa: F401

            if charts:
                import matplotlib

                matplotlib.use("Agg")
                import matplotlib.pyplot
        except Exception:
            pass

    threading.Thread(target=load, name="autorun-imports", daemon=True).start()


def _pyplot(title: str) -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"(no chart for {title}: matplotlib is not installed where the code runs)")
        return None
    return plt


def _value_axis(axis: Any) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=MAX_TICKS - 1))
    axis.set_major_formatter(FuncFormatter(lambda v, _: compact(v)))


def _save(fig: Any, plt: Any, title: str) -> str:
    fig.tight_layout()
    name = chart_name(title)
    fig.savefig(name, dpi=100)
    plt.close(fig)
    print(f"Chart: {name}")
    return name


def bar_chart(labels: list[Any], values: list[float], title: str) -> str | None:
    """Horizontal bars, largest on top, from zero; the chart's file name, or None without matplotlib."""
    plt = _pyplot(title)
    return None if plt is None else _save(bar_figure(plt, labels, values, title), plt, title)


def bar_figure(plt: Any, labels: list[Any], values: list[float], title: str) -> Any:
    """The bar chart's figure: compact value ticks (at most MAX_TICKS), bars from zero."""
    labels = [str(k) for k in labels][:CHART_BARS][::-1]
    values = [float(v) for v in values][:CHART_BARS][::-1]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.35 * len(labels) + 1.2)))
    ax.barh(labels, values, color=COLOR)
    low, high = min([0.0, *values]), max([0.0, *values])
    ax.set_xlim(low * 1.05, high * 1.05 if high > 0 else 1)
    _value_axis(ax.xaxis)
    ax.set_xlabel(title.split(" by ")[0])
    ax.set_title(title[:1].upper() + title[1:])
    ax.grid(axis="x", alpha=0.3)
    return fig


def line_chart(
    periods: list[str], series: dict[str, list[float | None]], title: str, partial: set[str], from_zero: bool
) -> str | None:
    """One line per series over the periods; partial periods hollow on a dashed line; the file name or None."""
    plt = _pyplot(title)
    return None if plt is None else _save(line_figure(plt, periods, series, title, partial, from_zero), plt, title)


def line_figure(
    plt: Any, periods: list[str], series: dict[str, list[float | None]], title: str, partial: set[str], from_zero: bool
) -> Any:
    """The line chart's figure: at most MAX_TICKS period and value ticks, partial periods marked, from zero if asked."""
    fig, ax = plt.subplots(figsize=(9, 4))
    positions = list(range(len(periods)))
    full = [i for i, p in enumerate(periods) if p not in partial]
    shown_partial = False
    for number, (name, values) in enumerate(series.items()):
        color = COLORS[number % len(COLORS)]
        ys = [float("nan") if v is None else float(v) for v in values]
        label = name if len(series) > 1 else None
        ax.plot(positions, ys, color=color, linestyle="--", alpha=0.6)
        solid = [ys[i] if i in full else float("nan") for i in positions]
        ax.plot(positions, solid, color=color, marker="o" if len(periods) <= 40 else None, label=label)
        edges = [i for i in positions if periods[i] in partial]
        if edges:
            ax.plot(edges, [ys[i] for i in edges], linestyle="none", marker="o", markerfacecolor="white", color=color)
            shown_partial = True
    if shown_partial:
        ax.plot([], [], linestyle="--", marker="o", markerfacecolor="white", color="grey", label="partial period")
    step = max(1, -(-len(periods) // MAX_TICKS))
    ax.set_xticks(positions[::step])
    ax.set_xticklabels(periods[::step], rotation=30, ha="right")
    _value_axis(ax.yaxis)
    drawn = [float(v) for vs in series.values() for v in vs if v is not None]
    if from_zero and drawn and min(drawn) >= 0:
        ax.set_ylim(0, max(drawn) * 1.08 or 1)
    ax.set_ylabel(title.split(" by ")[0])
    ax.set_title(title[:1].upper() + title[1:])
    ax.grid(axis="y", alpha=0.3)
    if len(series) > 1 or shown_partial:
        ax.legend(fontsize="small", loc="best")
    return fig
