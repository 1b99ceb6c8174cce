"""The model's prose as Markdown that renders as text: its raw HTML and its links are shown, not followed.

A Markdown report or a notebook's markdown cell is rendered by whatever opens it (Jupyter, a
Git forge, an editor's preview), with raw HTML and links on. The model's text could carry a
``<script>``, an ``<img onerror=...>``, a ``[link](javascript:...)`` or an image that fetches
a tracking URL. So the prose is parsed as CommonMark with HTML, links and images off (as the
HTML report does) and written out again by mdformat: what would have been markup or a link
comes out escaped, as the text the model wrote, and everything else keeps its meaning.
"""

from __future__ import annotations

import functools
import re
from typing import Any


@functools.cache
def _parser() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False})
    md.options.update({"mdformat": {"number": True}, "parser_extension": [], "codeformatters": {}})
    md.disable(["html_inline", "html_block", "link", "image", "autolink"])
    return md


def inert_markdown(text: str) -> str:
    """``text`` (already free of control characters) as Markdown in which no HTML, link or image is live."""
    from mdformat.renderer import MDRenderer

    if not text.strip():
        return text
    md = _parser()
    env: dict[str, Any] = {}
    return MDRenderer().render(md.parse(text, env), md.options, env).rstrip("\n")


def escaped(text: str) -> str:
    """``text`` with every character that could start inline markup backslash-escaped (one line of plain text)."""
    return _PUNCTUATION.sub(r"\\\g<0>", text.replace("\n", " "))


def code_span(text: str) -> str:
    """``text`` as inline code, in a backtick run longer than any inside it (a file name cannot close it)."""
    text = text.replace("\n", " ")
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fenced(text: str, info: str = "") -> str:
    """``text`` in a fence longer than any run of backticks inside it; ``info`` reduced to a plain word."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{_INFO_UNSAFE.sub('', info)}\n{text.rstrip(chr(10))}\n{fence}"


_PUNCTUATION = re.compile(r"[\\`*_\[\]<>!&|~]")
_BACKTICKS = re.compile(r"`+")
_INFO_UNSAFE = re.compile(r"[^\w+.#-]")
