"""`autorun eval --format dabstep`: context files for every session, DABstep's scorer, the submission file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import autorun_cmd
from tests.fake_openai_server import FakeOpenAIServer

MANUAL = "Fees are charged per transaction: see section 4."


def test_dabstep_tasks_run_with_every_context_file_score_and_are_submitted(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "payments.csv").write_text("id,amount,merchant\n1,10.5,A\n2,20,B\n3,5,A\n")
    (context / "manual.md").write_text(MANUAL + "\n")
    (context / "merchants.json").write_text(json.dumps([{"merchant": "A"}, {"merchant": "B"}]))
    tasks = [
        {
            "task_id": "5",
            "question": "[t5] What is the total amount?",
            "guidelines": "A number, 2 decimals.",
            "level": "easy",
            "answer": "35.50",
        },
        {
            "task_id": "6",
            "question": "[t6] Which merchants are there?",
            "guidelines": "A comma separated list.",
            "level": "hard",
            "answer": "A, B",
        },
        {
            "task_id": "7",
            "question": "[t7] Which merchant has the most payments?",
            "guidelines": "One word.",
            "level": "hard",
            "answer": "B",
        },
        {"task_id": "8", "question": "[t8] Who is the largest acquirer?", "guidelines": "One word.", "level": "hard"},
    ]
    tasks_file = tmp_path / "tasks.jsonl"
    tasks_file.write_text("".join(json.dumps(task) + "\n" for task in tasks))
    routes = [
        {"match": "[t5]", "steps": [{"reply": "The total is 35.5.\nFINAL ANSWER: 35.5\nTERMINATE"}]},
        {
            "match": "[t6]",
            "steps": [
                {"reply": f"```sh\ncat {context / 'manual.md'}\n```"},
                {"reply": "**FINAL ANSWER:** [B, A]\nTERMINATE"},
            ],
        },
        {"match": "[t7]", "steps": [{"reply": "FINAL ANSWER: A\nTERMINATE"}]},
        {"match": "[t8]", "steps": [{"reply": "FINAL ANSWER: Acquirer X\nTERMINATE"}]},
    ]
    out = tmp_path / "out"
    with FakeOpenAIServer(routes=routes) as server:
        args = ["eval", str(tasks_file), "--format", "dabstep", "--data", str(context), "--out", str(out)]
        args += ["--model", "scripted", "--base-url", server.base_url, "--jobs", "2", "--json"]
        proc = subprocess.run(autorun_cmd(*args), capture_output=True, text=True, timeout=600, env=clean_env)
        system = server.chat_requests[0]["body"]["messages"][0]["content"]
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout.splitlines()[-1])
    assert (figures["questions"], figures["correct"], figures["unscored"]) == (3, 2, 1)
    assert figures["by_level"]["easy"]["by_question"] == 1.0 and figures["by_level"]["hard"]["by_question"] == 0.5
    for name in ("manual.md", "merchants.json"):
        assert str((context / name).resolve()) in system, "each context file is named to the model"
    assert str((context / "payments.csv").resolve()) in system and "amount" in system, "the table is described"

    results = {json.loads(line)["id"]: json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()}
    assert results["6"]["correct"] is True and results["6"]["answers"] == {"answer": "[B, A]"}
    assert results["7"]["outcome"] == "wrong" and results["8"]["correct"] is None
    transcript = [json.loads(line) for line in (out / results["6"]["transcript"]).read_text().splitlines()]
    [ran] = [r for r in transcript if r["event"] == "execution_result"]
    assert ran["exit_code"] == 0 and MANUAL in ran["output"], "the session's code can read a context file"

    submission = [json.loads(line) for line in (out / "submission.jsonl").read_text().splitlines()]
    assert [line["task_id"] for line in submission] == ["5", "6", "7", "8"]
    assert all(set(line) == {"task_id", "agent_answer", "reasoning_trace"} for line in submission)
    assert all(isinstance(value, str) for line in submission for value in line.values())
    assert [line["agent_answer"] for line in submission] == ["35.5", "[B, A]", "A", "Acquirer X"]
    assert "cat " in submission[1]["reasoning_trace"] and "FINAL ANSWER" in submission[1]["reasoning_trace"]
    report = (out / "report.md").read_text()
    assert "| accuracy |" in report and "proportional" not in report
