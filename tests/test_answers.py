"""The answer contract: how a request asks for a closed-form answer and how the final message is read."""

from __future__ import annotations

import pytest

from autorun.answers import AnswerFormat, extract_final_answer, extract_named
from autorun.executors.none import NoExecutor
from autorun.session.loop import Session
from tests.scripted import RecordingSink, ScriptedModel

DABENCH_FORMAT = '@mean_fare[mean_fare_value] where "mean_fare_value" is a number rounded to two decimals.'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@mean[3.5]", {"mean": "3.5"}),
        ("@a[1] then @b[2] and @a[3]", {"a": "3", "b": "2"}),  # a name given twice: the last counts
        ("@r[[1, 2]]", {"r": "[1, 2"}),  # non-greedy: the value ends at the first ']'
        ("@r[1\n2]", {}),  # a value does not span lines
        ("@r[]", {"r": ""}),
        ("@total-sum[3]", {}),  # \w+ names only
        ("mean is @mean[ 3.5 ] ok", {"mean": " 3.5 "}),  # kept as given; the scorer's float() strips
        ("no answer here", {}),
    ],
)
def test_named_fields_follow_infiagents_extract_format(text: str, expected: dict[str, str]) -> None:
    assert extract_named(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Done.\nFINAL ANSWER: 42", {"answer": "42"}),
        ("**FINAL ANSWER:** A, B", {"answer": "A, B"}),
        ("**FINAL ANSWER: NL**", {"answer": "NL"}),
        ("Final answer: first\nmore\nFINAL ANSWER: second", {"answer": "second"}),
        ("The final answer is 3", {}),
        ("FINAL ANSWER:", {"answer": ""}),
    ],
)
def test_one_line_answers_take_the_last_final_answer_line(text: str, expected: dict[str, str]) -> None:
    assert extract_final_answer(text) == expected


def test_a_format_with_fields_asks_for_them_and_any_other_asks_for_one_line() -> None:
    named = AnswerFormat(DABENCH_FORMAT)
    assert named.named and named.names == ["mean_fare"]
    request = named.request("What is the mean fare?", "TERMINATE")
    assert request.startswith("What is the mean fare?\n\n") and request.endswith(DABENCH_FORMAT)
    assert "@name[value]" in request and "TERMINATE" in request
    one = AnswerFormat("Answer must be just a number rounded to 2 decimals.")
    assert not one.named and one.names == []
    assert "FINAL ANSWER: <the answer>" in one.request("How much?", "DONE") and "(the one with DONE)" in one.request(
        "How much?", "DONE"
    )
    assert one.extract("FINAL ANSWER: 3.14") == {"answer": "3.14"}
    assert named.extract("FINAL ANSWER: 3.14") == {}


def _end_of(session_replies: list[str], answer_format: AnswerFormat | None) -> object:
    sink = RecordingSink()
    session = Session(
        ScriptedModel(session_replies),
        NoExecutor(),
        sink,
        extract_answers=answer_format.extract if answer_format is not None else None,
    )
    session.run("question")
    [end] = sink.of("session_end")
    return end


def test_session_end_carries_the_answers_of_the_final_message_only() -> None:
    replies = ["```python\nprint('@mean_fare[1.00]')\n```", "It is @mean_fare[32.20].\nTERMINATE"]
    end = _end_of(replies, AnswerFormat(DABENCH_FORMAT))
    assert end.answers == {"mean_fare": "32.20"}  # type: ignore[attr-defined]
    assert _end_of(["@mean_fare[3]\nTERMINATE"], None).answers is None  # type: ignore[attr-defined]


def test_the_termination_keyword_is_not_part_of_a_one_line_answer() -> None:
    end = _end_of(["FINAL ANSWER: Netherlands TERMINATE"], AnswerFormat("One country name."))
    assert end.answers == {"answer": "Netherlands"}  # type: ignore[attr-defined]
