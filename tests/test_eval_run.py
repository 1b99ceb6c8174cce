"""`autorun eval` end to end: real child sessions against the scripted model server (real HTTP).

The question sets are our own, on generated tables (tests/eval_sets.py); the scripted model
answers right, wrong, partly right, in prose with extra @x[...] tokens, not at all, after a
code block, and too slowly (the request times out).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests import test_batch
from tests.eval_sets import (
    EVAL_CONFIG,
    GeneratedSet,
    eval_command,
    make_set,
    mismatches,
    read_results_file,
    run_scripted_eval,
    script,
)
from tests.fake_openai_server import FakeOpenAIServer
from tests.test_batch import live_pids_with

ROOT = Path(__file__).parents[1]
marker = test_batch.marker  # the fixture: a unique `sleep` argument, whose processes are killed afterwards

RESULT_FIELDS = {
    "id",
    "correct",
    "answers",
    "expected",
    "level",
    "concepts",
    "exit_code",
    "reason",
    "duration_s",
    "tokens",
    "cost_usd",
    "transcript",
}


def eval_args(qset: GeneratedSet, server: FakeOpenAIServer, out: Path, config: Path, *more: str) -> list[str]:
    return eval_command(qset, server.base_url, out, config, *more)


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "eval.yaml"
    path.write_text(EVAL_CONFIG)
    return path


def session_span(out: Path, result: dict[str, Any]) -> tuple[datetime, datetime]:
    records = [json.loads(line) for line in (out / result["transcript"]).read_text().splitlines()]
    stamps = {r["event"]: datetime.fromisoformat(r["ts"]) for r in records if r["event"].startswith("session_")}
    return stamps["session_start"], stamps["session_end"]


def test_eval_scores_what_the_server_answered_in_parallel_and_resume_asks_nothing(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    run = run_scripted_eval(tmp_path, 14, jobs=4, env=clean_env, timeout=600)
    assert mismatches(run) == []
    figures, results, out = run.figures, run.results, run.out
    assert figures["event"] == "eval_end" and figures["failed_sessions"] == 2  # the two slow ones
    assert figures["official"]["questions"] == 12, "the official script's denominator leaves the failed out"
    *lines, _ = run.proc.stdout.splitlines()
    assert {json.loads(line)["id"] for line in lines} == set(results), "--json: one line per result"
    progress = [line for line in run.proc.stderr.splitlines() if line.startswith("[")]
    assert len(progress) == 14 and progress[-1].startswith("[14/14] ") and "; accuracy " in progress[-1]
    assert "ETA" in progress[0] and progress[-1].endswith("ETA 0 s")

    with FakeOpenAIServer(routes=script(run.qset.questions)) as server:
        resumed = subprocess.run(
            eval_args(run.qset, server, out, tmp_path / "eval.yaml", "--resume", "--json"),
            capture_output=True,
            text=True,
            timeout=300,
            env=clean_env,
        )
        assert server.served == [], "--resume asked the model nothing"
    assert resumed.returncode == 0, resumed.stderr
    again = json.loads(resumed.stdout.splitlines()[-1])
    assert again["answered_now"] == 0 and again["resumed"] == 14 and again["by_question"] == figures["by_question"]

    qset = run.qset
    by_behaviour: dict[str, dict[str, Any]] = {}
    for q in qset.questions:
        by_behaviour.setdefault(q.behaviour, results[str(q.id)])
    for result in results.values():
        assert set(result) >= RESULT_FIELDS and result["reason"], result
        records = [json.loads(line) for line in (out / result["transcript"]).read_text().splitlines()]
        assert records[-1]["event"] == "session_end", "every session's whole transcript is in --out"
    assert by_behaviour["right"]["outcome"] == "right" and by_behaviour["right"]["tokens"] > 0
    partial = by_behaviour["partial"]
    assert partial["outcome"] == "partly right" and list(partial["correctness"].values()) == [True, False, False]
    assert by_behaviour["prose"]["correct"] is True and "note" in by_behaviour["prose"]["answers"]
    assert by_behaviour["none"]["outcome"] == "no answer" and by_behaviour["none"]["answers"] == {}
    assert by_behaviour["code"]["correct"] is True and by_behaviour["code"]["turns"] == 2
    slow = by_behaviour["slow"]
    assert slow["outcome"] == "failed" and slow["exit_code"] == 3 and "no response" in slow["reason"]
    assert slow["correct"] is False and slow["responded"] is False

    spans = [session_span(out, r) for r in results.values()]
    assert any(a[0] < b[1] and b[0] < a[1] for a in spans for b in spans if a is not b), "sessions ran at once"

    report = (out / "report.md").read_text()
    wrong = [r for r in results.values() if r["correct"] is False]
    assert f"## Not answered right ({len(wrong)})" in report
    for result in wrong:
        assert f"[session report]({result['report']})" in report and (out / result["report"]).is_file()
    assert f"{figures['by_question']:.2%} ({figures['correct']}/14)" in report
    html = (out / "report.html").read_text()
    assert all(f'href="{r["report"]}"' in html for r in wrong)


def test_a_sigterm_while_a_result_is_written_keeps_it_counted_and_reported(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    """The signal arrives right after the result's line is synced (the first fsync of the run)."""
    qset = make_set(tmp_path, 2, ["right"])
    out, config = tmp_path / "out", config_file(tmp_path)
    with FakeOpenAIServer(routes=script(qset.questions)) as server:
        command = eval_args(qset, server, out, config, "--jobs", "1")
        assert command[1:3] == ["-m", "autorun"]
        command[1:3] = ["-m", "tests.sigterm_at", "--from-start", "fsync"]
        proc = subprocess.run(command, capture_output=True, text=True, env=clean_env, timeout=240, cwd=ROOT)
    assert proc.returncode == 143, proc.stderr
    assert list(read_results_file(out)) == ["0"]
    assert "interrupted: 1 of 2 questions have no result yet" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["INT", "TERM"])
def test_a_signal_stops_every_session_keeps_finished_results_and_resume_asks_the_rest(
    tmp_path: Path, clean_env: dict[str, str], marker: str, signum: int, exit_code: int
) -> None:
    qset = make_set(tmp_path, 3, ["right"])
    out, config = tmp_path / "out", config_file(tmp_path)
    routes = script(qset.questions)
    for route in routes[1:]:  # these two sessions are still running a block when the signal comes
        route["steps"].insert(0, {"reply": f"```sh\nsleep {marker}\n```"})
    with FakeOpenAIServer(routes=routes) as server:
        parent = subprocess.Popen(
            eval_args(qset, server, out, config, "--jobs", "3"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env,
        )
        try:
            deadline = time.monotonic() + 240
            while len(live_pids_with(marker)) < 2 or not (out / "results.jsonl").is_file():
                assert time.monotonic() < deadline and parent.poll() is None, "two blocks and one result expected"
                time.sleep(0.1)
            parent.send_signal(signum)
            _, stderr = parent.communicate(timeout=120)
        finally:
            if parent.poll() is None:
                parent.kill()
        assert parent.returncode == exit_code, stderr
        assert live_pids_with(marker) == [] and live_pids_with(str(out)) == [], "nothing of the run is left"
        assert list(read_results_file(out)) == ["0"], "the finished result is kept, the stopped ones are not results"
        assert "interrupted: 2 of 3 questions have no result yet" in stderr
        served = len(server.served)

        resumed = subprocess.run(
            eval_args(qset, server, out, config, "--resume", "--jobs", "2"),
            capture_output=True,
            text=True,
            timeout=300,
            env=clean_env,
        )
        assert resumed.returncode == 0, resumed.stderr
        asked = [opening for opening, _ in server.served[served:]]
    assert sorted(opening.split()[0] for opening in asked) == ["[q1]", "[q2]"], "only the unanswered ones"
    assert {r["id"]: r["correct"] for r in read_results_file(out).values()} == {"0": True, "1": True, "2": True}
