"""The answer contract: how a request asks for a closed-form answer, and how it is read back.

A format with ``@name[value]`` fields (InfiAgent-DABench's) asks for those fields; any other
format text describes one value, given on a line ``FINAL ANSWER: value`` (GAIA's convention,
which DABstep inherits). Either way the answers are read from the assistant's final message
only, never from code or its output, as ``{name: value}`` (``answer`` for the one-line form).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# InfiAgent-DABench's extract_format (examples/DA-Agent/eval_closed_form.py in
# github.com/InfiAgent/InfiAgent): the non-greedy value stops at the first ']' on its line,
# and dict(zip(names, values)) keeps the last value of a name that appears several times.
NAMED_FIELD = re.compile(r"@(\w+)\[(.*?)\]")
FINAL_ANSWER = re.compile(r"^[ \t>*_]*FINAL ANSWER[*_]*[ \t]*:[ \t]*(?P<value>.*)$", re.IGNORECASE | re.MULTILINE)
ONE_ANSWER_NAME = "answer"

_NAMED_REQUEST = """\
{question}

When you have the answer, end your final message (the one with {keyword}) with the answer in exactly \
this format, each @name[value] with its value filled in and nothing else inside the brackets:
{format}"""

_ONE_LINE_REQUEST = """\
{question}

When you have the answer, end your final message (the one with {keyword}) with one line
FINAL ANSWER: <the answer>
where the answer follows these guidelines: {format}"""


def extract_named(text: str) -> dict[str, str]:
    """Every ``@name[value]`` in ``text``, the last value of each name."""
    return dict(NAMED_FIELD.findall(text))


def extract_final_answer(text: str) -> dict[str, str]:
    """The value of the last ``FINAL ANSWER:`` line (Markdown emphasis around it removed), or nothing."""
    found = list(FINAL_ANSWER.finditer(text))
    if not found:
        return {}
    return {ONE_ANSWER_NAME: found[-1].group("value").strip().strip("*").strip()}


@dataclass(frozen=True)
class AnswerFormat:
    """``--answer-format``: what the final message must carry, and how to read it."""

    text: str

    @property
    def named(self) -> bool:
        """True for a DABench-style format (``@name[...]`` fields); False for a one-line answer."""
        return NAMED_FIELD.search(self.text) is not None

    @property
    def names(self) -> list[str]:
        """The field names the format asks for (empty for a one-line answer)."""
        return list(dict.fromkeys(name for name, _ in NAMED_FIELD.findall(self.text)))

    def request(self, question: str, keyword: str = "TERMINATE") -> str:
        """The opening request: ``question`` and how to give the answer."""
        template = _NAMED_REQUEST if self.named else _ONE_LINE_REQUEST
        return template.format(question=question.strip(), keyword=keyword, format=self.text.strip())

    def extract(self, final_message: str) -> dict[str, str]:
        """The answers ``final_message`` gives (empty when it gives none)."""
        return extract_named(final_message) if self.named else extract_final_answer(final_message)
