"""`autorun analyse`: one session on a data file, run to its end."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from autorun.cli.app import app, guarded, load, output_mode, terminal_human
from autorun.cli.options import (
    ClusterOpt,
    ConfigOpt,
    DebugOpt,
    MaxTurnsOpt,
    ReportOpt,
    SessionOptions,
    SheetOpt,
    WorkDirOpt,
    with_session_options,
)

# What a batch decides for each file's session itself; every other option is passed on as given.
BATCH_OWN_OPTIONS = frozenset(
    {"json_mode", "quiet", "report", "jobs", "debug", "work_dir", "human_input_mode", "cluster"}
)


def options_given(ctx: typer.Context, *, leave_out: frozenset[str]) -> list[str]:
    """The options given on the command line, as arguments again (so a new option needs no batch code)."""
    from typer.core import TyperOption

    args: list[str] = []
    for param in ctx.command.params:
        if not isinstance(param, TyperOption) or param.name is None or param.name in leave_out:
            continue
        source = ctx.get_parameter_source(param.name)
        if source is None or source.name != "COMMANDLINE":
            continue
        value = ctx.params[param.name]
        if param.is_flag:
            args += [param.opts[0]] if value else param.secondary_opts[:1]
        elif param.multiple:
            args += [part for item in value for part in (param.opts[0], str(item))]
        else:
            args += [param.opts[0], str(value)]
    return args


@app.command(short_help="Analyse a data file: the assistant writes code, autorun runs it.")
@with_session_options
def analyse(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(
            help="The data file(s): CSV, TSV, JSON, JSONL, Parquet or Excel; several run as a batch.",
            metavar="FILE",
            readable=False,
            hidden=True,  # described in the text above the options
        ),
    ],
    question: Annotated[
        str | None, typer.Option("--question", "-q", metavar="TEXT", help="What to find out (needs an LLM).")
    ] = None,
    answer_format: Annotated[
        str | None,
        typer.Option(
            "--answer-format",
            metavar="FORMAT",
            help="How the final message gives the answer to -q: @name[value] fields (InfiAgent-DABench), "
            "or guidelines for one 'FINAL ANSWER: ...' line; --json's session_end then has the answers.",
        ),
    ] = None,
    context: Annotated[
        list[Path] | None,
        typer.Option(
            "--context",
            metavar="PATH",
            help="A further file the code may read (documentation, lookup table): read-only, not analysed.",
        ),
    ] = None,
    sheet: SheetOpt = None,
    *,
    session: SessionOptions,
    config: ConfigOpt = None,
    work_dir: WorkDirOpt = None,
    last_n_messages: Annotated[
        int | None, typer.Option("--last-n-messages", metavar="N", help="How many recent messages to scan for code.")
    ] = None,
    max_turns: MaxTurnsOpt = None,
    no_exec: Annotated[bool, typer.Option("--no-exec", help="Show code blocks but never run them.")] = False,
    human_input_mode: Annotated[
        str | None,
        typer.Option(
            "--human-input-mode", metavar="MODE", help="NEVER (default), ALWAYS (approve each block) or TERMINATE."
        ),
    ] = None,
    json_mode: Annotated[bool, typer.Option("--json", help="JSON Lines events on stdout, nothing else.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the final message.")] = False,
    report: ReportOpt = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            metavar="N",
            min=1,
            help="Batch: analyse up to N files at once (default 1; on a cluster, as many as it takes).",
        ),
    ] = None,
    cluster: ClusterOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Analyse FILE: the assistant writes code, autorun runs it and sends back the output.

    FILE is a CSV, TSV, JSON, JSON Lines, Parquet or Excel file (text formats may be
    compressed). The offline builtin analyst runs unless $OPENAI_API_KEY is set or
    --model names an LLM. Also spelled `autorun analyze`.

    With several files (or --jobs), each file gets its own session, work subdirectory
    <work dir>/<file stem>, transcript and report (--report NAME, default report.html),
    with a live view on stderr and a final table; the exit code is 0 only when every
    session succeeded. With --cluster (or cluster.address), the sessions run on a Dask
    cluster's workers, and what they write comes back here.

    Exit codes: 0 success, 1 unsuccessful session, 2 usage/config/input error,
    3 model error, 4 executor error, 130 interrupted, 143 terminated.

    Examples:

    \b
      autorun analyse sales.csv
      autorun analyse sales.csv -q "Which region grew fastest?" --model gpt-4o-mini
      autorun analyse sales.csv --docker autorun-runtime:1 --report report.html
      autorun analyse sales.csv --json | jq -c 'select(.event=="execution_result")'
      autorun analyse data/*.csv --jobs 4
    """
    from autorun.analyse import AnalyseRequest, require_file_argument
    from autorun.analyse import analyse as run_analysis
    from autorun.render.sinks import make_renderer

    mode = output_mode(json_mode, quiet)
    flags: dict[str, Any] = {
        **session.flags(
            work_dir=work_dir,
            human_input_mode=human_input_mode.upper() if human_input_mode else None,
            no_exec=no_exec,
        ),
        "executor.last_n_messages": last_n_messages,
        "session.max_consecutive_auto_reply": max_turns,
        "cluster.address": cluster,
    }

    if len(files) > 1 or jobs is not None or cluster is not None:
        passed_on = options_given(ctx, leave_out=BATCH_OWN_OPTIONS)
        raise typer.Exit(
            guarded(debug, lambda: _batch(ctx, files, flags, config, passed_on, jobs, report, mode, question))
        )

    def run() -> int:
        from autorun.batch.child import for_batch, stop_with_parent
        from autorun.cli.export import ReportOnEnd, report_after_failure
        from autorun.session.origin import session_origin

        stop_with_parent(os.environ)
        loaded = load(config, flags)
        request = AnalyseRequest(
            require_file_argument(files[0]),
            loaded.config,
            question,
            sheet=sheet,
            answer_format=answer_format,
            context_files=tuple(context or ()),
        )
        reporter = ReportOnEnd(report)
        display = for_batch(make_renderer(mode, stdout=sys.stdout, stderr=sys.stderr, env=os.environ), os.environ)
        try:
            asks, origin = session_origin(loaded, "analyse")
            outcome = run_analysis(request, reporter.wrap(display), human=terminal_human(asks), origin=origin)
        except BaseException:
            display.close()
            report_after_failure(reporter, announce=mode != "json")
            raise
        display.close()
        reporter.write(announce=mode != "json")
        return outcome.exit_code

    raise typer.Exit(guarded(debug, run))


app.command("analyze", hidden=True, help=analyse.__doc__)(analyse)  # the US spelling, as an alias


def _batch(
    ctx: typer.Context,
    files: list[Path],
    flags: dict[str, Any],
    config: Path | None,
    passed_on: list[str],
    jobs: int | None,
    report: Path | None,
    mode: str,
    question: str | None,
) -> int:
    from autorun.analyse import require_llm
    from autorun.batch import run_batch
    from autorun.cli.cluster import on_cluster_or_here
    from autorun.errors import ConfigError
    from autorun.export import format_for

    if report is not None:
        format_for(report)
    loaded = load(config, flags)
    if question:
        require_llm(loaded.config, os.environ, "--question")
    if loaded.config.session.human_input_mode != "NEVER":
        raise ConfigError("a batch runs unattended: use --human-input-mode NEVER (or analyse one file at a time)")
    work_root = Path(loaded.config.executor.work_dir)
    return on_cluster_or_here(
        loaded,
        ctx,
        keep_events=mode == "json",
        announce=mode != "quiet",
        run=lambda runner: run_batch(
            files,
            passed_on,
            jobs=jobs,
            work_root=work_root,
            report=report,
            mode=mode,
            env=os.environ,
            make_runner=runner,
        ),
    )
