"""`python -m tests.sigterm_at [--from-start] FUNCTION autorun-args...`: autorun's CLI, SIGTERMed inside FUNCTION.

The first call of a function named FUNCTION (Python's, or a builtin's such as ``fsync``) while
a kernel block runs (within ``KernelDriver.execute``), or from the start with ``--from-start``,
sends SIGTERM to autorun itself, so its handler runs right there: the moment at which an
intermittent hang needed the signal to arrive, made deterministic.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType
from typing import Any


def main() -> None:
    from_start = sys.argv[1] == "--from-start"
    if from_start:
        sys.argv.pop(1)
    target = sys.argv.pop(1)
    sent = False

    def hook(frame: FrameType, event: str, _arg: Any) -> None:
        nonlocal sent
        called = frame.f_code.co_name if event == "call" else getattr(_arg, "__name__", None)
        if event in ("call", "c_call") and called == target and not sent:
            sent = True
            sys.setprofile(None)
            os.kill(os.getpid(), signal.SIGTERM)

    if from_start:
        sys.setprofile(hook)
    from autorun.cli import main as autorun_main
    from autorun.executors.kernel.driver import KernelDriver

    execute = KernelDriver.execute

    def execute_watched(self: KernelDriver, *args: Any, **kwargs: Any) -> Any:
        if not sent:
            sys.setprofile(hook)
        try:
            return execute(self, *args, **kwargs)
        finally:
            sys.setprofile(None)

    KernelDriver.execute = execute_watched  # type: ignore[method-assign]
    sys.argv[0] = "autorun"
    autorun_main()


if __name__ == "__main__":
    main()
