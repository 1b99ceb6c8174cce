"""Cluster workers: what of the client reaches a worker's session, and what a worker's results can do
to the client's files when they are written back.

The environment probe runs a real cluster (tests/cluster_fixtures.py) and a session whose code
(local executor, so it may read its ancestors' /proc/<pid>/environ) reports which of the client's
values it finds, by digest; the model server records the API key each request carries. The
copy-back probes hand the client a hostile result directly.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

from autorun.batch.runner import BatchItem
from autorun.cluster.copyback import bring_back
from autorun.cluster.shipping import Shipment
from autorun.cluster.spec import ReturnedFile, SessionResult
from autorun.record.state import STATE_DIR_ENV
from tests.cluster_fixtures import running_cluster
from tests.conftest import SAMPLE, autorun_cmd
from tests.fake_openai_server import FakeOpenAIServer
from tests.security.probes import ANY, record

FIND_IN_ANCESTORS = """
import hashlib, os
wanted = {WANTED}
pid, found = os.getpid(), set()
while pid > 1:
    try:
        entries = open(f"/proc/{pid}/environ", "rb").read().split(b"\\0")
    except OSError:
        entries = []
    found |= {wanted[d] for e in entries if (d := hashlib.sha256(e.partition(b"=")[2]).hexdigest()) in wanted}
    pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
print("found:", sorted(found))
"""


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def session_sees(tmp_path: Path, env: dict[str, str], address: str, name: str) -> tuple[list[str], list[str]]:
    """(the client values a worker's session found in its processes' environments, the keys its requests carried)"""
    import subprocess

    key, note = env["OPENAI_API_KEY"], env["CLIENT_NOTE"]
    code = FIND_IN_ANCESTORS.replace("{WANTED}", repr({digest(key): "api key", digest(note): "CLIENT_NOTE"}))
    steps = [{"reply": f"```python\n{code}\n```"}, {"reply": "Done.\nTERMINATE"}]
    with FakeOpenAIServer(steps) as server:
        args = ["analyse", str(SAMPLE), "--cluster", address, "--local", "--model", "probe", "--base-url"]
        args += [server.base_url, "--work-dir", str(tmp_path / name), "--json"]
        run = subprocess.run(autorun_cmd(*args), capture_output=True, text=True, env=env, timeout=600)
        carried = [r["headers"].get("authorization", "") for r in server.chat_requests]
    assert run.returncode == 0, run.stderr
    [entry] = json.loads(run.stdout.splitlines()[-1])["files"]
    records = [json.loads(line) for line in Path(entry["transcript"]).read_text().splitlines()]
    [output] = [r["output"] for r in records if r["event"] == "execution_result"]
    found = json.loads(output.split("found:", 1)[1].strip().replace("'", '"'))
    return found, [header for header in carried if key in header]


def test_cluster_the_client_sends_no_key_or_environment_but_the_named_variables(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    client = {
        **clean_env,
        "OPENAI_API_KEY": f"sk-probe-{secrets.token_hex(16)}",
        "CLIENT_NOTE": secrets.token_hex(16),
        STATE_DIR_ENV: str(tmp_path / "state"),
    }
    with running_cluster(tmp_path / "cluster", clean_env) as cluster:
        cluster.start_worker("worker-a")
        cluster.wait_for_workers(1)
        unnamed = session_sees(tmp_path, client, cluster.address, "plain")
        named = {**client, "AUTORUN_CLUSTER_ENV_PASSTHROUGH": "OPENAI_API_KEY,CLIENT_NOTE"}
        passed = session_sees(tmp_path, named, cluster.address, "passed")
    assert unnamed == ([], []), "nothing of the client's environment reached the worker's session"
    assert passed[0] == ["CLIENT_NOTE", "api key"] and passed[1], "named, they do: the probe can see them"
    record("cluster.env", ANY, "blocked", "only the variables cluster.env_passthrough names are sent")


def hostile(*files: tuple[str, bytes]) -> SessionResult:
    return SessionResult("w", "a", "done", 0, "", files=[ReturnedFile(name, data) for name, data in files])


def test_cluster_returned_names_cannot_leave_the_work_dir_or_reach_autoruns_folder(tmp_path: Path) -> None:
    work = tmp_path / "work" / "a"
    shipment = Shipment(BatchItem(SAMPLE, work, work / "report.html"), tmp_path / "work")
    names = ["../outside", "/tmp/absolute", "a/../../outside", ".autorun/planted", "nul\x00byte"]
    back = bring_back(shipment, hostile(*((name, b"x") for name in names)))
    assert back.files == 0 and len(back.problems) == len(names)
    assert not (tmp_path / "work" / "outside").exists() and not (work / ".autorun").exists()
    record("cluster.return_names", ANY, "blocked", "each name must be a plain path inside the work dir")


def test_cluster_a_symlink_where_a_returned_file_lands_is_replaced_not_followed(tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("the user's")
    work = tmp_path / "work" / "a"
    work.mkdir(parents=True)
    (work / "chart.png").symlink_to(precious)
    (work / "dir").symlink_to(tmp_path)
    shipment = Shipment(BatchItem(SAMPLE, work, work / "report.html"), tmp_path / "work")
    bring_back(shipment, hostile(("chart.png", b"png"), ("dir/precious.txt", b"overwritten")))
    assert precious.read_text() == "the user's" and not (work / "chart.png").is_symlink()
    record("cluster.return_symlink", ANY, "blocked", "written without following a link; a planted link is replaced")
