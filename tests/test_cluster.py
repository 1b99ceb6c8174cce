"""`--cluster`: batch and eval sessions on a real Dask cluster of this machine's processes.

A ``dask scheduler`` and ``dask worker`` processes are started per test (tests/cluster_fixtures.py);
worker-b runs in a mount namespace where the client's folder is hidden under a tmpfs, so every
session it runs proves that the files travelled and the results came back. The faults: a worker
SIGKILLed mid-batch, the scheduler stopped mid-batch, Ctrl-C/SIGTERM on the client, a worker
without bwrap or Docker.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from autorun.record.state import STATE_DIR_ENV
from tests import test_batch
from tests.cluster_fixtures import TestCluster, ancestors, distributed_or_skip, hiding_or_skip, running_cluster
from tests.conftest import SAMPLE, assistant_message, autorun_cmd, stored_transcript, transcripts
from tests.eval_sets import (
    EVAL_CONFIG,
    ScriptedRun,
    eval_command,
    independent_scores,
    make_set,
    mismatches,
    read_results_file,
    script,
)
from tests.fake_openai_server import FakeOpenAIServer
from tests.test_batch import live_pids_with

marker = test_batch.marker  # the fixture: a unique `sleep` argument, whose processes are killed afterwards


def scaled_files(folder: Path, count: int) -> dict[Path, dict[str, str]]:
    """``count`` sales tables, file n with revenue times n + 1, and the figures pandas gives for each."""
    folder.mkdir(parents=True)
    sample = pd.read_csv(SAMPLE)
    files = {}
    for n in range(count):
        frame = sample.assign(revenue=sample["revenue"] * (n + 1))
        path = folder / f"sales_{n:02d}.csv"
        frame.to_csv(path, index=False)
        product = frame.groupby("product")["revenue"].sum()
        region = frame.groupby("region")["revenue"].sum()
        files[path] = {"Widget Pro": f"{product['Widget Pro']:,.0f}", "North": f"{region['North']:,.0f}"}
    return files


class Command:
    """An autorun command run as a process, its stderr read line by line, its stdout drained meanwhile."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            autorun_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._drain = threading.Thread(target=lambda: self.stdout.extend(self.process.stdout or []), daemon=True)
        self._drain.start()

    def lines(self):
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)
            yield line.rstrip("\n")

    def finish(self, timeout: float = 600) -> int:
        for _ in self.lines():
            pass
        code = self.process.wait(timeout=timeout)
        self._drain.join(timeout=30)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout if line.strip()]


def wait_until(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.2)


def nothing_left(cluster: TestCluster) -> None:
    wait_until(lambda: cluster.leftovers() == [], "no session process is left on the workers", timeout=60)


def client_side(tmp_path: Path, clean_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """The client's folder (data, work dirs, and its session record: worker-b sees none of it) and environment."""
    folder = tmp_path / "client"
    folder.mkdir()
    return folder, {**clean_env, STATE_DIR_ENV: str(folder / "state")}


def records(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def test_twelve_files_over_two_workers_one_killed_mid_batch(tmp_path: Path, clean_env: dict[str, str]) -> None:
    hiding_or_skip()
    client_dir, env = client_side(tmp_path, clean_env)
    files = scaled_files(client_dir / "data", 12)
    work = client_dir / "work"
    with running_cluster(tmp_path / "cluster", clean_env) as cluster:
        cluster.start_worker("worker-a", sessions=2)
        cluster.start_worker("worker-b", sessions=2, hide=[client_dir])
        cluster.wait_for_workers(2)
        first = next(iter(files))
        assert cluster.sees("worker-a", first) and not cluster.sees("worker-b", first), "worker-b cannot see them"
        args = ["analyse", *map(str, files), "--model", "builtin", "--cluster", cluster.address]
        client = Command([*args, "--work-dir", str(work), "--json"], env)
        try:
            finished_on_a = killed = False
            for line in client.lines():
                finished_on_a = finished_on_a or line.endswith(": done on worker-a")
                if finished_on_a and not killed and re.search(r": (starting|running block \d+) on worker-a$", line):
                    cluster.kill("worker-a")  # mid-session: it has just started one
                    killed = True
            code = client.finish()
        finally:
            client.kill()
        assert killed, "worker-a finished a session and started another before the batch ended"
        assert code == 0, "".join(client.stderr[-20:])
        nothing_left(cluster)

    *events, end = client.events()
    assert end["event"] == "batch_end" and end["succeeded"] == 12 and end["failed"] == 0
    entries = {Path(entry["file"]): entry for entry in end["files"]}
    assert {entry["worker"] for entry in entries.values()} == {"worker-a", "worker-b"}
    rerun = [entry for entry in entries.values() if entry["attempts"] > 1]
    assert rerun and all(entry["worker"] == "worker-b" for entry in rerun), "the killed worker's session ran again"
    for path, figures in files.items():
        entry = entries[path]
        transcript = Path(entry["transcript"])
        assert transcripts(Path(entry["work_dir"]), env) == [transcript], "one whole transcript, in the client's record"
        summary = subprocess.run(
            autorun_cmd("results", str(transcript), "--json"), capture_output=True, text=True, env=env
        )
        assert summary.returncode == 0 and json.loads(summary.stdout)["exit_code"] == 0, summary.stderr
        final = records(transcript)[-1]
        assert final["event"] == "session_end" and final["exit_code"] == 0
        assert all(value in final["final_message"] for value in figures.values()), (path, figures)
        assert (
            Path(entry["report"]).is_file() and Path(entry["work_dir"], "chart-total-revenue-by-product.png").is_file()
        )
    page = tmp_path / "rerun.html"
    exported = subprocess.run(
        autorun_cmd("export", rerun[0]["transcript"], "-o", str(page)), capture_output=True, text=True, env=env
    )
    assert exported.returncode == 0 and page.read_text().count("data:image/png;base64,") >= 3, exported.stderr
    ends = [e for e in events if e["event"] == "session_end"]
    assert len(ends) == 12 and {e["file"] for e in ends} == {str(p) for p in files}, "one session_end per file"
    assert all(Path(e["transcript"]).is_file() and e["worker"] in ("worker-a", "worker-b") for e in ends)


def test_an_eval_over_two_workers_one_killed_mid_run(tmp_path: Path, clean_env: dict[str, str], marker: str) -> None:
    hiding_or_skip()
    client_dir, env = client_side(tmp_path, clean_env)
    qset = make_set(client_dir, 12, ["right", "wrong", "partial", "prose", "none"])
    config, out = client_dir / "eval.yaml", client_dir / "out"
    config.write_text(EVAL_CONFIG)
    routes = script(qset.questions)
    for route in routes:  # a session the kill cuts short asks again from the start, wherever it runs next
        route["steps"] = route["steps"] * 2
    routes[-1]["steps"].insert(0, {"reply": f"Let me look.\n```sh\nsleep {marker}\n```"})  # the one to kill under
    with running_cluster(tmp_path / "cluster", clean_env) as cluster, FakeOpenAIServer(routes=routes) as server:
        cluster.start_worker("worker-a", sessions=2)
        cluster.start_worker("worker-b", sessions=2, hide=[client_dir])
        cluster.wait_for_workers(2)
        started = time.perf_counter()
        client = Command(
            eval_command(qset, server.base_url, out, config, "--cluster", cluster.address, "--json")[3:], env
        )
        try:

            def both_named_and_sleeping() -> bool:
                done = read_results_file(out) if (out / "results.jsonl").is_file() else {}
                return {r["worker"] for r in done.values()} == {"worker-a", "worker-b"} and bool(live_pids_with(marker))

            wait_until(both_named_and_sleeping, "both workers answered and the last question sleeps", timeout=300)
            [sleeper] = live_pids_with(marker)
            chain = ancestors(sleeper)
            [victim] = [name for name in ("worker-a", "worker-b") if cluster.processes[name].pid in chain]
            cluster.kill(victim)
            code = client.finish()
        finally:
            client.kill()
        wall = time.perf_counter() - started
        assert code == 0, "".join(client.stderr[-20:])
        expected = independent_scores(qset.questions, server.served)
        served = len(server.served)
        nothing_left(cluster)
    survivor = "worker-b" if victim == "worker-a" else "worker-a"
    proc = subprocess.CompletedProcess(client.process.args, code, "".join(client.stdout), "".join(client.stderr))
    figures = json.loads(client.stdout[-1])
    results = read_results_file(out)
    run = ScriptedRun(qset, out, proc, figures, results, expected, served, wall)
    assert mismatches(run) == [], "the metrics are those of what the server answered, to the last question"
    assert figures["questions"] == 12 and figures["failed_sessions"] == 0
    assert {r["worker"] for r in results.values()} == {"worker-a", "worker-b"}
    assert results[str(qset.questions[-1].id)]["worker"] == survivor, "the killed worker's question ran again"
    for result in results.values():
        assert records(out / result["transcript"])[-1]["event"] == "session_end", "every transcript is whole"


@pytest.mark.parametrize("command", ["analyse", "eval"])
def test_a_cluster_that_does_not_answer_exits_3_with_one_line(
    tmp_path: Path, clean_env: dict[str, str], command: str
) -> None:
    distributed_or_skip()
    env = {**clean_env, "AUTORUN_CLUSTER_CONNECT_TIMEOUT": "2"}
    if command == "analyse":
        args = ["analyse", str(SAMPLE), str(SAMPLE), "--model", "builtin", "--work-dir", str(tmp_path / "w")]
    else:
        qset = make_set(tmp_path, 2, ["right"])
        (tmp_path / "eval.yaml").write_text(EVAL_CONFIG)
        args = eval_command(qset, "http://127.0.0.1:9/v1", tmp_path / "out", tmp_path / "eval.yaml")[3:]
    result = subprocess.run(
        autorun_cmd(*args, "--cluster", "tcp://127.0.0.1:9"), capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(
        "autorun: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9 ("
    ), result.stderr
    assert not (tmp_path / "w").exists(), "nothing was started"


def test_a_malformed_cluster_address_exits_2(tmp_path: Path, clean_env: dict[str, str]) -> None:
    result = subprocess.run(
        autorun_cmd("analyse", str(SAMPLE), "--model", "builtin", "--cluster", "http://x/y"),
        capture_output=True,
        text=True,
        env=clean_env,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "autorun: error: --cluster: cluster.address must be a Dask scheduler address such as "
        'tcp://scheduler:8786, or null, got "http://x/y"\n'
    )


def test_the_scheduler_stopped_mid_batch_exits_3_keeping_what_came_back(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    client_dir, env = client_side(tmp_path, clean_env)
    files = scaled_files(client_dir / "data", 6)
    work = client_dir / "work"
    with running_cluster(tmp_path / "cluster", clean_env) as cluster:
        cluster.start_worker("worker-a", threads=2)
        cluster.wait_for_workers(1)
        args = ["analyse", *map(str, files), "--model", "builtin", "--cluster", cluster.address, "--jobs", "2"]
        client = Command([*args, "--work-dir", str(work), "--json"], env)
        try:
            for line in client.lines():
                if line.endswith(": done on worker-a"):
                    cluster.kill("scheduler", signal.SIGTERM)
                    break
            code = client.finish(timeout=120)
        finally:
            client.kill()
        nothing_left(cluster)
    assert code == 3
    errors = [line for line in client.stderr if line.startswith("autorun: error:")]
    assert len(errors) == 1 and "Traceback" not in "".join(client.stderr), "".join(client.stderr)
    assert re.fullmatch(
        rf"autorun: error: lost the Dask scheduler at {cluster.address}: \d of 6 sessions did not finish\n", errors[0]
    )
    end = client.events()[-1]
    done = [entry for entry in end["files"] if entry["status"] == "done"]
    assert done and len(done) < 6 and all(entry["status"] in ("done", "stopped") for entry in end["files"])
    for entry in done:
        assert records(entry["transcript"])[-1]["exit_code"] == 0, "what came back is kept, whole"


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["INT", "TERM"])
def test_a_signal_to_the_client_stops_the_sessions_on_the_workers(
    tmp_path: Path, clean_env: dict[str, str], marker: str, signum: int, exit_code: int
) -> None:
    hiding_or_skip()
    client_dir, env = client_side(tmp_path, clean_env)
    files = scaled_files(client_dir / "data", 3)
    reply = assistant_message(f"Waiting.\n\n```sh\nsleep {marker}\n```\n")
    replay = stored_transcript(client_dir / "recorded", [reply], env)  # in the client's record: it travels too
    work = client_dir / "work"
    with running_cluster(tmp_path / "cluster", clean_env) as cluster:
        cluster.start_worker("worker-a", sessions=1)
        cluster.start_worker("worker-b", sessions=1, hide=[client_dir])
        cluster.wait_for_workers(2)
        args = ["analyse", *map(str, files), "--model", f"replay:{replay}", "--cluster", cluster.address]
        client = Command([*args, "--work-dir", str(work)], env)
        try:
            wait_until(lambda: len(live_pids_with(marker)) == 2, "a block sleeps on each worker")
            client.process.send_signal(signum)
            code = client.finish(timeout=120)
        finally:
            client.kill()
        assert code == exit_code, "".join(client.stderr)
        assert live_pids_with(marker) == [] and cluster.leftovers() == [], "nothing of the run is left on the workers"
    assert "interrupted" in client.stderr[-1]
    stopped = [path for folder in work.iterdir() for path in transcripts(folder, env)]
    assert len(stopped) == 2, "the two stopped sessions' transcripts came back"
    assert all(records(path)[-1]["exit_code"] == 143 for path in stopped), "each ended by SIGTERM, whole"


def test_a_worker_without_bwrap_or_docker_says_so_in_the_sessions_reason(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    files = scaled_files(tmp_path / "data", 2)
    bare = {**clean_env, "PATH": str(tmp_path / "no-bin"), "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    with running_cluster(tmp_path / "cluster", clean_env) as cluster:
        cluster.start_worker("bare", env=bare)
        cluster.wait_for_workers(1)
        common = ["--model", "builtin", "--cluster", cluster.address, "--work-dir", str(tmp_path / "work"), "--json"]
        runs = {
            "sandbox": subprocess.run(
                autorun_cmd("analyse", *map(str, files), *common), capture_output=True, text=True, env=clean_env
            ),
            "docker": subprocess.run(
                autorun_cmd("analyse", *map(str, files), *common, "--docker", "python:3.11-slim", "--no-pull"),
                capture_output=True,
                text=True,
                env=clean_env,
            ),
        }
    for kind, run in runs.items():
        assert run.returncode == 1, run.stderr
        entries = json.loads(run.stdout.splitlines()[-1])["files"]
        assert all(e["status"] == "failed" and e["exit_code"] == 4 and e["worker"] == "bare" for e in entries)
        needed = "bubblewrap is not installed" if kind == "sandbox" else "No Docker engine is running"
        assert all(e["reason"].startswith("on bare: ") and needed in e["reason"] for e in entries), entries


def spans(out: Path) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each worker's sessions as (start, end), from their transcripts' own time stamps."""
    found: dict[str, list[tuple[datetime, datetime]]] = {}
    for result in read_results_file(out).values():
        stamps = {r["event"]: datetime.fromisoformat(r["ts"]) for r in records(out / result["transcript"])}
        found.setdefault(result["worker"], []).append((stamps["session_start"], stamps["session_end"]))
    return found


def overlapping(pairs: list[tuple[datetime, datetime]]) -> bool:
    return any(a[0] < b[1] and b[0] < a[1] for a in pairs for b in pairs if a is not b)


def test_the_autorun_resource_bounds_each_worker_and_jobs_bounds_the_run(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    client_dir, env = client_side(tmp_path, clean_env)
    qset = make_set(client_dir, 6, ["right"])
    config = client_dir / "eval.yaml"
    config.write_text(EVAL_CONFIG)
    routes = [{**route, "steps": route["steps"] * 2} for route in script(qset.questions)]  # asked twice: two runs
    with running_cluster(tmp_path / "cluster", clean_env) as cluster, FakeOpenAIServer(routes=routes) as server:
        cluster.start_worker("worker-a", threads=3, sessions=1)  # three threads, but one session at a time
        cluster.start_worker("worker-b", threads=3, sessions=1)
        cluster.wait_for_workers(2)
        for out, more in ((client_dir / "free", []), (client_dir / "one", ["--jobs", "1"])):
            command = eval_command(qset, server.base_url, out, config, "--cluster", cluster.address, *more)
            run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
            assert run.returncode == 0, run.stderr
    free, one = spans(client_dir / "free"), spans(client_dir / "one")
    assert sum(map(len, free.values())) == 6 and not any(overlapping(s) for s in free.values()), "K=1 per worker"
    assert not overlapping([span for worker in one.values() for span in worker]), "--jobs 1: one at a time"


def test_a_client_killed_outright_leaves_no_session_running_on_the_workers(
    tmp_path: Path, clean_env: dict[str, str], marker: str
) -> None:
    client_dir, env = client_side(tmp_path, clean_env)
    files = scaled_files(client_dir / "data", 2)
    replay = stored_transcript(client_dir / "recorded", [assistant_message(f"```sh\nsleep {marker}\n```\n")], env)
    with running_cluster(tmp_path / "cluster", clean_env) as cluster:
        cluster.start_worker("worker-a")
        cluster.wait_for_workers(1)
        args = ["analyse", *map(str, files), "--model", f"replay:{replay}", "--cluster", cluster.address]
        client = Command([*args, "--work-dir", str(client_dir / "work"), "--local"], env)
        try:
            wait_until(lambda: len(live_pids_with(marker)) == 2, "a block sleeps in each session")
            client.process.kill()  # no chance to say stop: the sessions' watch notices the silence
            client.process.wait()
            started = time.monotonic()
            wait_until(lambda: live_pids_with(marker) == [], "the sessions stopped by themselves", timeout=90)
        finally:
            client.kill()
        assert time.monotonic() - started < 60 and cluster.processes["worker-a"].poll() is None, "the worker lives on"
        nothing_left(cluster)
