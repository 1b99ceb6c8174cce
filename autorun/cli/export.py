"""`autorun export`: a session's transcript as a notebook, an HTML page or Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from autorun.cli.app import app, guarded
from autorun.cli.options import DebugOpt, TranscriptArg
from autorun.errors import ConfigError

if TYPE_CHECKING:
    from autorun.events import Event, Sink


@app.command(short_help="A session as a notebook, an HTML page or Markdown.")
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
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="Where to write it (default: the session's work dir, named after it).",
        ),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Write a report of a session: a notebook, one self-contained HTML page, or Markdown.

    The HTML page leads with the findings and their charts; the code and its output follow,
    folded. The notebook runs again with Run All; Markdown keeps its images beside it.
    TRANSCRIPT is a session's .jsonl transcript; the path of the written file is printed on stdout.

    Examples:

    \b
      autorun export TRANSCRIPT
      autorun export TRANSCRIPT -o report.html
      autorun export TRANSCRIPT --format ipynb -o analysis.ipynb
    """
    from autorun.export import export_transcript

    chosen = fmt.lower() if fmt else None
    if chosen is None and output is None:
        chosen = "html"
    written = guarded(debug, lambda: export_transcript(transcript, chosen, output))
    typer.echo(str(written))


class ReportOnEnd:
    """``analyse --report PATH``: notes the session's transcript from the event stream and exports it at the end.

    The format is checked when constructed, so a wrong extension fails before the session runs.
    """

    def __init__(self, path: Path | None) -> None:
        from autorun.export import format_for

        self.path = path
        self.format = format_for(path) if path is not None else None
        self.transcript: Path | None = None

    def wrap(self, display: Sink) -> Sink:
        if self.path is None:
            return display
        from autorun.render.sinks import Fanout

        return Fanout(display, self)

    def handle(self, event: Event) -> None:
        from autorun.events import SessionStart

        if isinstance(event, SessionStart) and event.transcript:
            self.transcript = Path(event.transcript)

    def close(self) -> None:
        pass

    def write(self, *, announce: bool) -> Path | None:
        """Export the transcript; print where it went on stderr. None when no report was asked for.

        No transcript (the session never started) is a ConfigError, and so is a transcript that is
        gone by now (the reader's): a report asked for is never silently left unwritten.
        """
        if self.path is None:
            return None
        if self.transcript is None:
            raise ConfigError(f"no report written to {self.path}: the session ended before it started")
        from autorun.export import export_transcript

        written = export_transcript(self.transcript, self.format, self.path)
        if announce:
            typer.echo(f"report: {written}", err=True)
        return written


def report_after_failure(reporter: ReportOnEnd, *, announce: bool) -> None:
    """The report of a session that failed (its record is complete up to the failure), or why there is none.

    The session's own error is what the command exits with, so a report problem is one more line on stderr;
    a session that never started (a bad file, a refused model) has no record to report, as its error says.
    """
    from autorun.errors import AutorunError

    if reporter.transcript is None:
        return
    try:
        reporter.write(announce=announce)
    except AutorunError as err:
        typer.echo(f"autorun: {err}", err=True)
