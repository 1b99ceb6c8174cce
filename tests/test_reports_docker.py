"""Artifacts and reports with the real Docker engine: the work dir is bind-mounted, so the same scan applies."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from autorun.executors.docker.executor import SESSION_LABEL
from tests.conftest import SAMPLE, assistant_message, autorun_cmd, stored_transcript, transcripts
from tests.docker_fixtures import TEST_IMAGE, docker_client, require_engine  # noqa: F401

require_engine()
pytestmark = pytest.mark.docker

CHART_BLOCK = """\
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import os
print(open("/workspace/data/sales.csv").readline().strip())
os.symlink("/etc/hostname", "/workspace/host-link")
plt.bar(["Widget Pro", "Gadget Lite"], [73300, 17800])
plt.title("Revenue by product (sum)")
plt.savefig("/workspace/revenue.png")
"""


def test_docker_block_artifacts_reach_the_transcript_and_the_reports(
    tmp_path: Path,
    clean_env: dict[str, str],
    docker_client,  # noqa: F811 (the imported fixture)
) -> None:
    replies = [f"Charting.\n\n```python\n{CHART_BLOCK}```\n", "Done. TERMINATE"]
    replay = stored_transcript(tmp_path / "recorded", [assistant_message(r) for r in replies])
    work = tmp_path / "w"
    args = ["analyse", str(SAMPLE), "--model", f"replay:{replay}", "--docker", TEST_IMAGE, "--no-pull"]
    args += ["--work-dir", str(work), "--report", str(tmp_path / "r.html")]
    result = subprocess.run(autorun_cmd(*args), env=clean_env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr + result.stdout
    [transcript] = transcripts(work)
    records = [json.loads(line) for line in transcript.read_text().splitlines()]
    [executed] = [r for r in records if r["event"] == "execution_result"]
    written = {a["path"]: a for a in executed["artifacts"]}
    assert "revenue.png" in written and all(a["media_type"] == "image/png" for a in written.values())
    assert not any(p.startswith("data/") or p == "host-link" for p in written), "no data mount point, no symlink"
    assert "created revenue.png" in result.stdout
    page = (tmp_path / "r.html").read_text()
    assert page.count('src="data:image/png;base64,') == len(written)  # with a kernel, also the figure it saved
    export = subprocess.run(autorun_cmd("export", str(transcript), "-f", "ipynb"), capture_output=True, text=True)
    notebook = json.loads(Path(export.stdout.strip()).read_text())
    [code] = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    source = "".join(code["source"])
    assert f'open("{SAMPLE}")' in source and 'plt.savefig("./revenue.png")' in source, "paths as seen from the work dir"
    session_id = records[0]["session_id"]
    assert docker_client.containers.list(all=True, filters={"label": f"{SESSION_LABEL}={session_id}"}) == []


def test_sigterm_during_a_docker_batch_leaves_no_container(
    tmp_path: Path,
    clean_env: dict[str, str],
    docker_client,  # noqa: F811 (the imported fixture)
) -> None:
    import shutil
    import signal
    import time

    from tests.test_batch import live_pids_with

    marker = f"300.{time.monotonic_ns() % 10**9}"
    replay = stored_transcript(tmp_path / "recorded", [assistant_message(f"```sh\nsleep {marker}\n```")])
    files = []
    for name in ("east.csv", "west.csv"):
        files.append(tmp_path / name)
        shutil.copy(SAMPLE, files[-1])
    work = tmp_path / "w"
    args = ["analyse", *map(str, files), "--model", f"replay:{replay}", "--docker", TEST_IMAGE, "--no-pull"]
    parent = subprocess.Popen(
        autorun_cmd(*args, "--work-dir", str(work), "--jobs", "2"),
        env=clean_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while len(live_pids_with(marker)) < 2:
            assert time.monotonic() < deadline and parent.poll() is None, "both containers should be running a block"
            time.sleep(0.2)
        parent.send_signal(signal.SIGTERM)
        parent.communicate(timeout=90)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert parent.returncode == 143
    assert live_pids_with(marker) == []
    for name in ("east", "west"):
        [transcript] = transcripts(work / name)
        session_id = json.loads(transcript.read_text().splitlines()[0])["session_id"]
        assert docker_client.containers.list(all=True, filters={"label": f"{SESSION_LABEL}={session_id}"}) == []
