"""The cluster path's parts without a cluster: what a session sends, what a worker's task does with it,
what comes back and how it is written on the client.

The worker's task runs here with stand-ins for the two Dask objects it talks to (the worker's
event log and the run's control Variable): a real ``autorun analyse`` child runs, is stopped
when the control says so, and its transcript, report, charts and record come back.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from autorun.batch.runner import BatchItem
from autorun.cluster.copyback import bring_back
from autorun.cluster.shipping import Shipment, _rewrite, plan, session_spec, shipping_for
from autorun.cluster.spec import InputRef, ReturnedFile, SessionResult, SessionSpec
from autorun.cluster.worker import ClientWatch, StatusReporter, _run_in, collect_files
from autorun.config.schema import Config
from autorun.errors import ConfigError
from autorun.record.state import STATE_DIR_ENV
from autorun.units import human_size
from tests import test_batch
from tests.cluster_fixtures import distributed_or_skip
from tests.conftest import SAMPLE, assistant_message, stored_transcript, transcripts
from tests.test_hostdir import python_as_nobody

marker = test_batch.marker

VALUE_OPTIONS = frozenset({"--config", "-c", "--question", "-q", "--context", "--model", "-m", "--timeout"})


def config(**sections: dict[str, Any]) -> Config:
    return Config.model_validate(sections)


def item_in(tmp_path: Path, data: Path, *args: str) -> BatchItem:
    work = tmp_path / "out" / "work" / "q1"
    return BatchItem(data, work, tmp_path / "out" / "sessions" / "q1" / "report.html", args=args)


def test_arguments_that_name_client_files_name_the_workers_copies(tmp_path: Path) -> None:
    shipment = Shipment(item_in(tmp_path, SAMPLE), tmp_path)
    shipment.add(str(SAMPLE))
    tokens = ["--config", "/c.yaml", "--question", "--context", "--context", "/ctx.md", "--model", "replay:/t.jsonl"]
    tokens += ["--timeout", "7", "--local", "--context=/b.md", "--question=x", "-m", "gpt-4o"]
    args = _rewrite(tokens, VALUE_OPTIONS, shipment.add)
    assert args == [
        "--question",
        "--context",  # a question that reads like an option stays the question
        InputRef(1, "--context="),
        InputRef(2, "--model=replay:"),
        "--timeout",
        "7",
        "--local",
        InputRef(3, "--context="),
        "--question=x",
        "-m",
        "gpt-4o",
    ], "--config is left out: the effective configuration travels instead"
    assert shipment.inputs == [SAMPLE, Path("/ctx.md"), Path("/t.jsonl"), Path("/b.md")]
    assert shipment.replayed == {Path("/t.jsonl")}


def test_a_file_over_the_limit_is_refused_before_anything_starts_naming_the_option(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_text("a,b\n" + "1,2\n" * 400)
    shipping = shipping_for(config(cluster={"max_file_size": "1k"}), {}, VALUE_OPTIONS, keep_events=False)
    with pytest.raises(ConfigError) as refused:
        plan(item_in(tmp_path, big), [], shipping)
    assert str(refused.value) == (
        f"{big} is {human_size(big.stat().st_size)}, more than the 1k that cluster.max_file_size sends to a "
        "worker: put it in a folder every worker reads at the same path and name that folder in "
        "cluster.shared_dirs (or raise cluster.max_file_size)"
    )
    shared = shipping_for(
        config(cluster={"max_file_size": "1k", "shared_dirs": [str(tmp_path)]}), {}, VALUE_OPTIONS, keep_events=False
    )
    shipment = plan(item_in(tmp_path, big), [], shared)
    assert shipment.shared == [True] and not shipment.problem
    spec = session_spec(shipment, shared, key="k", topic="t", control="c")
    assert spec.inputs[0].shared_path == str(big) and spec.inputs[0].data is None, "passed by path, never read"


def test_a_missing_file_fails_its_session_unsent_as_a_local_batch_does(tmp_path: Path) -> None:
    shipping = shipping_for(Config(), {}, VALUE_OPTIONS, keep_events=False)
    missing = plan(item_in(tmp_path, tmp_path / "gone.csv"), [], shipping)
    assert missing.problem == f"{tmp_path / 'gone.csv'}: file not found; check the path and try again."
    context = plan(item_in(tmp_path, SAMPLE, f"--context={tmp_path / 'notes.md'}"), [], shipping)
    assert context.problem.startswith(f"cannot read {tmp_path / 'notes.md'}: ")


def test_what_every_session_sends_of_the_config_and_environment() -> None:
    env = {"OPENAI_API_KEY": "sk-clientclientclientclient", "KEEP": "1", "HOME": "/root"}
    chosen = config(cluster={"address": "tcp://s:8786", "env_passthrough": ["KEEP", "ABSENT"]})
    shipping = shipping_for(chosen, env, VALUE_OPTIONS, keep_events=True)
    assert shipping.env == {"KEEP": "1"}, "only the named variables, and only those set"
    assert "cluster" not in shipping.config and shipping.config["executor"]["type"] == "sandbox", "auto: the sandbox"
    local = shipping_for(config(executor={"type": "local"}), env, VALUE_OPTIONS, keep_events=False)
    assert local.config["executor"]["type"] == "local" and local.env == {}


def test_a_replay_must_be_a_transcript_this_machine_recorded(tmp_path: Path, clean_env: dict[str, str]) -> None:
    planted = tmp_path / "work" / "planted.jsonl"
    planted.parent.mkdir()
    planted.write_text(json.dumps(assistant_message("hi")) + "\n")
    with pytest.raises(ConfigError, match="takes only a transcript autorun recorded"):
        shipping_for(config(model={"name": f"replay:{planted}"}), clean_env, VALUE_OPTIONS, keep_events=False)
    recorded = stored_transcript(tmp_path / "recorded", [assistant_message("hi")])
    shipping = shipping_for(config(model={"name": f"replay:{recorded}"}), clean_env, VALUE_OPTIONS, keep_events=False)
    shipment = plan(item_in(tmp_path, SAMPLE), [], shipping)
    assert shipment.config_inputs == {"model.name": InputRef(1, "replay:")} and shipment.replayed == {recorded}


def test_the_work_dir_and_report_keep_their_layout_and_the_spec_pickles(tmp_path: Path) -> None:
    shipping = shipping_for(Config(), {}, VALUE_OPTIONS, keep_events=False)
    spec = session_spec(plan(item_in(tmp_path, SAMPLE), [], shipping), shipping, key="k", topic="t", control="c")
    assert (spec.work_rel, spec.report_rel) == ("work/q1", "sessions/q1/report.html")
    assert spec.inputs[0].data == SAMPLE.read_bytes() and pickle.loads(pickle.dumps(spec)) == spec


def returned(*files: tuple[str, bytes], **fields: Any) -> SessionResult:
    return SessionResult("w", "a", "done", 0, "", files=[ReturnedFile(p, d) for p, d in files], **fields)


def test_returned_names_outside_the_work_dir_or_in_autoruns_folder_are_refused(tmp_path: Path) -> None:
    item = BatchItem(SAMPLE, tmp_path / "work" / "a", tmp_path / "work" / "a" / "report.html")
    shipment = Shipment(item, tmp_path / "work")
    back = bring_back(shipment, returned(("../evil", b"x"), ("/tmp/abs", b"x"), (".autorun/x", b"x"), ("ok.txt", b"y")))
    assert back.files == 1 and (tmp_path / "work" / "a" / "ok.txt").read_bytes() == b"y"
    assert len(back.problems) == 3 and not (tmp_path / "work" / "evil").exists()
    assert not (tmp_path / "work" / "a" / ".autorun").exists()


def test_a_symlink_planted_where_a_returned_file_lands_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    work = tmp_path / "work" / "a"
    (work / "sub").mkdir(parents=True)
    (work / "chart.png").symlink_to(victim)
    (work / "linked").symlink_to(tmp_path)
    shipment = Shipment(BatchItem(SAMPLE, work, work / "report.html"), tmp_path / "work")
    back = bring_back(shipment, returned(("chart.png", b"png"), ("linked/victim.txt", b"evil")))
    assert victim.read_text() == "mine", "neither symlink was followed"
    assert (work / "chart.png").read_bytes() == b"png" and not (work / "chart.png").is_symlink()
    assert back.files == 1 and back.problems and "linked/victim.txt" in back.problems[0]


def test_the_transcript_and_its_kept_charts_land_in_the_clients_record(tmp_path: Path, clean_env) -> None:
    work = tmp_path / "work" / "a"
    shipment = Shipment(BatchItem(SAMPLE, work, work / "report.html"), tmp_path / "work")
    result = returned(
        transcript_name="20260101-120000-abcd1234.jsonl",
        transcript=b'{"event": "session_start"}\n',
        record_files=[ReturnedFile("0" * 64 + ".png", b"png"), ReturnedFile("../x", b"no")],
        report=b"<html>",
    )
    back = bring_back(shipment, result)
    assert transcripts(work) == [back.transcript] and back.transcript is not None
    assert back.transcript.name == "20260101-120000-abcd1234.jsonl"
    assert (back.transcript.with_suffix("") / ("0" * 64 + ".png")).read_bytes() == b"png"
    assert not (back.transcript.parent / "x").exists() and (work / "report.html").read_bytes() == b"<html>"
    odd = bring_back(shipment, returned(transcript_name="../../evil.jsonl", transcript=b"{}\n"))
    assert odd.transcript is not None and odd.transcript.parent == back.transcript.parent
    assert odd.transcript.name != "evil.jsonl" and len(transcripts(work)) == 2


def test_a_worker_brings_back_regular_files_within_the_budget_never_through_a_symlink(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / ".autorun").mkdir(parents=True)
    (work / ".autorun" / "cache").write_bytes(b"c")
    (work / "a.png").write_bytes(b"a" * 10)
    (work / "b.csv").write_bytes(b"b" * 10)
    (work / "c.txt").write_bytes(b"c" * 10)
    (work / "link").symlink_to(tmp_path / "secret")
    (tmp_path / "secret").write_text("host file")
    files, left = collect_files(work, 15, exclude=["c.txt"])
    assert [f.path for f in files] == ["a.png"] and left == ["b.csv"]
    assert collect_files(work, 10**6)[0] == [
        ReturnedFile(p, (work / p).read_bytes()) for p in ("a.png", "b.csv", "c.txt")
    ]


class Log:
    """Stands in for the worker: what the task logs to the client's topic."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def log_event(self, topic: str, message: dict[str, Any]) -> None:
        self.messages.append(message)


class Control:
    """Stands in for the run's control Variable: the client beats, or asks to stop."""

    def __init__(self, stop_after: float | None = None, fail: bool = False) -> None:
        self.started, self.stop_after, self.fail, self.beat = time.monotonic(), stop_after, fail, 0

    def get(self, timeout: float) -> dict[str, Any]:
        if self.fail:
            raise TimeoutError("unreachable")
        self.beat += 1
        stop = self.stop_after is not None and time.monotonic() - self.started > self.stop_after
        return {"beat": self.beat, "stop": stop}


def worker_run(tmp_path: Path, spec: SessionSpec, control: Control) -> tuple[SessionResult, Log]:
    log = Log()
    root = tmp_path / "task"
    root.mkdir()
    watch = ClientWatch(control)
    try:
        return _run_in(root, spec, StatusReporter(log, spec, "w1", "attempt1"), watch), log
    finally:
        watch.close()


def eval_like_spec(tmp_path: Path, config_: Config, env: dict[str, str], *args: str) -> SessionSpec:
    shipping = shipping_for(config_, env, VALUE_OPTIONS, keep_events=True)
    shipment = plan(item_in(tmp_path / "client", SAMPLE), args, shipping)
    return session_spec(shipment, shipping, key="k1", topic="t", control="c")


def test_a_workers_task_runs_the_session_and_returns_everything_it_left(tmp_path: Path, clean_env) -> None:
    spec = eval_like_spec(tmp_path, config(model={"name": "builtin"}, executor={"type": "local"}), clean_env)
    result, log = worker_run(tmp_path, spec, Control())
    assert result.state == "done" and result.exit_code == 0, result.reason
    assert result.transcript is not None and result.transcript_name and result.transcript_name.endswith(".jsonl")
    records = [json.loads(line) for line in result.transcript.decode().splitlines()]
    assert records[0]["event"] == "session_start" and records[-1]["event"] == "session_end"
    assert records[0]["transcript"].startswith(str(tmp_path / "task" / "state")), "recorded in the task's state dir"
    assert result.report is not None and b"<html" in result.report.lower()
    assert {f.path for f in result.files} >= {"chart-total-revenue-by-product.png"}
    assert any(f.path.endswith(".png") for f in result.record_files), "the kept chart copies come too"
    assert result.events[0]["event"] == "session_start" and len(result.events) > 5, "--json: every event"
    states = [(m["state"], m["name"], m["attempt"]) for m in log.messages]
    assert states[0] == ("running", "w1", "attempt1") and max(m["ok"] for m in log.messages) == result.blocks_ok


def test_a_stop_from_the_client_ends_the_workers_session_with_sigterm(
    tmp_path: Path, clean_env: dict[str, str], marker: str
) -> None:
    recorded = stored_transcript(tmp_path / "recorded", [assistant_message(f"```sh\nsleep {marker}\n```\n")])
    spec = eval_like_spec(tmp_path, config(model={"name": f"replay:{recorded}"}, executor={"type": "local"}), clean_env)
    started = time.monotonic()
    result, _ = worker_run(tmp_path, spec, Control(stop_after=8))
    assert result.state == "stopped" and result.reason, result
    assert time.monotonic() - started < 60 and test_batch.live_pids_with(marker) == [], "the block was stopped"
    last = json.loads((result.transcript or b"").decode().splitlines()[-1])
    assert last["event"] == "session_end" and last["exit_code"] == 143, "whole, ended by SIGTERM"


def test_a_client_not_heard_from_stops_the_session() -> None:
    watch = ClientWatch(Control(fail=True), lost_after=1.5)
    try:
        deadline = time.monotonic() + 10
        while not watch.why and time.monotonic() < deadline:
            time.sleep(0.1)
        assert watch.why == "the client has not been heard from for 2 s"
    finally:
        watch.close()


def test_the_child_gets_the_workers_environment_the_named_variables_and_its_own_state_dir(tmp_path: Path) -> None:
    from autorun.cluster.worker import _child_env

    spec = eval_like_spec(tmp_path, Config(), {"SENT": "yes"})
    spec = SessionSpec(**{**spec.__dict__, "env": {"SENT": "yes"}})
    env = _child_env(spec, tmp_path / "state")
    assert env["SENT"] == "yes" and env[STATE_DIR_ENV] == str(tmp_path / "state") and env["PATH"] == os.environ["PATH"]


def test_a_worker_with_another_autorun_version_refuses_the_session(tmp_path: Path) -> None:
    from autorun import __version__
    from autorun.cluster.worker import version_problem

    spec = eval_like_spec(tmp_path, Config(), {})
    assert version_problem(spec, "w1") == ""
    other = SessionSpec(**{**spec.__dict__, "version": "0.0.1"})
    assert version_problem(other, "w1") == (
        f"worker w1 has autorun {__version__}, the client 0.0.1: install the same version on both"
    )


def test_why_a_task_failed_says_what_to_do() -> None:
    distributed_or_skip()
    from distributed import KilledWorker

    from autorun.cluster.runner import failure_reason

    died = failure_reason(KilledWorker("key", object(), 3))  # type: ignore[arg-type]
    assert died == "every worker that ran it died under it (4 tries); it may need more memory than a worker has"
    missing = failure_reason(ModuleNotFoundError("No module named 'autorun'"))
    assert missing.endswith(": install autorun[cluster] on every worker")
    assert failure_reason(OSError("disk full")) == "the task failed on the cluster: OSError: disk full"


PLANT_AND_LEAVE = """
import sys
from pathlib import Path
from autorun.cluster.worker import private_folder
with private_folder(sys.argv[1]) as root:
    work = root / "r" / "work"
    (work / "sub" / "deeper").mkdir(parents=True)
    (work / "sub" / "deeper" / "chart.png").write_bytes(b"x")
    (work / "to-host").symlink_to(sys.argv[2])
    (work / "sub" / "deeper").chmod(0o500)
    (work / "sub").chmod(0o000)
"""


def test_a_workers_session_folder_goes_whatever_its_code_left_in_it(tmp_path: Path) -> None:
    """Run as user nobody (a worker's usual user: as root nothing is unwritable): a folder the session's
    code made unreadable is removed too, and a planted link is removed, not followed."""
    base = Path(tempfile.mkdtemp(prefix="cluster-folder-test-"))
    try:
        local, host = base / "local", base / "host"
        local.mkdir(mode=0o777)
        local.chmod(0o777)
        host.mkdir()
        (host / "precious").write_text("keep me")
        os.chmod(base, 0o755)
        python_as_nobody(PLANT_AND_LEAVE, str(local), str(host))
        assert list(local.iterdir()) == [] and (host / "precious").read_text() == "keep me"
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", str(base)], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
