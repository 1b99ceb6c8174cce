"""The Docker executor's settings, each one a key of `executor:` (the config schema holds their defaults)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from autorun.units import ByteSize

DEFAULT_IMAGE = "autorun-runtime:1"  # image.RUNTIME_IMAGE, built by `autorun image build`; executor.image's default


def host_user() -> str:
    """The uid:gid of the user running autorun, so files written in the work dir belong to them."""
    return f"{os.getuid()}:{os.getgid()}"


@dataclass(frozen=True)
class DockerSettings:
    """Validated values: built from the config by ``autorun.session.executor_settings.docker_settings``."""

    image: str
    pull: bool
    network: str
    memory: ByteSize
    cpus: float
    pids_limit: int
    read_only_root: bool
    tmpfs_size: ByteSize
    user: str  # uid:gid
    max_file_size: int | None
    max_open_files: int | None
    setup: tuple[str, ...]

    @property
    def memory_bytes(self) -> int:
        return int(self.memory)
