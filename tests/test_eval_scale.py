"""The done-when of `autorun eval`: 120 questions at --jobs 4 against the scripted server, every
reported figure equal to an independent scoring of what the server answered, to the last question.

It takes minutes on two cores, so it runs when asked: ``EVAL_SCALE_QUESTIONS=120 pytest
tests/test_eval_scale.py`` (``python -m benchmarks.bench_eval`` checks the same and measures).
tests/test_eval_run.py runs the same check on 14 questions in every suite run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.eval_sets import mismatches, run_scripted_eval

QUESTIONS = int(os.environ.get("EVAL_SCALE_QUESTIONS", "0"))


@pytest.mark.skipif(
    QUESTIONS < 100, reason="a 100+ question run: EVAL_SCALE_QUESTIONS=120 pytest tests/test_eval_scale.py"
)
def test_a_hundred_and_more_questions_score_exactly_as_an_independent_scorer(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    run = run_scripted_eval(tmp_path, QUESTIONS, jobs=4, env=clean_env)
    assert mismatches(run) == []
    assert run.figures["questions"] == QUESTIONS and run.served >= QUESTIONS
    slow = sum(1 for q in run.qset.questions if q.behaviour == "slow")
    assert run.figures["failed_sessions"] == slow > 0, "the slow replies time out: failed, never dropped"
    assert all(result["reason"] for result in run.results.values()), "every result says why the session ended"
