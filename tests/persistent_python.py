"""A stand-in for a kernel until the kernel exists: one long-lived Python process runs every block.

Blocks are exec'd in one namespace, so a block sees what earlier blocks defined, the way
blocks in a Jupyter kernel do. A real process, not a mock: the test proves that the
builtin analyst's later blocks really run on the state its first block left.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

SERVER = r"""
import contextlib, io, json, sys, traceback
namespace = {"__name__": "__main__"}
while True:
    header = sys.stdin.readline()
    if not header:
        break
    code = sys.stdin.read(int(header))
    captured = io.StringIO()
    exit_code = 0
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        try:
            exec(compile(code, "<block>", "exec"), namespace)
        except SystemExit as exc:
            exit_code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            exit_code = 1
    sys.__stdout__.write(json.dumps({"exit": exit_code, "output": captured.getvalue()}) + "\n")
    sys.__stdout__.flush()
"""


class PersistentPython:
    """Runs blocks one after another in a single ``python`` process started in ``cwd``."""

    def __init__(self, python: str, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [python, "-c", SERVER],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def run(self, code: str) -> tuple[int, str]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{len(code)}\n{code}")
        self.process.stdin.flush()
        reply = json.loads(self.process.stdout.readline())
        return int(reply["exit"]), str(reply["output"])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)
