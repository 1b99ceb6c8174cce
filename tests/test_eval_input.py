"""Bad input to `autorun eval`: one line naming the problem (and the line), exit 2, before any session."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from autorun.config.schema import Config
from autorun.errors import ConfigError
from autorun.evaluation import EvalRequest, run_eval
from autorun.evaluation.results import read_results
from tests.conftest import autorun_cmd
from tests.eval_sets import make_set

LLM = Config.model_validate({"model": {"name": "scripted", "base_url": "http://127.0.0.1:9/v1"}})


def _write(path: Path, lines: list[object]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def _error(request: EvalRequest, config: Config = LLM) -> str:
    with pytest.raises(ConfigError) as caught:
        run_eval(request, config, env={})
    return str(caught.value)


@pytest.fixture
def qset(tmp_path: Path):
    return make_set(tmp_path / "set", 3)


def test_a_line_that_is_not_json_is_named(tmp_path: Path, qset) -> None:
    lines = qset.questions_file.read_text().splitlines()
    bad = _write(tmp_path / "q.jsonl", [lines[0], "", "{not json", lines[1]])
    message = _error(EvalRequest(bad, qset.data_dir, qset.labels_file, out=tmp_path / "out"))
    assert message.startswith(f"{bad}, line 3: not JSON") and "one JSON object a line" in message
    array = _write(tmp_path / "a.jsonl", [[1, 2]])
    assert "line 1: a JSON list, not an object" in _error(EvalRequest(array, qset.data_dir, qset.labels_file))


def test_a_question_without_a_field_names_the_field_and_line(tmp_path: Path, qset) -> None:
    record = json.loads(qset.questions_file.read_text().splitlines()[1])
    del record["format"], record["level"]
    bad = _write(tmp_path / "q.jsonl", [json.loads(qset.questions_file.read_text().splitlines()[0]), record])
    message = _error(EvalRequest(bad, qset.data_dir, qset.labels_file))
    assert message.startswith(f"{bad}, line 2: no 'format', 'level'") and "constraints" in message


@pytest.mark.parametrize(
    ("label", "words"),
    [
        ({"id": 0}, "line 1: no 'common_answers'"),
        ({"id": 0, "common_answers": []}, "non-empty list"),
        ({"id": 0, "common_answers": [["mean_x"]]}, "[name, value] pair"),
        ({"id": 0, "common_answers": [["mean_x", None]]}, "text or a number"),
    ],
)
def test_bad_labels_are_named(tmp_path: Path, qset, label: dict[str, object], words: str) -> None:
    labels = _write(tmp_path / "l.jsonl", [label])
    assert words in _error(EvalRequest(qset.questions_file, qset.data_dir, labels))


def test_a_question_without_a_label_a_missing_table_and_a_duplicate_id_are_refused(tmp_path: Path, qset) -> None:
    labels = qset.labels_file.read_text().splitlines()
    only_two = _write(tmp_path / "l.jsonl", labels[:2])
    message = _error(EvalRequest(qset.questions_file, qset.data_dir, only_two))
    assert message == f"{qset.questions_file}, line 3: question 2 has no label in {only_two}; add its line there"
    table = qset.questions[1].table
    table.unlink()
    message = _error(EvalRequest(qset.questions_file, qset.data_dir, qset.labels_file))
    assert f"line 2: its table {table.name} is not in {qset.data_dir}" in message and "--data DIR" in message
    first = qset.questions_file.read_text().splitlines()[0]
    twice = _write(tmp_path / "twice.jsonl", [first, first])
    assert "line 2: id 0 is already the question of line 1" in _error(
        EvalRequest(twice, qset.data_dir, labels_file=qset.labels_file)
    )
    outside = json.loads(first) | {"file_name": "../../etc/passwd"}
    escape = _write(tmp_path / "escape.jsonl", [outside])
    assert "points outside --data" in _error(EvalRequest(escape, qset.data_dir, qset.labels_file))


def test_unknown_ids_missing_labels_and_a_format_mix_up_are_refused(tmp_path: Path, qset) -> None:
    request = EvalRequest(qset.questions_file, qset.data_dir, qset.labels_file, ids=["1", "99"])
    assert _error(request) == f"--ids: no question with id 99 in {qset.questions_file}"
    assert "give --labels LABELS.jsonl" in _error(EvalRequest(qset.questions_file, qset.data_dir))
    dabstep = EvalRequest(qset.questions_file, qset.data_dir, qset.labels_file, fmt="dabstep")
    assert "takes no --labels" in _error(dabstep)
    assert "choose dabench or dabstep" in _error(EvalRequest(qset.questions_file, qset.data_dir, fmt="gaia"))


def test_a_dabstep_task_without_guidelines_or_context_is_refused(tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    tasks = _write(tmp_path / "tasks.jsonl", [{"task_id": 1, "question": "How much?", "level": "easy"}])
    assert "holds no table" in _error(EvalRequest(tasks, context, fmt="dabstep"))
    (context / "payments.csv").write_text("a\n1\n")
    assert f"{tasks}, line 1: no 'guidelines'" in _error(EvalRequest(tasks, context, fmt="dabstep"))


def test_earlier_results_need_resume(tmp_path: Path, qset) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text(json.dumps({"id": "0", "correct": True}) + "\n")
    message = _error(EvalRequest(qset.questions_file, qset.data_dir, qset.labels_file, out=out))
    assert message.startswith(f"{out / 'results.jsonl'} holds the results of 1 questions from an earlier run")
    assert message.endswith("add --resume to continue it, or choose another --out")


def test_a_results_line_cut_off_by_a_crash_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({"id": "0"}) + "\n" + '{"id": "1", "corr')
    assert list(read_results(path)) == ["0"]
    assert path.read_text() == json.dumps({"id": "0"}) + "\n", "the cut-off line is gone, so appending stays valid"
    path.write_text("garbage\n" + json.dumps({"id": "0"}) + "\n")
    with pytest.raises(ConfigError, match="line 1: not a result line of autorun eval"):
        read_results(path)


def test_the_builtin_model_is_refused_with_how_to_pick_one(tmp_path: Path, qset, clean_env: dict[str, str]) -> None:
    args = ["eval", str(qset.questions_file), "--labels", str(qset.labels_file), "--data", str(qset.data_dir)]
    args += ["--out", str(tmp_path / "out")]
    for model, words in ((["--model", "builtin"], "model builtin"), ([], "$OPENAI_API_KEY is not set")):
        proc = subprocess.run(autorun_cmd(*args, *model), capture_output=True, text=True, timeout=120, env=clean_env)
        assert proc.returncode == 2
        [line] = proc.stderr.splitlines()
        assert line.startswith("autorun: error: autorun eval needs an LLM") and "--model NAME" in line, line
        assert words in line or "builtin analyst cannot answer questions" in line
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_bad_input_on_the_command_line_is_one_line_and_exit_2(tmp_path: Path, qset, clean_env: dict[str, str]) -> None:
    bad = _write(tmp_path / "q.jsonl", ["{not json"])
    args = ["eval", str(bad), "--labels", str(qset.labels_file), "--data", str(qset.data_dir)]
    args += ["--model", "scripted", "--base-url", "http://127.0.0.1:9/v1", "--out", str(tmp_path / "out")]
    proc = subprocess.run(autorun_cmd(*args), capture_output=True, text=True, timeout=120, env=clean_env)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"autorun: error: {bad}, line 1: not JSON (Expecting property name "
        "enclosed in double quotes); a questions file has one JSON object a line"
    ]


def test_a_transcript_replaced_by_a_symlink_is_not_copied(tmp_path: Path) -> None:
    from autorun.evaluation.runner import copy_transcript

    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    planted = tmp_path / "session.jsonl"
    planted.symlink_to(secret)
    target = tmp_path / "out" / "transcript.jsonl"
    assert copy_transcript(str(planted), target) is False and not target.exists()
    real = tmp_path / "real.jsonl"
    real.write_text('{"event": "session_end"}\n')
    assert copy_transcript(str(real), target) is True and target.read_text() == real.read_text()


def test_a_model_without_its_api_key_is_refused_before_any_session(tmp_path: Path, qset) -> None:
    from autorun.errors import ModelError

    config = Config.model_validate({"model": {"name": "gpt-4o-mini"}})
    with pytest.raises(ModelError) as caught:
        run_eval(
            EvalRequest(qset.questions_file, qset.data_dir, qset.labels_file, out=tmp_path / "out"), config, env={}
        )
    assert str(caught.value) == (
        "model gpt-4o-mini needs an API key: set $OPENAI_API_KEY, or --base-url URL for a server that needs none"
    )
    assert not (tmp_path / "out").exists()
