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
    ClusterOpt,
    ConfigOpt,
    DebugOpt,
    MaxTurnsOpt,
    SessionOptions,
    with_session_options,
)

# What eval decides itself; every other option given is passed on to each question's `autorun analyse`.
EVAL_OWN_OPTIONS = frozenset(
    {"questions", "labels", "data", "fmt", "out", "limit", "ids", "resume", "json_mode", "jobs", "debug", "cluster"}
)


def _ids(text: str | None) -> list[str] | None:
    if text is None:
        return None
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise typer.BadParameter("give question ids separated by commas, e.g. --ids 3,7,12", param_hint="--ids")
    return ids


@app.command("eval")
@with_session_options
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
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", metavar="N", min=1, help="Sessions at once (default 1; on a cluster, as many as it takes)."
        ),
    ] = None,
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
    *,
    session: SessionOptions,
    config: ConfigOpt = None,
    max_turns: MaxTurnsOpt = None,
    cluster: ClusterOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Ask a model every question of QUESTIONS, one ordinary session each, and score its answers
    the way the benchmark's official scorer does.

    InfiAgent-DABench: QUESTIONS has id, question, constraints, format, file_name, level and
    concepts; --labels has id and common_answers; --data holds the tables. DABstep
    (--format dabstep): tasks with task_id, question, guidelines, level and optional answer;
    every file of --data is given to each session; --out also gets submission.jsonl.

    --out holds results.jsonl (a line per question), every session's transcript and report,
    and report.html / report.md. With --cluster (or cluster.address), the sessions run on a
    Dask cluster's workers. Exit codes: 0 the run finished (wrong answers are results),
    2 bad input, 3 the cluster's scheduler unreachable or gone, 130/143 interrupted
    (finished results kept: --resume continues).
    """
    from autorun.cli.cluster import on_cluster_or_here
    from autorun.evaluation import EvalRequest, run_eval

    flags: dict[str, Any] = {
        **session.flags(work_dir=None, human_input_mode=None),
        "session.max_consecutive_auto_reply": max_turns,
        "cluster.address": cluster,
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
        return on_cluster_or_here(
            loaded,
            ctx,
            keep_events=False,
            announce=True,
            run=lambda runner: (
                run_eval(
                    request, loaded.config, json_mode=json_mode, env=os.environ, stdout=sys.stdout, make_runner=runner
                ).exit_code
            ),
        )

    raise typer.Exit(guarded(debug, run))
