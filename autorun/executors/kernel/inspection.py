"""Inspect the data files in the session's kernel, which imports pandas anyway.

autorun's own process then never imports pandas (0.3-0.4 s of CPU) while it imports openai
for the first request: the kernel inspects right after its startup imports. Only for a
kernel that runs autorun's own interpreter (the local and sandbox executors), so the result
is exactly what inspecting in-process gives; in every other case ``inspect_in_kernel``
returns None and autorun inspects the files itself. The result crosses as JSON, never as a
pickle: the kernel is where untrusted code runs later.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from pathlib import Path

import autorun
from autorun.datafile import DataFileInfo
from autorun.datafile_json import info_from_json
from autorun.errors import InputFileError
from autorun.executors.kernel import KernelDriver, KernelUnavailable

# autorun's package directory: the sandbox shows it (read-only) where an editable install keeps it outside the venv.
PACKAGE_DIR = Path(autorun.__file__).resolve().parent
INSPECT_TIMEOUT_S = 60.0
INSPECT_FUNCTION = """
def _autorun_inspect_files(root, paths, sheet):
    import json, sys
    from pathlib import Path

    sys.path.insert(0, root)  # first: a planted autorun/ in the work dir must not shadow the real one
    try:
        from autorun.datafile import inspect_data_files
        from autorun.datafile_json import info_to_json
    finally:
        sys.path.remove(root)
    return json.dumps([info_to_json(info) for info in inspect_data_files([Path(p) for p in paths], sheet)])
"""


def inspect_in_kernel(driver: KernelDriver, paths: Sequence[Path], sheet: str | None) -> list[DataFileInfo] | None:
    """The files' inspection, done in the kernel; None when the kernel cannot do it (inspect in-process).

    Raises InputFileError when the kernel found a file bad, with the message in-process inspection gives.
    """
    call = f"_autorun_inspect_files({str(PACKAGE_DIR.parent)!r}, {[str(p) for p in paths]!r}, {sheet!r})"
    try:
        reply = driver.evaluate(INSPECT_FUNCTION, call, timeout=INSPECT_TIMEOUT_S)
    except KernelUnavailable:
        return None
    if reply.get("status") != "ok":
        if reply.get("ename") == "InputFileError":
            raise InputFileError(str(reply.get("evalue", "")))
        return None
    try:
        items = json.loads(ast.literal_eval(reply["data"]["text/plain"]))
        return [info_from_json(item) for item in items]
    except (KeyError, TypeError, ValueError, SyntaxError):
        return None
