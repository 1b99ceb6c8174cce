"""`autorun eval`: score a model as an analyst on a closed-form question set.

The parts: :mod:`~autorun.evaluation.questions` reads and checks a set (InfiAgent-DABench or
DABstep), :mod:`~autorun.evaluation.runner` runs one ordinary session per question with the
batch machinery and scores it as it ends (:mod:`~autorun.evaluation.dabench`,
:mod:`~autorun.evaluation.dabstep`: the official scorers, ported), appending to
:mod:`~autorun.evaluation.results`; :mod:`~autorun.evaluation.metrics` and
:mod:`~autorun.evaluation.report` make the figures and reports, :func:`run_eval` puts them together.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from autorun.config.schema import Config
from autorun.errors import ConfigError, ExitCode
from autorun.evaluation.questions import FORMATS, Question, QuestionSet

FAILED = "failed"


@dataclass(frozen=True)
class EvalRequest:
    questions_file: Path
    data_dir: Path
    labels_file: Path | None = None
    fmt: str = "dabench"
    out: Path | None = None
    child_args: Sequence[str] = ()  # session options for every question's `autorun analyse`
    jobs: int = 1
    limit: int | None = None
    ids: Sequence[str] | None = None
    resume: bool = False


@dataclass
class EvalOutcome:
    exit_code: int
    summary: dict[str, Any] = field(default_factory=dict)


def default_out(questions_file: Path) -> Path:
    return Path(f"eval-{questions_file.stem or 'questions'}")


def load_questions(request: EvalRequest) -> QuestionSet:
    from autorun.evaluation.questions import read_dabench, read_dabstep

    if request.fmt not in FORMATS:
        raise ConfigError(f"--format {request.fmt}: choose {' or '.join(FORMATS)}")
    if request.fmt == "dabstep":
        if request.labels_file is not None:
            raise ConfigError("--format dabstep takes no --labels: DABstep's tasks carry their own answers")
        return read_dabstep(request.questions_file, request.data_dir)
    if request.labels_file is None:
        raise ConfigError("InfiAgent-DABench questions need their answers: give --labels LABELS.jsonl")
    if not request.data_dir.is_dir():
        raise ConfigError(f"--data {request.data_dir} is not a folder; give the folder of the questions' tables")
    return read_dabench(request.questions_file, request.labels_file, request.data_dir)


def open_out(out: Path, resume: bool) -> dict[str, dict[str, Any]]:
    """The results already in ``out`` (for --resume); ConfigError when there are some and no --resume."""
    from autorun.evaluation.results import RESULTS_NAME, read_results

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the results")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create --out {out}: {exc.strerror}; choose another folder") from None
    existing = read_results(out / RESULTS_NAME)
    if existing and not resume:
        raise ConfigError(
            f"{out / RESULTS_NAME} holds the results of {len(existing)} questions from an earlier run: "
            "add --resume to continue it, or choose another --out"
        )
    return existing


def totals(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    tokens = [r["tokens"] for r in results if isinstance(r.get("tokens"), int)]
    costs = [r["cost_usd"] for r in results if isinstance(r.get("cost_usd"), int | float)]
    return {
        "failed_sessions": sum(1 for r in results if r.get("outcome") == FAILED),
        "tokens": sum(tokens) if tokens else None,
        "cost_usd": round(sum(costs), 6) if costs else None,
        "session_seconds": round(sum(float(r.get("duration_s") or 0) for r in results), 3),
    }


def _exit_code(new: Sequence[Mapping[str, Any]]) -> tuple[int, str]:
    """0, unless every session this run asked failed: then the first one's exit code and why."""
    if not new or any(r.get("outcome") != FAILED for r in new):
        return int(ExitCode.OK), ""
    first = new[0]
    code = first.get("exit_code")
    return (code if isinstance(code, int) and code > 0 else int(ExitCode.UNSUCCESSFUL)), str(first.get("reason"))


def _interrupted_code(run: Callable[[], object]) -> int | None:
    """Run ``run`` with SIGTERM raised as an interruption; None, or 130/143 when interrupted."""
    from autorun.session.factory import sigterm_as_interrupt
    from autorun.session.loop import SessionTerminated

    try:
        with sigterm_as_interrupt():
            run()
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except SessionTerminated:
        return int(ExitCode.TERMINATED)
    return None


def _write_outputs(
    qset: QuestionSet,
    chosen: Sequence[Question],
    results: Mapping[str, Mapping[str, Any]],
    figures: Mapping[str, Any],
    out: Path,
    model: str,
) -> dict[str, Any]:
    """report.html and report.md (and DABstep's submission); where they went."""
    from autorun.evaluation.report import build_report, run_facts, write_reports
    from autorun.evaluation.submission import write_submission

    ordered = [results[q.id] for q in chosen if q.id in results]
    report = build_report(
        f"autorun eval: {qset.source.name}",
        run_facts(figures, model, qset.source, figures["duration_s"]),
        figures,
        ordered,
        {q.id: q for q in chosen},
        named=qset.format == "dabench",
    )
    written: dict[str, Any] = {"reports": [str(path) for path in write_reports(report, out)]}
    if qset.format == "dabstep":
        written["submission"] = str(write_submission(out, chosen, results))
    return written


def run_eval(
    request: EvalRequest,
    config: Config,
    *,
    json_mode: bool = False,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    terminal: bool | None = None,
) -> EvalOutcome:
    """Ask every selected question not yet answered, score it, and write the results and reports.

    Raises ConfigError for bad input before any session starts. The exit code is 0 when the
    run finished (wrong answers and failed sessions are results, each with its reason), the
    first session's code when every session failed, 130/143 when interrupted (every session
    stopped, every finished result kept).
    """
    from autorun.analyse import require_llm
    from autorun.evaluation.console import print_summary, result_line
    from autorun.evaluation.metrics import as_scored, summary
    from autorun.evaluation.progress import make_progress
    from autorun.evaluation.questions import select
    from autorun.evaluation.runner import EvalRunner, slugs
    from autorun.session.components import require_api_key, uses_llm

    env = dict(os.environ if env is None else env)
    out_stream, err_stream = stdout or sys.stdout, stderr or sys.stderr
    if request.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1 (got {request.jobs})")
    require_llm(config, env, "autorun eval")
    if uses_llm(config, env):
        require_api_key(config, env, "or --base-url URL for a server that needs none")  # else every session fails
    qset = load_questions(request)
    chosen = select(qset.questions, request.ids, request.limit, qset.source)
    out = request.out or default_out(request.questions_file)
    existing = open_out(out, request.resume)
    todo = [q for q in chosen if q.id not in existing]
    started = time.monotonic()
    progress = make_progress(len(todo), err_stream, terminal=err_stream.isatty() if terminal is None else terminal)

    def on_result(result: dict[str, Any]) -> None:
        progress.finished(result)
        if json_mode:
            out_stream.write(result_line(result) + "\n")
            out_stream.flush()

    runner = EvalRunner(
        todo,
        out,
        request.child_args,
        request.jobs,
        fmt=qset.format,
        model=config.model.name,
        names=slugs(qset.questions),
        on_result=on_result,
        on_start=lambda question: progress.started(),
        env=env,
    )
    progress.start()
    try:
        code = _interrupted_code(runner.run)
    finally:
        progress.close()
    results = {**existing, **runner.results}
    ordered = [results[q.id] for q in chosen if q.id in results]
    figures = {
        "event": "eval_end",
        "format": qset.format,
        "asked": len(chosen),
        "answered_now": len(runner.results),
        "resumed": sum(1 for q in chosen if q.id in existing),
        **summary(as_scored(ordered)),
        "unscored": sum(1 for r in ordered if r.get("correct") is None),
        **totals(ordered),
        "duration_s": round(time.monotonic() - started, 3),
        "out": str(out),
    }
    figures |= _write_outputs(qset, chosen, results, figures, out, config.model.name)
    print_summary(figures, out_stream, json_mode=json_mode)
    if code is None:
        code, why = _exit_code(list(runner.results.values()))
        if code:
            err_stream.write(f"autorun: error: every session failed; the first: {why}\n")
    else:
        missing = len(chosen) - len(ordered)
        err_stream.write(
            f"autorun: error: interrupted: {missing} of {len(chosen)} questions have no result yet "
            "(--resume asks them)\n"
        )
    return EvalOutcome(code, figures)
