"""Question sets read and checked: InfiAgent-DABench (questions + labels) and DABstep (tasks).

Every problem is a ConfigError naming the file and line and how to fix it, raised before
any session starts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autorun.errors import ConfigError

FORMATS = ("dabench", "dabstep")
DABENCH_FIELDS = ("id", "question", "constraints", "format", "file_name", "level", "concepts")
DABSTEP_FIELDS = ("task_id", "question", "guidelines", "level")
Label = str | int | float  # a label value as the labels file gives it (InfiAgent's labels are strings)


@dataclass(frozen=True)
class Question:
    """One question, ready to be asked: what to ask, how the answer is given, on which files."""

    id: str  # the id as text (ids may be numbers in the file)
    request: str  # the question (and its constraints), for -q
    answer_format: str  # for --answer-format
    data_file: Path
    context_files: tuple[Path, ...] = ()
    level: str = ""
    concepts: tuple[str, ...] = ()
    expected: dict[str, Label] | None = None  # {name: value}; None: run and submitted, not scored


@dataclass(frozen=True)
class QuestionSet:
    format: str
    questions: list[Question]
    source: Path


def jsonl_objects(path: Path, what: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of ``path``; ConfigError for anything that is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no such {what} file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"cannot read the {what} file {path}: {why}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise ConfigError(
                f"{path}, line {number}: not JSON ({msg}); a {what} file has one JSON object a line"
            ) from None
        if not isinstance(record, dict):
            raise ConfigError(
                f"{path}, line {number}: a JSON {type(record).__name__}, not an object; "
                f"a {what} file has one JSON object a line"
            )
        yield number, record


def _require(record: dict[str, Any], fields: Sequence[str], where: str, what: str) -> None:
    missing = [name for name in fields if name not in record]
    if missing:
        raise ConfigError(f"{where}: no {', '.join(repr(m) for m in missing)}; a {what} has {', '.join(fields)}")


def _text(record: dict[str, Any], name: str, where: str) -> str:
    value = record[name]
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {name!r} must be text, not {type(value).__name__}")
    return value


def _id(record: dict[str, Any], name: str, where: str) -> str:
    value = record[name]
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value).strip() == "":
        raise ConfigError(f"{where}: {name!r} must be a number or a non-empty text")
    return str(value)


def _table(data_dir: Path, name: str, where: str) -> Path:
    path = (data_dir / name).resolve()
    if not path.is_relative_to(data_dir.resolve()):
        raise ConfigError(f"{where}: file_name {name!r} points outside --data {data_dir}")
    if not path.is_file():
        raise ConfigError(f"{where}: its table {name} is not in {data_dir}; give the tables' folder with --data DIR")
    return path


def _dabench_request(record: dict[str, Any], where: str) -> str:
    question = _text(record, "question", where).strip()
    constraints = _text(record, "constraints", where).strip()
    return f"{question}\n\nConstraints: {constraints}" if constraints else question


def _concepts(record: dict[str, Any], where: str) -> tuple[str, ...]:
    concepts = record["concepts"]
    if not isinstance(concepts, list) or not all(isinstance(c, str) for c in concepts):
        raise ConfigError(f"{where}: 'concepts' must be a list of texts")
    return tuple(concepts)


def _is_label(value: object) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def read_labels(path: Path) -> dict[str, dict[str, Label]]:
    """InfiAgent-DABench labels: {id: {name: value}} from ``common_answers`` pairs."""
    labels: dict[str, dict[str, Label]] = {}
    for number, record in jsonl_objects(path, "labels"):
        where = f"{path}, line {number}"
        _require(record, ("id", "common_answers"), where, "label line")
        answers = record["common_answers"]
        if not isinstance(answers, list) or not answers:
            raise ConfigError(f"{where}: 'common_answers' must be a non-empty list of [name, value] pairs")
        pairs: dict[str, Label] = {}
        for pair in answers:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise ConfigError(f"{where}: each of 'common_answers' must be a [name, value] pair, not {pair!r}")
            name, value = pair
            if not _is_label(value):
                raise ConfigError(f"{where}: the label of {name!r} must be text or a number, not {value!r}")
            pairs[name] = value  # as InfiAgent's dict comprehension: a repeated name keeps its last value
        labels[_id(record, "id", where)] = pairs
    return labels


def _question_lines(
    path: Path, noun: str, fields: Sequence[str], id_field: str, what: str
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, id, object) for each line of a question set, its ``fields`` there and its id unique in the file."""
    seen: dict[str, int] = {}
    for number, record in jsonl_objects(path, f"{noun}s"):
        where = f"{path}, line {number}"
        _require(record, fields, where, what)
        qid = _id(record, id_field, where)
        if qid in seen:
            raise ConfigError(
                f"{where}: {id_field} {qid} is already the {noun} of line {seen[qid]}; ids must be unique"
            )
        seen[qid] = number
        yield where, qid, record


def read_dabench(questions_file: Path, labels_file: Path, data_dir: Path) -> QuestionSet:
    labels = read_labels(labels_file)
    questions: list[Question] = []
    for where, qid, record in _question_lines(questions_file, "question", DABENCH_FIELDS, "id", "DABench question"):
        if qid not in labels:
            raise ConfigError(f"{where}: question {qid} has no label in {labels_file}; add its line there")
        questions.append(
            Question(
                id=qid,
                request=_dabench_request(record, where),
                answer_format=_text(record, "format", where),
                data_file=_table(data_dir, _text(record, "file_name", where), where),
                level=_text(record, "level", where),
                concepts=_concepts(record, where),
                expected=labels[qid],
            )
        )
    return QuestionSet("dabench", questions, questions_file)


def context_files(data_dir: Path) -> tuple[Path, tuple[Path, ...]]:
    """DABstep's context: (the largest table of the folder, every other file), hidden files left out."""
    from autorun.datafile import EXTENSIONS, table_suffix

    if not data_dir.is_dir():
        raise ConfigError(f"--data {data_dir} is not a folder; give the folder of DABstep's context files")
    files = sorted(p.resolve() for p in data_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    tables = [p for p in files if table_suffix(p)[0] in EXTENSIONS and p.stat().st_size > 0]
    if not tables:
        raise ConfigError(f"--data {data_dir} holds no table (CSV, JSON, Parquet, Excel...) to open the sessions on")
    main = max(tables, key=lambda p: p.stat().st_size)
    return main, tuple(p for p in files if p != main)


def read_dabstep(tasks_file: Path, data_dir: Path) -> QuestionSet:
    main, context = context_files(data_dir)
    questions: list[Question] = []
    for where, qid, record in _question_lines(tasks_file, "task", DABSTEP_FIELDS, "task_id", "DABstep task"):
        answer = record.get("answer")
        if answer is not None and not _is_label(answer):
            raise ConfigError(f"{where}: 'answer' must be text or a number, not {answer!r}")
        questions.append(
            Question(
                id=qid,
                request=_text(record, "question", where).strip(),
                answer_format=_text(record, "guidelines", where).strip() or "a short answer",
                data_file=main,
                context_files=context,
                level=str(record["level"]),
                expected={"answer": str(answer)} if answer is not None else None,
            )
        )
    return QuestionSet("dabstep", questions, tasks_file)


def select(questions: Sequence[Question], ids: Sequence[str] | None, limit: int | None, source: Path) -> list[Question]:
    """``--ids`` (in the file's order) then ``--limit``; ConfigError for an id the set does not have."""
    chosen = list(questions)
    if ids:
        known = {q.id for q in chosen}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ConfigError(f"--ids: no question with id {', '.join(unknown)} in {source}")
        wanted = set(ids)
        chosen = [q for q in chosen if q.id in wanted]
    if limit is not None:
        if limit < 1:
            raise ConfigError(f"--limit must be at least 1 (got {limit})")
        chosen = chosen[:limit]
    return chosen
