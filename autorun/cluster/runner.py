"""The client side of a run on a cluster: each batch item's session as one Dask task.

The runner keeps at most ``jobs`` tasks submitted (without --jobs: twice the sessions the
cluster takes at once, so the scheduler never holds every file's bytes), follows each
session's state from the small status messages its worker sends (a new attempt after a worker
died starts the item's counts afresh), and when a task's result arrives writes what it brought
back and reports the session's events and end, exactly as a local batch does.

Stopping (Ctrl-C, SIGTERM): the control Variable says ``stop``, queued tasks are cancelled,
running ones stop their session (SIGTERM to the child, as locally) and return; whatever is
left after the grace period is cancelled. A lost scheduler ends the run with ClusterError.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import uuid
import warnings
from collections import deque
from typing import Any

from autorun.batch.runner import STOP_GRACE_S, BatchItem, RunRequest
from autorun.cluster.connect import RESOURCE, Capacity, capacity
from autorun.cluster.copyback import bring_back
from autorun.cluster.shipping import Shipment, Shipping, plan, session_spec
from autorun.cluster.spec import SessionResult
from autorun.cluster.worker import run_session
from autorun.errors import ClusterError
from autorun.render.common import safe

BEAT_S = 2.0
CAPACITY_REFRESH_S = 5.0
_FINISHED = ("done", "failed", "stopped")
_LOCALISED = ("session_start", "session_end")


class Beat:
    """Bumps the run's control Variable every BEAT_S seconds, so workers know the client is alive."""

    def __init__(self, variable: Any) -> None:
        self.variable = variable
        self.count = 0
        self._done = threading.Event()
        self.variable.set({"beat": 0, "stop": False})
        self._thread = threading.Thread(target=self._beat, name="autorun-cluster-beat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._done.wait(BEAT_S):
            self.count += 1
            with contextlib.suppress(Exception):
                self.variable.set({"beat": self.count, "stop": False})

    def end(self, *, stop: bool, reachable: bool = True) -> None:
        """Stop beating; with ``stop``, tell every session of the run to stop (their own watch stops
        them once the beat is silent, when the scheduler cannot be told)."""
        self._done.set()
        self._thread.join(timeout=BEAT_S * 3)
        if not reachable:
            return
        with contextlib.suppress(Exception):
            if stop:
                self.variable.set({"beat": self.count, "stop": True})
            else:
                self.variable.delete()


def failure_reason(exc: BaseException | None) -> str:
    """Why a task erred, in the user's words."""
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        tries = exc.allowed_failures + 1 if isinstance(exc.allowed_failures, int) else "several"
        return f"every worker that ran it died under it ({tries} tries); it may need more memory than a worker has"
    if isinstance(exc, ModuleNotFoundError | ImportError) and "autorun" in str(exc):
        return f"a worker cannot import autorun ({exc}): install autorun[cluster] on every worker"
    return f"the task failed on the cluster: {type(exc).__name__}: {exc}"


class ClusterRunner:
    """Runs the items' sessions as Dask tasks (a :class:`~autorun.batch.runner.SessionRunner`)."""

    def __init__(
        self,
        client: Any,
        address: str,
        shipping: Shipping,
        request: RunRequest,
        *,
        grace_s: float = STOP_GRACE_S,
    ) -> None:
        self.client, self.address, self.shipping = client, address, shipping
        self.items = list(request.items)
        self.jobs = request.jobs
        self.on_event, self.on_change = request.on_event, request.on_change
        self.env = request.env
        self.grace_s = grace_s
        self.run_id = uuid.uuid4().hex[:12]
        self.topic, self.control = f"autorun-status-{self.run_id}", f"autorun-control-{self.run_id}"
        self.shipments: list[Shipment] = [plan(item, request.child_args, shipping) for item in self.items]
        self.capacity: Capacity = capacity(client)
        self._capacity_at = time.monotonic()
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._futures: dict[str, Any] = {}
        self._index: dict[str, int] = {}
        self._attempts: dict[str, list[str]] = {}
        self._stopping = False
        self._beat: Beat | None = None

    def run(self) -> list[BatchItem]:
        """Every session to its end; on an interruption or a lost scheduler, stop them all and re-raise."""
        from distributed import Variable

        pending: deque[int] = deque()
        for number, shipment in enumerate(self.shipments):
            if shipment.problem:
                self._fail(shipment.item, shipment.problem, exit_code=2)
            else:
                pending.append(number)
        self.client.subscribe_topic(self.topic, lambda event: self._queue.put(("status", event[1])))
        self._beat = Beat(Variable(self.control, client=self.client))
        finished = False
        try:
            while pending or self._futures:
                self._check_connection()
                while pending and len(self._futures) < self._in_flight():
                    self._submit(pending.popleft())
                with contextlib.suppress(queue.Empty):
                    self._handle(*self._queue.get(timeout=0.5))
            finished = True
        except BaseException as exc:
            self._stop(lost=isinstance(exc, ClusterError))
            raise
        finally:
            self._close(finished)
        return self.items

    def _in_flight(self) -> int:
        if self.jobs is not None:
            return self.jobs
        if time.monotonic() - self._capacity_at > CAPACITY_REFRESH_S:
            with contextlib.suppress(Exception):
                fresh = capacity(self.client)
                self.capacity = Capacity(fresh.workers, fresh.slots, self.capacity.resource)
            self._capacity_at = time.monotonic()
        return max(1, 2 * self.capacity.slots)

    def _check_connection(self) -> None:
        if self.client.status != "running":
            raise ClusterError(f"lost the Dask scheduler at {self.address}")

    def _submit(self, number: int) -> None:
        shipment = self.shipments[number]
        key = f"autorun-session-{self.run_id}-{number}"
        try:
            spec = session_spec(shipment, self.shipping, key=key, topic=self.topic, control=self.control)
        except OSError as exc:
            self._fail(shipment.item, f"cannot read {exc.filename}: {exc.strerror}", exit_code=2)
            return
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sending large graph")  # the bytes are the point
            future = self.client.submit(
                run_session,
                spec,
                key=key,
                pure=False,
                retries=0,  # a session that ran is a result; a worker dying under it is retried by Dask
                resources={RESOURCE: 1} if self.capacity.resource else None,
            )
        self._futures[key] = future
        self._index[key] = number
        future.add_done_callback(lambda done: self._queue.put(("done", done.key)))

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "status" and isinstance(payload, dict):
            self._status(payload)
        elif kind == "done":
            self._done(str(payload))

    def _status(self, message: dict[str, Any]) -> None:
        key, attempt = str(message.get("key")), str(message.get("attempt"))
        if key not in self._index:
            return
        item = self.items[self._index[key]]
        seen = self._attempts.setdefault(key, [])
        if item.state in _FINISHED or (attempt in seen and attempt != seen[-1]):
            return  # a session already ended here, or an earlier attempt's late word
        if attempt not in seen:
            seen.append(attempt)
            item.attempts += 1
            item.worker = safe(message.get("name") or message.get("worker"))  # shown on the terminal
            item.block = item.blocks_ok = item.blocks_failed = 0
            item.started = time.monotonic()
        item.state = "running"
        item.block, item.blocks_ok, item.blocks_failed = (int(message.get(k) or 0) for k in ("block", "ok", "failed"))
        self.on_change(item)

    def _done(self, key: str) -> None:
        future = self._futures.pop(key, None)
        if future is None:
            return
        item = self.items[self._index[key]]
        try:
            if future.status == "finished":
                self._apply(self.shipments[self._index[key]], future.result())
            elif future.status == "error":
                self._fail(item, failure_reason(future.exception()))
            elif not self._stopping:
                self._check_connection()
                self._fail(item, "its task was cancelled on the cluster (by another client?)")
        finally:
            future.release()

    def _apply(self, shipment: Shipment, result: SessionResult) -> None:
        item = shipment.item
        back = bring_back(shipment, result, self.env)
        item.worker = safe(result.worker)
        item.attempts = max(item.attempts, 1)
        item.transcript = str(back.transcript) if back.transcript is not None else None
        for event in result.events:
            self.on_event(item, self._localised(item, event))
        item.blocks_ok, item.blocks_failed, item.exit_code = result.blocks_ok, result.blocks_failed, result.exit_code
        state, reason = result.state, result.reason
        if state == "done" and back.transcript is None:
            state = "failed"
        if back.problems:
            reason = "; ".join([reason, *back.problems]) if reason else "; ".join(back.problems)
        item.reason = f"on {item.worker}: {reason}" if state == "failed" else reason
        item.ended = time.monotonic()
        item.started = item.ended - result.duration_s
        item.state = state
        self.on_change(item)

    def _localised(self, item: BatchItem, event: dict[str, Any]) -> dict[str, Any]:
        """session_start/session_end as the user reads them here: this machine's paths, and the worker."""
        if event.get("event") not in _LOCALISED:
            return event
        return {**event, "work_dir": str(item.work_dir), "transcript": item.transcript, "worker": item.worker}

    def _fail(self, item: BatchItem, reason: str, exit_code: int | None = None) -> None:
        item.state, item.reason, item.exit_code = "failed", reason, exit_code
        item.ended = time.monotonic()
        item.started = item.started or item.ended
        self.on_change(item)

    def _stop(self, *, lost: bool) -> None:
        """Stop every session of the run, keeping what those that were running return as they stop."""
        self._stopping = True
        if not lost:
            if self._beat is not None:
                self._beat.end(stop=True)
                self._beat = None
            queued = [key for key, f in self._futures.items() if self.items[self._index[key]].state == "queued"]
            self._cancel(queued)
            deadline = time.monotonic() + self.grace_s + 15
            with contextlib.suppress(ClusterError):
                while self._futures and time.monotonic() < deadline:
                    with contextlib.suppress(queue.Empty):
                        self._handle(*self._queue.get(timeout=0.5))
            self._cancel(list(self._futures))
        for item in self.items:
            if item.state in ("queued", "running"):
                item.state, item.ended = "stopped", time.monotonic()
                item.reason = item.reason or ("the scheduler went away" if lost else "stopped")
                self.on_change(item)

    def _cancel(self, keys: list[str]) -> None:
        futures = [self._futures.pop(key) for key in keys if key in self._futures]
        if futures:
            with contextlib.suppress(Exception):
                self.client.cancel(futures, force=True)

    def _close(self, finished: bool) -> None:
        reachable = self.client.status == "running"
        if self._beat is not None:
            self._beat.end(stop=not finished, reachable=reachable)
        if reachable:
            with contextlib.suppress(Exception):
                self.client.unsubscribe_topic(self.topic)
