"""The `autorun` command line: flags -> Config -> one library call -> exit code.

Each module registers its commands on the one Typer app of :mod:`autorun.cli.app`;
importing them here is what puts them on it.
"""

import os
import sys

from autorun.cli import admin, analyse, chat, evaluate, export
from autorun.cli.app import app

__all__ = ["admin", "analyse", "app", "chat", "evaluate", "export", "main"]


def main() -> None:
    """The `autorun` command: run it, flush, and leave without tearing the interpreter down.

    By the time the command returns, the session has closed everything it opened (kernel,
    container, transcript); unloading pandas, openai and jupyter_client module by module
    would still cost about 0.4 s of the user's time, so the process ends with os._exit.
    """
    try:
        app()
        code: object = 0
    except SystemExit as done:
        code = done.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
