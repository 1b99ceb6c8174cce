"""The worker side: the Dask task that runs one session, exactly as a local batch runs it.

:func:`run_session` lays out a private folder in the worker's own local directory (the inputs,
a state dir for the session's record, the mirrored work dir and report), runs one
``autorun analyse`` child there with the batch runner (so the worker's own sandbox or Docker,
the same limits and the same stop-by-SIGTERM apply), reports the session's state to the client
as it changes, and returns what the session left: its transcript, report and work-dir files.
The folder is removed afterwards, whatever happened.

A worker that dies under a session takes the task's thread with it; the child gets SIGTERM (it
was started with the worker as its parent-death signal's parent) and ends its session, and Dask
runs the task again elsewhere: the dead attempt never returns a result.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

from autorun import __version__
from autorun.batch.runner import BatchItem, BatchRunner
from autorun.cluster.spec import Arg, InputFile, InputRef, ReturnedFile, SessionResult, SessionSpec
from autorun.nofollow import read_inside, remove_tree
from autorun.record.state import STATE_DIR_ENV

CLIENT_LOST_S = 30.0  # a client not heard from for this long is gone: its sessions stop
BEAT_CHECK_S = 1.0
_KEPT_EVENTS = ("session_start", "session_end")
WHOLE_FILE_LIMIT = 1024**3  # the transcript and the report go back whole


class SessionsStopped(Exception):
    """Raised into the session's runner to stop it: the client asked, or is gone."""


def worker_name(worker: Any) -> str:
    name = getattr(worker, "name", None)
    return str(name) if name not in (None, "") else str(worker.address)


class ClientWatch:
    """Reads the run's control Variable on a thread of its own; ``poll`` raises once the run should stop.

    The client bumps ``beat`` every few seconds and sets ``stop`` on Ctrl-C; a beat that stops
    changing (the client killed, the scheduler gone) stops the session after ``lost_after`` s.
    """

    def __init__(self, variable: Any, lost_after: float = CLIENT_LOST_S) -> None:
        self.variable = variable
        self.lost_after = lost_after
        self.why = ""
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="autorun-client-watch", daemon=True)
        self._thread.start()

    def poll(self) -> None:
        if self.why:
            raise SessionsStopped(self.why)

    def close(self) -> None:
        self._done.set()

    def _watch(self) -> None:
        beat, heard = None, time.monotonic()
        while not self._done.wait(BEAT_CHECK_S):
            try:
                value = self.variable.get(timeout=BEAT_CHECK_S * 2)
            except Exception:  # unset, deleted or unreachable: only the silence counts
                value = None
            if isinstance(value, dict) and value.get("stop"):
                self.why = "stopped by the client"
                return
            if isinstance(value, dict) and value.get("beat") != beat:
                beat, heard = value.get("beat"), time.monotonic()
            elif time.monotonic() - heard > self.lost_after:
                self.why = f"the client has not been heard from for {self.lost_after:.0f} s"
                return


class StatusReporter:
    """Sends the item's state to the client's topic whenever it changes (small messages, no content)."""

    def __init__(self, worker: Any, spec: SessionSpec, name: str, attempt: str) -> None:
        self.worker, self.spec, self.name, self.attempt = worker, spec, name, attempt
        self._last: tuple[Any, ...] | None = None

    def changed(self, item: BatchItem) -> None:
        now = (item.state, item.block, item.blocks_ok, item.blocks_failed)
        if now == self._last:
            return
        self._last = now
        # "name": the scheduler sets "worker" to the worker's address in every message a worker logs
        message: dict[str, Any] = {"key": self.spec.key, "attempt": self.attempt, "name": self.name}
        message |= {"state": item.state, "block": item.block, "ok": item.blocks_ok, "failed": item.blocks_failed}
        with contextlib.suppress(Exception):  # status is a courtesy: the result is what counts
            self.worker.log_event(self.spec.topic, message)


def _write_inputs(folder: Path, inputs: Sequence[InputFile], state: Path) -> list[str]:
    """Each input's path on this worker: written to ``folder/<n>/<name>`` (a transcript to replay: recorded
    in the session's state dir, the only place ``--model replay:`` takes one from), or its shared path."""
    from datetime import datetime

    from autorun.record.state import new_session

    paths = []
    for number, shipped in enumerate(inputs):
        if shipped.shared_path is not None:
            paths.append(shipped.shared_path)
            continue
        if shipped.recorded:
            target = new_session(folder / "replayed", f"replayed{number}", datetime.now(), {STATE_DIR_ENV: str(state)})
            target.transcript.write_bytes(shipped.data or b"")
            paths.append(str(target.transcript))
            continue
        name = PurePath(shipped.name).name or "data"
        path = folder / str(number) / name
        path.parent.mkdir(parents=True)
        path.write_bytes(shipped.data or b"")
        paths.append(str(path))
    return paths


def _resolve(arg: Arg, paths: Sequence[str]) -> str:
    return arg.prefix + paths[arg.index] if isinstance(arg, InputRef) else arg


def _config_with(config: Mapping[str, Any], refs: Mapping[str, InputRef], paths: Sequence[str]) -> dict[str, Any]:
    resolved = {section: dict(body) for section, body in config.items()}
    for dotted, ref in refs.items():
        section, _, key = dotted.partition(".")
        resolved.setdefault(section, {})[key] = _resolve(ref, paths)
    return resolved


def _plain_relative(text: str) -> PurePosixPath:
    path = PurePosixPath(text)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"{text!r} is not a plain relative path")
    return path


def _read_inside(root: Path, relative: str) -> bytes | None:
    """``root/relative`` read without following a symlink below ``root``; None when it cannot be."""
    with contextlib.suppress(OSError, ValueError):
        return read_inside(root, relative, limit=WHOLE_FILE_LIMIT)
    return None


def collect_files(work: Path, budget: int, exclude: Sequence[str] = ()) -> tuple[list[ReturnedFile], list[str]]:
    """The work dir's regular files (never through a symlink, never autorun's own ``.autorun``), in path
    order, up to ``budget`` bytes in all; the names of those that did not fit."""
    from autorun.artifacts import ArtifactWatcher

    files: list[ReturnedFile] = []
    left: list[str] = []
    used = 0
    for relative, (size, _, _) in sorted(ArtifactWatcher(work).snapshot().items()):
        if relative in exclude:
            continue
        if used + size > budget:
            left.append(relative)
            continue
        try:
            data = read_inside(work, relative, limit=budget - used + 1)
        except (OSError, ValueError):
            continue
        if used + len(data) > budget:
            left.append(relative)
            continue
        used += len(data)
        files.append(ReturnedFile(relative, data))
    return files, left


def _child_env(spec: SessionSpec, state: Path) -> dict[str, str]:
    """This worker's own environment, the variables the client chose to send, and the session's state dir."""
    return {**os.environ, **spec.env, STATE_DIR_ENV: str(state)}


def version_problem(spec: SessionSpec, name: str) -> str:
    """Why this worker refuses ``spec`` (another autorun version may not read its arguments alike), or ""."""
    if spec.version == __version__:
        return ""
    return f"worker {name} has autorun {__version__}, the client {spec.version}: install the same version on both"


@contextlib.contextmanager
def private_folder(parent: str | None) -> Iterator[Path]:
    """A new folder for one session under ``parent`` (the worker's local directory), removed afterwards
    without following anything the session's code planted in it, even folders it made unreadable."""
    root = Path(tempfile.mkdtemp(prefix="autorun-session-", dir=parent))
    try:
        yield root
    finally:
        with contextlib.suppress(OSError):  # what it cannot remove (too deep) goes with the local directory
            remove_tree(root)


def run_session(spec: SessionSpec) -> SessionResult:
    """Run ``spec``'s session on this worker and return what it left (the Dask task)."""
    from distributed import Variable, get_client, get_worker

    worker = get_worker()
    name, attempt = worker_name(worker), uuid.uuid4().hex[:12]
    if version_problem(spec, name):
        return SessionResult(name, attempt, "failed", None, version_problem(spec, name))
    watch = ClientWatch(Variable(spec.control, client=get_client()))
    try:
        with private_folder(getattr(worker, "local_directory", None)) as root:
            return _run_in(root, spec, StatusReporter(worker, spec, name, attempt), watch)
    finally:
        watch.close()


def _run_in(root: Path, spec: SessionSpec, status: StatusReporter, watch: ClientWatch) -> SessionResult:
    import yaml

    from autorun.snapshots import MAX_SESSION_BYTES, snapshot_folder

    state = root / "state"
    state.mkdir(mode=0o700)
    paths = _write_inputs(root / "inputs", spec.inputs, state)
    mirror = root / "r"
    work, report = mirror / _plain_relative(spec.work_rel), mirror / _plain_relative(spec.report_rel)
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump(_config_with(spec.config, spec.config_inputs, paths)), encoding="utf-8")
    args = ["--config", str(config), *(_resolve(arg, paths) for arg in spec.args)]
    item = BatchItem(Path(paths[spec.data]), work, report)
    events: list[dict[str, Any]] = []

    def keep(item: BatchItem, event: dict[str, Any]) -> None:
        if spec.keep_events or event.get("event") in _KEPT_EVENTS:
            events.append(event)

    runner = BatchRunner(
        [item], args, 1, on_event=keep, on_change=status.changed, env=_child_env(spec, state), poll=watch.poll, cwd=root
    )
    stopped = ""
    try:
        runner.run()
    except SessionsStopped as exc:
        stopped = str(exc)
    end: dict[str, Any] = next((e for e in reversed(events) if e.get("event") == "session_end"), {})
    transcript = item.transcript or (str(end["transcript"]) if end.get("transcript") else None)
    inside = report.relative_to(work).as_posix() if report.is_relative_to(work) else None
    kept, _ = collect_files(snapshot_folder(Path(transcript)), MAX_SESSION_BYTES) if transcript else ([], [])
    files, left = collect_files(work, spec.max_result_size, exclude=[inside] if inside else [])
    return SessionResult(
        worker=status.name,
        attempt=status.attempt,
        state="stopped" if stopped else item.state,
        exit_code=item.exit_code,
        reason=item.reason or stopped,
        blocks_ok=item.blocks_ok,
        blocks_failed=item.blocks_failed,
        duration_s=item.duration_s or 0.0,
        events=events,
        transcript_name=Path(transcript).name if transcript else None,
        transcript=_read_inside(Path(transcript).parent, Path(transcript).name) if transcript else None,
        report=_read_inside(mirror, _plain_relative(spec.report_rel).as_posix()),
        record_files=kept,
        files=files,
        left_behind=left,
    )
