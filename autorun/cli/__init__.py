"""The `autorun` command line: flags -> Config -> one library call -> exit code.

Each module registers its commands on the one Typer app of :mod:`autorun.cli.app`;
importing them here is what puts them on it.
"""

from autorun.cli import admin, analyse, chat, export
from autorun.cli.app import app

__all__ = ["admin", "analyse", "app", "chat", "export", "main"]


def main() -> None:
    app()
