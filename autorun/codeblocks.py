"""Find fenced code blocks in a message and decide their language."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

FENCE_RE = re.compile(
    r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n"
    r"(?P<code>.*?)"
    r"^(?P=indent)(?P=fence)[`~]*[ \t]*$",
    re.DOTALL | re.MULTILINE,
)

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
    blocks: list[CodeBlock] = []
    for match in FENCE_RE.finditer(text):
        code = match.group("code")
        if not code.strip():
            continue
        language = normalise_language(match.group("info"), code)
        blocks.append(CodeBlock(language=language, code=code, index=len(blocks)))
    return blocks
