"""The builtin analyst's final message: at most eight bullets, the most informative first.

Every figure comes from the facts the blocks published, which hold exactly what their
printed tables show (same numbers, same ``fmt`` format), and each bullet names its
aggregation: "Total revenue by region", "Mean body_mass_g by species".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autorun.analyst.report import AGG_WORDS, MISSING, fmt

MAX_BULLETS = 8
MAX_GROUP_BULLETS = 3
SHOWN_KEYS = 4


@dataclass
class Outcome:
    """What happened to the steps, besides their facts."""

    corrected: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    subset: int | None = None
    facts_missing: str | None = None  # what could not be read back (the load step's published figures)


def summarise(name: str, facts: dict[str, Any], primary: str | None, outcome: Outcome) -> str:
    load = facts.get("load")
    if load is None:
        if outcome.not_run and not outcome.failed:
            head = ["Code execution is disabled, so I have no figures; run the blocks above to see them."]
        elif outcome.facts_missing:
            head = [f"The blocks ran, but their figures could not be read back from {outcome.facts_missing}."]
            head.append("The tables above hold the results.")
        else:
            head = [f"I could not load `{name}`, so there are no figures to report."]
            head += [f"- {_sentence(text)}" for text in outcome.failed]
        return "\n".join(head) + "\n\nTERMINATE\n"
    trend = facts.get("trend", {})
    bullets = _reading(load) + _groups(facts.get("groups", {}), primary) + _trend(trend) + _entities(trend)
    bullets += _overall(facts.get("measures", {}), primary) + _correlations(facts.get("measures", {}))
    bullets += _outliers(facts.get("measures", {})) + _quality(load)
    lines = [_title(name, load), ""] + [f"- {b}" for b in bullets[:MAX_BULLETS]]
    lines += [f"- Self-correction: {text}" for text in outcome.corrected]
    lines += [f"- {_sentence(text)}" for text in outcome.failed]
    lines += [f"- The {step} step was not executed." for step in outcome.not_run]
    return "\n".join(lines) + "\n\nTERMINATE\n"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _title(name: str, load: dict[str, Any]) -> str:
    rows, total, columns = load["rows"], load.get("total_rows", load["rows"]), load["columns"]
    if load.get("notes", {}).get("subset") and total > rows:
        return f"Summary of `{name}` (first {rows:,} of {total:,} rows, {columns} columns; figures cover those rows):"
    return f"Summary of `{name}` ({rows:,} row{'s' if rows != 1 else ''}, {columns} columns):"


def _reading(load: dict[str, Any]) -> list[str]:
    notes, said = load.get("notes", {}), []
    if notes.get("bad_rows"):
        bad = notes["bad_rows"]
        rows = f"{bad:,} rows" if bad != 1 else "1 row"
        said.append(f"{rows} could not be parsed (wrong number of fields) and left out")
    sheets = notes.get("sheets", [])
    if len(sheets) > 1:
        others = ", ".join(f"{s[0]} ({s[1]:,} rows)" for s in sheets if s[0] != notes.get("sheet"))
        said.append(f"read sheet {notes.get('sheet')} ({notes.get('sheet_by', 'the largest table')}; also: {others})")
    if notes.get("skiprows"):
        said.append(f"skipped {notes['skiprows']} lines of preamble")
    if notes.get("flattened"):
        said.append("flattened nested " + ", ".join(notes["flattened"]))
    if notes.get("converted"):
        said.append("converted text to numbers: " + ", ".join(f"{k} ({v})" for k, v in notes["converted"].items()))
    shape = load.get("shape") or {}
    if shape.get("melted"):
        said.append(f"a wide table, one column per {shape['melted']}: melted to one row per {shape['melted']}")
    if shape.get("split"):
        year, part, kind = shape["split"]
        said.append(f"{year} and {part} read as one {kind}")
    return ["Reading: " + "; ".join(said) + "."] if said else []


def _ranked(table: dict[str, dict[str, Any]], column: str, share: bool) -> str:
    """The first few keys with their figures; "and N more" counts values, never the (missing) bucket."""
    items = [(key, row.get(column)) for key, row in table.items() if row.get(column) is not None]
    shown = []
    for key, value in items[:SHOWN_KEYS]:
        extra = f" ({table[key]['share %']:.1f}%)" if share else ""
        shown.append(f"{key} {fmt(value)}{extra}")
    more = sum(1 for key, _ in items[SHOWN_KEYS:] if key != MISSING)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _groups(groups: dict[str, Any], primary: str | None) -> list[str]:
    bullets = []
    for group, found in list(groups.items())[:MAX_GROUP_BULLETS]:
        title = next((c[2] for c in found["columns"] if c[0] == primary), None)
        table = found["table"]
        if title is None:
            bullets.append(f"Rows by {group}: {_ranked(table, 'rows', share=True)}.")
        else:
            words = title.split(" ", 1)
            bullets.append(f"{_sentence(words[0])} {words[1]} by {group}: {_ranked(table, title, share=False)}.")
    return bullets


def _trend(trend: dict[str, Any]) -> list[str]:
    if not trend.get("periods"):
        return []
    title, period = trend["title"], trend["period"]
    text = f"{_sentence(title)} by {period}: top {period} {trend['top']} with {fmt(trend['top_value'])}"
    change = trend.get("change")
    if change:
        pct = f", {change['pct']:+.1f}%" if change.get("pct") is not None else ""
        text += f"; first to last full {period}: {change['first']} {fmt(change['from'])}"
        text += f" -> {change['last']} {fmt(change['to'])}{pct}"
    return [text + "."]


def _entities(trend: dict[str, Any]) -> list[str]:
    found = trend.get("entity") or {}
    rows = found.get("rows") or []
    if not rows:
        return []
    shown = []
    for r in rows[:SHOWN_KEYS]:
        pct = f" ({r['pct']:+.1f}%)" if r.get("pct") is not None else ""
        shown.append(f"{r['entity']} {r['first']} {fmt(r['from'])} -> {r['last']} {fmt(r['to'])}{pct}")
    more = found.get("count", len(rows)) - len(shown)
    column, period = found["column"], trend.get("period", "period")
    text = f"{_sentence(found['title'])} by {period} per {column}, first to last full {period}: " + "; ".join(shown)
    return [text + (f"; and {more:,} more" if more > 0 else "") + "."]


def _overall(measures: dict[str, Any], primary: str | None) -> list[str]:
    stats = measures.get("stats", {})
    order = sorted(stats, key=lambda n: n != primary)
    parts = []
    for name in order[:3]:
        entry = stats[name]
        if entry["agg"] == "sum":
            parts.append(f"total {name} {fmt(entry['total'])}")
        else:
            parts.append(f"{AGG_WORDS[entry['agg']]} {name} {fmt(entry[entry['agg']])}")
    return [f"Overall: {', '.join(parts)}."] if parts else []


def _correlations(measures: dict[str, Any]) -> list[str]:
    pairs = measures.get("correlations", [])[:2]
    if not pairs:
        return []
    text = "; ".join(f"{p['a']} and {p['b']} r = {p['r']:.2f} (n = {p['n']:,})" for p in pairs)
    return [f"Strongest correlations: {text}."]


def _outliers(measures: dict[str, Any]) -> list[str]:
    found = [(n, e) for n, e in measures.get("stats", {}).items() if e.get("outliers")]
    if not found:
        return []
    found.sort(key=lambda item: -item[1]["outliers"])
    text = ", ".join(f"{n} {e['outliers']:,} (most extreme {fmt(e['extreme'])})" for n, e in found[:3])
    return [f"Outliers beyond 1.5 IQR: {text}."]


def _quality(load: dict[str, Any]) -> list[str]:
    said = []
    missing = load.get("missing", {})
    if missing:
        worst = sorted(missing.items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{k} ({v:,})" for k, v in worst[:5])
        said.append(f"missing values in {shown}{', ...' if len(worst) > 5 else ''}")
    else:
        said.append("no missing values")
    duplicates = load.get("duplicates", 0)
    said.append(f"{duplicates:,} duplicate rows" if duplicates else "no duplicate rows")
    if load.get("constant"):
        said.append("constant: " + ", ".join(load["constant"]))
    if load.get("mostly_missing"):
        said.append("mostly empty: " + ", ".join(load["mostly_missing"]))
    return ["Data quality: " + "; ".join(said) + "."]
