"""The offline builtin analyst: a deterministic, rule-based assistant that writes pandas code.

It works out where it is from the conversation alone (its own tagged blocks and the
execution results after them), so the same messages always give the same reply.
A failed block is diagnosed from its error text and retried with a corrected,
more conservative block, at most twice per step.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from autorun.datafile import DataFileInfo
from autorun.models.base import Message, Usage
from autorun.models.builtin_code import FACT_PREFIX, MAX_GROUPS, MAX_METRICS, ROW_LIMIT, Fixes, Plan, render

MAX_ATTEMPTS = 3
PRIMARY_WORDS = ("revenue", "sales", "amount", "total", "value", "price", "profit", "income", "cost")
_ID_RE = re.compile(r"(^|[\s_-])id$|^id[\s_-]", re.IGNORECASE)
_TAG_RE = re.compile(r"^# autorun-builtin step=(\w+) attempt=(\d+)", re.MULTILINE)
_RESULT_RE = re.compile(r"^exitcode: (-?\d+) \(execution (?:succeeded|failed)\)\nCode output:\n?", re.DOTALL)
_ERROR_LINE_RE = re.compile(r"^(\w+(?:\.\w+)*(?:Error|Exception|Exit)\b.*|.*timed out after.*)$", re.MULTILINE)

STEP_TITLES = {
    "load": "loading",
    "describe": "numeric summary",
    "groups": "group totals",
    "months": "monthly totals",
}


def make_plan(info: DataFileInfo) -> Plan:
    numeric = list(info.numeric_columns)
    metrics = [c for c in numeric if not _ID_RE.search(c)] or numeric
    primary = next((c for word in PRIMARY_WORDS for c in metrics if word in c.lower()), None)
    primary = primary or (metrics[0] if metrics else None)
    if primary is not None:
        metrics = [primary] + [c for c in metrics if c != primary]
    return Plan(
        numeric=numeric,
        metrics=metrics[:MAX_METRICS],
        primary=primary,
        groups=list(info.low_cardinality),
        date=info.date_columns[0] if info.date_columns else None,
        dayfirst=info.dayfirst,
    )


def steps_for(plan: Plan) -> list[str]:
    steps = ["load"]
    if plan.numeric:
        steps.append("describe")
    if plan.groups:
        steps.append("groups")
    if plan.date:
        steps.append("months")
    return steps


@dataclass
class _Progress:
    """Where the analysis stands after replaying the conversation."""

    index: int = 0
    attempt: int = 1
    fixes: Fixes = field(default_factory=Fixes)
    reason: str = ""
    error: str = ""
    facts: dict[str, list[list[str]]] = field(default_factory=dict)
    corrected: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    stop: bool = False


class BuiltinAnalyst:
    """Model protocol implementation; ``data_path`` is the file's path as the executed code sees it."""

    name = "builtin"

    def __init__(self, info: DataFileInfo, data_path: str, question: str | None = None) -> None:
        self.info = info
        self.data_path = data_path
        self.question = question  # questions need an LLM; the builtin always runs its fixed plan
        self.usage: Usage | None = None
        self.plan = make_plan(info)
        self.steps = steps_for(self.plan)

    def cost(self, usage: Usage | None) -> float | None:
        """Nothing to pay: the reply is made here, not bought from a server."""
        return None

    def reply(self, messages: Sequence[Message]) -> Iterator[str]:
        yield from _chunks(self.next_message(messages))

    def next_message(self, messages: Sequence[Message]) -> str:
        progress = self._replay(messages)
        if progress.stop or progress.index >= len(self.steps):
            return summarise(self.info, self.plan, self.steps, progress)
        step = self.steps[progress.index]
        code = render(step, progress.attempt, self.info, self.data_path, self.plan, progress.fixes)
        return f"{self._intro(step, progress)}\n\n```python\n{code}```\n"

    def _replay(self, messages: Sequence[Message]) -> _Progress:
        progress = _Progress()
        for position, message in enumerate(messages):
            tag = _TAG_RE.search(message.content) if message.role == "assistant" else None
            if tag is None or tag.group(1) not in self.steps:
                continue
            following = messages[position + 1] if position + 1 < len(messages) else None
            result = following.content if following is not None and following.role == "user" else None
            self._advance(progress, tag.group(1), int(tag.group(2)), result)
        return progress

    def _advance(self, progress: _Progress, step: str, attempt: int, result: str | None) -> None:
        match = _RESULT_RE.match(result or "")
        title, fix = STEP_TITLES[step], progress.reason
        progress.index, progress.attempt, progress.reason = self.steps.index(step) + 1, 1, ""
        if match is None:
            progress.not_run.append(step)
            return
        exit_code, output = int(match.group(1)), (result or "")[match.end() :]
        if exit_code == 0:
            progress.facts[step] = _parse_facts(output)
            if attempt > 1:
                progress.corrected.append(
                    f"the {title} block failed with `{progress.error}`; the retry ({fix}) worked."
                )
            return
        progress.error = error_line(output, exit_code)
        diagnosis = diagnose(step, output, exit_code, self.info, progress.fixes) if attempt < MAX_ATTEMPTS else None
        if diagnosis is None:
            missing = "" if step == "load" else ", so its figures are missing"
            progress.failed.append(f"the {title} step failed (`{progress.error}`){missing}.")
            progress.stop = step == "load"
            return
        progress.fixes, progress.reason = diagnosis
        progress.index, progress.attempt = self.steps.index(step), attempt + 1

    def _intro(self, step: str, progress: _Progress) -> str:
        position = f"Step {progress.index + 1} of {len(self.steps)}"
        if progress.attempt > 1:
            failure = f"the last block failed with `{progress.error}`"
            return f"{position}, attempt {progress.attempt}: {failure}, so I'll {progress.reason}."
        plan, info = self.plan, self.info
        if step == "load":
            how = f"{info.format.upper()}"
            if info.delimiter is not None:
                how += f", delimiter {info.delimiter!r}, decimal {info.decimal!r}, encoding {info.encoding}"
            checks = "its shape, column types and missing values"
            return f"{position}: I'll load `{info.path.name}` ({how}) and check {checks}."
        if step == "describe":
            return f"{position}: summary statistics of the numeric columns ({_names(plan.numeric)})."
        if step == "groups":
            what = f"the total and mean of {_names(plan.metrics)}" if plan.metrics else "the number of rows"
            return f"{position}: {what} for each {_names(plan.groups[:MAX_GROUPS])}."
        what = f"{_names(plan.metrics)} totals" if plan.metrics else "rows"
        return f"{position}: {what} by month of `{plan.date}`, and the top month."


def _names(items: list[str], shown: int = 6) -> str:
    quoted = [f"`{item}`" for item in items[:shown]]
    if len(items) > shown:
        return f"{', '.join(quoted)} and {len(items) - shown} more"
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _chunks(text: str, size: int = 6) -> Iterator[str]:
    lines = text.splitlines(keepends=True)
    for start in range(0, len(lines), size):
        yield "".join(lines[start : start + size])


def _parse_facts(output: str) -> list[list[str]]:
    prefix = FACT_PREFIX + "\t"
    return [line[len(prefix) :].split("\t") for line in output.splitlines() if line.startswith(prefix)]


def error_line(output: str, exit_code: int) -> str:
    """The most telling line of a failed block's output (the exception, usually the last one)."""
    found = _ERROR_LINE_RE.findall(output)
    if found:
        line = found[-1].strip()
    else:
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        line = lines[-1] if lines else f"exit code {exit_code}"
    return line if len(line) <= 120 else line[:117] + "..."


_RULES: list[tuple[str, str]] = [
    ("timeout", r"timed out after|^MemoryError|Unable to allocate"),
    ("engine", r"ImportError|ModuleNotFoundError|Missing optional dependency|usable engine|No module named"),
    ("encoding", r"UnicodeDecodeError|codec can't decode|UnicodeError"),
    ("json_lines", r"Trailing data"),
    ("parser", r"ParserError|Error tokenizing data|EOF inside string|Expected \d+ fields|field larger than"),
    ("dates", r"Mixed timezones|[Tt]z-aware|OutOfBounds|Out of bounds|\.dt accessor|datetimelike|time data"),
    ("columns", r"KeyError|not in index|Usecols do not match"),
    (
        "numbers",
        r"could not convert|Could not convert|agg function failed|No numeric types|unsupported operand"
        r"|does not support operation|cannot convert|must be real number",
    ),
]


def diagnose(step: str, output: str, exit_code: int, info: DataFileInfo, fixes: Fixes) -> tuple[Fixes, str] | None:
    """The corrected settings for a retry and what they do ("read the file as latin-1"), or None to give up."""
    text = output + ("\ntimed out after" if exit_code == 124 else "")
    for kind, pattern in _RULES:
        if re.search(pattern, text, re.MULTILINE):
            fix = _fix_for(kind, step, info, fixes)
            if fix is not None:
                return fix
            if kind in ("timeout", "engine"):
                return None
    if not fixes.careful:
        return (
            fixes.with_(careful=True, coerce_numbers=True),
            "retry more conservatively, converting values to numbers and skipping missing columns",
        )
    return None


def _fix_for(kind: str, step: str, info: DataFileInfo, fixes: Fixes) -> tuple[Fixes, str] | None:
    delimited = info.format in ("csv", "tsv")
    if kind == "timeout" and fixes.max_rows is None:
        return fixes.with_(max_rows=ROW_LIMIT), f"analyse only the first {ROW_LIMIT:,} rows"
    if kind == "engine" and info.format in ("parquet", "excel") and not fixes.engines:
        return fixes.with_(engines=True), "try the other reader engines"
    if kind == "encoding" and delimited and (fixes.encoding or info.encoding) != "latin-1":
        return fixes.with_(encoding="latin-1"), "read the file with encoding latin-1"
    if kind == "json_lines" and info.format == "json" and not fixes.lines:
        return fixes.with_(lines=True), "read it as JSON Lines (lines=True)"
    if kind == "parser" and delimited and not fixes.python_engine:
        return (
            fixes.with_(python_engine=True),
            'use the python parser (engine="python") and skip malformed lines (on_bad_lines="skip")',
        )
    if kind in ("parser", "columns") and delimited and not fixes.resniff:
        return fixes.with_(resniff=True), "let pandas detect the delimiter itself (sep=None)"
    if kind == "dates" and step == "months" and not fixes.local_dates:
        what = 'drop the timezone offsets (keeping local time) and parse with errors="coerce"'
        return fixes.with_(local_dates=True), what
    if kind == "dates" and step == "months" and not fixes.utc_dates:
        return fixes.with_(utc_dates=True), "convert all dates to UTC (utc=True)"
    if kind == "columns" and not fixes.strip_columns:
        return fixes.with_(strip_columns=True, careful=True), "strip the column names and skip missing columns"
    if kind == "numbers" and not fixes.coerce_numbers:
        return fixes.with_(coerce_numbers=True, careful=True), 'convert values with pd.to_numeric(errors="coerce")'
    return None


def _num(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def fmt_number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def summarise(info: DataFileInfo, plan: Plan, steps: list[str], progress: _Progress) -> str:
    """The final message: plain-language figures parsed from the blocks' fact lines, then TERMINATE."""
    facts = progress.facts
    lines: list[str] = []
    if "load" not in facts:
        if progress.not_run and not progress.failed:
            lines.append("Code execution is disabled, so I have no figures; run the blocks above to see them.")
        else:
            lines.append(f"I could not load `{info.path.name}`, so there are no figures to report.")
            lines += [f"- {text[0].upper()}{text[1:]}" for text in progress.failed]
    else:
        lines += _shape_lines(info, facts["load"])
        lines += _group_lines(plan, facts.get("groups", []))
        lines += _month_lines(facts.get("months", []))
        lines += _stat_lines(plan, facts.get("describe", []))
        lines += _missing_lines(facts["load"])
    if progress.fixes.max_rows:
        lines.append(f"- Figures cover the first {progress.fixes.max_rows:,} rows only.")
    lines += [f"- Self-correction: {text}" for text in progress.corrected]
    if "load" in facts:
        lines += [f"- {text[0].upper()}{text[1:]}" for text in progress.failed]
    lines += [f"- The {STEP_TITLES[s]} step was not executed." for s in progress.not_run if "load" in facts]
    return "\n".join(lines) + "\n\nTERMINATE\n"


def _shape_lines(info: DataFileInfo, load: list[list[str]]) -> list[str]:
    shape = {f[1]: f[2] for f in load if f[0] == "shape" and len(f) >= 3}
    rows, cols = shape.get("rows", "?"), shape.get("columns", "?")
    rows = f"{int(rows):,}" if rows.isdigit() else rows
    return [f"Summary of `{info.path.name}` ({rows} rows, {cols} columns):", ""]


def _group_lines(plan: Plan, facts: list[list[str]]) -> list[str]:
    lines = []
    for group in plan.groups:
        if plan.primary is not None:
            pairs = [
                (f[2], _num(f[4]))
                for f in facts
                if f[0] == "group" and len(f) >= 7 and f[1] == group and f[3] == plan.primary
            ]
            label = f"{group} {plan.primary}"
        else:
            pairs = [(f[2], _num(f[3])) for f in facts if f[0] == "count" and len(f) >= 4 and f[1] == group]
            label = f"{group} row count"
        ranked = sorted(((k, v) for k, v in pairs if v is not None), key=lambda kv: -kv[1])
        if ranked:
            others = ", ".join(f"{k} {fmt_number(v)}" for k, v in ranked[1:4])
            tail = f" ({others}{', ...' if len(ranked) > 4 else ''})" if others else ""
            lines.append(f"- {ranked[0][0]} leads {label} with {fmt_number(ranked[0][1])}{tail}.")
    return lines


def _month_lines(facts: list[list[str]]) -> list[str]:
    top = next((f for f in facts if f[0] == "top_month" and len(f) >= 5), None)
    if top is None or _num(top[4]) is None:
        return []
    months = [(f[2], _num(f[4])) for f in facts if f[0] == "month" and len(f) >= 5 and f[2] != top[2]]
    ranked = sorted(((k, v) for k, v in months if v is not None), key=lambda kv: -kv[1])[:3]
    others = ", ".join(f"{k} {fmt_number(v)}" for k, v in ranked)
    metric = "row count" if top[3] == "rows" else top[3]
    tail = f" (then {others})" if others else ""
    return [f"- Top month by {metric}: {top[2]} with {fmt_number(_num(top[4]) or 0)}{tail}."]


def _stat_lines(plan: Plan, facts: list[list[str]]) -> list[str]:
    stats = {(f[1], f[2]): _num(f[3]) for f in facts if f[0] == "stat" and len(f) >= 4}
    lines = []
    for metric in plan.metrics[:2]:
        total, mean = stats.get((metric, "sum")), stats.get((metric, "mean"))
        low, high = stats.get((metric, "min")), stats.get((metric, "max"))
        if None not in (total, mean, low, high):
            lines.append(
                f"- {metric}: total {fmt_number(total)}, mean {fmt_number(mean)}, "  # type: ignore[arg-type]
                f"min {fmt_number(low)}, max {fmt_number(high)}."  # type: ignore[arg-type]
            )
    return lines


def _missing_lines(load: list[list[str]]) -> list[str]:
    missing = [(f[1], f[2]) for f in load if f[0] == "missing" and len(f) >= 3]
    if not missing:
        return ["- No missing values."]
    shown = ", ".join(f"{name} ({int(count):,})" for name, count in missing[:8] if count.isdigit())
    return [f"- Missing values: {shown}{', ...' if len(missing) > 8 else ''}."]
