"""Blocks cannot starve the session: threads left in the kernel, a container a block made unusable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.security.harness import check_common, fenced, replies_for, run_probe
from tests.security.probes import record

THREADS = """
import threading, time
started = 0
try:
    for _ in range(10_000):
        threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
        started += 1
except RuntimeError as exc:
    print(f"stopped after {started} threads: {exc}")
else:
    print(f"started all {started} threads")
"""


PYTHON_AGAIN = "print('python-ran')"


def test_threads_left_in_the_kernel_do_not_starve_later_blocks(executor: str, tmp_path: Path) -> None:
    replies = [
        f"Start threads.\n\n{fenced(THREADS)}",
        f"A shell block.\n\n{fenced('echo shell-ran', 'sh')}",
        f"Python again.\n\n{fenced(PYTHON_AGAIN)}",
        "Done.\n\nTERMINATE",
    ]
    run = run_probe(executor, tmp_path, replies, timeout=60, max_processes=256, pids_limit=256)
    check_common(run)
    results = run.results()
    assert len(results) == 3, [r.output for r in results]
    assert results[1].exit_code == 0 and results[1].output.strip() == "shell-ran", results[1].output
    assert results[2].exit_code == 0 and "python-ran" in results[2].output, results[2].output
    assert results[0].exit_code == 137 and "too few for later blocks to start" in results[0].output, results[0].output
    assert "the kernel was restarted" in results[0].output
    limit = "pids_limit of the container" if executor == "docker" else "executor.max_processes"
    record(
        "res.kernel_threads", executor, "contained", f"counted against the {limit} after the block; kernel restarted"
    )


KILL_AGENT = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('still here')"


@pytest.mark.docker
@pytest.mark.parametrize("stateful", [True, False], ids=["kernel", "process"])
def test_a_block_that_kills_the_containers_agent_is_named(
    tmp_path: Path, docker_client: object, stateful: bool
) -> None:
    """The agent is the block's parent: killing it stops the container, and the message says the block did it."""
    run = run_probe("docker", tmp_path, replies_for(["print('first')", KILL_AGENT]), stateful=stateful)
    check_common(run)
    message = str(run.error)
    assert run.exit_code == 4 and "Block 2 stopped the Docker container" in message, message
    assert "outside" not in message and "engine" not in message, message
    record("infra.block_kills_agent", "docker", "contained", "exit 4; the message names the block, not the engine")
