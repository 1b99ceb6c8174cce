"""The offline builtin analyst: a deterministic, rule-based assistant that writes pandas code.

It works out where it is from the conversation (its own tagged blocks and the execution
results after them) and from the facts file its blocks write in the work directory, so
the same messages and facts always give the same reply. A failed block is diagnosed from
its error text and retried with a corrected, more conservative block, at most twice per
step. What it analyses follows the column roles (``autorun.analyst.roles``) that its
first block infers on the loaded data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from autorun.analyst.roles import primary_measure
from autorun.analyst.summary import Outcome, summarise
from autorun.datafile import DataFileInfo
from autorun.models.base import Message, Usage
from autorun.models.builtin_code import MAX_GROUPS, MAX_MEASURES, ROW_LIMIT, Fixes, Plan, Target, render
from autorun.nofollow import read_inside

MAX_ATTEMPTS = 3
MAX_CATEGORY_VALUES = 50
FACTS_DIR = ".autorun"
_TAG_RE = re.compile(r"^# autorun-builtin step=(\w+) attempt=(\d+)", re.MULTILINE)
_RESULT_RE = re.compile(r"^exitcode: (-?\d+) \(execution (?:succeeded|failed)\)\nCode output:\n?", re.DOTALL)
_ERROR_LINE_RE = re.compile(r"^(\w+(?:\.\w+)*(?:Error|Exception|Exit)\b.*|.*timed out after.*)$", re.MULTILINE)

STEP_TITLES = {"load": "loading", "measures": "measures", "groups": "group", "trend": "trend"}


def make_plan(roles: list[dict[str, Any]], dayfirst: bool = False) -> Plan:
    """The steps' columns from the roles: measures with their aggregation, groups, one date."""
    measures = [(r["column"], r["agg"]) for r in roles if r["role"] in ("additive", "measure")][:MAX_MEASURES]
    groups = [
        r["column"]
        for r in roles
        if r["role"] in ("category", "flag") and 2 <= r.get("distinct", 0) <= MAX_CATEGORY_VALUES
    ]
    dates = [r for r in roles if r["role"] == "date"]
    real = [r for r in dates if not r["why"].startswith("year")]
    date = (real or dates)[0] if dates else None
    return Plan(
        measures=measures,
        primary=primary_measure([r for r in roles if r["column"] in dict(measures)]),
        groups=groups[:MAX_GROUPS],
        date=date["column"] if date else None,
        date_is_year=bool(date and date["why"].startswith("year")),
        dayfirst=dayfirst,
        free_text=[r["column"] for r in roles if r["role"] == "text"],
        categories=[r["column"] for r in roles if r["role"] == "category"],
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

    ``data_path`` is the file's path as the executed code sees it; ``work_dir`` is the
    executor's work directory on this host (the blocks' current directory), where the
    blocks write their facts file; ``stateful()`` says whether python blocks share state.
    """

    name = "builtin"

    def __init__(
        self,
        info: DataFileInfo,
        data_path: str,
        question: str | None = None,
        *,
        work_dir: Path | None = None,
        session_id: str = "builtin",
        stateful: Callable[[], bool] = _never,
    ) -> None:
        self.info = info
        self.data_path = data_path
        self.question = question  # questions need an LLM; the builtin always runs its fixed plan
        self.usage: Usage | None = None
        safe = re.sub(r"[^A-Za-z0-9_-]", "-", session_id) or "builtin"
        self.facts_seen_as = f"{FACTS_DIR}/facts-{safe}.json"
        self.work_dir = Path(work_dir if work_dir is not None else Path.cwd())
        self.stateful = stateful

    def cost(self, usage: Usage | None) -> float | None:
        """Nothing to pay: the reply is made here, not bought from a server."""
        return None

    def reply(self, messages: Sequence[Message]) -> Iterator[str]:
        yield from _chunks(self.next_message(messages))

    def next_message(self, messages: Sequence[Message]) -> str:
        plan = make_plan(self.info.roles, self.info.dayfirst)
        progress = self._replay(messages, steps_for(plan))
        facts = self._facts() if "load" in progress.succeeded else {}
        if "load" in facts:
            plan = make_plan(facts["load"]["roles"], self.info.dayfirst)
            progress = self._replay(messages, steps_for(plan))
        elif "load" in progress.succeeded:
            progress.outcome.facts_missing = str(self.work_dir / self.facts_seen_as)
        steps = steps_for(plan)
        if progress.stop or progress.index >= len(steps):
            kept = {step: facts[step] for step in progress.succeeded if step in facts}
            return summarise(self.info.path.name, kept, plan.primary, progress.outcome)
        step = steps[progress.index]
        target = Target(self.data_path, self.facts_seen_as, self.stateful())
        code = render(step, progress.attempt, self.info, target, plan, progress.fixes)
        return f"{self._intro(step, plan, progress)}\n\n```python\n{code}```\n"

    def _facts(self) -> dict[str, Any]:
        try:
            facts = json.loads(read_inside(self.work_dir, PurePath(self.facts_seen_as)).decode("utf-8"))
        except (OSError, ValueError):
            return {}
        return facts if isinstance(facts, dict) else {}

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
        match = _RESULT_RE.match(result or "")
        title, fix = STEP_TITLES[step], progress.reason
        progress.index, progress.attempt, progress.reason = steps.index(step) + 1, 1, ""
        outcome = progress.outcome
        if match is None:
            outcome.not_run.append(title)
            return
        exit_code, output = int(match.group(1)), (result or "")[match.end() :]
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
            checks = "work out each column's role, and check duplicates and missing values"
            return f"{position}: I'll load `{info.path.name}` ({how}), {checks}."
        if step == "measures":
            what = ", ".join(f"{'total' if agg == 'sum' else agg} of `{name}`" for name, agg in plan.measures[:6])
            return f"{position}: the measures, each aggregated as its role allows ({what}), outliers and correlations."
        if step == "groups":
            names = ", ".join(f"`{g}`" for g in plan.groups)
            return f"{position}: rows, shares and the measures for each {names}."
        agg = "total" if plan.primary_agg == "sum" else plan.primary_agg
        what = f"{agg} `{plan.primary}`" if plan.primary else "rows"
        return f"{position}: {what} over time by `{plan.date}`, in periods that fit its span."


def _chunks(text: str, size: int = 6) -> Iterator[str]:
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
    ("helpers", r"No module named '?autorun_analyst"),
    ("state", r"NameError: name '(df|report_\w+|load_table|FACTS)' is not defined"),
    ("memory", r"^MemoryError|Unable to allocate|out of memory|Killed"),
    ("timeout", r"timed out after"),
    ("engine", r"ImportError|ModuleNotFoundError|Missing optional dependency|usable engine|No module named"),
    ("encoding", r"UnicodeDecodeError|codec can't decode|UnicodeError"),
    ("json_lines", r"Trailing data"),
    ("parser", r"ParserError|Error tokenizing data|EOF inside string|Expected \d+ fields|field larger than"),
    ("dates", r"Mixed timezones|[Tt]z-aware|OutOfBounds|Out of bounds|\.dt accessor|datetimelike|time data"),
    ("columns", r"KeyError|not in index|Usecols do not match"),
]


def diagnose(step: str, output: str, exit_code: int, info: DataFileInfo, fixes: Fixes) -> tuple[Fixes, str] | None:
    """The corrected settings for a retry and what they do ("read the file as latin-1"), or None to give up."""
    text = output + ("\ntimed out after" if exit_code == 124 else "") + ("\nKilled" if exit_code in (137, -9) else "")
    for kind, pattern in _RULES:
        if re.search(pattern, text, re.MULTILINE):
            fix = _fix_for(kind, step, info, fixes)
            if fix is not None:
                return fix
            if kind in ("memory", "timeout", "engine"):
                return None
    if not fixes.careful:
        return fixes.with_(careful=True, strip_columns=True), "retry more conservatively, with cleaned column names"
    return None


def _fix_for(kind: str, step: str, info: DataFileInfo, fixes: Fixes) -> tuple[Fixes, str] | None:
    delimited = info.format in ("csv", "tsv")
    lost = "load the file again in each block (the executor lost its state)"
    if kind in ("helpers", "state") and step != "load" and not fixes.self_contained:
        return fixes.with_(self_contained=True), lost  # a kernel restarted: sys.path and df are gone
    if kind == "helpers" and not fixes.inline:
        what = "carry the helper functions in the block (the helper module is not where the code runs)"
        return fixes.with_(inline=True, self_contained=True), what
    if kind == "memory" and delimited and not fixes.compact and fixes.max_rows is None:
        what = "read the whole file compactly (text columns as categories, free-text columns left out)"
        return fixes.with_(compact=True), what
    if kind in ("memory", "timeout") and fixes.max_rows is None and info.format in ("csv", "tsv", "jsonl"):
        return fixes.with_(max_rows=ROW_LIMIT), f"read only the first {ROW_LIMIT:,} rows, and say so"
    if kind == "engine" and info.format in ("parquet", "excel") and not fixes.engines:
        return fixes.with_(engines=True), "try the other reader engine"
    if kind == "encoding" and delimited and (fixes.encoding or info.encoding) != "latin-1":
        return fixes.with_(encoding="latin-1"), "read the file with encoding latin-1"
    if kind == "json_lines" and info.format == "json" and not fixes.lines:
        return fixes.with_(lines=True), "read it as JSON Lines (lines=True)"
    if kind == "parser" and delimited and not fixes.python_engine:
        return fixes.with_(python_engine=True), 'use the python parser (engine="python"), counting rows it cannot parse'
    if kind in ("parser", "columns") and delimited and not fixes.resniff:
        return fixes.with_(resniff=True), "let pandas detect the delimiter itself (sep=None)"
    if kind == "dates" and step == "trend" and not fixes.local_dates:
        what = 'drop the timezone offsets (keeping local time) and parse with errors="coerce"'
        return fixes.with_(local_dates=True), what
    if kind == "dates" and step == "trend" and not fixes.utc_dates:
        return fixes.with_(utc_dates=True), "convert all dates to UTC (utc=True)"
    if kind == "columns" and not fixes.strip_columns:
        return fixes.with_(strip_columns=True, careful=True), "strip the column names"
    return None
