"""`autorun eval`: score a model as an analyst on a question set (InfiAgent-DABench or DABstep)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from autorun.cli.analyse import options_given
from autorun.cli.app import app, guarded, load
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
    TimeoutOpt,
    executor_flags,
    session_flags,
)

# What eval decides itself; every other option given is passed on to each question's `autorun analyse`.
EVAL_OWN_OPTIONS = frozenset(
    {"questions", "labels", "data", "fmt", "out", "limit", "ids", "resume", "json_mode", "jobs", "debug"}
)


def _ids(text: str | None) -> list[str] | None:
    if text is None:
        return None
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise typer.BadParameter("give question ids separated by commas, e.g. --ids 3,7,12", param_hint="--ids")
    return ids


@app.command("eval")
def evaluate(
    ctx: typer.Context,
    questions: Annotated[
        Path,
        typer.Argument(
            help="The questions (DABench) or tasks (DABstep), one JSON object a line.",
            metavar="QUESTIONS",
            readable=False,
        ),
    ],
    data: Annotated[
        Path,
        typer.Option("--data", metavar="DIR", help="The tables (DABench) or the context files (DABstep)."),
    ],
    labels: Annotated[
        Path | None, typer.Option("--labels", metavar="LABELS", help="DABench: the labels file (id, common_answers).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="dabench (default) or dabstep.")] = "dabench",
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="DIR", help="Where results, transcripts and reports go (default eval-NAME)."),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", metavar="N", min=1, help="Sessions at once (default 1).")] = 1,
    limit: Annotated[
        int | None, typer.Option("--limit", metavar="K", min=1, help="Only the first K questions.")
    ] = None,
    ids: Annotated[str | None, typer.Option("--ids", metavar="IDS", help="Only these ids, e.g. 3,7,12.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Keep the results in --out and ask only the questions without one.")
    ] = False,
    json_mode: Annotated[
        bool, typer.Option("--json", help="A JSON line per result on stdout, and the summary object last.")
    ] = False,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    cache: CacheOpt = None,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = None,
    max_turns: Annotated[
        int | None, typer.Option("--max-turns", help="Most executor replies before a session stops.")
    ] = None,
    docker: DockerOpt = None,
    no_pull: NoPullOpt = False,
    local: LocalOpt = False,
    sandbox: SandboxOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Ask a model every question of QUESTIONS, one ordinary session each, and score its answers
    the way the benchmark's official scorer does.

    InfiAgent-DABench: QUESTIONS has id, question, constraints, format, file_name, level and
    concepts; --labels has id and common_answers; --data holds the tables. DABstep
    (--format dabstep): tasks with task_id, question, guidelines, level and optional answer;
    every file of --data is given to each session; --out also gets submission.jsonl.

    --out holds results.jsonl (a line per question), every session's transcript and report,
    and report.html / report.md. Exit codes: 0 the run finished (wrong answers are results),
    2 bad input, 130/143 interrupted (finished results kept: --resume continues).
    """
    from autorun.evaluation import EvalRequest, run_eval

    flags: dict[str, Any] = {
        **session_flags(
            model=model,
            base_url=base_url,
            cache=cache,
            work_dir=None,
            timeout=timeout,
            human_input_mode=None,
            executor=executor_flags(local, False, docker, no_pull, sandbox),
        ),
        "session.max_consecutive_auto_reply": max_turns,
    }
    passed_on = options_given(ctx, leave_out=EVAL_OWN_OPTIONS)

    def run() -> int:
        loaded = load(config, flags)
        request = EvalRequest(
            questions_file=questions,
            data_dir=data,
            labels_file=labels,
            fmt=fmt.lower(),
            out=out,
            child_args=passed_on,
            jobs=jobs,
            limit=limit,
            ids=_ids(ids),
            resume=resume,
        )
        return run_eval(request, loaded.config, json_mode=json_mode, env=os.environ, stdout=sys.stdout).exit_code

    raise typer.Exit(guarded(debug, run))
