"""The kernel through the whole CLI: state across turns, the prompt, figures named, nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pandas as pd

from tests.conftest import SAMPLE, autorun_cmd, stored_transcript, transcripts
from tests.fake_openai_server import FakeOpenAIServer

LOAD = f"```python\nimport pandas as pd\ndf = pd.read_csv({str(SAMPLE)!r})\nprint(len(df), 'rows')\n```\n"
USE = (
    "```python\nimport matplotlib.pyplot as plt\n"
    "by_region = df.groupby('region')['revenue'].sum()\nby_region.plot.bar()\n"
    "print(by_region.to_dict())\n```\n"
)
DONE = "North leads.\nTERMINATE"


def transcript(work: Path) -> list[dict]:
    (path,) = transcripts(work)
    return [json.loads(line) for line in path.read_text().splitlines()]


def analyse(server: FakeOpenAIServer, work: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    command = autorun_cmd(
        "analyse", str(SAMPLE), "--model", "fake", "--base-url", server.base_url, "--work-dir", str(work), *extra
    )
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_data_loaded_in_one_turn_is_used_in_the_next(tmp_path: Path, clean_env: dict[str, str]) -> None:
    with FakeOpenAIServer([{"reply": LOAD}, {"reply": USE}, {"reply": DONE}]) as server:
        proc = analyse(server, tmp_path, clean_env, "--json")
        requests = server.chat_requests
    assert proc.returncode == 0, proc.stderr
    system = requests[0]["body"]["messages"][0]["content"]
    assert "one persistent Python session" in system and "fresh process" not in system
    expected = pd.read_csv(SAMPLE).groupby("region")["revenue"].sum().to_dict()
    second = requests[2]["body"]["messages"][-1]["content"]
    assert second.startswith("exitcode: 0 (execution succeeded)\nCode output:\n")
    assert str(expected) in second
    assert "figures saved: figure-2-1.png" in second
    assert (tmp_path / "figure-2-1.png").read_bytes().startswith(b"\x89PNG")
    results = [r for r in transcript(tmp_path) if r["event"] == "execution_result"]
    assert "figures saved: figure-2-1.png" in results[1]["output"]


def test_stateful_false_tells_the_model_to_reload(tmp_path: Path, clean_env: dict[str, str]) -> None:
    config = tmp_path / "autorun.yaml"
    config.write_text("executor:\n  stateful: false\n")
    with FakeOpenAIServer([{"reply": LOAD}, {"reply": USE}, {"reply": DONE}]) as server:
        proc = analyse(server, tmp_path / "w", clean_env, "--config", str(config))
        requests = server.chat_requests
    assert "fresh process" in requests[0]["body"]["messages"][0]["content"]
    second = requests[2]["body"]["messages"][-1]["content"]
    assert second.startswith("exitcode: 1 (execution failed)") and "NameError" in second
    assert proc.returncode == 1  # the last block failed


def _replay(recorded_in: Path, code: str) -> Path:
    message = {
        "event": "message",
        "role": "assistant",
        "name": "recorded",
        "turn": 1,
        "content": f"```python\n{code}\n```",
    }
    return stored_transcript(recorded_in, [message])


def test_sigterm_mid_block_leaves_no_kernel_behind(tmp_path: Path, clean_env: dict[str, str]) -> None:
    work = tmp_path / "w"
    code = "import os, time\nprint('kernel', os.getpid(), flush=True)\ntime.sleep(300)"
    replay = _replay(tmp_path / "recorded", code)
    proc = subprocess.Popen(
        autorun_cmd(
            "analyse", str(SAMPLE), "--model", f"replay:{replay}", "--local", "--work-dir", str(work), "--json"
        ),
        env=clean_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    pid = 0
    for line in proc.stdout:
        record = json.loads(line)
        if record["event"] == "execution_output" and "kernel" in record["text"]:
            pid = int(record["text"].split()[1])
            break
    assert pid and Path(f"/proc/{pid}").exists()
    socket_dirs = _kernel_dirs_of(pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    assert not Path(f"/proc/{pid}").exists(), "the kernel outlived autorun"
    assert socket_dirs and not any(Path(d).exists() for d in socket_dirs)


def _kernel_dirs_of(pid: int) -> list[str]:
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return [os.path.dirname(arg) for arg in argv if arg.endswith(".json")]


def test_file_that_fails_inspection_stops_the_warming_kernel(tmp_path: Path, clean_env: dict[str, str]) -> None:
    """The kernel starts before the data is inspected; a file found bad then leaves no kernel and no transcript."""
    work = tmp_path / "w"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a,b\n" + b"\x00\x01\x02" * 100)
    proc = subprocess.run(
        autorun_cmd("analyse", str(bad), "--local", "--work-dir", str(work)),
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "does not look like a table" in proc.stderr and proc.stderr.count("\n") == 1
    assert transcripts(work) == []
    assert not _processes_in(work), "a kernel outlived the failed session"


def _processes_in(directory: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == directory.resolve():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
