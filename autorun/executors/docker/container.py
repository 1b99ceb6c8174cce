"""How the session container is built: host config, mount points, setup packages."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from autorun.errors import ExecutorError
from autorun.executors.docker.agent import exec_capture
from autorun.executors.docker.settings import DockerSettings

WORKSPACE = "/workspace"
DATA_DIR = "data"
# autorun's own package, bind-mounted read-only at RUNTIME_MOUNT/autorun: the builtin analyst's blocks
# import its runtime from there, so it is always the code of the autorun that runs the session.
RUNTIME_MOUNT = "/opt/autorun"


def data_path(name: str) -> str:
    return f"{WORKSPACE}/{DATA_DIR}/{name}"


def host_config(
    settings: DockerSettings, work_dir: Path, exposed: Mapping[str, Path], kernel_dir: Path | None = None
) -> dict[str, Any]:
    """Keyword arguments for `APIClient.create_host_config`: locked down unless settings say otherwise."""
    from docker.types import LogConfig, Mount, Ulimit

    s = settings
    mounts = [Mount(WORKSPACE, str(work_dir), type="bind", read_only=False)]
    mounts += [Mount(data_path(name), str(path), type="bind", read_only=True) for name, path in exposed.items()]
    mounts.append(Mount(f"{RUNTIME_MOUNT}/autorun", str(package_dir()), type="bind", read_only=True))
    if kernel_dir is not None:  # the kernel's private ipc socket directory (kernel.py)
        from autorun.executors.docker.kernel import KERNEL_DIR

        mounts.append(Mount(KERNEL_DIR, str(kernel_dir), type="bind", read_only=False))
    tmpfs = f"rw,nosuid,nodev,size={s.tmpfs_size},{'exec' if s.setup else 'noexec'}"
    ulimits = [Ulimit(name="fsize", soft=s.max_file_size, hard=s.max_file_size)] if s.max_file_size else []
    if s.max_open_files:
        ulimits.append(Ulimit(name="nofile", soft=s.max_open_files, hard=s.max_open_files))
    return {
        "mounts": mounts,
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


def package_dir() -> Path:
    import autorun

    return Path(autorun.__file__).resolve().parent


def prepare_mount_points(work_dir: Path, names: list[str]) -> list[Path]:
    """Create the work dir, and the exposed files' mount points as the host user's own empty files.

    Returns what was created, for `remove_mount_points`; otherwise the engine would create
    them, owned by root, and leave them behind.
    """
    created: list[Path] = []
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        if not names:
            return created
        data_dir = work_dir / DATA_DIR
        planted = [path for path in (data_dir, *(data_dir / name for name in names)) if path.is_symlink()]
        if planted:
            raise ExecutorError(
                f"{planted[0]} is a symlink (left by earlier code?); remove it so autorun can mount the data there."
            )
        if not data_dir.exists():
            data_dir.mkdir()
            created.append(data_dir)
        for name in names:
            target = data_dir / name
            if not target.exists():
                target.touch()
                created.append(target)
    except OSError as exc:
        remove_mount_points(created)
        raise ExecutorError(
            f"Cannot prepare the work directory {work_dir}: {exc.strerror or exc}; choose a writable executor.work_dir."
        ) from exc
    return created


def remove_mount_points(created: list[Path]) -> None:
    """Remove the mount points `prepare_mount_points` made, if they are still empty."""
    for path in reversed(created):
        with contextlib.suppress(OSError):
            if path.is_dir():
                path.rmdir()
            elif path.stat().st_size == 0:
                path.unlink()


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
    from autorun.executors.memory import cgroup_mounts, cgroup_peak

    for mount, fstype, options in cgroup_mounts():
        if fstype == "cgroup2":
            version = 2
        elif fstype == "cgroup" and "memory" in options.split(","):
            version = 1
        else:
            continue
        for relative in (f"docker/{container_id}", f"system.slice/docker-{container_id}.scope"):
            if (Path(mount) / relative).is_dir():
                return cgroup_peak(Path(mount) / relative, version)
    return None
