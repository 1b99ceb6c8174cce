"""Commands around sessions: results, config show/init, clean, doctor, and the Docker runtime image."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from autorun.cli.app import app, config_app, guarded, image_app, load
from autorun.cli.options import ConfigOpt, DebugOpt
from autorun.cli.sessions import SessionsArg, SessionsWorkDirOpt, transcripts_named

if TYPE_CHECKING:
    from autorun.transcripts.results import ResultsSummary


@app.command(short_help="What ran in a session and what failed.")
def results(
    sessions: SessionsArg = None,
    json_mode: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON (one object per line for several sessions).")
    ] = False,
    work_dir: SessionsWorkDirOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Count the executions of a session: total, succeeded, failed, and each block's exit code.

    SESSION is a session id (or its first characters, as `autorun sessions` shows them) or a
    transcript path; with none, the newest session of the work dir; with several (a glob of
    transcripts), each in turn and, in text, the totals.

    Examples:

    \b
      autorun results
      autorun results fec8
      autorun results --json | jq .failed
    """
    import json

    from autorun.record.reader import read_transcript
    from autorun.transcripts.results import format_results_text, results_to_json, summarise_results, totals_text

    def summaries() -> list[tuple[Path, ResultsSummary]]:
        paths = transcripts_named(sessions, config, work_dir)
        return [(path, summarise_results(read_transcript(path))) for path in paths]

    found = guarded(debug, summaries)
    if json_mode:
        for path, summary in found:
            typer.echo(json.dumps({**results_to_json(summary), "transcript": str(path)}))
        return
    if len(found) == 1:
        typer.echo(format_results_text(found[0][1]))
        return
    for path, summary in found:
        typer.echo(f"== {path} ==\n{format_results_text(summary)}\n")
    typer.echo(totals_text([summary for _, summary in found]))


@config_app.command("show")
def config_show(
    config: ConfigOpt = None,
    as_yaml: Annotated[
        bool, typer.Option("--yaml", help="Print YAML (usable as autorun.yaml) with each source as a comment.")
    ] = False,
    debug: DebugOpt = False,
) -> None:
    """Print the effective configuration and where each value came from (default, file, env or flag).

    Examples:

    \b
      autorun config show
      autorun config show --config ci.yaml --yaml
    """
    from rich.console import Console
    from rich.table import Table

    from autorun.config.show import config_show_yaml, format_config_show

    loaded = guarded(debug, lambda: load(config, {}))
    if as_yaml:
        typer.echo(config_show_yaml(loaded), nl=False)
        return
    rows = format_config_show(loaded)
    console = Console(no_color="NO_COLOR" in os.environ, width=None if sys.stdout.isatty() else 160)
    table = Table("key", "value", "from", box=None, pad_edge=False)
    for key, value, source in rows:
        table.add_row(key, value, source)
    console.print(table)


@config_app.command("init")
def config_init(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="Where to write it.", hidden=True)] = Path(
        "autorun.yaml"
    ),
    debug: DebugOpt = False,
) -> None:
    """Write a commented starter config at PATH, by default ./autorun.yaml (never overwrites a file).

    Keys whose default depends on the command (human_input_mode: chat asks before each
    block, analyse does not) are left commented out.

    Examples:

    \b
      autorun config init
      autorun config init configs/team.yaml
    """
    from autorun.config.loading import write_starter_config

    guarded(debug, lambda: write_starter_config(path))
    typer.echo(f"wrote {path}", err=True)


@app.command(short_help="Remove what crashed sessions left behind.")
def clean(
    stop_all: Annotated[
        bool,
        typer.Option(
            "--all", help="Also stop running sessions (their containers, cgroups, directories), saying which."
        ),
    ] = False,
    owner: Annotated[
        int | None, typer.Option("--owner", metavar="PID", help="Only what the autorun process PID left or uses.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="List what would be removed; remove nothing.")
    ] = False,
    debug: DebugOpt = False,
) -> None:
    """Remove what crashed sessions left: containers, kernel and sandbox dirs, cgroups (never a running one's).

    Examples:

    \b
      autorun clean
      autorun clean --dry-run
      autorun clean --all
    """
    from autorun.executors.leftovers import clean as clean_up
    from autorun.executors.leftovers import find_leftovers, stopping_lines, summary_lines

    items, notes = guarded(debug, lambda: find_leftovers(env=os.environ, owner_pid=owner))
    if dry_run:
        for item in items:
            if item.state == "dead" or stop_all:
                typer.echo(f"would remove {item.describe()}")
        kept = [item for item in items if item.state != "dead" and not stop_all]
        for item in kept:
            typer.echo(f"would keep {item.describe()}")
        if not items:
            typer.echo("nothing to remove")
        for note in notes:
            typer.echo(note, err=True)
        return
    if stop_all:
        for line in stopping_lines(items):
            typer.echo(line, err=True)
    report = guarded(debug, lambda: clean_up(items, notes, stop_live=stop_all))
    for line in summary_lines(report):
        typer.echo(line)


@app.command(short_help="Check Python, Docker, the API key and the endpoint.")
def doctor(config: ConfigOpt = None, debug: DebugOpt = False) -> None:
    """Check Python, the Docker engine and image, the API-key variable and the model endpoint, with a fix for each.

    Examples:

    \b
      autorun doctor
      autorun doctor --config configs/docker.yaml
    """
    from rich.console import Console
    from rich.table import Table

    from autorun.doctor import run_doctor

    checks = guarded(debug, lambda: run_doctor(load(config, {}).config, os.environ))
    console = Console(no_color="NO_COLOR" in os.environ, width=None if sys.stdout.isatty() else 160)
    table = Table("check", "status", "detail", "fix", box=None, pad_edge=False)
    colours = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
    for check in checks:
        table.add_row(check.name, f"[{colours[check.status]}]{check.status}[/]", check.detail, check.fix)
    console.print(table)
    raise typer.Exit(1 if any(c.status == "fail" for c in checks) else 0)


@image_app.command("build")
def image_build(
    tag: Annotated[str, typer.Option("--tag", help="The image's name:tag.")] = "autorun-runtime:1",
    base: Annotated[str, typer.Option("--base", help="The Python image to build on.")] = "python:3.11-slim",
    debug: DebugOpt = False,
) -> None:
    """Build autorun's Docker runtime image (pandas, pyarrow, DuckDB, matplotlib, ipykernel, openpyxl).

    The wheels are downloaded on this machine and copied in, so the build needs no registry
    beyond the base image (local or pulled). The Docker executor uses this tag by default.
    """
    from autorun.executors.docker.image import build_runtime_image

    def say(text: str) -> None:
        typer.echo(f"autorun image: {text}", err=True)

    image_id = guarded(debug, lambda: build_runtime_image(tag, base, env=os.environ, progress=say))
    typer.echo(f"built {tag} ({image_id[:19]})")
