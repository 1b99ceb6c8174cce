"""``results.jsonl``: one scored line per question, appended as each session ends, read back by --resume."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autorun.errors import ConfigError
from autorun.evaluation.dabench import correctness as dabench_correctness
from autorun.evaluation.dabstep import question_scorer
from autorun.evaluation.questions import Question

RESULTS_NAME = "results.jsonl"


@dataclass(frozen=True)
class SessionRecord:
    """What one question's session left: its ``session_end`` (None if it never got that far) and the rest."""

    end: Mapping[str, Any] | None
    exit_code: int | None
    error: str  # the child's error line, when it failed before or outside the session
    duration_s: float
    transcript: str | None  # relative to the --out folder
    report: str | None


def _correctness(question: Question, answers: Mapping[str, str], fmt: str) -> dict[str, bool] | None:
    if question.expected is None:
        return None
    if fmt == "dabstep":
        given = answers.get("answer")
        return {"answer": given is not None and question_scorer(given, str(question.expected["answer"]))}
    return dabench_correctness(answers, question.expected)


def _outcome(correct: dict[str, bool] | None, answers: Mapping[str, str], responded: bool) -> str:
    if not responded:
        return "failed"
    if correct is None:
        return "unscored" if answers else "no answer"
    if not any(name in answers for name in correct):
        return "no answer"
    if all(correct.values()):
        return "right"
    return "partly right" if any(correct.values()) else "wrong"


def _answers(end: Mapping[str, Any] | None) -> dict[str, str]:
    found = end.get("answers") if end else None
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items()}


def score_result(question: Question, record: SessionRecord, fmt: str, model: str) -> dict[str, Any]:
    """The result line of ``question`` from its session's record."""
    end = record.end or {}
    answers = _answers(record.end)
    final = end.get("final_message")
    responded = isinstance(final, str) and final.strip() != ""
    correct = _correctness(question, answers, fmt)
    usage = end.get("usage")
    reason = str(end.get("reason") or record.error or (f"exit code {record.exit_code}" if record.exit_code else ""))
    outcome = _outcome(correct, answers, responded)
    if outcome == "no answer":
        reason = f"the final message gives no answer in the asked format ({reason})"
    return {
        "id": question.id,
        "correct": all(correct.values()) and responded if correct is not None else None,
        "outcome": outcome,
        "answers": answers,
        "expected": question.expected,
        "correctness": {k: v and responded for k, v in correct.items()} if correct is not None else None,
        "level": question.level,
        "concepts": list(question.concepts),
        "responded": responded,
        "exit_code": record.exit_code,
        "status": end.get("status"),
        "reason": reason,
        "duration_s": round(record.duration_s, 3),
        "tokens": usage.get("total_tokens") if isinstance(usage, dict) else None,
        "cost_usd": end.get("cost_usd"),
        "turns": end.get("turns"),
        "model": end.get("model") or model,
        "transcript": record.transcript,
        "report": record.report,
    }


def read_results(path: Path) -> dict[str, dict[str, Any]]:
    """The results already in ``path`` by id (the last line of an id wins); a line cut off by a crash is dropped."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    results: dict[str, dict[str, Any]] = {}
    lines = data.split(b"\n")
    kept = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            kept += len(raw) + 1
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            if number == len(lines):  # cut off mid-write: forget it, so the question runs again
                os.truncate(path, kept)
                break
            raise ConfigError(f"{path}, line {number}: not a result line of autorun eval; choose another --out")
        results[record["id"]] = record
        kept += len(raw) + 1
    return results


class ResultsFile:
    """Appends each result as one line, flushed to disk at once, so an interruption keeps every finished one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, result: Mapping[str, Any]) -> None:
        line = json.dumps(result, ensure_ascii=True) + "\n"
        with self.path.open("a", encoding="ascii") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())
