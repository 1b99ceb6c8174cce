"""The offline builtin analyst: a deterministic, rule-based assistant that writes pandas code.

It works out where it is from the conversation alone: its own tagged blocks, the execution
results after them and the figures those blocks published (``Message.published``, which the
session takes out of the output and keeps in its record), so the same messages always give
the same reply, and no file a block could rewrite or delete is ever read. A failed block is diagnosed from
its error text and retried with a corrected, more conservative block, at most twice per
step. What it analyses follows the column roles (``autorun.analyst.roles``) that its
first block infers on the loaded data.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autorun.analyst.roles import primary_measure
from autorun.analyst.shapes import trend_date
from autorun.analyst.summary import Outcome, summarise
from autorun.block_results import BLOCK_KILLED, BLOCK_TIMED_OUT, parse_result
from autorun.datafile import DataFileInfo
from autorun.models.base import Message, Usage
from autorun.models.builtin_code import MAX_GROUPS, MAX_MEASURES, Fixes, Plan, Target, render

MAX_ATTEMPTS = 3
OTHER_FORMATS = ("excel",)
MAX_CATEGORY_VALUES = 50
# autorun's package root on this host: where the blocks import the builtin's runtime from by default.
RUNTIME_ROOT = str(Path(__file__).resolve().parents[2])
_TAG_RE = re.compile(r"^# autorun-builtin step=(\w+) attempt=(\d+)", re.MULTILINE)
_ERROR_LINE_RE = re.compile(r"^(\w+(?:\.\w+)*(?:Error|Exception|Exit)\b.*|.*timed out after.*)$", re.MULTILINE)

STEP_TITLES = {"load": "loading", "measures": "measures", "groups": "group", "trend": "trend"}


def make_plan(roles: list[dict[str, Any]], dayfirst: bool = False, shape: dict[str, Any] | None = None) -> Plan:
    """The steps' columns from the roles and the table's shape: measures with their aggregation, groups,
    one date (or a year and its quarter or month), and the entity of a panel."""
    shape = shape or {}
    split = shape.get("split") or [None, None, None]
    period_columns = {c for c in (split[0], split[1]) if c}
    measures = [
        (r["column"], r["agg"])
        for r in roles
        if r["role"] in ("additive", "measure") and r["column"] not in period_columns
    ][:MAX_MEASURES]
    groups = [
        r["column"]
        for r in roles
        if r["role"] in ("category", "flag")
        and 2 <= r.get("distinct", 0) <= MAX_CATEGORY_VALUES
        and r["column"] not in period_columns
    ]
    date = trend_date(roles)
    return Plan(
        measures=measures,
        primary=primary_measure([r for r in roles if r["column"] in dict(measures)]),
        groups=groups[:MAX_GROUPS],
        date=split[0] or (date["column"] if date else None),
        date_is_year=bool(date and date["why"].startswith("year")),
        dayfirst=dayfirst,
        part=split[1],
        part_kind=split[2],
        entity=shape.get("entity"),
        free_text=[r["column"] for r in roles if r["role"] == "text"],
    )


def steps_for(plan: Plan) -> list[str]:
    steps = ["load"]
    if plan.measures:
        steps.append("measures")
    if plan.groups:
        steps.append("groups")
    if plan.date:
        steps.append("trend")
    return steps


@dataclass
class _Progress:
    """Where the analysis stands after replaying the conversation."""

    index: int = 0
    attempt: int = 1
    fixes: Fixes = field(default_factory=Fixes)
    reason: str = ""
    error: str = ""
    succeeded: list[str] = field(default_factory=list)
    outcome: Outcome = field(default_factory=Outcome)
    stop: bool = False


def _never() -> bool:
    return False


class BuiltinAnalyst:
    """Model protocol implementation.

    ``data_path`` is the file's path as the executed code sees it; ``runtime_root`` is where
    autorun's package is there (read-only); ``memory_limit`` the executor's, in bytes, for
    DuckDB's share of it; ``stateful()`` says whether python blocks share state.
    """

    name = "builtin"

    def __init__(
        self,
        info: DataFileInfo,
        data_path: str,
        *,
        runtime_root: str = RUNTIME_ROOT,
        memory_limit: int | None = None,
        stateful: Callable[[], bool] = _never,
    ) -> None:
        self.info = info
        self.data_path = data_path
        self.usage: Usage | None = None
        self.runtime_root = runtime_root
        self.memory_limit = memory_limit
        self.stateful = stateful

    def cost(self, usage: Usage | None) -> float | None:
        """Nothing to pay: the reply is made here, not bought from a server."""
        return None

    def reply(self, messages: Sequence[Message]) -> Iterator[str]:
        yield from _chunks(self.next_message(messages))

    def next_message(self, messages: Sequence[Message]) -> str:
        plan = make_plan(self.info.roles, self.info.dayfirst)
        progress = self._replay(messages, steps_for(plan))
        facts = published_facts(messages)
        load = facts.get("load")
        if isinstance(load, dict) and isinstance(load.get("roles"), list):
            plan = make_plan(load["roles"], self.info.dayfirst, load.get("shape"))
            progress = self._replay(messages, steps_for(plan))
        elif "load" in progress.succeeded:
            progress.outcome.facts_missing = "the load step's published figures"
        steps = steps_for(plan)
        if progress.stop or progress.index >= len(steps):
            kept = {step: facts[step] for step in progress.succeeded if step in facts}
            return summarise(self.info.path.name, kept, plan.primary, progress.outcome)
        step = steps[progress.index]
        target = Target(self.data_path, self.runtime_root, self.stateful(), self.memory_limit)
        code = render(step, progress.attempt, self.info, target, plan, progress.fixes)
        return f"{self._intro(step, plan, progress)}\n\n```python\n{code}```\n"

    def _replay(self, messages: Sequence[Message], steps: list[str]) -> _Progress:
        progress = _Progress()
        for position, message in enumerate(messages):
            tag = _TAG_RE.search(message.content) if message.role == "assistant" else None
            if tag is None or tag.group(1) not in steps:
                continue
            following = messages[position + 1] if position + 1 < len(messages) else None
            result = following.content if following is not None and following.role == "user" else None
            self._advance(progress, steps, tag.group(1), int(tag.group(2)), result)
        return progress

    def _advance(self, progress: _Progress, steps: list[str], step: str, attempt: int, result: str | None) -> None:
        parsed = parse_result(result or "")
        title, fix = STEP_TITLES[step], progress.reason
        progress.index, progress.attempt, progress.reason = steps.index(step) + 1, 1, ""
        outcome = progress.outcome
        if parsed is None:
            outcome.not_run.append(title)
            return
        exit_code, output = parsed.exit_code, parsed.output
        if exit_code == 0:
            progress.succeeded.append(step)
            if attempt > 1:
                outcome.corrected.append(f"the {title} block failed with `{progress.error}`; the retry ({fix}) worked.")
            return
        progress.error = error_line(output, exit_code)
        diagnosis = diagnose(step, output, exit_code, self.info, progress.fixes) if attempt < MAX_ATTEMPTS else None
        if diagnosis is None:
            missing = "" if step == "load" else ", so its figures are missing"
            outcome.failed.append(f"the {title} step failed (`{progress.error}`){missing}.")
            progress.stop = step == "load"
            return
        progress.fixes, progress.reason = diagnosis
        progress.index, progress.attempt = steps.index(step), attempt + 1

    def _intro(self, step: str, plan: Plan, progress: _Progress) -> str:
        position = f"Step {progress.index + 1}"
        if progress.attempt > 1:
            failure = f"the last block failed with `{progress.error}`"
            return f"{position}, attempt {progress.attempt}: {failure}, so I'll {progress.reason}."
        info = self.info
        if step == "load":
            how = info.format.upper() + (f", {info.compression}-compressed" if info.compression else "")
            if info.delimiter is not None:
                how += f", delimiter {info.delimiter!r}, decimal {info.decimal!r}, encoding {info.encoding}"
            if info.sheet is not None and len(info.sheets) > 1:
                how += f", sheet {info.sheet!r} of {len(info.sheets)}"
            checks = "work out each column's role on all of it, and check duplicates and missing values"
            return f"{position}: I'll read the whole of `{info.path.name}` ({how}) into DuckDB, {checks}."
        if step == "measures":
            what = ", ".join(f"{'total' if agg == 'sum' else agg} of `{name}`" for name, agg in plan.measures[:6])
            return f"{position}: the measures, each aggregated as its role allows ({what}), outliers and correlations."
        if step == "groups":
            names = ", ".join(f"`{g}`" for g in plan.groups)
            return f"{position}: rows, shares and the measures for each {names}."
        agg = "total" if plan.primary_agg == "sum" else plan.primary_agg
        what = f"{agg} `{plan.primary}`" if plan.primary else "rows"
        when = f"`{plan.date}` and `{plan.part}` as one {plan.part_kind}" if plan.part else f"`{plan.date}`"
        each = f", for each `{plan.entity}` on its own" if plan.entity else ""
        return f"{position}: {what} over time by {when}, in periods that fit its span{each}."


def published_facts(messages: Sequence[Message]) -> dict[str, Any]:
    """{step: its figures} from what the blocks' results published, the latest of each step."""
    facts: dict[str, Any] = {}
    for message in messages:
        for value in message.published:
            if isinstance(value.get("step"), str) and isinstance(value.get("data"), dict):
                facts[value["step"]] = value["data"]
    return facts


def _chunks(text: str, size: int = 3) -> Iterator[str]:
    lines = text.splitlines(keepends=True)
    for start in range(0, len(lines), size):
        yield "".join(lines[start : start + size])


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
    ("state", r"NameError: name '(data|\w+_step|open_data)' is not defined"),
    ("memory", r"^MemoryError|Unable to allocate|out of memory|Out of Memory|Killed"),
    ("timeout", r"timed out after"),
    ("engine", r"ImportError|ModuleNotFoundError|Missing optional dependency|usable engine|No module named"),
    ("encoding", r"UnicodeDecodeError|codec can't decode|UnicodeError|Invalid unicode"),
    ("json_lines", r"Trailing data|Malformed JSON|unexpected content after document"),
    ("parser", r"ParserError|Error tokenizing data|CSV Error|sniff|Expected \d+ fields|field larger than"),
    ("columns", r"KeyError|not in index|Binder Error|Referenced column"),
]


def diagnose(step: str, output: str, exit_code: int, info: DataFileInfo, fixes: Fixes) -> tuple[Fixes, str] | None:
    """The corrected settings for a retry and what they do ("read the file as latin-1"), or None to give up."""
    text = output + ("\ntimed out after" if exit_code == BLOCK_TIMED_OUT else "")
    text += "\nKilled" if exit_code in (BLOCK_KILLED, -signal.SIGKILL) else ""
    for kind, pattern in _RULES:
        if re.search(pattern, text, re.MULTILINE):
            fix = _fix_for(kind, step, info, fixes)
            if fix is not None:
                return fix
            if kind in ("memory", "timeout", "engine"):
                return None
    if not fixes.careful:
        return fixes.with_(careful=True), "retry more conservatively, keeping only the columns the data has"
    return None


def _fix_for(kind: str, step: str, info: DataFileInfo, fixes: Fixes) -> tuple[Fixes, str] | None:
    delimited = info.format in ("csv", "tsv")
    lost = "open the data again in each block (the executor lost its state)"
    if kind == "state" and step != "load" and not fixes.self_contained:
        return fixes.with_(self_contained=True), lost  # a kernel restarted: its data is gone
    if kind == "memory" and not fixes.on_disk:
        what = "read the file into DuckDB's disk cache, so it spills to disk instead of running out of memory"
        return fixes.with_(on_disk=True), what
    if kind == "engine" and info.format in OTHER_FORMATS and not fixes.engines:
        return fixes.with_(engines=True), "try the other reader engine"
    if kind == "encoding" and delimited and (fixes.encoding or info.encoding) != "latin-1":
        return fixes.with_(encoding="latin-1"), "read the file with encoding latin-1"
    if kind == "json_lines" and info.format == "json" and not fixes.lines:
        return fixes.with_(lines=True), "read it as JSON Lines (lines=True)"
    if kind in ("parser", "columns") and delimited and not fixes.resniff:
        return fixes.with_(resniff=True), "let DuckDB detect the delimiter itself"
    if kind == "columns" and not fixes.careful:
        return fixes.with_(careful=True), "keep only the columns the data has"
    return None
