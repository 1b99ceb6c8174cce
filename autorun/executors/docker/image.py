"""autorun's runtime image: a Python base with pandas, pyarrow, DuckDB, matplotlib, ipykernel and openpyxl.

``autorun image build`` makes it. The wheels are downloaded on this host by pip, for the base
image's Python and this machine's architecture, and copied into the build, so the build itself
needs no network and no image registry: it works from a base image built locally (CI's
Debian image) as well as from Docker Hub's ``python:3.11-slim`` on a machine with network.
The Docker executor's default image is this tag; the builtin's code itself is never baked in
(it is bind-mounted read-only from the running autorun, so image and code never drift apart).
"""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from autorun.errors import ExecutorError
from autorun.executors.docker.agent import exec_capture
from autorun.executors.docker.settings import DEFAULT_IMAGE

RUNTIME_IMAGE = DEFAULT_IMAGE
DEFAULT_BASE = "python:3.11-slim"
RECIPE_REVISION = "1"
RUNTIME_PACKAGES = ("pandas", "pyarrow", "duckdb", "matplotlib", "ipykernel", "openpyxl")
NEEDED_MODULES = ("pandas", "duckdb", "ipykernel")  # what a session misses most: checked at its start
DOCKERFILE = """\
FROM {base}
COPY wheels /tmp/autorun-wheels
ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python3 -m pip install --no-index --find-links /tmp/autorun-wheels --ignore-installed --no-warn-script-location \\
        {packages} \\
    && rm -rf /tmp/autorun-wheels \\
    && python3 -c "import pandas, pyarrow, duckdb, matplotlib, ipykernel, openpyxl"
LABEL autorun.runtime="{revision}"
CMD ["python3"]
"""
Progress = Callable[[str], None]


def requirements() -> list[str]:
    """The packages, pinned to the versions installed beside autorun where they are (tested together)."""
    pinned = []
    for name in RUNTIME_PACKAGES:
        try:
            pinned.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pinned.append(name)
    return pinned


def platforms(machine: str | None = None) -> list[str]:
    """pip's --platform tags for Linux wheels of this architecture (manylinux2014 up to glibc 2.36)."""
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get((machine or platform.machine()).lower(), machine or "x86_64")
    return [f"manylinux2014_{arch}"] + [f"manylinux_2_{minor}_{arch}" for minor in range(17, 37)]


def base_python(client: object, base: str) -> str:
    """'3.11': the base image's Python version (asked from a throwaway container)."""
    try:
        output = client.containers.run(  # type: ignore[attr-defined]
            base,
            ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            remove=True,
            network_mode="none",
        )
    except Exception as exc:
        raise ExecutorError(
            f"The base image {base} cannot run python3 ({str(exc).splitlines()[0]}); choose another --base."
        ) from exc
    return output.decode().strip()


def download_wheels(target: Path, python: str, progress: Progress) -> None:
    """Download the wheels for Python ``python`` into ``target`` with this host's pip."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(target)]
    command += ["--python-version", python, "--implementation", "cp"]
    for tag in platforms():
        command += ["--platform", tag]
    packages = requirements()
    progress(f"downloading wheels for Python {python}: {', '.join(packages)}")
    proc = subprocess.run([*command, *packages], capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        raise ExecutorError(
            f"Downloading the runtime image's wheels failed ({lines[-1] if lines else proc.returncode}); "
            "check that pip can reach the package index."
        )


def build_runtime_image(
    tag: str = RUNTIME_IMAGE, base: str = DEFAULT_BASE, *, env: Mapping[str, str] | None = None, progress: Progress
) -> str:
    """Build the runtime image ``tag`` from ``base``; its image id. Progress goes to ``progress``, line by line."""
    from autorun.executors.docker.engine import connect, ensure_image

    client = connect(env)
    ensure_image(client, base, pull=True, on_notice=progress)
    python = base_python(client, base)
    context = Path(tempfile.mkdtemp(prefix="autorun-image-"))
    try:
        download_wheels(context / "wheels", python, progress)
        names = " ".join(name for name in RUNTIME_PACKAGES)
        (context / "Dockerfile").write_text(DOCKERFILE.format(base=base, packages=names, revision=RECIPE_REVISION))
        progress(f"building {tag} from {base}")
        image_id = ""
        for event in client.api.build(path=str(context), tag=tag, rm=True, forcerm=True, decode=True):
            if "error" in event:
                raise ExecutorError(f"Building {tag} failed: {str(event['error']).strip().splitlines()[-1]}")
            text = str(event.get("stream", "")).strip()
            if text.startswith("Step ") or text.startswith("Successfully"):
                progress(text)
            if "aux" in event and isinstance(event["aux"], dict):
                image_id = str(event["aux"].get("ID", image_id))
        return image_id or str(client.images.get(tag).id)
    finally:
        shutil.rmtree(context, ignore_errors=True)


def missing_modules_command(python: str) -> list[str]:
    """A command run in the container that prints the needed modules it cannot find (from /, not the work dir)."""
    check = (
        "import importlib.util, os, sys; os.chdir('/'); "
        f"sys.path[:] = [p for p in sys.path if p not in ('', '.', '/workspace')]; "
        f"print(' '.join(m for m in {NEEDED_MODULES!r} if importlib.util.find_spec(m) is None))"
    )
    return [python, "-c", check]


def check_modules(api: object, container_id: str, python: str, image: str, notice: Progress) -> None:
    """Say in one line at the session's start what the image lacks of pandas, DuckDB and ipykernel, and the fix."""
    code, output = exec_capture(api, container_id, missing_modules_command(python))
    missing = output.split() if code == 0 else []
    if missing:
        notice(missing_line(image, missing))


def missing_line(image: str, missing: list[str]) -> str:
    """The one line said at session start when the image lacks what autorun's code needs."""
    fix = "autorun image build" if image == RUNTIME_IMAGE else f"autorun image build, then drop --docker {image}"
    return (
        f"Docker image {image} has no {', '.join(missing)}: the builtin analyst and pandas code need them; "
        f"build autorun's runtime image with `{fix}` (the Docker executor's default image, {RUNTIME_IMAGE})"
    )
