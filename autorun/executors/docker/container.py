"""How the session container is built: host config, setup packages, removal, peak memory."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from autorun.errors import ExecutorError
from autorun.executors.docker.agent import exec_capture
from autorun.executors.docker.mounts import WORKSPACE, data_path, mounts
from autorun.executors.docker.settings import DockerSettings
from autorun.executors.kernel.host import KernelDirs

__all__ = ["WORKSPACE", "data_path", "host_config"]


def host_config(
    settings: DockerSettings, work_dir: Path, exposed: Mapping[str, Path], kernel: KernelDirs | None = None
) -> dict[str, Any]:
    """Keyword arguments for `APIClient.create_host_config`: locked down unless settings say otherwise."""
    from docker.types import LogConfig, Ulimit

    s = settings
    tmpfs = f"rw,nosuid,nodev,size={s.tmpfs_size},{'exec' if s.setup else 'noexec'}"
    ulimits = [Ulimit(name="fsize", soft=s.max_file_size, hard=s.max_file_size)] if s.max_file_size else []
    if s.max_open_files:
        ulimits.append(Ulimit(name="nofile", soft=s.max_open_files, hard=s.max_open_files))
    return {
        "mounts": mounts(work_dir, exposed, kernel),
        "init": True,
        "auto_remove": True,
        "log_config": LogConfig(type="none"),  # output goes to autorun only, not into engine logs
        "network_mode": "bridge" if s.setup and s.network == "none" else s.network,
        "mem_limit": s.memory_bytes,
        "memswap_limit": s.memory_bytes,
        "nano_cpus": int(s.cpus * 1e9),
        "pids_limit": s.pids_limit,
        "read_only": s.read_only_root,
        "tmpfs": {"/tmp": tmpfs},
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "ulimits": ulimits,
    }


def install_setup(
    api: Any, container_id: str, python: str, settings: DockerSettings, notice: Callable[[str], None]
) -> None:
    """pip-install executor.setup with the network on; then, unless a network was configured, cut it."""
    packages = list(settings.setup)
    notice(f"installing setup packages in the container: {', '.join(packages)}")
    command = [python, "-m", "pip", "install", "--user", "--no-input", "--no-cache-dir"]
    command += ["--disable-pip-version-check", "--no-warn-script-location", "--progress-bar", "off"]
    code, output = exec_capture(
        api, container_id, [*command, *packages], environment={"PIP_BREAK_SYSTEM_PACKAGES": "1"}
    )
    if code != 0:
        lines = output.strip().splitlines()
        raise ExecutorError(
            f"Installing executor.setup packages ({', '.join(packages)}) failed: "
            f"{lines[-1] if lines else f'exit code {code}'}; check the package names and that "
            "the engine can reach the package index."
        )
    if settings.network == "none":
        disconnect_all(api, container_id)


def disconnect_all(api: Any, container_id: str) -> None:
    def networks() -> list[str]:
        return list(api.inspect_container(container_id)["NetworkSettings"]["Networks"] or {})

    for network in networks():
        api.disconnect_container_from_network(container_id, network, force=True)
    if networks():
        raise ExecutorError("Could not disconnect the container from its networks after setup.")


def remove_container(api: Any, container_id: str, within_s: float = 5.0) -> BaseException | None:
    """Force-remove a container (kill, no graceful stop); the error when that failed, else None.

    A 409 means the engine is already removing it (AutoRemove): wait until it is gone.
    """
    import docker.errors

    try:
        api.remove_container(container_id, force=True)
        return None
    except docker.errors.NotFound:
        return None
    except docker.errors.APIError as exc:
        if exc.status_code != 409:
            return exc
    except Exception as exc:
        return exc
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            api.inspect_container(container_id)
        except docker.errors.NotFound:
            return None
        except Exception as exc:
            return exc
        time.sleep(0.02)
    return None


def container_peak_memory(container_id: str) -> int | None:
    """The container's memory high-water mark, from its cgroup on this host (cgroupfs or systemd
    driver, cgroup v1 or v2); None for a remote engine or a layout not found."""
    from autorun.executors.host.memory import cgroup_peak

    found = container_cgroup(container_id, "memory")
    return cgroup_peak(*found) if found is not None else None


def container_cgroup(container_id: str, controller: str) -> tuple[Path, int] | None:
    """The container's cgroup for ``controller`` on this host and its version (cgroupfs or systemd
    driver, cgroup v1 or v2); None for a remote engine or a layout not found."""
    from autorun.executors.host.cgroups import mounts_with

    for mount, version in mounts_with(controller):
        for relative in (f"docker/{container_id}", f"system.slice/docker-{container_id}.scope"):
            if (mount / relative).is_dir():
                return mount / relative, version
    return None
