"""Where a code block is written in the work dir: shared by the executors that run code."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from autorun.codeblocks import SUPPORTED_LANGUAGES, CodeBlock
from autorun.executors.base import ExecResult, OutputCallback, code_file, failed_result
from autorun.nofollow import write_inside

if TYPE_CHECKING:
    from autorun.executors.disk import DiskQuota

FILENAME_PREFIX = "# filename:"
SCRIPT_EXTENSIONS = {"python": "py", "sh": "sh"}
# `python -c PYTHON_BLOCK_MAIN FILE` runs a python block's file as `python FILE` does (same argv,
# __file__, tracebacks and exit status), but with the file's directory (the work dir) last on
# sys.path instead of first: a module planted there never shadows the standard library or an
# installed package, while one the model saved there (`# filename: helpers.py`) still imports.
PYTHON_BLOCK_MAIN = """import sys
if sys.path and sys.path[0] == "":
    del sys.path[0]
del sys.argv[0]
__file__ = __import__("os").path.abspath(sys.argv[0])
sys.path.append(__import__("os").path.dirname(__file__))
def _autorun_hook(kind, value, tb, hook=sys.excepthook):
    if tb is not None and tb.tb_frame.f_code.co_filename == "<string>" and value is not None:
        tb = tb.tb_next
        value = value.with_traceback(tb)
    hook(kind, value, tb)
sys.excepthook = _autorun_hook
del _autorun_hook, sys
exec(compile(__import__("io").open_code(__file__).read(), __file__, "exec"))
"""


def unknown_language_message(language: str) -> str:
    return f"unknown language {language!r}: supported languages are {', '.join(SUPPORTED_LANGUAGES)}"


def script_path(work_dir: Path, block: CodeBlock) -> Path | str:
    """The file to write the block to, or a message saying why its `# filename:` is refused.

    A content-hash name by default; AutoGen's `# filename: NAME` first line (that exact
    prefix) when NAME stays inside ``work_dir``.
    """
    first_line = block.code.split("\n", 1)[0].strip()
    name = first_line[len(FILENAME_PREFIX) :].strip() if first_line.startswith(FILENAME_PREFIX) else ""
    if not name:
        digest = hashlib.sha256(block.code.encode("utf-8", errors="replace")).hexdigest()[:16]
        return work_dir / f"tmp_code_{digest}.{SCRIPT_EXTENSIONS[block.language]}"
    refusal = (
        f"refused '# filename: {name}': the file must be a relative path inside the "
        f"work directory {work_dir}; the block was not run"
    )
    if Path(name).is_absolute():
        return refusal
    try:
        target = (work_dir / name).resolve()
    except (OSError, ValueError):
        return refusal
    if target == work_dir or not target.is_relative_to(work_dir):
        return refusal
    return target


def write_script(work_dir: Path, block: CodeBlock) -> Path | str:
    """Write the block to its file; return the path, or a message when it cannot be written."""
    target = script_path(work_dir, block)
    if isinstance(target, str):
        return target
    try:
        write_inside(work_dir, target.relative_to(work_dir), block.code.encode("utf-8", errors="replace"))
    except OSError as exc:
        return f"cannot write the code file {target}: {exc.strerror or exc}"
    return target


def block_file(work_dir: Path, block: CodeBlock, disk: DiskQuota, started: float) -> Path | ExecResult:
    """The file the block was written to, or the result of a block that is not run: over a disk bound
    (the first block sets the baseline), or its file refused or not writable."""
    refused = disk.refuse_block()
    if refused is not None:
        return refused
    script = write_script(work_dir, block)
    return failed_result(script, started) if isinstance(script, str) else script


class WritesBlockFiles:
    """``run()`` for an executor that writes each block to a file in the work dir and runs that file:
    the language check, the disk refusal, the file, and ``code_file`` on the result. Subclasses say
    what must be ready first (``_prepare``) and how the file runs (``_run_script``)."""

    work_dir: Path
    disk: DiskQuota
    running_code_file: str | None = None

    def run(self, block: CodeBlock, on_output: OutputCallback) -> ExecResult:
        started = time.monotonic()
        if block.language not in SCRIPT_EXTENSIONS:
            return failed_result(unknown_language_message(block.language), started)
        self._prepare()
        script = block_file(self.work_dir, block, self.disk, started)
        if isinstance(script, ExecResult):
            return script
        self.running_code_file = code_file(self.work_dir, script)
        return replace(self._run_script(block, script, on_output, started), code_file=self.running_code_file)

    def _prepare(self) -> None:
        """What the block needs before its file is written (the work dir, a started container)."""

    def _run_script(self, block: CodeBlock, script: Path, on_output: OutputCallback, started: float) -> ExecResult:
        raise NotImplementedError
