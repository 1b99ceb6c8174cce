"""The Typer app and what every command shares: loading the config, turning errors into exit codes."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from autorun import __version__
from autorun.errors import AutorunError, ExitCode

if TYPE_CHECKING:
    from autorun.config.loading import LoadedConfig

app = typer.Typer(
    name="autorun",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: paragraphs wrapped to the terminal, no type labels on flags
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Show or create configuration.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(config_app, name="config")
image_app = typer.Typer(help="Build autorun's Docker runtime image.", no_args_is_help=True)
app.add_typer(image_app, name="image")

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
    """Run an analyst-agent session on a data file: the assistant writes code, autorun runs it safely.

    `autorun COMMAND --help` explains each command.

    Examples:

    \b
      autorun analyse sales.csv
      autorun chat sales.csv
      autorun sessions
      autorun export -o report.html
    """


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


def load(config_file: Path | None, flags: dict[str, Any]) -> LoadedConfig:
    from autorun.config.loading import load_config

    return load_config(config_file=config_file, flags=flags, env=os.environ, cwd=Path.cwd())


def output_mode(json_mode: bool, quiet: bool) -> str:
    if json_mode and quiet:
        raise typer.BadParameter("--json and --quiet cannot be combined")
    return "json" if json_mode else "quiet" if quiet else "auto"


def terminal_human(mode: str):
    """A person at the terminal for ALWAYS/TERMINATE; questions go to stderr, so stdout stays the product."""
    if mode == "NEVER":
        return None
    from autorun.session.terminal import Terminal, TerminalHuman

    return TerminalHuman(mode, Terminal(sys.stdin, sys.stderr))
