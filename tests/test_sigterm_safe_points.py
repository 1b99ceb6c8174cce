"""SIGTERM ends the session cleanly wherever the main thread happens to be when it arrives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from autorun.executors.local.executor import LocalExecutor
from autorun.models.base import Message
from autorun.session.factory import sigterm_as_interrupt
from autorun.session.loop import Session
from tests.conftest import SAMPLE, stored_transcript, transcripts
from tests.scripted import RecordingSink, ScriptedModel
from tests.security.harness import leftover_processes

ROOT = Path(__file__).parents[1]
BLOCK = "import time\nfor i in range(40):\n    print('tick', i, flush=True)\n    time.sleep(0.05)\nprint('finished')"


def _replay(recorded_in: Path) -> Path:
    message = {
        "event": "message",
        "role": "assistant",
        "name": "recorded",
        "turn": 1,
        "content": f"```python\n{BLOCK}\n```",
    }
    return stored_transcript(recorded_in, [message])


@pytest.mark.parametrize(
    "function",
    [
        # (the driver once read through the blocking client's asyncio loop, which swallowed an exception
        # raised in _run_until_complete_cb and never stopped; it reads the channels directly now)
        "get_msg",  # inside jupyter_client, while it polls the kernel's iopub socket
        "deserialize",  # inside jupyter_client, while it decodes a message the kernel sent
        "_pump",  # autorun's own loop
    ],
)
def test_sigterm_mid_kernel_block_ends_the_session(tmp_path: Path, clean_env: dict[str, str], function: str) -> None:
    work = tmp_path / "w"
    replay = _replay(tmp_path / "recorded")
    command = [
        sys.executable,
        "-m",
        "tests.sigterm_at",
        function,
        "analyse",
        str(SAMPLE),
        "--model",
        f"replay:{replay}",
    ]
    command += ["--local", "--work-dir", str(work)]
    proc = subprocess.run(command, cwd=ROOT, env=clean_env, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 143, proc.stderr
    (path,) = transcripts(work)
    events = [json.loads(line)["event"] for line in path.read_text().splitlines()]
    assert events[-2:] == ["interrupted", "session_end"], events
    assert "Exception in callback" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_sigterm_while_the_session_is_set_up_exits_143_with_one_line(tmp_path: Path, clean_env: dict[str, str]) -> None:
    """Before the session's loop there is nothing to record yet: exit 143 and one line, as Ctrl-C gives 130."""
    work = tmp_path / "w"
    replay = _replay(tmp_path / "recorded")
    command = [sys.executable, "-m", "tests.sigterm_at", "--from-start", "prepared_llm", "analyse", str(SAMPLE)]
    command += ["--model", f"replay:{replay}", "--local", "--work-dir", str(work)]
    proc = subprocess.run(command, cwd=ROOT, env=clean_env, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 143, proc.stderr
    assert (
        proc.stderr.strip().splitlines()[-1]
        == "autorun: error: interrupted by SIGTERM while the session was being set up"
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert leftover_processes(work) == [], "a kernel outlived the session"


class ModelSignalledInAWeakrefCallback(ScriptedModel):
    """The SIGTERM's handler runs in a weakref callback, where Python prints and drops what it raises."""

    def reply(self, messages: Sequence[Message]) -> Iterator[str]:
        yield from super().reply(messages)

        class Thing:
            pass

        thing = Thing()
        self.ref = weakref.ref(thing, lambda _ref: _sigterm_myself())
        del thing  # the callback runs now, and the handler in it


def _sigterm_myself() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.5)  # the handler runs here, within the callback


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowing, as intended
def test_a_sigterm_whose_exception_was_swallowed_still_ends_the_session(tmp_path: Path) -> None:
    model = ModelSignalledInAWeakrefCallback(["```python\nprint('not run')\n```", "TERMINATE"])
    sink = RecordingSink()
    with sigterm_as_interrupt(), LocalExecutor(tmp_path / "work", timeout=20) as executor:
        outcome = Session(model, executor, sink).run("go")
    assert (outcome.status, outcome.exit_code) == ("interrupted", 143)
    assert sink.kinds()[-2:] == ["interrupted", "session_end"]
    assert len(model.seen) == 1 and not sink.of("execution_result"), "nothing ran after the SIGTERM"
