"""What `autorun eval` prints on stdout: a line per result with --json, and the summary at the end."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TextIO

from autorun.render.common import format_duration

_LABELS = (
    ("by_question", "accuracy by question"),
    ("proportional", "proportional by sub-question"),
    ("uniform", "uniform over sub-questions"),
)


def result_line(result: Mapping[str, Any]) -> str:
    """A question's result as --json prints it as it arrives."""
    return json.dumps({"event": "eval_result", **result}, ensure_ascii=True)


def _figure(scores: Mapping[str, Any], key: str) -> str:
    if key == "by_question":
        return f"{scores[key]:.2%} ({scores['correct']}/{scores['questions']})"
    if key == "uniform":
        return f"{scores[key]:.2%} ({scores['sub_correct']}/{scores['sub_questions']} sub-answers)"
    return f"{scores[key]:.2%}"


def summary_lines(figures: Mapping[str, Any]) -> list[str]:
    named = figures["format"] == "dabench"
    official = figures["official"]
    lines = [
        f"eval: {figures['asked']} questions ({figures['resumed']} from an earlier run), "
        f"{figures['questions']} scored, {figures['failed_sessions']} failed sessions, "
        f"{format_duration(figures['duration_s'])}"
    ]
    for key, label in _LABELS if named else (("by_question", "accuracy"),):
        lines.append(
            f"{label + ':':<30} {_figure(figures, key):<28} official script's denominator: {_figure(official, key)}"
        )
    if figures["by_level"]:
        levels = [f"{level} {s['by_question']:.1%} ({s['questions']})" for level, s in figures["by_level"].items()]
        lines.append("by level (accuracy by question): " + ", ".join(levels))
    if figures.get("unscored"):
        lines.append(f"{figures['unscored']} questions without an answer to compare: run and submitted, not scored")
    lines.append(f"report: {', '.join(figures['reports'])}; results: {figures['out']}/results.jsonl")
    if figures.get("submission"):
        lines.append(f"leaderboard submission: {figures['submission']}")
    return lines


def print_summary(figures: Mapping[str, Any], out: TextIO, *, json_mode: bool) -> None:
    if json_mode:
        out.write(json.dumps(dict(figures), ensure_ascii=True) + "\n")
    else:
        out.write("\n".join(summary_lines(figures)) + "\n")
    out.flush()
