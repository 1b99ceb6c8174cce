"""Find fenced code blocks in a message and decide their language.

The one reading of a fence: what runs (``extract_code_blocks``) is what the renderers and the
report hide from the prose (``render.common.FenceFilter``), line by line with ``opening_fence``
and ``Fence.closed_by``. A fence opens with three or more backticks or tildes, indented at most
three spaces, and an info word without backticks; the same indent and marks, with nothing but
more marks and blanks after them, close it. A fence that never closes is no block.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

_OPENING = re.compile(r"(?P<indent>[ \t]{0,3})(?P<marks>`{3,}|~{3,})[ \t]*(?P<info>[^`]*)")

LANGUAGE_ALIASES = {
    "python": "python",
    "py": "python",
    "python3": "python",
    "sh": "sh",
    "bash": "sh",
    "shell": "sh",
    "console": "sh",
}
SUPPORTED_LANGUAGES = ("python", "sh")


@dataclass(frozen=True)
class CodeBlock:
    language: str
    code: str
    index: int


@dataclass(frozen=True)
class Fence:
    """An opening fence line: its indent, its run of backticks or tildes, and the info text after them."""

    indent: str
    marks: str
    info: str

    def closed_by(self, line: str) -> bool:
        """Whether ``line`` (without its newline) closes this fence."""
        opening = self.indent + self.marks
        return line.startswith(opening) and not line[len(opening) :].lstrip("`~").strip(" \t")


def opening_fence(line: str) -> Fence | None:
    """The fence ``line`` (without its newline) opens, or None."""
    match = _OPENING.fullmatch(line)
    return Fence(match["indent"], match["marks"], match["info"]) if match else None


def _guess_language(code: str) -> str:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return "sh"
    return "python"


def normalise_language(tag: str, code: str) -> str:
    """Map a fence's info tag to a language; an untagged block is python if it parses."""
    word = tag.strip().split()[0].lower() if tag.strip() else ""
    word = word.lstrip("{.").rstrip("}")
    if not word:
        return _guess_language(code)
    return LANGUAGE_ALIASES.get(word, word)


def extract_code_blocks(text: str) -> list[CodeBlock]:
    """The closed, non-blank fenced blocks of ``text``, in order; an opening that never closes is prose."""
    lines = text.split("\n")
    blocks: list[CodeBlock] = []
    start = 0
    while start < len(lines) - 1:  # an opening line has a line after it
        fence = opening_fence(lines[start])
        end = next((n for n in range(start + 1, len(lines)) if fence.closed_by(lines[n])), None) if fence else None
        if fence is None or end is None:
            start += 1
            continue
        code = "".join(f"{line}\n" for line in lines[start + 1 : end])
        if code.strip():
            blocks.append(CodeBlock(normalise_language(fence.info, code), code, len(blocks)))
        start = end + 1
    return blocks
