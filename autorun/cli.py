"""The `autorun` command line: flags -> Config -> one library call -> exit code."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from autorun import __version__
from autorun.cli_options import (
    BaseUrlOpt,
    CacheOpt,
    ConfigOpt,
    DebugOpt,
    DockerOpt,
    LocalOpt,
    ModelOpt,
    NoPullOpt,
    TimeoutOpt,
    TranscriptArg,
    WorkDirOpt,
    executor_flags,
)
from autorun.errors import AutorunError, ExitCode

app = typer.Typer(
    name="autorun",
    help="Run an analyst-agent session on a data file: the assistant writes code, autorun runs it safely.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Show or create configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

T = TypeVar("T")



def _version(value: bool) -> None:
    if value:
        typer.echo(f"autorun {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Run an analyst-agent session on a data file: the assistant writes code, autorun runs it safely."""


def fail(message: str, code: int) -> None:
    typer.echo(f"autorun: error: {message}", err=True)
    raise typer.Exit(code)


def guarded(debug: bool, action: Callable[[], T]) -> T:
    """Run ``action``; user errors become one line on stderr and their exit code."""
    try:
        return action()
    except AutorunError as err:
        if debug:
            traceback.print_exc()
        fail(str(err), int(err.exit_code))
    except KeyboardInterrupt:
        fail("interrupted", int(ExitCode.INTERRUPTED))
    raise AssertionError("unreachable")


def load(config_file: Path | None, flags: dict[str, Any]):
    from autorun.config import load_config

    return load_config(config_file=config_file, flags=flags, env=os.environ, cwd=Path.cwd())


def output_mode(json_mode: bool, quiet: bool) -> str:
    if json_mode and quiet:
        raise typer.BadParameter("--json and --quiet cannot be combined")
    return "json" if json_mode else "quiet" if quiet else "auto"


def terminal_human(mode: str):
    """A person at the terminal for ALWAYS/TERMINATE; questions go to stderr, so stdout stays the product."""
    if mode == "NEVER":
        return None
    from autorun.human import Terminal, TerminalHuman

    return TerminalHuman(mode, Terminal(sys.stdin, sys.stderr))


@app.command()
def analyse(
    file: Annotated[
        Path, typer.Argument(help="The data file: CSV, TSV, JSON, JSONL, Parquet or Excel.", readable=False)
    ],
    question: Annotated[str | None, typer.Option("--question", "-q", help="What to find out (needs an LLM).")] = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    cache: CacheOpt = None,
    config: ConfigOpt = None,
    work_dir: WorkDirOpt = None,
    timeout: TimeoutOpt = None,
    last_n_messages: Annotated[
        int | None, typer.Option("--last-n-messages", help="How many recent messages to scan for code.")
    ] = None,
    max_turns: Annotated[
        int | None, typer.Option("--max-turns", help="Most executor replies before the session stops.")
    ] = None,
    docker: DockerOpt = None,
    no_pull: NoPullOpt = False,
    local: LocalOpt = False,
    no_exec: Annotated[bool, typer.Option("--no-exec", help="Show code blocks but never run them.")] = False,
    human_input_mode: Annotated[
        str | None,
        typer.Option(
            "--human-input-mode", metavar="MODE", help="NEVER (default), ALWAYS (approve each block) or TERMINATE."
        ),
    ] = None,
    json_mode: Annotated[bool, typer.Option("--json", help="JSON Lines events on stdout, nothing else.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the final message.")] = False,
    debug: DebugOpt = False,
) -> None:
    """Analyse FILE: the assistant writes code, autorun runs it and sends back the output.

    Exit codes: 0 success, 1 unsuccessful session, 2 usage/config/input error,
    3 model error, 4 executor error, 130 interrupted.
    """
    from autorun.app import AnalyseRequest, require_file_argument
    from autorun.app import analyse as run_analysis
    from autorun.render import make_renderer

    mode = output_mode(json_mode, quiet)
    flags: dict[str, Any] = {
        "model.name": model,
        "model.base_url": base_url,
        "model.cache": cache,
        "executor.work_dir": str(work_dir) if work_dir is not None else None,
        "executor.timeout": timeout,
        "executor.last_n_messages": last_n_messages,
        "session.max_consecutive_auto_reply": max_turns,
        "session.human_input_mode": human_input_mode.upper() if human_input_mode else None,
        **executor_flags(local, no_exec, docker, no_pull),
    }

    def run() -> int:
        loaded = load(config, flags)
        request = AnalyseRequest(require_file_argument(file), loaded.config, question)
        display = make_renderer(mode, stdout=sys.stdout, stderr=sys.stderr, env=os.environ)
        try:
            outcome = run_analysis(request, display, human=terminal_human(loaded.config.session.human_input_mode))
        finally:
            display.close()
        return outcome.exit_code

    raise typer.Exit(guarded(debug, run))


@app.command()
def results(
    transcript: TranscriptArg,
    json_mode: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    debug: DebugOpt = False,
) -> None:
    """Count the executions in a transcript: total, succeeded, failed, and each block's exit code."""
    import json

    from autorun.results import format_results_text, results_to_json, summarise_results
    from autorun.transcript import read_transcript

    summary = guarded(debug, lambda: summarise_results(read_transcript(transcript)))
    if json_mode:
        typer.echo(json.dumps(results_to_json(summary)))
    else:
        typer.echo(format_results_text(summary))


@config_app.command("show")
def config_show(
    config: ConfigOpt = None,
    as_yaml: Annotated[
        bool, typer.Option("--yaml", help="Print YAML (usable as autorun.yaml) with each source as a comment.")
    ] = False,
    debug: DebugOpt = False,
) -> None:
    """Print the effective configuration and where each value came from (default, file, env or flag)."""
    from rich.console import Console
    from rich.table import Table

    from autorun.config_show import config_show_yaml, format_config_show

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
    path: Annotated[Path, typer.Argument(help="Where to write it.")] = Path("autorun.yaml"),
    debug: DebugOpt = False,
) -> None:
    """Write a commented starter autorun.yaml (never overwrites an existing file)."""
    from autorun.config import write_starter_config

    guarded(debug, lambda: write_starter_config(path))
    typer.echo(f"wrote {path}", err=True)


@app.command()
def clean(debug: DebugOpt = False) -> None:
    """Remove containers left by crashed sessions (every container labelled by autorun, running or not)."""
    from autorun.docker_admin import clean_containers

    removed = guarded(debug, lambda: clean_containers(env=os.environ))
    typer.echo(f"removed {removed} autorun container{'s' if removed != 1 else ''}")


@app.command()
def doctor(config: ConfigOpt = None, debug: DebugOpt = False) -> None:
    """Check Python, the Docker engine and image, the API-key variable and the model endpoint, with a fix for each."""
    from rich.console import Console
    from rich.table import Table

    from autorun.docker_admin import run_doctor

    checks = guarded(debug, lambda: run_doctor(load(config, {}).config, os.environ))
    console = Console(no_color="NO_COLOR" in os.environ, width=None if sys.stdout.isatty() else 160)
    table = Table("check", "status", "detail", "fix", box=None, pad_edge=False)
    colours = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
    for check in checks:
        table.add_row(check.name, f"[{colours[check.status]}]{check.status}[/]", check.detail, check.fix)
    console.print(table)
    raise typer.Exit(1 if any(c.status == "fail" for c in checks) else 0)


from autorun.cli_chat import register  # noqa: E402

register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
