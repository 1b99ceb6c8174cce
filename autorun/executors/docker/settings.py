"""The Docker executor's settings: locked down by default, each one configurable under `executor:`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from autorun.errors import ConfigError
from autorun.units import parse_size

DEFAULT_IMAGE = "autorun-runtime:1"  # image.RUNTIME_IMAGE, built by `autorun image build`
GiB = 1024**3


def host_user() -> str:
    """The uid:gid of the user running autorun, so files written in the work dir belong to them."""
    return f"{os.getuid()}:{os.getgid()}"


@dataclass(frozen=True)
class DockerSettings:
    image: str = DEFAULT_IMAGE
    pull: bool = True
    network: str = "none"
    memory: str = "1g"
    cpus: float = 1.0
    pids_limit: int = 256
    read_only_root: bool = True
    tmpfs_size: str = "256m"
    user: str = field(default_factory=host_user)
    max_file_size: int | None = GiB
    max_open_files: int | None = 1024
    setup: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problem = self._problem()
        if problem:
            raise ConfigError(f"executor.{problem}.")

    def _problem(self) -> str | None:
        for key in ("memory", "tmpfs_size"):
            try:
                parse_size(getattr(self, key))
            except ValueError as exc:
                return f"{key} {exc}, got {getattr(self, key)!r}"
        if not self.image.strip():
            return "image must not be empty"
        if not self.network.strip():
            return "network must be a Docker network name such as none or bridge"
        if self.cpus <= 0:
            return f"cpus must be a positive number, got {self.cpus}"
        if self.pids_limit <= 0:
            return f"pids_limit must be a positive number, got {self.pids_limit}"
        if self.max_file_size is not None and self.max_file_size <= 0:
            return f"max_file_size must be a positive number of bytes or null, got {self.max_file_size}"
        if self.max_open_files is not None and self.max_open_files <= 0:
            return f"max_open_files must be a positive number or null, got {self.max_open_files}"
        return None

    @property
    def memory_bytes(self) -> int:
        return parse_size(self.memory)


def settings_from_config(executor_config: Any) -> DockerSettings:
    """DockerSettings from the `executor:` config section.

    Keys the section lacks keep their defaults; `user: null` means the host user and
    `max_file_size: null` and `max_open_files: null` mean no limit.
    """
    values: dict[str, Any] = {}
    for name in DockerSettings.__dataclass_fields__:
        if not hasattr(executor_config, name):
            continue
        value = getattr(executor_config, name)
        if value is None and name not in ("max_file_size", "max_open_files"):
            continue
        if name == "setup":
            value = tuple(value)
        elif name in ("memory", "tmpfs_size"):
            value = str(value)
        values[name] = value
    return DockerSettings(**values)
