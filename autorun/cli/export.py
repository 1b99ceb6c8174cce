"""`autorun export`: a session's transcript as a notebook, an HTML page or Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from autorun.cli.app import app, guarded
from autorun.cli.options import DebugOpt, TranscriptArg


@app.command()
def export(
    transcript: TranscriptArg,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", metavar="FORMAT", help="ipynb, html or md (default: from -o's extension, else html)."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write it (default: the session's work dir, named after it)."),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Write a report of a session: a Jupyter notebook that runs again from the work dir, one
    self-contained HTML page (summary, final answer, code, outputs, charts), or Markdown.

    The path of the written file is printed on stdout.
    """
    from autorun.export import export_transcript

    chosen = fmt.lower() if fmt else None
    if chosen is None and output is None:
        chosen = "html"
    written = guarded(debug, lambda: export_transcript(transcript, chosen, output))
    typer.echo(str(written))
