"""`--context` with the Docker executor: the file is mounted read-only beside the data, named to the model."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SAMPLE, autorun_cmd
from tests.docker_fixtures import TEST_IMAGE, docker_client, require_engine  # noqa: F401
from tests.fake_openai_server import FakeOpenAIServer

require_engine()
pytestmark = pytest.mark.docker


def test_a_context_file_is_mounted_read_only_in_the_container(
    tmp_path: Path,
    clean_env: dict[str, str],
    docker_client,  # noqa: F811 (the imported fixture: no container may be left behind)
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("Amounts are in euros.\n")
    code = "cat /workspace/data/notes.md && (echo changed > /workspace/data/notes.md || echo refused)"
    replies = [{"reply": f"```sh\n{code}\n```"}, {"reply": "FINAL ANSWER: euros\nTERMINATE"}]
    with FakeOpenAIServer(replies) as server:
        args = ["analyse", str(SAMPLE), "--model", "scripted", "--base-url", server.base_url, "--docker", TEST_IMAGE]
        args += ["--no-pull", "--work-dir", str(tmp_path / "w"), "-q", "Currency?", "--answer-format", "One word."]
        args += ["--context", str(notes), "--json"]
        proc = subprocess.run(autorun_cmd(*args), capture_output=True, text=True, timeout=300, env=clean_env)
        system = server.chat_requests[0]["body"]["messages"][0]["content"]
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    [result] = [e for e in events if e["event"] == "execution_result"]
    assert "Amounts are in euros." in result["output"] and "refused" in result["output"]
    assert result["artifacts"] == [], "the mount point is autorun's, not a file the block wrote"
    assert notes.read_text() == "Amounts are in euros.\n" and "- /workspace/data/notes.md (22 B)" in system
    assert events[-1]["answers"] == {"answer": "euros"}
