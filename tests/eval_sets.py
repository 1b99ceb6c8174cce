"""Question sets of our own on generated tables, the scripted model's answers to them, and an
independent scoring of what it answered (written from InfiAgent-DABench's rules, sharing no code
with autorun's scorer).

Each question's text starts with a tag ``[qN]`` that routes its session's requests to its own
steps on the fake server, so sessions can run in parallel in any order.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

BEHAVIOURS = ("right", "wrong", "partial", "prose", "none", "code", "slow")
SLOW_DELAY_S = 20.0  # longer than the request timeout of EVAL_CONFIG
EVAL_CONFIG = "model:\n  request_timeout: 4\n  max_retries: 0\n"
_LEVELS = ("easy", "medium", "hard")


@dataclass(frozen=True)
class GeneratedQuestion:
    id: int
    tag: str
    table: Path
    labels: dict[str, str]
    behaviour: str


@dataclass(frozen=True)
class GeneratedSet:
    questions_file: Path
    labels_file: Path
    data_dir: Path
    questions: list[GeneratedQuestion]


def _table(folder: Path, n: int, rng: random.Random) -> tuple[Path, pd.DataFrame]:
    frame = pd.DataFrame(
        {
            "x": [rng.randint(1, 50) for _ in range(6)],
            "y": [round(rng.uniform(0, 10), 2) for _ in range(6)],
            "g": ["a"] + [rng.choice("ab") for _ in range(5)],
        }
    )
    path = folder / f"table_{n}.csv"
    frame.to_csv(path, index=False)
    return path, frame


def _kind(n: int, frame: pd.DataFrame) -> tuple[str, str, dict[str, str], list[str]]:
    """(question, format, labels computed with pandas, concepts) for question ``n`` on ``frame``."""
    if n % 3 == 0:
        return (
            "What is the mean of x?",
            "@mean_x[value] where value is rounded to two decimals",
            {"mean_x": f"{frame.x.mean():.2f}"},
            ["Summary Statistics"],
        )
    if n % 3 == 1:
        return (
            "What are the sum of y and the largest x?",
            "@sum_y[value] @max_x[value]",
            {"sum_y": f"{frame.y.sum():.2f}", "max_x": str(int(frame.x.max()))},
            ["Summary Statistics", "Feature Engineering"],
        )
    rows = frame[frame.g == "a"]
    return (
        "How many rows have g equal to a, and what is their mean y?",
        "@count_a[n] @mean_y_a[value] @rows[n]",
        {
            "count_a": str(len(rows)),
            "mean_y_a": f"{rows.y.mean():.2f}",
            "rows": str(len(frame)),
        },
        ["Distribution Analysis", "Summary Statistics"],
    )


def make_set(folder: Path, count: int, behaviours: Sequence[str] = BEHAVIOURS, seed: int = 7) -> GeneratedSet:
    """``count`` questions over ``count // 3 + 1`` generated tables, behaviours assigned in turn."""
    rng = random.Random(seed)
    data = folder / "tables"
    data.mkdir(parents=True)
    tables = [_table(data, n, rng) for n in range(count // 3 + 1)]
    questions, lines, label_lines = [], [], []
    for n in range(count):
        path, frame = tables[n % len(tables)]
        question, fmt, labels, concepts = _kind(n, frame)
        tag = f"[q{n}]"
        lines.append(
            {
                "id": n,
                "question": f"{tag} {question}",
                "constraints": "Use the whole table." if n % 2 else "",
                "format": fmt,
                "file_name": path.name,
                "level": _LEVELS[n % 3],
                "concepts": concepts,
            }
        )
        label_lines.append({"id": n, "common_answers": [[k, v] for k, v in labels.items()]})
        questions.append(GeneratedQuestion(n, tag, path, labels, behaviours[n % len(behaviours)]))
    questions_file, labels_file = folder / "questions.jsonl", folder / "labels.jsonl"
    questions_file.write_text("".join(json.dumps(line) + "\n" for line in lines))
    labels_file.write_text("".join(json.dumps(line) + "\n" for line in label_lines))
    return GeneratedSet(questions_file, labels_file, data, questions)


def _wrong(value: str) -> str:
    try:
        return f"{float(value) + 1.5:.2f}"
    except ValueError:
        return value + "x"


def _fields(labels: dict[str, str], right: Sequence[bool]) -> str:
    return " ".join(f"@{k}[{v if ok else _wrong(v)}]" for (k, v), ok in zip(labels.items(), right, strict=True))


def steps_for(question: GeneratedQuestion) -> list[dict[str, Any]]:
    """The scripted model's replies to one question's session."""
    labels, n = question.labels, len(question.labels)
    done = "\nTERMINATE"
    if question.behaviour == "right":
        return [{"reply": f"Here it is.\n{_fields(labels, [True] * n)}{done}"}]
    if question.behaviour == "wrong":
        return [{"reply": f"{_fields(labels, [False] * n)}{done}"}]
    if question.behaviour == "partial":
        return [{"reply": f"{_fields(labels, [True] + [False] * (n - 1))}{done}"}]
    if question.behaviour == "prose":
        first, last = _fields(labels, [False] * n), _fields(labels, [True] * n)
        return [{"reply": f"At first I thought {first}, see @note[this], but then {last} and @extra[1].{done}"}]
    if question.behaviour == "none":
        return [{"reply": f"I could not work it out.{done}"}]
    if question.behaviour == "code":
        code = f"import pandas as pd\nprint(pd.read_csv({str(question.table)!r}).describe())"
        return [{"reply": f"```python\n{code}\n```"}, {"reply": f"{_fields(labels, [True] * n)}{done}"}]
    if question.behaviour == "slow":
        return [{"fault": "slow", "delay": SLOW_DELAY_S, "reply": _fields(labels, [True] * n)}]
    raise ValueError(question.behaviour)


def script(questions: Sequence[GeneratedQuestion]) -> list[dict[str, Any]]:
    return [{"match": q.tag, "steps": steps_for(q)} for q in questions]


def _same(given: str | None, label: str) -> bool:
    if given is None:
        return False
    if given == label:
        return True
    try:
        return abs(float(given) - float(label)) < 1e-6
    except ValueError:
        return False


def independent_scores(
    questions: Sequence[GeneratedQuestion], served: Sequence[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    """Score the last reply the server gave each question's session (a slow reply arrives too late:
    no answer), by DABench's rules, with nothing of autorun's."""
    finals: dict[int, str | None] = {}
    for opening, step in served:
        for q in questions:
            if opening.startswith(q.tag + " "):
                finals[q.id] = None if step.get("fault") else str(step.get("reply", ""))
    per_question, correct, subs, sub_right, proportional = {}, 0, 0, 0, 0.0
    for q in questions:
        given: dict[str, str] = {}
        for match in re.finditer(r"@(\w+)\[([^\]\n]*)\]", finals.get(q.id) or ""):
            given[match.group(1)] = match.group(2)
        marks = [_same(given.get(name), label) for name, label in q.labels.items()]
        per_question[str(q.id)] = all(marks)
        correct += all(marks)
        subs += len(marks)
        sub_right += sum(marks)
        proportional += sum(marks) / len(marks)
    total = len(questions)
    return {
        "per_question": per_question,
        "correct": correct,
        "sub_questions": subs,
        "sub_correct": sub_right,
        "by_question": round(correct / total, 4),
        "proportional": round(proportional / total, 4),
        "uniform": round(sub_right / subs, 4),
    }


@dataclass(frozen=True)
class ScriptedRun:
    """An `autorun eval --json` run of a generated set against the scripted server, and what to check it by."""

    qset: GeneratedSet
    out: Path
    proc: subprocess.CompletedProcess[str]
    figures: dict[str, Any]
    results: dict[str, dict[str, Any]]
    expected: dict[str, Any]  # independent_scores of what the server served
    served: int
    wall_s: float


def eval_command(qset: GeneratedSet, base_url: str, out: Path, config: Path, *more: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "autorun",
        "eval",
        str(qset.questions_file),
        "--labels",
        str(qset.labels_file),
        "--data",
        str(qset.data_dir),
        "--out",
        str(out),
        "--model",
        "scripted",
        "--base-url",
        base_url,
        "--config",
        str(config),
        *more,
    ]


def read_results_file(out: Path) -> dict[str, dict[str, Any]]:
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return {line["id"]: line for line in lines}


def run_scripted_eval(
    folder: Path,
    count: int,
    *,
    jobs: int,
    behaviours: Sequence[str] = BEHAVIOURS,
    more: Sequence[str] = (),
    env: dict[str, str] | None = None,
    timeout: float = 3600,
) -> ScriptedRun:
    from tests.fake_openai_server import FakeOpenAIServer

    qset = make_set(folder, count, behaviours)
    config = folder / "eval.yaml"
    config.write_text(EVAL_CONFIG)
    out = folder / "out"
    with FakeOpenAIServer(routes=script(qset.questions)) as server:
        command = eval_command(qset, server.base_url, out, config, "--jobs", str(jobs), "--json", *more)
        started = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
        wall = time.perf_counter() - started
        expected = independent_scores(qset.questions, server.served)
        served = len(server.served)
    if proc.returncode != 0:
        raise AssertionError(f"autorun eval exited {proc.returncode}: {proc.stderr}")
    figures = json.loads(proc.stdout.splitlines()[-1])
    return ScriptedRun(qset, out, proc, figures, read_results_file(out), expected, served, wall)


def mismatches(run: ScriptedRun) -> list[str]:
    """Where the reported figures differ from the independent scoring (nothing, when all is well)."""
    wrong = [
        f"{key}: reported {run.figures[key]}, independently {run.expected[key]}"
        for key in ("correct", "sub_questions", "sub_correct", "by_question", "proportional", "uniform")
        if run.figures[key] != run.expected[key]
    ]
    reported = {r["id"]: r["correct"] for r in run.results.values()}
    wrong += [
        f"question {qid}: reported {reported.get(qid)}, independently {right}"
        for qid, right in run.expected["per_question"].items()
        if reported.get(qid) != right
    ]
    if run.figures["questions"] != len(run.qset.questions):
        wrong.append(f"{run.figures['questions']} questions scored of {len(run.qset.questions)}")
    return wrong
