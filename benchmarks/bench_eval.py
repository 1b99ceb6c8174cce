"""`autorun eval`: correct at scale, its overhead per question, and its throughput at --jobs 1/2/4.

    python -m benchmarks.bench_eval [--questions 120] [--throughput 24] [--runs 5] [--executor auto]

* scale: a generated 120-question set (answers right, wrong, partly right, in prose, none,
  after a code block, too slowly) at --jobs 4 against the scripted server; every reported
  figure must equal an independent scoring of what the server answered (exit 1 otherwise);
* overhead: a question whose model answers at once, from its session's start to its scored
  result (eval at --jobs 1, the median over the questions), against the same session run
  alone as ``autorun analyse TABLE -q ... --answer-format ... --json`` (median of --runs);
* throughput: --throughput such questions at --jobs 1, 2 and 4, questions per second and
  the ratio to --jobs 1.

Prints a Markdown table and writes benchmarks/results/eval.json. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_sandbox import machine, row  # noqa: E402
from tests.eval_sets import make_set, mismatches, run_scripted_eval  # noqa: E402
from tests.fake_openai_server import FakeOpenAIServer  # noqa: E402

Row = dict[str, Any]


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AUTORUN_") and not k.endswith("_API_KEY")}


def executor_args(executor: str) -> list[str]:
    return [] if executor == "auto" else [f"--{executor}"]


def scale(folder: Path, questions: int, executor: str) -> Row:
    run = run_scripted_eval(folder, questions, jobs=4, more=executor_args(executor), env=environment())
    wrong = mismatches(run)
    if wrong:
        raise SystemExit("eval figures differ from the independent scoring:\n" + "\n".join(wrong))
    return row(
        f"eval --jobs 4, {questions} mixed questions: seconds per question", run.wall_s / questions, "-", 0, 1
    ) | {"checked": f"{questions} questions scored as the independent scorer scores them"}


def analyse_alone(folder: Path, runs: int, executor: str) -> float:
    """Median seconds of one `autorun analyse -q --answer-format --json` session answered at once."""
    qset = make_set(folder, 1, ["right"])
    question = qset.questions[0]
    reply = " ".join(f"@{k}[{v}]" for k, v in question.labels.items()) + "\nTERMINATE"
    times = []
    with FakeOpenAIServer([{"reply": reply}] * runs) as server:
        for n in range(runs):
            command = [sys.executable, "-m", "autorun", "analyse", str(question.table), "--json"]
            command += ["--model", "scripted", "--base-url", server.base_url, "--work-dir", str(folder / f"w{n}")]
            command += ["-q", question.tag + " question", "--answer-format", "@mean_x[value]"]
            command += executor_args(executor)
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True, env=environment(), timeout=600)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def throughput(folder: Path, questions: int, jobs: int, executor: str) -> tuple[float, float]:
    """(questions per second, median seconds from a session's start to its scored result)."""
    run = run_scripted_eval(folder, questions, jobs=jobs, behaviours=["right"], more=executor_args(executor))
    if mismatches(run):
        raise SystemExit(f"--jobs {jobs}: figures differ from the independent scoring")
    return questions / run.wall_s, statistics.median(r["duration_s"] for r in run.results.values())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_eval", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=120, help="questions of the scale check (>= 100)")
    parser.add_argument("--throughput", type=int, default=24, help="questions of each throughput run")
    parser.add_argument("--runs", type=int, default=5, help="runs of the lone session baseline (median)")
    parser.add_argument("--executor", choices=("auto", "sandbox", "local"), default="auto")
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="autorun-bench-eval-") as tmp:
        root = Path(tmp)
        rows.append(scale(root / "scale", max(100, args.questions), args.executor))
        alone = analyse_alone(root / "alone", max(5, args.runs), args.executor)
        rates: dict[int, float] = {}
        for jobs in (1, 2, 4):
            rates[jobs], per_session = throughput(root / f"jobs{jobs}", args.throughput, jobs, args.executor)
            if jobs == 1:
                rows.append(
                    row("eval: one question, session start to scored result", per_session, "analyse -q alone", alone, 1)
                )
            rows.append(
                row(f"eval --jobs {jobs}: seconds per question", 1 / rates[jobs], "--jobs 1", 1 / rates[1], 1)
                | {"questions_per_s": round(rates[jobs], 3)}
            )
    print(f"Machine: {machine()}, executor {args.executor}\n")
    print("| benchmark | seconds | baseline | baseline (s) | ratio | questions/s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        rate = r.get("questions_per_s", "")
        baseline = f"{r['baseline_s']:.3f}" if r["baseline_s"] else "-"
        figures = f"{r['median_s']:.3f} | {r['baseline']} | {baseline} | {r['ratio'] or '-'}"
        print(f"| {r['benchmark']} | {figures} | {rate} |")
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "eval.json").write_text(
        json.dumps({"machine": machine(), "executor": args.executor, "rows": rows}, indent=2)
    )


if __name__ == "__main__":
    main()
