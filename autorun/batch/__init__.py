"""The batch form of `autorun analyse`: several files, one session each, a live view and a final table.

The parts: :mod:`autorun.batch.runner` starts and stops the sessions (child processes of
autorun), :mod:`autorun.batch.display` shows their state; :func:`run_batch` puts them together.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from autorun.errors import AutorunError, ConfigError, ExitCode

if TYPE_CHECKING:
    from autorun.batch.runner import RunnerFactory

DEFAULT_REPORT_NAME = "report.html"


UNWRAPPED_WIDTH = 10_000  # off a terminal each file's row stays one line, for grep and scripts


def _print_table(items: Sequence[Any], stream: TextIO) -> None:
    from rich.console import Console

    from autorun.batch.display import final_table

    console = Console(file=stream, highlight=False)
    if not console.is_terminal:
        console = Console(file=stream, highlight=False, width=UNWRAPPED_WIDTH)
    console.print(final_table(items), crop=False)


def _why(item: Any) -> str:
    code = f"exit {item.exit_code}" if item.exit_code is not None else item.state
    return f"{code}: {item.reason}" if item.reason else code


def report_name(report: Path | None) -> str:
    """``--report`` in a batch names the report inside each file's work subdirectory (the CLI checks its format)."""
    return DEFAULT_REPORT_NAME if report is None else report.name


def run_batch(
    files: Sequence[Path],
    child_args: Sequence[str],
    *,
    jobs: int | None,
    work_root: Path,
    report: Path | None,
    mode: str,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    env: Mapping[str, str] | None = None,
    make_runner: RunnerFactory | None = None,
) -> int:
    """Analyse every file (``mode``: auto, json or quiet) and return the batch's exit code.

    ``child_args`` are passed on to each file's ``autorun analyse`` (model, executor, limits...);
    ``make_runner`` runs the sessions (default: child processes here, ``jobs`` or 1 at a time).

    0 only when every session succeeded; 1 otherwise, naming the failures on stderr;
    130/143 when interrupted by Ctrl-C/SIGTERM, after every session has been stopped;
    the error's own code (3: the cluster's scheduler went away) when the runner fails,
    keeping every session already finished.
    """
    from rich.console import Console

    from autorun.batch.display import (
        LiveBatchDisplay,
        PlainBatchDisplay,
        batch_end_event,
        json_line,
    )
    from autorun.batch.runner import BatchItem, RunRequest, local_runner, plan_batch
    from autorun.session.factory import sigterm_as_interrupt
    from autorun.session.loop import SessionTerminated

    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs must be at least 1 (got {jobs})")
    items = plan_batch(files, work_root.expanduser().resolve(), report_name(report))
    err_console = Console(file=err, highlight=False, no_color=bool((env or os.environ).get("NO_COLOR")))
    display: LiveBatchDisplay | PlainBatchDisplay | None = None
    if mode != "quiet":
        display = LiveBatchDisplay(items, err_console) if err_console.is_terminal else PlainBatchDisplay(items, err)

    def on_event(item: BatchItem, event: dict[str, Any]) -> None:
        if mode == "json":
            out.write(json_line(item, event) + "\n")
            out.flush()

    on_change = display.changed if display is not None else lambda item: None
    request = RunRequest(items, child_args, jobs, on_event, on_change, dict(env) if env is not None else None)
    runner = (make_runner or local_runner)(request)
    code: int | None = None
    failure: AutorunError | None = None
    if display is not None:
        display.start()
    try:
        with sigterm_as_interrupt():
            runner.run()
    except KeyboardInterrupt:
        code = int(ExitCode.INTERRUPTED)
    except SessionTerminated:
        code = int(ExitCode.TERMINATED)
    except AutorunError as exc:
        code, failure = int(exc.exit_code), exc
    finally:
        if display is not None:
            display.close()
    if mode == "json":
        import json

        out.write(json.dumps(batch_end_event(items), ensure_ascii=True) + "\n")
        out.flush()
        _print_table(items, err)
    else:
        _print_table(items, out)
    failed = [item for item in items if not item.succeeded]
    if failure is not None:
        err.write(f"autorun: error: {failure}: {len(failed)} of {len(items)} sessions did not finish\n")
        return int(failure.exit_code)
    if code is not None:
        err.write(f"autorun: error: interrupted: {len(failed)} of {len(items)} sessions did not finish\n")
        return code
    if failed:
        names = "; ".join(f"{item.file} ({_why(item)})" for item in failed)
        err.write(f"autorun: error: {len(failed)} of {len(items)} sessions failed: {names}\n")
        return int(ExitCode.UNSUCCESSFUL)
    return int(ExitCode.OK)
