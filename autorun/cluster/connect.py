"""Reaching a Dask scheduler, and what its cluster offers: the workers and how many sessions they take."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from autorun.errors import ClusterError, ConfigError

RESOURCE = "autorun"  # `dask worker --resources autorun=K`: at most K sessions on that worker at once
INSTALL_HINT = "pip install 'autorun[cluster]'"


def quiet_distributed() -> None:
    """distributed logs connection trouble (several lines each) on stderr; autorun says it in one line.

    Its logging config gives some of its loggers levels of their own, so each is silenced."""
    names = [name for name in logging.root.manager.loggerDict if name.split(".")[0] == "distributed"]
    for name in {"distributed", *names}:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _probe(address: str, timeout: float) -> None:
    """Open and close one connection to the scheduler (a Client whose connection failed would, when
    collected, spend seconds closing and print a traceback: it is made only once this works)."""
    import asyncio

    from distributed.comm import connect as open_comm

    async def probe() -> None:
        comm = await open_comm(address, timeout=timeout)
        await comm.close()

    asyncio.run(probe())


def connect(address: str, timeout: float) -> Any:
    """A connected ``distributed.Client``; ClusterError (exit 3) when the scheduler does not answer."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(f"--cluster needs Dask's distributed package: {INSTALL_HINT}") from None
    quiet_distributed()
    try:
        _probe(address, timeout)
        return Client(address, timeout=timeout, set_as_default=False, name="autorun")
    except Exception as exc:  # whatever answered (or nothing did), it is not a scheduler autorun can use
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} ({_first_line(exc)}); check the address "
            "(e.g. tcp://scheduler:8786) and that `dask scheduler` runs there"
        ) from None


@dataclass(frozen=True)
class Capacity:
    workers: tuple[str, ...]  # the workers that take sessions, by name
    slots: int  # sessions they take at once
    resource: bool  # sessions need one unit of RESOURCE each (some worker declares it)

    def describe(self) -> str:
        if not self.workers:
            return "no worker has joined yet: sessions wait for one"
        names = ", ".join(self.workers[:4]) + (", ..." if len(self.workers) > 4 else "")
        plural = "s" if len(self.workers) != 1 else ""
        how = f"{RESOURCE} resource" if self.resource else "threads"
        return f"{len(self.workers)} worker{plural} ({names}), {self.slots} sessions at once by their {how}"


def capacity(client: Any) -> Capacity:
    """Where any worker declares the ``autorun`` resource, only those take sessions, each as many as it
    declares; otherwise every worker takes as many as it has threads."""
    workers = list(client.scheduler_info().get("workers", {}).values())
    declaring = [w for w in workers if RESOURCE in (w.get("resources") or {})]
    chosen = declaring or workers
    if declaring:
        slots = sum(int(w["resources"][RESOURCE]) for w in declaring)
    else:
        slots = sum(int(w.get("nthreads") or 1) for w in workers)
    names = tuple(str(w.get("name") or w.get("id") or "?") for w in chosen)
    return Capacity(names, slots, bool(declaring))
