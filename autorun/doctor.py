"""`autorun doctor`: checks of Python, the executors (sandbox, limits, Docker), the key and the endpoint."""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from autorun.config.model_choice import ModelKind
from autorun.config.schema import Config
from autorun.executors.docker.engine import engine_host, engine_problem, how_to_get_image
from autorun.session.components import NEEDS_BWRAP, NEEDS_DOCKER_ENGINE, executor_needs

if TYPE_CHECKING:
    from docker import DockerClient

Status = Literal["ok", "warn", "fail", "skip"]
ENDPOINT_TIMEOUT_S = 5.0
MIN_PYTHON = (3, 11)


@dataclass(frozen=True)
class DoctorCheck:
    """One row of `autorun doctor`: what was checked, how it went, and how to fix a problem."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "skip")


def run_doctor(config: Config, env: Mapping[str, str] | None = None) -> list[DoctorCheck]:
    """Check what autorun needs with this configuration; every failing row says how to fix it."""
    env = os.environ if env is None else env
    checks = [
        python_check(),
        sandbox_check(config),
        memory_check(config),
        disk_check(config),
        record_check(config, env),
    ]
    client, engine_check = _engine_check(config, env)
    checks += [engine_check, _image_check(config, client), _api_key_check(config, env)]
    if config.model.base_url:
        checks.append(_endpoint_check(config.model.base_url, env.get(config.model.api_key_env)))
    if client is not None:
        client.close()
    return checks


def python_check(version_info: tuple[int, ...] = tuple(sys.version_info[:3])) -> DoctorCheck:
    version = ".".join(str(part) for part in version_info[:3])
    if tuple(version_info[:2]) >= MIN_PYTHON:
        return DoctorCheck("Python", "ok", f"{version} ({sys.executable})")
    return DoctorCheck("Python", "fail", f"{version} is too old", "install Python 3.11 or newer")


def sandbox_check(config: Config) -> DoctorCheck:
    """Whether the bwrap sandbox works here: what `executor.type: auto` picks, and why."""
    from autorun.executors.sandbox.bwrap import INSTALL_HINT, sandbox_status

    works, why = sandbox_status()
    kind = config.executor.type
    if works:
        used = "used by executor.type auto" if kind == "auto" else f"available (executor.type is {kind})"
        return DoctorCheck("Sandbox (bwrap)", "ok", f"{why}; {used}")
    status: Status = "fail" if NEEDS_BWRAP in executor_needs(kind) else "warn"
    if "not installed" in why:
        fix = INSTALL_HINT
    elif "AppArmor" in why:
        fix = "sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile for bwrap"
    else:
        fix = "allow user namespaces (sysctl user.max_user_namespaces), or use --docker IMAGE"
    detail = f"{why}; auto runs code locally instead" if kind == "auto" else why
    return DoctorCheck("Sandbox (bwrap)", status, detail, fix)


def memory_check(config: Config) -> DoctorCheck:
    """Which mechanism enforces executor.memory for local and sandbox blocks on this machine."""
    from autorun.executors.host.memory import memory_limiter

    limiter = memory_limiter(config.executor.memory)
    try:
        mechanism = limiter.mechanism
    finally:
        limiter.close()
    detail = f"executor.memory {config.executor.memory} by {mechanism} (docker: the container's limit)"
    if mechanism.startswith("watchdog"):
        return DoctorCheck(
            "Memory limit",
            "warn",
            detail,
            "run as root or in a delegated cgroup v2 slice (systemd-run --user --scope) for a hard limit",
        )
    return DoctorCheck("Memory limit", "ok", detail)


def disk_check(config: Config) -> DoctorCheck:
    """The work dir's free space against executor.min_free_disk."""

    from autorun.executors.disk import free_bytes
    from autorun.units import human_size

    ex = config.executor
    work_dir = Path(ex.work_dir).expanduser().resolve()
    probe = next((p for p in (work_dir, *work_dir.parents) if p.exists()), Path("/"))
    free = free_bytes(probe)
    detail = f"{human_size(free)} free at {probe}; executor.disk {ex.disk or 'unlimited'}, floor {ex.min_free_disk}"
    if ex.min_free_disk is not None and free < ex.min_free_disk:
        return DoctorCheck("Disk", "fail", detail, "free some space or lower executor.min_free_disk")
    return DoctorCheck("Disk", "ok", detail)


def record_check(config: Config, env: Mapping[str, str]) -> DoctorCheck:
    """Where sessions are recorded (autorun's state dir): writable, and apart from the work dir."""
    from autorun.errors import ConfigError
    from autorun.record.state import STATE_DIR_ENV, check_apart, state_root

    root = state_root(env)
    try:
        check_apart(Path(config.executor.work_dir).expanduser(), env)
    except ConfigError as err:
        return DoctorCheck("Session record", "fail", str(err), f"set {STATE_DIR_ENV}, or choose another work dir")
    existing = next(p for p in (root, *root.parents) if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        return DoctorCheck(
            "Session record", "fail", f"{existing} is not writable", f"set {STATE_DIR_ENV} to a writable directory"
        )
    return DoctorCheck("Session record", "ok", f"transcripts in {root}/workdirs/ (no executor shows it)")


def _docker_needed(config: Config) -> Status:
    return "fail" if NEEDS_DOCKER_ENGINE in executor_needs(config.executor.type) else "warn"


def _engine_check(config: Config, env: Mapping[str, str]) -> tuple[DockerClient | None, DoctorCheck]:
    host = engine_host(env)
    try:
        import docker
        import requests.exceptions
    except ImportError:
        return None, DoctorCheck(
            "Docker engine", _docker_needed(config), "the docker package is not installed", "pip install docker"
        )
    try:
        client = docker.from_env(environment=dict(env))
        version = client.version()
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        problem, hint = engine_problem(exc, host)
        return None, DoctorCheck("Docker engine", _docker_needed(config), problem, hint)
    detail = f"{version.get('Version', '?')} (API {version.get('ApiVersion', '?')}) at {host}"
    return client, DoctorCheck("Docker engine", "ok", detail)


def _image_check(config: Config, client: DockerClient | None) -> DoctorCheck:
    image = config.executor.image
    name = f"Default image {image}"
    if client is None:
        return DoctorCheck(name, "skip", "not checked: no Docker engine")
    import docker.errors

    try:
        found = client.images.get(image)
    except docker.errors.ImageNotFound:
        found = None
    except docker.errors.APIError as exc:
        return DoctorCheck(name, _docker_needed(config), f"cannot inspect it ({exc.explanation})")
    if found is not None:
        size = found.attrs.get("Size", 0) / 1024**2
        return DoctorCheck(name, "ok", f"present ({found.short_id}, {size:.0f} MB)")
    pull = config.executor.pull
    status: Status = "fail" if not pull and NEEDS_DOCKER_ENGINE in executor_needs(config.executor.type) else "warn"
    detail = "not present; it will be pulled on first use" if pull else "not present and pulling is disabled"
    return DoctorCheck(name, status, detail, how_to_get_image(image))


def _api_key_check(config: Config, env: Mapping[str, str]) -> DoctorCheck:
    variable = config.model.api_key_env
    name = f"API key ${variable}"
    if env.get(variable):
        return DoctorCheck(name, "ok", "set (value not shown)")
    model = config.model.name
    kind = config.model.choice.kind
    if kind in (ModelKind.BUILTIN, ModelKind.REPLAY):
        return DoctorCheck(name, "skip", f"not set; not needed for model {model}")
    fix = f"export {variable}=... (or run offline with --model builtin)"
    if kind is ModelKind.AUTO:
        return DoctorCheck(name, "warn", "not set: model auto will use the builtin offline analyst", fix)
    if config.model.base_url:
        return DoctorCheck(name, "warn", "not set; fine if the endpoint needs no key", fix)
    return DoctorCheck(name, "fail", f"not set, and model {model} needs it", fix)


def _endpoint_check(base_url: str, key: str | None) -> DoctorCheck:
    name = "Model endpoint"
    url = base_url.rstrip("/") + "/models"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=ENDPOINT_TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return DoctorCheck(
            name, "fail", f"{base_url} is not reachable ({reason})", "start the server or fix model.base_url"
        )
    elapsed_ms = (time.monotonic() - started) * 1000
    if status in (401, 403):
        return DoctorCheck(
            name, "warn", f"{base_url} answers but refuses the key (HTTP {status})", "check the API-key variable"
        )
    return DoctorCheck(name, "ok", f"{base_url} answers (HTTP {status}, {elapsed_ms:.0f} ms)")
