"""Talking to the Docker engine: connect, explain engine failures, make sure an image is present."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from autorun.errors import ExecutorError
from autorun.units import human_size

if TYPE_CHECKING:
    from docker import DockerClient

NoticeFn = Callable[[str], None]
DEFAULT_HOST = "unix:///var/run/docker.sock"
START_HINT = (
    "start Docker (`sudo systemctl start docker`, or `scripts/docker-test-env.sh` in a source checkout) "
    "or point DOCKER_HOST at a running engine"
)
PERMISSION_HINT = (
    "add your user to the docker group (`sudo usermod -aG docker $USER`, then log in again) "
    "or point DOCKER_HOST at an engine you may use"
)
_PROGRESS_EVERY_S = 0.5


def engine_host(env: Mapping[str, str] | None) -> str:
    return (env or {}).get("DOCKER_HOST") or DEFAULT_HOST


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def engine_problem(exc: BaseException, host: str) -> tuple[str, str]:
    """(what is wrong, what to do) for an exception raised while talking to the engine."""
    chain = _causes(exc)
    text = " ".join(str(item) for item in chain)
    if any(isinstance(item, PermissionError) for item in chain) or "Permission denied" in text:
        return f"permission denied on the Docker socket {host}", PERMISSION_HINT
    if any(isinstance(item, FileNotFoundError) for item in chain) or "No such file or directory" in text:
        return f"no Docker engine is running at {host} (the socket does not exist)", START_HINT
    if any(isinstance(item, ConnectionRefusedError) for item in chain) or "Connection refused" in text:
        return f"the Docker engine at {host} is not running (connection refused)", START_HINT
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"cannot reach the Docker engine at {host} ({reason})", START_HINT


def engine_error(exc: BaseException, env: Mapping[str, str] | None, *, during: str = "") -> ExecutorError:
    """One sentence (plus a hint) for an engine that cannot be used; ``during`` says when it broke."""
    host = engine_host(env)
    problem, hint = engine_problem(exc, host)
    if during:
        problem = f"lost the Docker engine {during}: {problem}"
    return ExecutorError(f"{problem[0].upper()}{problem[1:]}; {hint}.")


def is_connection_failure(exc: BaseException) -> bool:
    """True when ``exc`` means the engine itself is unreachable (not an API error it answered)."""
    import docker.errors
    import requests.exceptions

    if isinstance(exc, docker.errors.APIError):
        return False
    return isinstance(exc, requests.exceptions.RequestException | docker.errors.DockerException | OSError)


def connect(env: Mapping[str, str] | None = None) -> DockerClient:
    """A client for the engine named by DOCKER_HOST in ``env`` (default: the local socket), checked alive."""
    try:
        import docker
    except ImportError as exc:
        raise ExecutorError(
            "The docker Python package is not installed; install it with `pip install docker`."
        ) from exc
    import requests.exceptions

    try:
        client = docker.from_env(environment=dict(env) if env is not None else None)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        raise engine_error(exc, env) from exc
    return client


def how_to_get_image(image: str) -> str:
    from autorun.executors.docker.settings import DEFAULT_IMAGE

    if image == DEFAULT_IMAGE:
        return "build it with `autorun image build` (autorun's runtime image: pandas, DuckDB, ipykernel)"
    return (
        f"pull it (`docker pull {image}`), build it (`docker build -t {image} .`) "
        f"or load it (`docker load -i IMAGE.tar`); in a source checkout, "
        "`scripts/docker-test-env.sh` builds the offline test image python:3.11-slim"
    )


def ensure_image(client: DockerClient, image: str, *, pull: bool, on_notice: NoticeFn) -> None:
    """Use a local image as is; pull a missing one (reporting progress) unless ``pull`` is False."""
    import docker.errors

    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    from autorun.executors.docker.settings import DEFAULT_IMAGE

    if not pull or image == DEFAULT_IMAGE:  # autorun's runtime image is built here, never pulled
        raise ExecutorError(
            f"Docker image {image} is not present locally and pulling is disabled; {how_to_get_image(image)}."
        )
    on_notice(f"pulling Docker image {image} (not present locally)")
    try:
        _pull(client, image, on_notice)
        client.images.get(image)
    except docker.errors.APIError as exc:
        reason = (exc.explanation or str(exc)).strip().splitlines()[0]
        raise ExecutorError(f"Cannot pull Docker image {image} ({reason}); {how_to_get_image(image)}.") from exc


def _pull(client: DockerClient, image: str, on_notice: NoticeFn) -> None:
    import docker.errors
    from docker.utils import parse_repository_tag

    repo, tag = parse_repository_tag(image)
    if tag is None:
        tag = "latest"
    layers: dict[str, tuple[int, int]] = {}
    last_report = time.monotonic()
    for event in client.api.pull(repo, tag=tag, stream=True, decode=True):
        if "error" in event:
            raise docker.errors.APIError(event["error"], explanation=event["error"])
        _track_layer(layers, event)
        if time.monotonic() - last_report >= _PROGRESS_EVERY_S and layers:
            last_report = time.monotonic()
            on_notice(_progress_text(image, layers))
    if layers:
        on_notice(_progress_text(image, layers))


def _track_layer(layers: dict[str, tuple[int, int]], event: Mapping[str, Any]) -> None:
    detail = event.get("progressDetail") or {}
    layer = event.get("id")
    if layer and event.get("status") == "Downloading" and detail.get("total"):
        layers[layer] = (int(detail.get("current", 0)), int(detail["total"]))
    elif layer and event.get("status") in ("Download complete", "Pull complete") and layer in layers:
        layers[layer] = (layers[layer][1], layers[layer][1])


def _progress_text(image: str, layers: Mapping[str, tuple[int, int]]) -> str:
    done = sum(current for current, _ in layers.values())
    total = sum(size for _, size in layers.values())
    percent = int(100 * done / total) if total else 0
    return f"pulling {image}: {percent}% of {human_size(total)}"


def first_line(exc: BaseException) -> str:
    """The first line of an engine error's explanation (or of the exception), for a one-line message."""
    text = str(getattr(exc, "explanation", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def engine_failures(during: str, host_env: Mapping[str, str]) -> Iterator[None]:
    """Turn engine failures into one ExecutorError saying when they happened."""
    import docker.errors

    try:
        yield
    except ExecutorError:
        raise
    except docker.errors.APIError as exc:
        raise ExecutorError(
            f"The Docker engine refused a request {during} ({first_line(exc)}); "
            "`docker ps -a` shows the container and `autorun clean` removes it."
        ) from exc
    except Exception as exc:
        if is_connection_failure(exc):
            raise engine_error(exc, host_env, during=during) from exc
        raise
