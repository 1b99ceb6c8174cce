"""The final answer as findings, each bullet with the charts that show it.

A chart belongs to the first bullet that names its file, or whose words include every word
of its name (``chart-total-revenue-by-region.png`` and "Total revenue by region: ...").
Charts no bullet claims are shown after the findings, in the order the session made them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from autorun.export.images import Image

_WORD = re.compile(r"[a-z0-9]+")
_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
NAME_NOISE = {"chart", "figure", "fig", "plot", "graph", "png", "jpg", "jpeg", "by", "of", "the", "and", "per", "vs"}


@dataclass
class Finding:
    """One bullet of the answer (``bullet``) or the prose between bullets, in Markdown."""

    text: str
    bullet: bool
    charts: list[Image] = field(default_factory=list)


def split_findings(answer: str, md: Any) -> list[Finding]:
    """The answer's top-level bullets, each its own finding, and the prose around them."""
    lines = answer.split("\n")
    tokens = md.parse(answer)
    findings: list[Finding] = []
    prose: list[str] = []
    covered = 0
    in_list = False
    for token in tokens:
        if token.type in ("bullet_list_open", "ordered_list_open") and token.level == 0:
            in_list = True
        elif token.type in ("bullet_list_close", "ordered_list_close") and token.level == 0:
            in_list = False
        elif token.type == "list_item_open" and token.level == 1 and in_list and token.map:
            start, end = token.map
            prose += lines[covered:start]
            if "\n".join(prose).strip():
                findings.append(Finding("\n".join(prose).strip("\n"), bullet=False))
            prose = []
            item = lines[start:end]
            item[0] = _MARKER.sub("", item[0], count=1)
            findings.append(Finding("\n".join(line.strip() for line in item).strip(), bullet=True))
            covered = end
    prose += lines[covered:]
    if "\n".join(prose).strip():
        findings.append(Finding("\n".join(prose).strip("\n"), bullet=False))
    return findings


def _words(text: str) -> set[str]:
    return {word.rstrip("s") if len(word) > 3 else word for word in _WORD.findall(text.lower())}


def name_words(path: str) -> set[str]:
    """The words of a file's name that say what it shows (not "chart", "by", numbers)."""
    stem = PurePosixPath(path).stem
    return {w for w in _words(stem) if w not in NAME_NOISE and not w.isdigit()}


def shows(finding: Finding, image: Image) -> bool:
    name = PurePosixPath(image.artifact.path).name.lower()
    if name in finding.text.lower():
        return True
    wanted = name_words(image.artifact.path)
    return bool(wanted) and wanted <= _words(finding.text)


def attach_charts(findings: list[Finding], images: list[Image]) -> list[Image]:
    """Give each chart to the first bullet it shows; returns the charts no bullet claimed."""
    left: list[Image] = []
    for image in images:
        owner = next((f for f in findings if f.bullet and shows(f, image)), None)
        if owner is None:
            left.append(image)
        else:
            owner.charts.append(image)
    return left
