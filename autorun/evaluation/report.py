"""An eval's report, ``report.md`` and ``report.html``: the headline metrics, the tables by level and
by concept, and each question answered wrong with its expected and given answers and a link to
its session's own report.

What the model wrote (its answers, the sessions' reasons) is shown as literal text: in Markdown
inside code spans, in HTML escaped by the Jinja2 template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from autorun.evaluation.questions import Question
from autorun.render.common import format_duration, safe

MARKDOWN_NAME = "report.md"
HTML_NAME = "report.html"
TEMPLATE = "eval_report.html.j2"
_METRICS = (
    ("by_question", "accuracy by question"),
    ("proportional", "proportional by sub-question"),
    ("uniform", "uniform over sub-questions"),
)


@dataclass(frozen=True)
class Row:
    label: str
    cells: list[str]


@dataclass(frozen=True)
class WrongAnswer:
    id: str
    outcome: str
    question: str
    rows: list[tuple[str, str, str, bool]]  # (name, expected, given, right)
    reason: str
    report: str | None
    transcript: str | None


@dataclass(frozen=True)
class EvalReport:
    """Everything both renderings show."""

    title: str
    facts: list[tuple[str, str]]
    headline_columns: list[str]
    headline: list[Row]
    group_columns: list[str]
    by_level: list[Row]
    by_concept: list[Row]
    wrong: list[WrongAnswer]


def _pct(fraction: float, part: int, whole: int) -> str:
    return f"{fraction:.2%} ({part}/{whole})"


def _metrics_cells(scores: Mapping[str, Any], keys: Sequence[str]) -> list[str]:
    return [f"{scores[key]:.2%}" for key in keys]


def _given(value: str | None) -> str:
    return "(none)" if value is None else value


def build_report(
    title: str,
    facts: list[tuple[str, str]],
    summary: Mapping[str, Any],
    results: Sequence[Mapping[str, Any]],
    questions: Mapping[str, Question],
    *,
    named: bool,
) -> EvalReport:
    """``named``: DABench's several @name[value] sub-answers (three metrics); else one answer (accuracy)."""
    keys = [key for key, _ in _METRICS] if named else ["by_question"]
    official = summary["official"]
    headline = []
    for key, label in _METRICS if named else (("by_question", "accuracy"),):
        part = summary["correct"] if key == "by_question" else summary["sub_correct"]
        whole = summary["questions"] if key != "uniform" else summary["sub_questions"]
        o_part = official["correct"] if key == "by_question" else official["sub_correct"]
        o_whole = official["questions"] if key != "uniform" else official["sub_questions"]
        ours = _pct(summary[key], part, whole) if key != "proportional" else f"{summary[key]:.2%}"
        theirs = _pct(official[key], o_part, o_whole) if key != "proportional" else f"{official[key]:.2%}"
        headline.append(Row(label, [ours, theirs]))
    columns = ["questions", *(label for key, label in _METRICS if key in keys)] if named else ["questions", "accuracy"]

    def rows(groups: Mapping[str, Mapping[str, Any]]) -> list[Row]:
        return [Row(name, [str(s["questions"]), *_metrics_cells(s, keys)]) for name, s in groups.items()]

    wrong = []
    for result in results:
        if result.get("correct") is not False:
            continue
        expected = result.get("expected") or {}
        answers = result.get("answers") or {}
        correctness = result.get("correctness") or {}
        question = questions.get(str(result["id"]))
        wrong.append(
            WrongAnswer(
                id=str(result["id"]),
                outcome=str(result.get("outcome", "wrong")),
                question=question.request if question is not None else "",
                rows=[
                    (name, str(value), _given(answers.get(name)), bool(correctness.get(name)))
                    for name, value in expected.items()
                ],
                reason=str(result.get("reason") or ""),
                report=result.get("report"),
                transcript=result.get("transcript"),
            )
        )
    return EvalReport(
        title=title,
        facts=facts,
        headline_columns=[
            f"ours (all {summary['questions']} scored questions)",
            f"official script's denominator ({official['questions']} with a response)",
        ],
        headline=headline,
        group_columns=columns,
        by_level=rows(summary["by_level"]),
        by_concept=rows(summary["by_concept"]),
        wrong=wrong,
    )


def literal(text: str) -> str:
    """``text`` as a Markdown code span that holds it literally, fit for a table cell."""
    text = safe(text).replace("\n", " ")
    if not text:
        return "(empty)"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def cell(text: str) -> str:
    """``text`` (ours, or the question file's) fit for a table cell."""
    return safe(text).replace("\n", " ").replace("|", "\\|")


def _table(columns: Sequence[str], rows: Sequence[Row], first: str) -> list[str]:
    lines = [f"| {first} | " + " | ".join(columns) + " |", "|" + " --- |" * (len(columns) + 1)]
    lines += [f"| {cell(row.label)} | " + " | ".join(row.cells) + " |" for row in rows]
    return lines


def to_markdown(report: EvalReport) -> str:
    parts = [f"# {safe(report.title)}", ""]
    parts += [f"- {label}: {safe(value)}" for label, value in report.facts]
    parts += ["", "## Headline", "", *_table(report.headline_columns, report.headline, "metric")]
    for heading, rows in (("By level", report.by_level), ("By concept", report.by_concept)):
        if rows:
            parts += ["", f"## {heading}", "", *_table(report.group_columns, rows, heading.split()[-1])]
    parts += ["", f"## Not answered right ({len(report.wrong)})"]
    for item in report.wrong:
        parts += ["", f"### {literal(item.id)}: {item.outcome}", ""]
        if item.question:
            parts += ["> " + safe(item.question).replace("\n", "\n> "), ""]
        parts += ["| answer | expected | given | right |", "| --- | --- | --- | --- |"]
        parts += [
            f"| {literal(n)} | {literal(e)} | {literal(g)} | {'yes' if r else 'no'} |" for n, e, g, r in item.rows
        ]
        links = [f"[session report]({quote(item.report)})"] if item.report else []
        links += [f"[transcript]({quote(item.transcript)})"] if item.transcript else []
        parts += ["", f"Session: {literal(item.reason)}" + (" · " + " · ".join(links) if links else "")]
    return "\n".join(parts) + "\n"


def to_html(report: EvalReport) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("autorun.evaluation", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(TEMPLATE).render(report=report, safe_text=safe)


def write_reports(report: EvalReport, out: Path) -> list[Path]:
    md, html = out / MARKDOWN_NAME, out / HTML_NAME
    md.write_text(to_markdown(report), encoding="utf-8")
    html.write_text(to_html(report), encoding="utf-8")
    return [html, md]


def run_facts(summary: Mapping[str, Any], model: str, source: Path, duration_s: float) -> list[tuple[str, str]]:
    tokens = summary.get("tokens")
    cost = summary.get("cost_usd")
    return [
        ("questions", str(source)),
        ("model", model),
        ("scored questions", str(summary["questions"])),
        ("failed sessions", str(summary["failed_sessions"])),
        ("tokens", f"{tokens:,}" if tokens is not None else "not reported"),
        ("cost", f"~${cost:.4f} (estimated)" if cost is not None else "-"),
        ("time", format_duration(duration_s)),
    ]
