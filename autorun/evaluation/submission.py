"""DABstep's leaderboard submission: one line per task with ``task_id``, ``agent_answer``, ``reasoning_trace``.

The leaderboard accepts exactly these columns, every value a string and none missing
(``validate_submission`` of huggingface.co/spaces/adyen/DABstep), so a task whose session
gave no answer is submitted with an empty one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autorun.errors import ConfigError
from autorun.evaluation.questions import Question
from autorun.events import MessageEvent
from autorun.record.reader import read_transcript

SUBMISSION_NAME = "submission.jsonl"


def reasoning_trace(transcript: Path | None) -> str:
    """The assistant's messages of the session, in order (its code included), or "" without a transcript."""
    if transcript is None:
        return ""
    try:
        messages = read_transcript(transcript).of(MessageEvent)
    except ConfigError:
        return ""
    return "\n\n".join(m.content for m in messages if m.role == "assistant" and m.content)


def write_submission(out: Path, questions: Sequence[Question], results: Mapping[str, Mapping[str, Any]]) -> Path:
    path = out / SUBMISSION_NAME
    lines = []
    for question in questions:
        result = results.get(question.id, {})
        answer = (result.get("answers") or {}).get("answer", "")
        transcript = result.get("transcript")
        trace = reasoning_trace(out / transcript if isinstance(transcript, str) else None)
        line = {"task_id": question.id, "agent_answer": str(answer), "reasoning_trace": trace}
        lines.append(json.dumps(line, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n" if lines else "", encoding="utf-8")
    return path
