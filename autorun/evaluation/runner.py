"""Run the questions' sessions with the batch machinery and score each as it ends.

Each question is one child ``autorun analyse DATA --question=... --answer-format=... --json``
(a :class:`~autorun.batch.runner.BatchItem` with its own arguments), so a session is a
separate process whose result is collected from its JSON events: the unit a cluster worker
can run as well. Its work dir is ``<out>/work/<id>``; its transcript is copied to
``<out>/sessions/<id>/transcript.jsonl`` from wherever the session says it wrote it, beside
the session's own report.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from autorun.batch.runner import BatchItem, RunnerFactory, RunRequest, local_runner
from autorun.evaluation.questions import Question
from autorun.evaluation.results import RESULTS_NAME, ResultsFile, SessionRecord, score_result
from autorun.threads import shielded

SESSIONS_DIR = "sessions"
WORK_DIR = "work"
REPORT_NAME = "report.html"
TRANSCRIPT_NAME = "transcript.jsonl"
_FINISHED = ("done", "failed")


def slugs(questions: Sequence[Question]) -> dict[str, str]:
    """A folder name for each question id: its safe characters, made unique in the set's order."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for question in questions:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", question.id).strip("-.") or "q"
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name.lower())
        names[question.id] = name
    return names


def question_args(question: Question) -> tuple[str, ...]:
    """The question's own ``autorun analyse`` options (``--opt=value``, so a value starting with '-' stays one)."""
    args = [f"--question={question.request}", f"--answer-format={question.answer_format}"]
    args += [f"--context={path}" for path in question.context_files]
    return tuple(args)


def fresh_dir(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``... when an earlier, unfinished attempt left it behind."""
    candidate, n = path, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def copy_transcript(source: str | None, target: Path) -> bool:
    """Copy the session's transcript without following a symlink in its place; False when there is none."""
    if not source:
        return False
    flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(source, flags)
        with os.fdopen(fd, "rb") as handle:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as copy:
                shutil.copyfileobj(handle, copy)
    except OSError:
        return False
    return True


class EvalRunner:
    """Runs ``questions`` (none of them scored yet), ``jobs`` at a time; ``on_result`` gets each scored line.

    ``child_args`` are the session options passed on to every question's ``autorun analyse``;
    ``make_runner`` runs the sessions (default: child processes on this machine, as a batch does).
    """

    def __init__(
        self,
        questions: Sequence[Question],
        out: Path,
        child_args: Sequence[str],
        jobs: int | None,
        *,
        fmt: str,
        model: str,
        names: Mapping[str, str],
        on_result: Callable[[dict[str, Any]], None] = lambda result: None,
        on_start: Callable[[Question], None] = lambda question: None,
        env: dict[str, str] | None = None,
        make_runner: RunnerFactory = local_runner,
    ) -> None:
        self.out = out
        self.fmt = fmt
        self.model = model
        self.names = names
        self.on_result = on_result
        self.on_start = on_start
        self.results_file = ResultsFile(out / RESULTS_NAME)
        self.results: dict[str, dict[str, Any]] = {}
        self._questions: dict[int, Question] = {}
        self._ends: dict[int, dict[str, Any]] = {}
        self._started: set[int] = set()
        items = [self._item(question) for question in questions]
        self.batch = make_runner(RunRequest(items, child_args, jobs, self._event, self._changed, env))

    def _item(self, question: Question) -> BatchItem:
        name = self.names[question.id]
        item = BatchItem(
            question.data_file,
            fresh_dir(self.out / WORK_DIR / name),
            self.out / SESSIONS_DIR / name / REPORT_NAME,
            args=question_args(question),
        )
        self._questions[id(item)] = question
        return item

    def run(self) -> dict[str, dict[str, Any]]:
        """Every session to its end (re-raising an interruption once all are stopped); the new results by id."""
        for item in self.batch.items:
            with contextlib.suppress(FileNotFoundError):
                item.report.unlink()  # a report of an earlier, unfinished attempt is not this session's
        self.batch.run()
        return self.results

    def _event(self, item: BatchItem, event: dict[str, Any]) -> None:
        if event.get("event") == "session_end":
            self._ends[id(item)] = event

    def _changed(self, item: BatchItem) -> None:
        question = self._questions[id(item)]
        if item.state == "running" and id(item) not in self._started:
            self._started.add(id(item))
            self.on_start(question)
        if item.state not in _FINISHED or question.id in self.results:
            return
        end = self._ends.get(id(item))
        transcript = self.out / SESSIONS_DIR / self.names[question.id] / TRANSCRIPT_NAME
        source = item.transcript or (str(end["transcript"]) if end and end.get("transcript") else None)
        copied = copy_transcript(source, transcript)
        record = SessionRecord(
            end=end,
            exit_code=item.exit_code,
            error=item.reason if end is None else "",
            duration_s=item.duration_s or 0.0,
            transcript=transcript.relative_to(self.out).as_posix() if copied else None,
            report=item.report.relative_to(self.out).as_posix() if item.report.is_file() else None,
            worker=item.worker,
        )
        result = score_result(question, record, self.fmt, self.model)
        with shielded():  # a SIGTERM between the two kept a result on disk that this run neither counted nor reported
            self.results_file.append(result)
            self.results[question.id] = result
        self.on_result(result)
