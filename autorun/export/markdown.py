"""A transcript as a Markdown document; images are linked by their path relative to the document.

Every text comes from the report already free of control characters; the model's prose is
written so that its raw HTML and links render as text (autorun.export.prose), and file names
and languages are escaped where they go, so nothing in the document is live but autorun's own
image links.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from autorun.export.images import block_images
from autorun.export.notebook import summary_markdown
from autorun.export.prose import code_span, escaped, fenced, inert_markdown
from autorun.export.report import BlockRun, Prose, Report
from autorun.units import human_size


def _block(report: Report, block: BlockRun, out_dir: Path) -> list[str]:
    head = f"**{escaped(block.language)} · block {block.index}**" + ("" if block.ran else " (not run)")
    parts = [head, "", fenced(block.code, block.language)]
    if block.output:
        parts += ["", fenced(block.output, "text")]
    if block.ran:
        duration = f" in {block.duration_s:.2f} s" if block.duration_s is not None else ""
        verdict = f"timed out (exit {block.exit_code})" if block.timed_out else f"exit {block.exit_code}{duration}"
        parts += ["", f"_{'✓' if block.succeeded else '✗'} {verdict}_"]
    if block.artifacts:
        files = (f"{code_span(a.path)} ({escaped(a.change)}, {human_size(a.size)})" for a in block.artifacts)
        parts += ["", "Files: " + ", ".join(files)]
    for image in block_images(report.work_dir, block, report.snapshots):
        if image.data is None:
            parts += ["", f"_{escaped(image.artifact.path)}: {image.problem}_"]
            continue
        target = os.path.relpath(image.source or report.work_dir / image.artifact.path, out_dir)
        parts += ["", f"![{escaped(image.artifact.path)}]({quote(Path(target).as_posix())})"]
    return parts


def to_markdown(report: Report, out_dir: Path) -> str:
    """The document; ``out_dir`` is where it will be written (image links are relative to it)."""
    parts = [summary_markdown(report), "", "## Conversation"]
    for item in report.items:
        parts.append("")
        if isinstance(item, Prose):
            text = inert_markdown(item.text)
            parts.append(text if item.role == "assistant" else "> " + text.replace("\n", "\n> "))
        else:
            parts += _block(report, item, out_dir)
    return "\n".join(parts) + "\n"
