"""The metrics of an eval: InfiAgent-DABench's three, overall, by level and by concept.

The formulas are ``evaluate_accuracy_by_question``, ``..._proportional_by_sub_question_adjusted``
and ``..._by_sub_question`` of InfiAgent's ``examples/DA-Agent/eval_closed_form.py``, rounded
to 4 places as there. Ours count every scored question; the official script counts only the
questions that have a response (:func:`official`), so both are reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scored:
    """One scored question: each sub-answer right or wrong, and whether the session gave a response."""

    correctness: Mapping[str, bool]
    responded: bool
    level: str = ""
    concepts: Sequence[str] = ()

    @property
    def correct(self) -> bool:
        return all(self.correctness.values())


@dataclass(frozen=True)
class Scores:
    questions: int
    correct: int  # questions with every sub-answer right
    sub_questions: int
    sub_correct: int
    proportional_sum: float  # the sum over questions of the share of their sub-answers that are right

    @property
    def by_question(self) -> float:
        return round(self.correct / self.questions, 4) if self.questions else 0

    @property
    def proportional(self) -> float:
        return round(self.proportional_sum / self.questions, 4) if self.questions else 0

    @property
    def uniform(self) -> float:
        return round(self.sub_correct / self.sub_questions, 4) if self.sub_questions else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "correct": self.correct,
            "by_question": self.by_question,
            "proportional": self.proportional,
            "uniform": self.uniform,
            "sub_questions": self.sub_questions,
            "sub_correct": self.sub_correct,
        }


def scores(items: Iterable[Scored]) -> Scores:
    questions = correct = sub_questions = sub_correct = 0
    proportional = 0.0
    for item in items:
        right, count = sum(item.correctness.values()), len(item.correctness)
        questions += 1
        correct += item.correct
        sub_questions += count
        sub_correct += right
        proportional += right * (1 / count if count > 0 else 0)
    return Scores(questions, correct, sub_questions, sub_correct, proportional)


def official(items: Iterable[Scored]) -> Scores:
    """The official script's figures: only the questions with a (non-empty) response count."""
    return scores(item for item in items if item.responded)


def grouped(items: Sequence[Scored], keys: Callable[[Scored], Iterable[str]]) -> dict[str, Scores]:
    """Scores for each key (a level, a concept), in order of first appearance; a question counts once for
    each of its keys (twice for a concept listed twice, as in InfiAgent's ``analyze_concepts_accuracy``)."""
    groups: dict[str, list[Scored]] = {}
    for item in items:
        for key in keys(item):
            groups.setdefault(key, []).append(item)
    return {key: scores(members) for key, members in groups.items()}


def summary(items: Sequence[Scored]) -> dict[str, Any]:
    """Every figure of the run: overall, the official-denominator figures, by level, by concept."""
    return {
        **scores(items).as_dict(),
        "official": official(items).as_dict(),
        "by_level": {k: v.as_dict() for k, v in grouped(items, lambda i: [i.level] if i.level else []).items()},
        "by_concept": {k: v.as_dict() for k, v in grouped(items, lambda i: i.concepts).items()},
    }


def as_scored(results: Iterable[Mapping[str, Any]]) -> list[Scored]:
    """The scored questions among result lines (``correctness`` not null)."""
    found = []
    for result in results:
        correctness = result.get("correctness")
        if isinstance(correctness, dict):
            found.append(
                Scored(
                    {str(k): bool(v) for k, v in correctness.items()},
                    bool(result.get("responded")),
                    str(result.get("level") or ""),
                    [str(c) for c in result.get("concepts") or []],
                )
            )
    return found
