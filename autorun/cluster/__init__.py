"""Batches and eval on a Dask cluster (``autorun[cluster]``): each session one task on a worker.

The parts: :mod:`~autorun.cluster.connect` reaches the scheduler and reads what the cluster
offers; :mod:`~autorun.cluster.shipping` plans what each session sends (files, arguments, the
effective configuration, the chosen variables); :mod:`~autorun.cluster.worker` is the task a
worker runs (one ordinary ``autorun analyse`` child, in the worker's own sandbox or Docker);
:mod:`~autorun.cluster.copyback` writes what comes back; :mod:`~autorun.cluster.runner` drives
the tasks from the client. :func:`open_cluster` puts them behind the batch's runner seam.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from autorun.batch.runner import RunnerFactory
from autorun.cluster.connect import Capacity, capacity, connect
from autorun.config.schema import ClusterConfig, Config


@dataclass(frozen=True)
class Cluster:
    """A connected scheduler: it makes the runners that put a batch's or an eval's sessions on it."""

    client: Any
    address: str
    capacity: Capacity

    def runners(
        self, config: Config, env: Mapping[str, str], value_options: Collection[str], *, keep_events: bool
    ) -> RunnerFactory:
        """The runner seam for ``run_batch`` / ``run_eval``; ``value_options``: the options that take the
        next argument as their value (so a file named after one is found and sent)."""
        from autorun.cluster.runner import ClusterRunner
        from autorun.cluster.shipping import shipping_for

        shipping = shipping_for(config, env, value_options, keep_events=keep_events)

        return lambda request: ClusterRunner(self.client, self.address, shipping, request)


@contextlib.contextmanager
def open_cluster(settings: ClusterConfig) -> Iterator[Cluster]:
    """Connect to ``settings.address`` (ClusterError, exit 3, when it does not answer) and close after."""
    if settings.address is None:
        raise ValueError("open_cluster needs cluster.address")
    client = connect(settings.address, settings.connect_timeout)
    try:
        yield Cluster(client, settings.address, capacity(client))
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=2)
