"""A transcript as a Markdown document; images are linked by their path relative to the document."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from autorun.export.images import block_images
from autorun.export.notebook import summary_markdown
from autorun.export.report import BlockRun, Prose, Report
from autorun.render.common import safe
from autorun.units import human_size


def fenced(text: str, info: str = "") -> str:
    """``text`` in a fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in _backtick_runs(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip(chr(10))}\n{fence}"


def _backtick_runs(text: str) -> list[str]:
    import re

    return re.findall(r"`+", text)


def _block(report: Report, block: BlockRun, out_dir: Path) -> list[str]:
    head = f"**{block.language} · block {block.index}**" + ("" if block.ran else " (not run)")
    parts = [head, "", fenced(safe(block.code), block.language)]
    if block.output:
        parts += ["", fenced(safe(block.output), "text")]
    if block.ran:
        duration = f" in {block.duration_s:.2f} s" if block.duration_s is not None else ""
        verdict = f"timed out (exit {block.exit_code})" if block.timed_out else f"exit {block.exit_code}{duration}"
        parts += ["", f"_{'✓' if block.succeeded else '✗'} {verdict}_"]
    if block.artifacts:
        parts += ["", "Files: " + ", ".join(f"`{a.path}` ({a.change}, {human_size(a.size)})" for a in block.artifacts)]
    for image in block_images(report.work_dir, block, report.snapshots):
        if image.data is None:
            parts += ["", f"_{image.artifact.path}: {image.problem}_"]
            continue
        target = os.path.relpath(image.source or report.work_dir / image.artifact.path, out_dir)
        parts += ["", f"![{image.artifact.path}]({quote(Path(target).as_posix())})"]
    return parts


def to_markdown(report: Report, out_dir: Path) -> str:
    """The document; ``out_dir`` is where it will be written (image links are relative to it)."""
    parts = [summary_markdown(report), "", "## Conversation"]
    for item in report.items:
        parts.append("")
        if isinstance(item, Prose):
            parts.append(item.text if item.role == "assistant" else "> " + item.text.replace("\n", "\n> "))
        else:
            parts += _block(report, item, out_dir)
    return "\n".join(parts) + "\n"
