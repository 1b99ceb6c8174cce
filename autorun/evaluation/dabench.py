"""InfiAgent-DABench's closed-form scoring, ported rule for rule.

From ``examples/DA-Agent/eval_closed_form.py`` of github.com/InfiAgent/InfiAgent
(``is_equal`` and the ``correctness`` map of ``evaluate_responses``); the answers themselves
are read by :func:`autorun.answers.extract_named`, its ``extract_format``.
"""

from __future__ import annotations

from collections.abc import Mapping

TOLERANCE = 1e-6


def is_equal(response: str | None, label: object) -> bool:
    """Right when the response equals the label as given, or both parse as floats less than 1e-6 apart.

    ``float`` is Python's own, as in the original: it accepts surrounding spaces, ``1e3``,
    ``inf`` and ``nan`` (which equals nothing, itself included), and an absent answer (None)
    is never right.
    """
    if response == label:
        return True
    try:
        return abs(float(response) - float(label)) < TOLERANCE  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False


def correctness(answers: Mapping[str, str], expected: Mapping[str, object]) -> dict[str, bool]:
    """For each label name, whether the answer of that name is right (a missing one is wrong)."""
    return {name: is_equal(answers.get(name), label) for name, label in expected.items()}
