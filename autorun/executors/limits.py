"""Resource limits for code run on the host, set with setrlimit in the child before it starts.

* memory -> RLIMIT_AS: the address space of each process (a numpy/pandas process
  starts at about 0.4 GB of it);
* max_processes -> RLIMIT_NPROC, counted by the kernel over *all* the user's
  processes, so the limit is the user's current count plus ``max_processes``;
  root is exempt from it (use the docker executor or the bwrap sandbox);
* max_file_size -> RLIMIT_FSIZE: a larger write fails (Python: OSError EFBIG;
  a shell is killed by SIGXFSZ);
* max_open_files -> RLIMIT_NOFILE;
* no core dumps (they would land in the work directory).

Soft and hard limits are both set, so the code cannot raise them again (root can).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from dataclasses import dataclass

Limit = tuple[int, tuple[int, int]]
KEPT_OUTPUT_CHARS = 4_000_000  # of one block's output, head and tail: the result, the transcript


@dataclass(frozen=True)
class ProcessLimits:
    memory_bytes: int | None = None
    max_processes: int | None = None
    max_file_size: int | None = None
    max_open_files: int | None = None

    def rlimits(self) -> list[Limit]:
        """(resource, (soft, hard)) pairs to set, each capped at the current hard limit."""
        wanted = [
            (resource.RLIMIT_AS, self.memory_bytes),
            (resource.RLIMIT_FSIZE, self.max_file_size),
            (resource.RLIMIT_NOFILE, self.max_open_files),
            (resource.RLIMIT_CORE, 0),
        ]
        if self.max_processes is not None:
            wanted.append((resource.RLIMIT_NPROC, user_process_count() + self.max_processes))
        limits: list[Limit] = []
        for which, value in wanted:
            if value is None:
                continue
            _soft, hard = resource.getrlimit(which)
            capped = value if hard == resource.RLIM_INFINITY else min(value, hard)
            limits.append((which, (capped, capped)))
        return limits

    def preexec(self) -> Callable[[], None] | None:
        """A function for Popen(preexec_fn=...) that applies the limits in the child, or None."""
        limits = self.rlimits()
        if not limits:
            return None
        setrlimit = resource.setrlimit

        def apply() -> None:
            for which, pair in limits:
                setrlimit(which, pair)

        return apply


def user_process_count(uid: int | None = None) -> int:
    """Processes (and threads, which RLIMIT_NPROC also counts) owned by ``uid`` right now."""
    uid = os.getuid() if uid is None else uid
    count = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                count += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            continue
    return count


def parse_memory(text: str) -> int:
    """A validated size such as 512m or 2g, in bytes."""
    from autorun.executors.docker_engine import parse_size

    return parse_size(text)


class OutputKeeper:
    """Keeps the head and tail of a stream of text within ``limit`` characters, counting what it drops.

    A block printing 100 MB must not cost autorun 100 MB (or several copies of it):
    the model sees only output_limit characters anyway, and a person the start and the end.
    """

    def __init__(self, limit: int) -> None:
        self.head_limit = limit // 2
        self.tail_limit = limit - self.head_limit
        self._head: list[str] = []
        self._head_size = 0
        self._tail: list[str] = []
        self._tail_size = 0
        self.dropped = 0

    def add(self, text: str) -> None:
        room = self.head_limit - self._head_size
        if room > 0:
            self._head.append(text[:room])
            self._head_size += min(room, len(text))
            text = text[room:]
        if not text:
            return
        self._tail.append(text)
        self._tail_size += len(text)
        if self._tail_size > 2 * self.tail_limit:
            self._trim()

    def _trim(self) -> None:
        joined = "".join(self._tail)
        keep = joined[-self.tail_limit :]
        self.dropped += len(joined) - len(keep)
        self._tail, self._tail_size = [keep], len(keep)

    def text(self) -> str:
        if self._tail_size > self.tail_limit:
            self._trim()
        head, tail = "".join(self._head), "".join(self._tail)
        if not self.dropped:
            return head + tail
        return f"{head}\n[... {self.dropped} characters omitted ...]\n{tail}"
