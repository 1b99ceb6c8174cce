"""The in-container agent that runs blocks, and the host side of its channel.

The container's main process (under Docker's init) is a small POSIX-sh agent that reads
one command per line from its stdin, which autorun holds through an attach socket.
Running a block therefore costs no `docker exec` (about 50 ms of engine work per call):
only the fork of the block itself. For each block the agent

* starts it in its own session and process group (``setsid``), stdin from /dev/null and
  stderr merged into stdout, so the output arrives in the order it was written;
* starts a timer process first, which kills that group at the timeout and leaves a
  marker, so the agent reports BLOCK_TIMED_OUT (124);
* when the block ends, however it ends, stops every other process in the container
  (``kill -STOP -1`` is atomic, so nothing can fork any more) and kills them all. Only
  shell builtins run here, so this works even when a fork bomb used up the process limit;
* prints ``NUL nonce exit-code oom-kill-count`` — the nonce is random per command, so
  the block's own output cannot end its result early.

The container is created with StdinOnce and AutoRemove: if autorun dies, even by
SIGKILL, the engine closes the agent's stdin, the agent exits and the engine removes
the container once the running block (if any) has timed out.
"""

from __future__ import annotations

import codecs
import contextlib
import queue
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from autorun.block_results import BLOCK_TIMED_OUT
from autorun.errors import ExecutorError
from autorun.executors.files import PYTHON_BLOCK_MAIN
from autorun.output import KEPT_OUTPUT_CHARS, OutputKeeper
from autorun.threads import start_background

OutputFn = Callable[[str], None]

# Used when the image has no setsid binary: Python starts the block in a new session.
PY_SETSID = "import os,sys; os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])"
# Where the kernel's output goes, inside the container only ("klog" answers its last line).
KERNEL_LOG = "/tmp/.autorun-kernel.log"

_SWEEP = """
sweep() {
  kill -STOP -1
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    case $p in 1|"$$"|"$k"|"$kp") ;; *) kill -KILL "$p" ;; esac
  done
  kill -CONT "$k"
  [ -n "$kp" ] && kill -CONT "$kp"
} 2>/dev/null
"""

# After a block: reap the agent's own children, then make sure nothing but zombies (which
# init reaps) is left; sweep again if something is.
_SETTLE = """
settle() {
  wait "$c" "$tp"
  for _ in 1 2 3; do
    left=
    for d in /proc/[0-9]*; do
      case ${d#/proc/} in 1|"$$"|"$kp") continue ;; esac
      read -r s <"$d/stat" || continue
      s=${s##*) }
      [ "${s%% *}" = Z ] || left=1
    done
    [ -z "$left" ] && return
    sweep
  done
} 2>/dev/null
"""

_OOM = """
oom() {
  o=-1
  for f in /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; do
    [ -r "$f" ] && while read -r a b; do [ "$a" = oom_kill ] && o=$b; done <"$f"
  done
}
"""

# The session kernel ($kp, if started) is the one process a sweep spares; "ksweep" sweeps after
# a block that ran in it, so what that block started does not outlive it either, and answers how
# many tasks (threads and processes) are left in the container, as "tasks" alone does.
# The kernel: "kernel SCRIPT" starts `sh SCRIPT` (which execs the kernel) in a session of its
# own and answers its pid; "kstate" answers running, none or "exited STATUS" (and the OOM-kill
# count); "kkill" kills its group; "klog" answers the last line of its output; "oom" answers the
# container's OOM-kill count.
_KERNEL = """
kernel() {
  [ -n "$kp" ] && kkill
  if command -v setsid >/dev/null 2>&1; then setsid sh "$1" </dev/null >/dev/null 2>&1 &
  else "$py" -c "$ps" sh "$1" </dev/null >/dev/null 2>&1 &
  fi
  kp=$!
  echo "kernel=$kp"
}
kstate() {
  if [ -z "$kp" ]; then echo state=none; return; fi
  s=
  { read -r s <"/proc/$kp/stat"; } 2>/dev/null
  s=${s##*) }
  case "${s%% *}" in
    ""|Z|X) wait "$kp"; echo "state=exited $?"; kp=; oom; echo "oom=$o" ;;
    *) echo state=running ;;
  esac
}
kkill() {
  [ -n "$kp" ] && { kill -KILL -"$kp"; wait "$kp"; } 2>/dev/null
  kp=
}
tasks() {
  n=
  for f in /sys/fs/cgroup/pids.current /sys/fs/cgroup/pids/pids.current; do
    [ -r "$f" ] && { read -r n <"$f"; break; }
  done 2>/dev/null
  if [ -z "$n" ]; then set -- /proc/[0-9]*/task/[0-9]*; n=$#; fi
  echo "tasks=$n"
}
klog() {
  g=
  { while IFS= read -r line || [ -n "$line" ]; do [ -n "$line" ] && g=$line; done <"$kl"; } 2>/dev/null
  printf 'log=%s\\n' "$g"
}
"""

# Command lines: "<number> <timeout> <nonce> <python|sh|probe|kernel|kstate|kkill|klog|ksweep|tasks|oom> <path>";
# $1 is PY_SETSID, $2 PYTHON_BLOCK_MAIN (python blocks run with the work dir last on sys.path).
AGENT = (
    f"trap 'sig=1' HUP INT TERM\nk=$$\nps=$1\nbm=$2\nkp=\nkl={KERNEL_LOG}\n"
    "py=$(command -v python3 || command -v python)\n"
    + _SWEEP
    + _SETTLE
    + _OOM
    + _KERNEL
    + """
while :; do
  sig=
  read -r n t x l f
  r=$?
  if [ "$r" -ne 0 ]; then
    [ -n "$sig" ] && continue  # a signal, not the end of stdin (a kernel block may SIGTERM its parent, the agent)
    break
  fi
  if [ "$l" = probe ]; then
    echo "agent=$$"; echo "python=$py"
  elif [ "$l" = kernel ]; then kernel "$f"
  elif [ "$l" = kstate ]; then kstate
  elif [ "$l" = kkill ]; then kkill
  elif [ "$l" = klog ]; then klog
  elif [ "$l" = oom ]; then oom; echo "oom=$o"
  elif [ "$l" = ksweep ]; then sweep; c=; tp=; settle; tasks
  elif [ "$l" = tasks ]; then tasks
  else
    if [ "$l" = python ]; then set -- "$py" -c "$bm" "$f"; else set -- sh "$f"; fi
    if command -v setsid >/dev/null 2>&1; then set -- setsid "$@"; else set -- "$py" -c "$ps" "$@"; fi
    m=/tmp/.autorun-timeout-$n
    "$@" </dev/null 2>&1 &
    c=$!
    (sleep "$t"; : >"$m"; kill -KILL -"$c") 2>/dev/null &
    tp=$!
    while :; do wait "$c" 2>/dev/null; r=$?; kill -0 "$c" 2>/dev/null || break; done
    [ -e "$m" ] && r="""
    + str(BLOCK_TIMED_OUT)
    + """
    sweep
    settle
  fi
  oom
  printf '\\0%s %s %s\\n' "$x" "$r" "$o"
done
"""
)
AGENT_COMMAND = ["sh", "-c", AGENT, "autorun-agent", PY_SETSID, PYTHON_BLOCK_MAIN]

# Run by `docker exec` when the agent itself does not answer: $1 is the agent's pid, $2 the kernel's.
RESCUE_SWEEP = ["sh", "-c", "k=$1\nkp=$2\n" + _SWEEP + "sweep\n", "autorun-sweep"]


@dataclass(frozen=True)
class Reply:
    """What the agent answered for one command; ``finished`` is False when the deadline passed first."""

    finished: bool
    exit_code: int
    oom_kills: int
    output: str


class ChannelClosed(Exception):
    """The attach stream ended: the container stopped or the engine went away."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__(str(error) if error else "the container's output stream ended")
        self.error = error


_EOF = object()


class AgentChannel:
    """The attach socket to the agent: send one command, stream its output, read its reply."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._raw = getattr(sock, "_sock", sock)
        self._raw.settimeout(None)
        with contextlib.suppress(Exception):  # TCP engines: keep an idle session's connection alive
            self._raw.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self._queue: queue.Queue[object] = queue.Queue()
        self._pending = b""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._kept = OutputKeeper(KEPT_OUTPUT_CHARS)
        self._nonce = ""
        self.busy = False  # a command was sent and its reply not yet read
        self.closed_by: BaseException | None = None
        self.eof = False
        start_background(self._read, "autorun-docker-output")

    def _read(self) -> None:
        from docker.utils.socket import frames_iter

        try:
            for _stream, data in frames_iter(self._sock, tty=False):
                self._queue.put(data)
        except BaseException as exc:
            self._queue.put(exc)
        self._queue.put(_EOF)

    def send(self, number: int, timeout: str, language: str, path: str) -> None:
        """Send one command; its output and reply are read by `receive`."""
        self.busy = True
        self._nonce = secrets.token_hex(12)
        self._decoder.reset()
        self._kept = OutputKeeper(KEPT_OUTPUT_CHARS)
        try:
            self._raw.sendall(f"{number} {timeout} {self._nonce} {language} {path}\n".encode())
        except OSError as exc:
            raise ChannelClosed(exc) from exc

    def receive(self, until: float, on_output: OutputFn) -> Reply:
        """Stream output until the agent replies to the last command, or until ``until`` (monotonic)."""
        head = b"\0" + self._nonce.encode() + b" "
        while True:
            found = self._pending.find(head)
            if found >= 0 and b"\n" in self._pending[found:]:
                self._emit(self._pending[:found], on_output, final=True)
                line, _, self._pending = self._pending[found + len(head) :].partition(b"\n")
                code, _, oom = line.decode().partition(" ")
                self.busy = False
                return Reply(True, int(code), int(oom), self._kept.text())
            keep = self._holdback(head) if found < 0 else len(self._pending) - found
            self._emit(self._pending[: len(self._pending) - keep], on_output)
            self._pending = self._pending[len(self._pending) - keep :]
            if not self._next(until):
                return Reply(False, -1, -1, self._kept.text())

    def _emit(self, data: bytes, on_output: OutputFn, final: bool = False) -> None:
        text = self._decoder.decode(data, final=final)
        if text:
            self._kept.add(text)
            on_output(text)

    def _holdback(self, head: bytes) -> int:
        """How many trailing bytes might be the start of the reply marker."""
        start = self._pending.rfind(b"\0", max(0, len(self._pending) - len(head) + 1))
        if start >= 0 and head.startswith(self._pending[start:]):
            return len(self._pending) - start
        return 0

    def _next(self, until: float) -> bool:
        """Append the next chunk to the pending bytes; False when ``until`` passed first."""
        while True:
            if self.eof:
                raise ChannelClosed(self.closed_by)
            remaining = until - time.monotonic()
            if remaining <= 0:
                return False
            try:
                item = self._queue.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if item is _EOF:
                self.eof = True
            elif isinstance(item, BaseException):
                self.closed_by = item
            else:
                self._pending += item  # type: ignore[operator]
                return True

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._raw.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._sock.close()


def parse_keys(text: str) -> dict[str, str]:
    """`key=value` lines -> dict."""
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def probe_answer(reply: Reply, image: str) -> tuple[int, str]:
    """(the agent's pid, the image's Python interpreter) from the agent's answer to ``probe``."""
    found = parse_keys(reply.output)
    if not reply.finished or "agent" not in found:
        raise ExecutorError(f"The container from image {image} did not answer autorun's agent in time.")
    if not found.get("python"):
        raise ExecutorError(
            f"Docker image {image} has no python3 or python on its PATH; choose an image with Python "
            "(executor.image or --docker IMAGE)."
        )
    return int(found["agent"]), found["python"]


def exec_capture(
    api: Any, container_id: str, command: Sequence[str], *, environment: dict[str, str] | None = None
) -> tuple[int | None, str]:
    """Run a helper command through `docker exec` (setup, rescue); (exit code, output)."""
    exec_id = api.exec_create(container_id, list(command), environment=environment)["Id"]
    output = b"".join(api.exec_start(exec_id, stream=True))
    code = api.exec_inspect(exec_id).get("ExitCode")
    return code, output.decode("utf-8", errors="replace")
