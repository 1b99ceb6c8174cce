"""`autorun sessions`, and how `results`, `replay` and `export` are told which session they are about."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from autorun.cli.app import app, guarded, load
from autorun.cli.options import ConfigOpt, DebugOpt

if TYPE_CHECKING:
    from autorun.session_list import SessionRow

SessionsArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="SESSION",
        help="A session id (or its start) as `autorun sessions` shows it, or a transcript path; "
        "none: the newest session of the work dir.",
        show_default=False,
        hidden=True,  # described in the command's text
    ),
]
SessionsWorkDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--work-dir",
        metavar="DIR",
        help="The work dir whose sessions to use (default: the configured one, ./coding_workspace).",
    ),
]


def configured_work_dir(config: Path | None, work_dir: Path | None) -> Path:
    """The work dir a session started here would use: --work-dir, else the config's, absolute."""
    flags: dict[str, object] = {"executor.work_dir": str(work_dir) if work_dir is not None else None}
    return Path(load(config, flags).config.executor.work_dir).expanduser().resolve()


def transcripts_named(sessions: list[str] | None, config: Path | None, work_dir: Path | None) -> list[Path]:
    """The transcripts SESSION... names; none named: the newest session of the configured work dir.

    Raises ConfigError (exit 2, one line) for an unknown or ambiguous id, or a work dir without sessions.
    """
    from autorun.record.find import chosen_transcripts

    if sessions:
        return chosen_transcripts(sessions, None)
    return chosen_transcripts([], configured_work_dir(config, work_dir))


@app.command(short_help="List recorded sessions: time, id, file, model, status, final line.")
def sessions(
    every: Annotated[bool, typer.Option("--all", "-a", help="The sessions of every work dir.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", metavar="N", min=0, help="Show the newest N (0: all).")] = 20,
    json_mode: Annotated[bool, typer.Option("--json", help="Print a JSON array, one object per session.")] = False,
    work_dir: SessionsWorkDirOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """List the recorded sessions of the work dir (and of the work dirs inside it, a batch's), newest first.

    Each row: when it started, its id, the data file, the model, how it ended and the last
    line of its final answer. `results`, `replay`, `export` and `chat --resume` take the id,
    or its first few characters. A session still running shows as running; one that was cut
    off (a crash, a kill) as unfinished.

    Examples:

    \b
      autorun sessions
      autorun sessions --all -n 50
      autorun sessions --json | jq -r '.[0].id'
    """
    import json

    from autorun.session_list import list_sessions

    def rows() -> tuple[Path | None, list[SessionRow]]:
        where = None if every else configured_work_dir(config, work_dir)
        return where, list_sessions(where, limit=limit)

    where, found = guarded(debug, rows)
    if json_mode:
        typer.echo(json.dumps([row.to_dict() for row in found], indent=2))
        return
    if not found:
        more = f"the work dir {where} (--all lists every work dir's)" if where else "any work dir"
        typer.echo(f"no session is recorded for {more}", err=True)
        return
    print_table(found, show_work_dir=every)


def print_table(rows: list[SessionRow], *, show_work_dir: bool) -> None:
    from datetime import datetime

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from autorun.render.sanitize import strip_control_sequences

    console = Console(no_color="NO_COLOR" in os.environ, width=None if sys.stdout.isatty() else 160)
    table = Table(box=None, pad_edge=False)
    for name in ("time", "id", "file", "model", "status"):
        table.add_column(name, no_wrap=True)
    if show_work_dir:
        table.add_column("work dir", no_wrap=True, overflow="fold")
    table.add_column("final line", no_wrap=True, overflow="ellipsis")
    for row in rows:
        when = f"{datetime.fromisoformat(row.started):%Y-%m-%d %H:%M}" if row.started else "?"
        status = row.status if row.exit_code in (None, 0) else f"{row.status} ({row.exit_code})"
        cells = [when, row.id, Path(row.data_file).name if row.data_file else "-", row.model or "-", status]
        if show_work_dir:
            cells.append(row.work_dir)
        cells.append(row.final_line)
        table.add_row(*(Text(strip_control_sequences(cell)) for cell in cells))
    console.print(table)
