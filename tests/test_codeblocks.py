"""Fenced code blocks have one reading: the blocks that run are the code the renderers and reports hide."""

from __future__ import annotations

import pytest

from autorun.codeblocks import CodeBlock, extract_code_blocks, opening_fence
from autorun.render.common import FenceFilter, hide_fenced_code


def languages_and_code(text: str) -> list[tuple[str, str]]:
    return [(block.language, block.code) for block in extract_code_blocks(text)]


def test_blocks_in_order_with_their_languages() -> None:
    text = "First:\n```python\nprint(1)\n```\nthen\n```bash\necho hi\n```\nand\n```\nx = 2\n```\n```\nls -l |\n```"
    assert extract_code_blocks(text) == [
        CodeBlock("python", "print(1)\n", 0),
        CodeBlock("sh", "echo hi\n", 1),
        CodeBlock("python", "x = 2\n", 2),  # untagged: python when it parses
        CodeBlock("sh", "ls -l |\n", 3),
    ]


def test_a_longer_fence_holds_a_shorter_one_and_tildes_are_fences_too() -> None:
    text = "````sh\n```\nnested\n```\n````\n~~~py\nx = 1\n~~~~\n"
    assert languages_and_code(text) == [("sh", "```\nnested\n```\n"), ("python", "x = 1\n")]


@pytest.mark.parametrize(
    "text",
    [
        "```python\nprint(1)\n",  # never closed
        "~~~~\nprint(1)\n~~~\n",  # a shorter run does not close a longer one
        "  ```python\nprint(1)\n```\n",  # nor does another indent
        "```python\nprint(1)\n```sh\n",  # nor a line with more than marks
        "``` `inline` code\nprint(1)\n```",  # an info word with a backtick is no fence
        "    ```python\nprint(1)\n    ```\n",  # four spaces: indented text, not a fence
        "```python\n\n  \n```\n",  # blank
    ],
)
def test_what_is_no_block(text: str) -> None:
    assert extract_code_blocks(text) == []


def test_the_same_indent_closes_an_indented_fence() -> None:
    assert languages_and_code("1. Load it:\n   ```python\n   x = 1\n   ```\n") == [("python", "   x = 1\n")]


def test_an_opening_line_needs_a_line_after_it() -> None:
    assert opening_fence("```python") is not None
    assert extract_code_blocks("text\n```python") == []


def test_the_prose_shown_is_the_text_without_the_blocks_that_run() -> None:
    """Display and execution read fences alike: an indented closer or a backtick info word means the same."""
    text = "a\n``` `inline` here\nb\n  ```python\ncode\n```\nc\n  ```\nd\n````\n```\ne\n````\nf"
    assert languages_and_code(text) == [("python", "code\n```\nc\n"), ("sh", "```\ne\n")]
    assert hide_fenced_code(text) == "a\n``` `inline` here\nb\nd\nf"
    streamed = FenceFilter()
    assert [line for line in text.split("\n") if streamed.keep(line)] == ["a", "``` `inline` here", "b", "d", "f"]


def test_a_fence_that_never_closes_hides_to_the_end_of_the_prose() -> None:
    assert hide_fenced_code("Here:\n```python\nprint(1)\nmore") == "Here:"
