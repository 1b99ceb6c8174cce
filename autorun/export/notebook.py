"""A transcript as a Jupyter notebook (nbformat v4) that runs again from the work dir.

The assistant's prose becomes markdown cells; each Python block a code cell with
its recorded output (stdout/stderr as one stream, since they were interleaved as
produced; a traceback as an error output; the PNG charts it saved as
display_data); each shell block a ``%%bash`` cell. Blocks that never ran are
shown as markdown, so running the notebook does not run them.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from autorun.export.images import block_images
from autorun.export.paths import path_rewrites, rewrite
from autorun.export.prose import escaped, fenced, inert_markdown
from autorun.export.report import BlockRun, Prose, Report, split_traceback

_ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")
FAILED_TAG = "raises-exception"  # nbclient and Jupyter carry on past a cell tagged so


def summary_markdown(report: Report, note: str = "") -> str:
    """The document's top: the findings first, then the session's details (for an operator)."""
    rows = "\n".join(f"| {label} | {_cell(value)} |" for label, value in report.summary.rows())
    name = report.summary.rows()[0][1]
    lines = [f"# {_cell(name)}: findings", ""]
    lines += [inert_markdown(report.final_answer) if report.final_answer else "_The session gave no final answer._"]
    lines += ["", f"## Session {escaped(report.summary.session_id)}", "", "| | |", "|---|---|", rows]
    if note:
        lines += ["", note]
    return "\n".join(lines)


def _cell(value: str) -> str:
    return escaped(value)


def _error_output(nbformat: Any, traceback: list[str]) -> Any:
    last = traceback[-1] if traceback else ""
    match = _ERROR_LINE.match(last.strip())
    ename, evalue = (match.group(1), match.group(2) or "") if match else ("Error", last)
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=traceback)


def block_outputs(nbformat: Any, report: Report, block: BlockRun) -> list[Any]:
    """The cell's outputs: the recorded text, a traceback as an error, the images it saved."""
    outputs = []
    text, traceback = block.output, list[str]()
    if block.language == "python" and not block.succeeded:
        text, traceback = split_traceback(block.output)
    if text:
        outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text))
    if traceback:
        outputs.append(_error_output(nbformat, traceback))
    for image in block_images(report.work_dir, block, report.snapshots):
        if image.data is None:
            note = f"[{image.artifact.path}: {image.problem}]\n"
            outputs.append(nbformat.v4.new_output("stream", name="stderr", text=note))
            continue
        outputs.append(
            nbformat.v4.new_output(
                "display_data",
                data={
                    image.artifact.media_type: base64.b64encode(image.data).decode("ascii"),
                    "text/plain": f"<{image.artifact.path}>",
                },
                metadata={"autorun": {"path": image.artifact.path}},
            )
        )
    return outputs


SETUP = """\
# autorun: the session's code ran in its work dir, and its paths are relative to it. This cell goes
# there, so Run All works wherever the notebook is saved (it stays put when that folder is gone).
import os
import pathlib

_work_dir = pathlib.Path({work_dir!r})
if _work_dir.is_dir():
    os.chdir(_work_dir)"""


def _setup_cell(nbformat: Any, report: Report) -> Any:
    source = SETUP.format(work_dir=str(report.work_dir))
    return nbformat.v4.new_code_cell(source, metadata={"autorun": {"setup": True}})


def _code_cell(nbformat: Any, report: Report, block: BlockRun, count: int, rewrites: list[tuple[str, str]]) -> Any:
    code = rewrite(block.code, rewrites).rstrip("\n")
    source = f"%%bash\n{code}" if block.language == "sh" else code
    meta: dict[str, Any] = {
        "autorun": {
            "block": block.index,
            "language": block.language,
            "exit_code": block.exit_code,
            "duration_s": block.duration_s,
            "timed_out": block.timed_out,
            "artifacts": [a.path for a in block.artifacts],
        }
    }
    if not block.succeeded:
        meta["tags"] = [FAILED_TAG]
    return nbformat.v4.new_code_cell(
        source, execution_count=count, outputs=block_outputs(nbformat, report, block), metadata=meta
    )


def to_notebook(report: Report) -> Any:
    """The nbformat v4 NotebookNode of ``report`` (validated)."""
    import nbformat

    rewrites = path_rewrites(report.summary)
    note = "The first code cell moves to the session's work dir, so Run All works wherever this notebook is."
    cells = [nbformat.v4.new_markdown_cell(summary_markdown(report, note)), _setup_cell(nbformat, report)]
    count = 0
    for item in report.items:
        if isinstance(item, Prose):
            text = inert_markdown(item.text)
            text = text if item.role == "assistant" else f"**Request:** {text}"
            cells.append(nbformat.v4.new_markdown_cell(text))
        elif item.ran and item.language in ("python", "sh"):
            count += 1
            cells.append(_code_cell(nbformat, report, item, count, rewrites))
        else:
            why = "not run" if not item.ran else f"not runnable here ({item.language})"
            cells.append(
                nbformat.v4.new_markdown_cell(f"Block {item.index} ({why}):\n\n{fenced(item.code, item.language)}")
            )
    notebook = nbformat.v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "autorun": {"session_id": report.summary.session_id, "work_dir": report.summary.work_dir},
        },
    )
    nbformat.validate(notebook)
    return notebook


def write_notebook(report: Report) -> str:
    import nbformat

    return str(nbformat.writes(to_notebook(report)))
