"""DABstep's quasi-exact-match scorer, ported rule for rule.

From ``dabstep_benchmark/evaluation/scorer.py`` of the DABstep leaderboard
(huggingface.co/spaces/adyen/DABstep; DABstep, (c) 2025 Adyen and Hugging Face, CC-BY-4.0):
numbers written with thousands commas or decimals compare as numbers, anything with a comma
or semicolon as an unordered list, texts holding a number as that number, and other texts by
their letters and digits, a one-word subset, or a >0.95 similarity.
"""

from __future__ import annotations

import math
import re
from difflib import SequenceMatcher

_NUMERIC_WITH_SEPARATORS = re.compile(
    r"""
    ^\$?
    (?:
        \d{1,3}(?:,\d{3})+(?:\.\d+)?   # thousands groups, optional .decimals
      | \d+[.,]\d+                     # or a plain decimal with . or ,
    )
    $
    """,
    re.VERBOSE,
)
_FIRST_NUMBER = re.compile(r"(\d*\.\d+|\d+\.?\d*)%?")
_TOLERANCE = 1e-4


def is_numeric_with_commas(value: str) -> bool:
    """``1,000``, ``$12,345.67``, ``0.99`` or ``0,99``; not a plain integer such as ``64``."""
    return _NUMERIC_WITH_SEPARATORS.match(value.strip()) is not None


def extract_numeric(value: str) -> float | None:
    """The first number in ``value`` once commas and ``$`` are dropped (a sign or ``%`` is not kept)."""
    match = _FIRST_NUMBER.search(value.replace(",", "").replace("$", ""))
    if match is None:
        return None
    try:
        return float(match.group(1))
    except ValueError:
        return None


def _decimals(number: float) -> int:
    text = str(number)
    return len(text.split(".")[-1]) if "." in text else 0


def compare_numeric(a: float, b: float) -> bool:
    """Equal; or, both below 1, close within 1e-4; or equal rounded to the shorter one's decimals; or close."""
    if a == b:
        return True
    if a < 1 and b < 1:
        return math.isclose(a, b, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE)
    places = min(_decimals(a), _decimals(b))
    if round(a, places) == round(b, places):
        return True
    return math.isclose(a, b, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE)


def compare_strings(a: str, b: str) -> bool:
    """Same letters and digits; else, when either is one word, one's words a subset of the other's;
    else a SequenceMatcher ratio above 0.95."""
    if re.sub(r"[^\w]", "", a) == re.sub(r"[^\w]", "", b):
        return True
    words_a = re.findall(r"\b\w+\b", a.lower())
    words_b = re.findall(r"\b\w+\b", b.lower())
    if (len(words_a) == 1 or len(words_b) == 1) and words_a and words_b:
        return set(words_a).issubset(words_b) or set(words_b).issubset(words_a)
    return SequenceMatcher(None, a, b).ratio() > 0.95


def _items(text: str) -> list[str]:
    bare = re.sub(r"^\[|\]$", "", text.strip())
    return sorted(item.strip() for item in re.split(r"[,;]", bare) if item.strip())


def compare_lists(a: str, b: str) -> bool:
    """The same items in any order (brackets dropped, split on , and ;), item by item by the scorer."""
    items_a, items_b = _items(a), _items(b)
    if items_a == items_b:
        return True
    if len(items_a) != len(items_b):
        return False
    return all(question_scorer(x, y) for x, y in zip(items_a, items_b, strict=True))


def question_scorer(agent_answer: str, expected: str) -> bool:
    """Whether ``agent_answer`` matches ``expected`` (both compared stripped and lower-cased)."""
    a, b = agent_answer.strip().lower(), expected.strip().lower()
    if is_numeric_with_commas(a) or is_numeric_with_commas(b):
        x, y = extract_numeric(a), extract_numeric(b)
        return compare_numeric(x, y) if x is not None and y is not None else False
    if ";" in a or ";" in b or "," in a or "," in b:
        return compare_lists(a, b)
    x, y = extract_numeric(a), extract_numeric(b)
    if x is not None and y is not None:
        return compare_numeric(x, y)
    return compare_strings(a, b)
