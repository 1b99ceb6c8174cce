"""What travels between the client and a worker for one session: plain values, pickled by Dask.

Nothing here refers to a path of the client's machine: files go as bytes (or as a path every
worker reads, under ``cluster.shared_dirs``), arguments that named a client file name the
worker's copy instead (:class:`InputRef`), and the work dir and report are given relative to
a root that both sides lay out the same way, so relative links between them still hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class InputFile:
    """A data or context file: its bytes, or a path every worker can read."""

    name: str  # the file name the session sees
    data: bytes | None = None
    shared_path: str | None = None
    recorded: bool = False  # a transcript to replay: the worker records it in the session's own state dir


@dataclass(frozen=True)
class InputRef:
    """An argument that names an input file: ``prefix`` followed by the worker's path of input ``index``."""

    index: int
    prefix: str = ""


Arg = str | InputRef


@dataclass(frozen=True)
class SessionSpec:
    """One session for a worker to run: ``autorun analyse`` on ``inputs[data]`` with ``args``."""

    key: str  # the item's key within the run, named in every status message
    topic: str  # the Dask event topic status messages go to
    control: str  # the Dask Variable the client beats on and stops the run through
    version: str  # the client's autorun version; a worker with another refuses
    inputs: tuple[InputFile, ...]
    data: int  # which input is the data file
    args: tuple[Arg, ...]  # after the data file: the batch's options and the item's own
    config: dict[str, Any]  # the client's effective configuration, as the transcript records it
    config_inputs: dict[str, InputRef]  # dotted config keys naming an input (model.name: replay:PATH)
    env: dict[str, str]  # the client's variables named in cluster.env_passthrough, and nothing else
    work_rel: str  # the work dir, relative to the mirrored root (POSIX)
    report_rel: str  # the report, relative to the same root
    max_result_size: int  # most bytes of work-dir files to bring back
    keep_events: bool  # every event back (--json), or only session_start and session_end


@dataclass(frozen=True)
class ReturnedFile:
    path: str  # relative to the work dir (POSIX)
    data: bytes


@dataclass(frozen=True)
class SessionResult:
    """What a worker sends back when the session has ended (done, failed or stopped)."""

    worker: str
    attempt: str  # this run of the task: a worker that died under it leaves an attempt without result
    state: str  # done | failed | stopped
    exit_code: int | None
    reason: str
    blocks_ok: int = 0
    blocks_failed: int = 0
    duration_s: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    transcript_name: str | None = None
    transcript: bytes | None = None
    report: bytes | None = None
    record_files: list[ReturnedFile] = field(default_factory=list)  # the record's folder beside the transcript
    files: list[ReturnedFile] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)  # work-dir files over max_result_size
