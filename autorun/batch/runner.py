"""`autorun analyse FILE... --jobs N`: one session per file, up to N at once.

Each session is a child process of autorun itself (``autorun analyse FILE --json``
with its own work subdirectory, transcript and report), so sessions share no
state, one crash cannot take the others down, and each cleans up after itself on
SIGTERM exactly as a single session does (its container or process group goes
with it). The children run in their own sessions (process groups): Ctrl-C at the
terminal reaches only this process, which then stops every child with SIGTERM,
waits for each to finish its cleanup, and kills what is left after a grace period.

The children's JSON Lines events drive each file's state (queued, running block k,
done, failed); with ``--json`` they are passed on, each with the ``file`` it belongs to.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from autorun.batch.child import PARENT_ENV
from autorun.threads import start_background

STOP_GRACE_S = 30.0
_ERROR_PREFIX = "autorun: error: "


@dataclass
class BatchItem:
    """One file of a batch and what its session has done so far."""

    file: Path
    work_dir: Path
    report: Path
    state: str = "queued"  # queued | running | done | failed | stopped
    block: int = 0
    blocks_ok: int = 0
    blocks_failed: int = 0
    started: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    reason: str = ""
    transcript: str | None = None
    stderr_tail: list[str] = field(default_factory=list)
    args: tuple[str, ...] = ()  # this session's own arguments after the batch's (eval: its question)
    worker: str | None = None  # on a cluster: the worker that ran (or runs) the session
    attempts: int = 0  # sessions started for this file: more than one when a worker died under it

    @property
    def duration_s(self) -> float | None:
        if self.started is None:
            return None
        return (self.ended or time.monotonic()) - self.started

    @property
    def succeeded(self) -> bool:
        return self.state == "done"

    @property
    def status_words(self) -> str:
        where = f" on {self.worker}" if self.worker and self.state != "queued" else ""
        if self.state == "running":
            return (f"running block {self.block}" if self.block else "starting") + where
        if self.state == "failed" and self.exit_code is not None:
            return f"failed (exit {self.exit_code}){where}"
        return self.state + where


def plan_batch(files: Sequence[Path], work_root: Path, report_name: str) -> list[BatchItem]:
    """One item per file, each with its own work subdirectory ``<work_root>/<stem>`` (made unique)."""
    items: list[BatchItem] = []
    taken: set[str] = set()
    for file in files:
        stem = Path(file).stem or "data"
        name, n = stem, 1
        while name in taken:
            n += 1
            name = f"{stem}-{n}"
        taken.add(name)
        work_dir = work_root / name
        items.append(BatchItem(Path(file), work_dir, work_dir / report_name))
    return items


def child_command(item: BatchItem, child_args: Sequence[str]) -> list[str]:
    """The command that analyses one file: autorun itself, JSON events on stdout, its own work dir and report."""
    return [
        sys.executable,
        "-m",
        "autorun",
        "analyse",
        str(item.file) if not str(item.file).startswith("-") else f"./{item.file}",
        "--json",
        "--work-dir",
        str(item.work_dir),
        "--report",
        str(item.report),
        "--human-input-mode",
        "NEVER",
        *child_args,
        *item.args,
    ]


def apply_event(item: BatchItem, event: dict[str, Any]) -> None:
    """Update ``item`` from one of its session's events."""
    kind = event.get("event")
    if kind == "session_start":
        item.transcript = event.get("transcript") if isinstance(event.get("transcript"), str) else None
    elif kind == "code_block" and event.get("will_run") and isinstance(event.get("index"), int):
        item.block = event["index"]
    elif kind == "execution_result":
        if event.get("exit_code") == 0 and not event.get("timed_out"):
            item.blocks_ok += 1
        else:
            item.blocks_failed += 1
    elif kind == "session_end":
        item.reason = str(event.get("reason", ""))


EventFn = Callable[[BatchItem, dict[str, Any]], None]
ChangeFn = Callable[[BatchItem], None]


class SessionRunner(Protocol):
    """Runs batch items' sessions (child processes here, a cluster's workers elsewhere), reporting each
    session's events and every change of an item's state; ``run`` re-raises an interruption once all
    are stopped."""

    items: list[BatchItem]

    def run(self) -> list[BatchItem]: ...


@dataclass(frozen=True)
class RunRequest:
    """What a :data:`RunnerFactory` is asked to run: the items' sessions, each with ``child_args``,
    ``jobs`` at a time (None: as many as the runner can), reporting to ``on_event`` and ``on_change``."""

    items: Sequence[BatchItem]
    child_args: Sequence[str]
    jobs: int | None
    on_event: EventFn
    on_change: ChangeFn
    env: dict[str, str] | None


RunnerFactory = Callable[[RunRequest], SessionRunner]


def local_runner(request: RunRequest) -> SessionRunner:
    """Child processes of this one, ``jobs`` (default 1) at a time."""
    return BatchRunner(
        request.items,
        request.child_args,
        request.jobs or 1,
        on_event=request.on_event,
        on_change=request.on_change,
        env=request.env,
    )


@dataclass(frozen=True)
class _Line:
    item: BatchItem
    text: str | None  # None: the child's stdout closed


class BatchRunner:
    """Runs the items' sessions, at most ``jobs`` at a time.

    ``on_event(item, event)`` gets every event of every session (in this thread);
    ``on_change(item)`` is called whenever an item's state or block changes; ``poll()`` is
    called several times a second and may raise to stop every session (as an interruption does).
    """

    def __init__(
        self,
        items: Sequence[BatchItem],
        child_args: Sequence[str],
        jobs: int,
        *,
        on_event: EventFn = lambda item, event: None,
        on_change: ChangeFn = lambda item: None,
        env: dict[str, str] | None = None,
        grace_s: float = STOP_GRACE_S,
        poll: Callable[[], None] = lambda: None,
        cwd: Path | None = None,
    ) -> None:
        self.items = list(items)
        self.child_args = list(child_args)
        self.jobs = max(1, jobs)
        self.on_event = on_event
        self.on_change = on_change
        self.env = env
        self.grace_s = grace_s
        self.poll = poll
        self.cwd = cwd
        self._running: dict[int, subprocess.Popen[str]] = {}
        self._lines: queue.Queue[_Line] = queue.Queue()
        self._threads: list[threading.Thread] = []

    def run(self) -> list[BatchItem]:
        """Run every session to its end; on any interruption (Ctrl-C, SIGTERM raised as an exception), stop
        them all, keep what they reported until they ended, and re-raise."""
        pending = list(self.items)
        try:
            while pending or self._running:
                while pending and len(self._running) < self.jobs:
                    self._start(pending.pop(0))
                self.poll()
                try:
                    line = self._lines.get(timeout=0.2)
                except queue.Empty:
                    continue
                if line.text is None:
                    self._finish(line.item)
                else:
                    self._on_line(line.item, line.text)
        except BaseException:
            self.stop()
            for item in pending:
                item.state = "stopped"
                self.on_change(item)
            raise
        return self.items

    def stop(self) -> None:
        """SIGTERM every running session, wait for each to clean up, then SIGKILL what is left."""
        for process in self._running.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        for process in self._running.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            if process.poll() is None:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        for item in self.items:
            if item.state == "running":
                item.state, item.ended = "stopped", time.monotonic()
                stopped = self._running.get(id(item))
                item.exit_code = stopped.returncode if stopped is not None else None
                self.on_change(item)
        self._running.clear()
        for thread in self._threads:
            thread.join(timeout=5)
        while not self._lines.empty():  # what the sessions said while stopping (their session_end)
            line = self._lines.get_nowait()
            if line.text is not None:
                self._on_line(line.item, line.text)

    def _start(self, item: BatchItem) -> None:
        from autorun.datafile import check_data_file
        from autorun.errors import InputFileError

        item.state, item.started = "running", time.monotonic()
        item.attempts += 1
        self.on_change(item)
        try:
            check_data_file(item.file)  # a missing or unsupported file gets no work dir and no session
        except InputFileError as err:
            item.state, item.ended, item.reason, item.exit_code = "failed", time.monotonic(), str(err), 2
            self.on_change(item)
            return
        try:
            item.work_dir.mkdir(parents=True, exist_ok=True)
            process = subprocess.Popen(
                child_command(item, self.child_args),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                env={**(self.env if self.env is not None else os.environ), PARENT_ENV: str(os.getpid())},
                start_new_session=True,
                cwd=self.cwd,
            )
        except OSError as exc:
            item.state, item.ended, item.reason = "failed", time.monotonic(), f"cannot start: {exc}"
            self.on_change(item)
            return
        self._running[id(item)] = process
        assert process.stdout is not None and process.stderr is not None
        self._reader(item, process.stdout, lambda text: self._lines.put(_Line(item, text)), done=True)
        self._reader(item, process.stderr, lambda text: _keep_tail(item, text), done=False)

    def _reader(self, item: BatchItem, stream: IO[str], deliver: Callable[[str], None], *, done: bool) -> None:
        def pump() -> None:
            with contextlib.suppress(ValueError, OSError):
                for text in stream:
                    deliver(text)
            if done:
                self._lines.put(_Line(item, None))

        thread = start_background(pump, f"batch-{item.file.name}")
        self._threads.append(thread)

    def _on_line(self, item: BatchItem, text: str) -> None:
        try:
            event = json.loads(text)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        before = (item.state, item.block, item.blocks_ok, item.blocks_failed)
        apply_event(item, event)
        self.on_event(item, event)
        if (item.state, item.block, item.blocks_ok, item.blocks_failed) != before:
            self.on_change(item)

    def _finish(self, item: BatchItem) -> None:
        process = self._running.pop(id(item), None)
        if process is not None:
            item.exit_code = process.wait()
        item.ended = time.monotonic()
        if item.state == "running":
            item.state = "done" if item.exit_code == 0 else "failed"
        if item.state == "failed":
            item.reason = _error_line(item) or item.reason or f"exit code {item.exit_code}"
        self.on_change(item)


def _keep_tail(item: BatchItem, text: str) -> None:
    item.stderr_tail = [*item.stderr_tail[-19:], text.rstrip("\n")]


def _error_line(item: BatchItem) -> str:
    for line in reversed(item.stderr_tail):
        if line.startswith(_ERROR_PREFIX):
            return line[len(_ERROR_PREFIX) :]
    return ""


def _signal_group(process: subprocess.Popen[str], signum: int) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
