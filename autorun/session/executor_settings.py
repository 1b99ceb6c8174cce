"""Executor settings built field by field from the validated config: no defaults or checks of their own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autorun.config.schema import ExecutorConfig

if TYPE_CHECKING:
    from autorun.executors.docker.settings import DockerSettings


def docker_settings(ex: ExecutorConfig) -> DockerSettings:
    """``user: null`` is the host user; ``max_file_size: null`` and ``max_open_files: null`` are no limit."""
    from autorun.executors.docker.settings import DockerSettings, host_user

    return DockerSettings(
        image=ex.image,
        pull=ex.pull,
        network=ex.network,
        memory=ex.memory,
        cpus=ex.cpus,
        pids_limit=ex.pids_limit,
        read_only_root=ex.read_only_root,
        tmpfs_size=ex.tmpfs_size,
        user=ex.user or host_user(),
        max_file_size=ex.max_file_size,
        max_open_files=ex.max_open_files,
        setup=tuple(ex.setup),
    )
