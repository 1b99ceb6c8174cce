"""``--cluster``: a batch's or an eval's sessions on a Dask cluster instead of this machine."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from autorun.batch.runner import RunnerFactory


def value_options(ctx: typer.Context) -> frozenset[str]:
    """Every spelling of the command's options that take a value (the argument after them)."""
    from typer.core import TyperOption

    return frozenset(
        spelling
        for param in ctx.command.params
        if isinstance(param, TyperOption) and not param.is_flag
        for spelling in (*param.opts, *param.secondary_opts)
    )


def on_cluster_or_here(
    loaded: Any, ctx: typer.Context, *, keep_events: bool, announce: bool, run: Callable[[RunnerFactory | None], int]
) -> int:
    """``run`` with the cluster's runner when cluster.address is set (connected first: exit 3 when the
    scheduler does not answer), else with None (this machine's)."""
    settings = loaded.config.cluster
    if settings.address is None:
        return run(None)
    from autorun.cluster import open_cluster

    with open_cluster(settings) as cluster:
        if announce:
            typer.echo(f"cluster {settings.address}: {cluster.capacity.describe()}", err=True)
        return run(cluster.runners(loaded.config, os.environ, value_options(ctx), keep_events=keep_events))
