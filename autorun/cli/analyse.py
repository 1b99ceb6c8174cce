"""`autorun analyse`: one session on a data file, run to its end."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from autorun.cli.app import app, guarded, load, output_mode, terminal_human
from autorun.cli.options import (
    BaseUrlOpt,
    CacheOpt,
    ConfigOpt,
    DebugOpt,
    DockerOpt,
    LocalOpt,
    ModelOpt,
    NoPullOpt,
    SandboxOpt,
    SheetOpt,
    TimeoutOpt,
    WorkDirOpt,
    executor_flags,
    session_flags,
)


@app.command()
def analyse(
    file: Annotated[
        Path, typer.Argument(help="The data file: CSV, TSV, JSON, JSONL, Parquet or Excel.", readable=False)
    ],
    question: Annotated[str | None, typer.Option("--question", "-q", help="What to find out (needs an LLM).")] = None,
    sheet: SheetOpt = None,
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
    sandbox: SandboxOpt = False,
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
    from autorun.analyse import AnalyseRequest, require_file_argument
    from autorun.analyse import analyse as run_analysis
    from autorun.render.sinks import make_renderer

    mode = output_mode(json_mode, quiet)
    flags: dict[str, Any] = {
        **session_flags(
            model=model,
            base_url=base_url,
            cache=cache,
            work_dir=work_dir,
            timeout=timeout,
            human_input_mode=human_input_mode.upper() if human_input_mode else None,
            executor=executor_flags(local, no_exec, docker, no_pull, sandbox),
        ),
        "executor.last_n_messages": last_n_messages,
        "session.max_consecutive_auto_reply": max_turns,
    }

    def run() -> int:
        loaded = load(config, flags)
        request = AnalyseRequest(require_file_argument(file), loaded.config, question, sheet=sheet)
        display = make_renderer(mode, stdout=sys.stdout, stderr=sys.stderr, env=os.environ)
        try:
            outcome = run_analysis(request, display, human=terminal_human(loaded.config.session.human_input_mode))
        finally:
            display.close()
        return outcome.exit_code

    raise typer.Exit(guarded(debug, run))
