"""The official scorers as ported: InfiAgent-DABench's rules and metrics, DABstep's quasi-exact match.

The cases follow the rules of InfiAgent's ``examples/DA-Agent/eval_closed_form.py`` and of
DABstep's ``dabstep_benchmark/evaluation/scorer.py`` (its own test table included: these are the
answers the leaderboard gives), quirks and all: a port that "improves" a rule fails here.
"""

from __future__ import annotations

import pytest

from autorun.evaluation.dabench import correctness, is_equal
from autorun.evaluation.dabstep import question_scorer
from autorun.evaluation.metrics import Scored, summary


@pytest.mark.parametrize(
    ("response", "label", "right"),
    [
        ("34.65", "34.65", True),
        ("34.650", "34.65", True),  # not equal as text, equal as floats
        ("34.6500001", "34.65", True),  # 1e-7 apart: within 1e-6
        ("34.651", "34.65", False),
        ("34.650001", "34.65", False),  # 1e-6 apart is not less than 1e-6
        (" 3.5 ", "3.5", True),  # Python's float() strips spaces
        ("1e3", "1000", True),
        ("1_000", "1000", True),  # and reads underscores
        ("3", 3, True),  # a numeric label
        ("Yes", "yes", False),  # text compares exactly, case included
        ("not normal", "not normal", True),
        ("", "", True),  # an empty label (e.g. no outliers) wants an empty answer
        ("nan", "nan", True),  # equal as text
        ("NaN", "nan", False),  # as floats nan equals nothing
        ("inf", "inf", True),
        ("Inf", "inf", False),  # inf - inf is nan
        (None, "3", False),  # the answer is missing
        (None, "", False),
        ("0.21 (rounded)", "0.21", False),
    ],
)
def test_dabench_is_equal(response: str | None, label: object, right: bool) -> None:
    assert is_equal(response, label) is right


def test_dabench_correctness_marks_every_label_name_and_ignores_extra_answers() -> None:
    given = {"mean": "2.0", "extra": "9", "std": "1.2"}
    assert correctness(given, {"mean": "2.00", "std": "1.25", "count": "4"}) == {
        "mean": True,
        "std": False,
        "count": False,
    }


def test_metrics_follow_the_official_formulas_and_its_denominator() -> None:
    items = [
        Scored({"a": True}, True, "easy", ["A"]),
        Scored({"a": True, "b": False}, True, "medium", ["A", "B"]),
        Scored({"a": False, "b": False, "c": True}, True, "hard", ["B"]),
        Scored({"a": False}, False, "easy", ["A"]),  # no response: the official script leaves it out
    ]
    figures = summary(items)
    assert (figures["questions"], figures["correct"]) == (4, 1)
    assert figures["by_question"] == 0.25
    assert figures["uniform"] == round(3 / 7, 4) == 0.4286
    assert figures["proportional"] == round((1 + 1 / 2 + 1 / 3 + 0) / 4, 4) == 0.4583
    official = figures["official"]
    assert official["questions"] == 3
    assert (official["by_question"], official["uniform"], official["proportional"]) == (0.3333, 0.5, 0.6111)
    assert figures["by_level"]["easy"]["by_question"] == 0.5 and figures["by_level"]["easy"]["questions"] == 2
    assert figures["by_concept"]["A"]["by_question"] == 0.3333 and figures["by_concept"]["B"]["by_question"] == 0
    assert list(figures["by_concept"]) == ["A", "B"]


def test_no_questions_score_zero_as_the_official_script_does() -> None:
    figures = summary([])
    assert figures["by_question"] == figures["proportional"] == figures["uniform"] == 0


@pytest.mark.parametrize(
    ("agent", "expected", "right"),
    [
        # numbers with thousands separators or decimals compare as numbers
        ("42", "42", True),
        ("$42.00", "42", True),
        ("43", "42", False),
        ("10,765", "10765", True),
        ("1", "1.0", True),
        ("1.0", "1", True),
        ("3.14", "3.1483", False),
        ("3.14", "3.20", False),
        ("0.731495413640441", "0.731495", True),  # below 1: within 1e-4
        ("0.36706256984345176", "0.3670625698434518", True),
        ("25.0", "0.250", False),  # not taken for a percentage
        ("5.760000", "5.715872", False),
        ("8.68000000000000", "8.66999999999916", False),
        ("$0.10", "$0.10 per retry", True),
        ("The average transaction amount is 91.85 EUR.", "91.852", True),  # rounded to the shorter's decimals
        ("The top 2 merchants account for approx 59.96% of all transactions.", "0.5996", False),
        # percentages: the % is dropped
        ("73.15%", "73.1495", True),
        ("42%", "42", True),
        ("30%", "30.1", False),
        ("25", "25%", True),
        ("0.1%", "0.1", True),
        ("73%", "74", False),
        ("90%", "89.99971063977545", True),
        ("7.79%", "7.787407043027865", True),
        ("-5", "5", True),  # the number pattern has no sign: ported as is
        # lists: split on , and ;, any order, item by item
        ("1, 2, 3", "1,2,3", True),
        ("apple; banana; cherry", "apple;banana;cherry", True),
        ("1, 2", "1, 2, 3", False),
        ("uber, spotify, nike, netflix, inditex", "Nike, Netflix, Uber, Inditex, Spotify", True),
        ("a, b, c", "['a', 'b', 'c']", True),
        ("C: 69.36, F: 77.90, B: 86.22", "[C: 69.36, F: 77.9, B: 86.22]", True),
        ("42, hello", "42, hello", True),
        ("42, world", "42, hello", False),
        ("64", "64, 53, 454, 231, 473, 381", False),
        # texts: letters and digits, a one-word subset, or a close match
        ("hello world", "Hello World", True),
        (" sea  gull ", "seagull", True),
        ("hello", "world", False),
        ("Other", "Other", True),
        ("", "Inditex", False),
        (" ", "Inditex", False),
        ("Netherlands", "NL", False),
        ("", "", True),
        ("C", "C) both ip_address and email_address", True),
        ("D", "D) Apples", True),
        ("D", "A) Oranges", False),
        ("Not Applicable", "not applicable", True),
        ("GlobalCard", "The answer is GlobalCard", True),
    ],
)
def test_dabstep_question_scorer(agent: str, expected: str, right: bool) -> None:
    assert question_scorer(agent, expected) is right
