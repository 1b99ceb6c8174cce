"""`autorun clean`: find what sessions left on this machine, and remove what dead sessions left.

A session's executor makes three kinds of host resources, each carrying its owner (the
autorun process: pid, start time and scope, see owner.py): its host directory in $TMPDIR
(hostdir.py), memory and pids cgroups (memory.py, pids.py) and, for Docker, the session
container (label ``autorun.owner``). A resource whose owner is dead is a leftover (autorun
was SIGKILLed, or the machine lost power) and ``clean`` removes it; one whose owner lives
belongs to a running session and is left alone unless ``stop_live``; one whose owner
autorun cannot judge (another pid namespace, or a container from an autorun too old to
label its owner) is left alone too unless ``stop_live``. Removal never follows a link:
directories go through nofollow.remove_tree; a cgroup's processes are killed first.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from autorun.executors.host.cgroups import cgroup_mounts, remove_cgroup
from autorun.executors.hostdir import owner_of
from autorun.executors.owner import TAG_PATTERN, Liveness, Owner
from autorun.nofollow import remove_tree

OWNER_LABEL = "autorun.owner"
SESSION_LABEL = "autorun.session"
CGROUP_NAME = re.compile(rf"autorun-(?:pids-)?({TAG_PATTERN})-\d+")
_CGROUP_DEPTH = 8
Kind = Literal["container", "directory", "cgroup"]


@dataclass(frozen=True)
class Leftover:
    kind: Kind
    where: str  # the directory's or cgroup's path, the container's name
    owner: Owner | None
    state: Liveness
    handle: Any = None  # the docker Container

    def describe(self) -> str:
        owner = f"process {self.owner.pid}" if self.owner else "an unknown process"
        return f"{self.kind} {self.where} (of {owner}, {self.state})"


@dataclass(frozen=True)
class CleanReport:
    removed: list[Leftover]
    kept: list[Leftover]
    notes: list[str]  # what could not be looked at (no Docker engine) or removed, one line each


def _state(owner: Owner | None) -> Liveness:
    return owner.liveness() if owner is not None else "unknown"


def host_dirs(root: Path) -> Iterator[Leftover]:
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        owner = owner_of(entry.name)
        if owner is not None and entry.is_dir(follow_symlinks=False):
            yield Leftover("directory", entry.path, owner, _state(owner))


def _walk_cgroups(directory: Path, depth: int) -> Iterator[Path]:
    try:
        children = [Path(entry.path) for entry in os.scandir(directory) if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for child in children:
        if CGROUP_NAME.fullmatch(child.name):
            yield child
        elif depth < _CGROUP_DEPTH:
            yield from _walk_cgroups(child, depth + 1)


def cgroups(mounts: list[tuple[str, str, str]] | None = None) -> Iterator[Leftover]:
    """autorun's cgroups in the unified hierarchy and the v1 memory and pids hierarchies."""
    seen: set[Path] = set()
    for mount, fstype, options in cgroup_mounts() if mounts is None else mounts:
        controllers = set(options.split(","))
        if fstype == "cgroup2" or (fstype == "cgroup" and controllers & {"memory", "pids"}):
            for path in _walk_cgroups(Path(mount), 0):
                found = CGROUP_NAME.fullmatch(path.name)
                if path not in seen and found:
                    seen.add(path)
                    owner = Owner.parse(found[1])
                    yield Leftover("cgroup", str(path), owner, _state(owner))


def containers(client: Any) -> Iterator[Leftover]:
    for container in client.containers.list(all=True, filters={"label": SESSION_LABEL}):
        owner = Owner.parse(container.labels.get(OWNER_LABEL, ""))
        yield Leftover("container", container.name, owner, _state(owner), container)


def _docker_client(env: Mapping[str, str]) -> tuple[Any, str | None]:
    """A client, or why containers cannot be looked at (no docker package, no engine)."""
    from autorun.errors import ExecutorError
    from autorun.executors.docker.engine import connect

    try:
        return connect(env), None
    except ExecutorError as exc:
        return None, f"containers not checked: {exc}"


def find_leftovers(
    *,
    env: Mapping[str, str] | None = None,
    tmp_root: Path | None = None,
    mounts: list[tuple[str, str, str]] | None = None,
    client: Any = None,
    docker: bool = True,
    owner_pid: int | None = None,
) -> tuple[list[Leftover], list[str]]:
    """Every resource of autorun's sessions here (only ``owner_pid``'s when given), and notes.

    ``docker=False`` leaves containers out; ``client`` is the engine to ask (default: DOCKER_HOST's).
    """
    env = os.environ if env is None else env
    notes: list[str] = []
    if client is None and docker:
        client, problem = _docker_client(env)
        if problem:
            notes.append(problem)
    found = [*host_dirs(tmp_root or Path(tempfile.gettempdir())), *cgroups(mounts)]
    if client is not None:
        found += containers(client)
    if owner_pid is not None:
        found = [item for item in found if item.owner is not None and item.owner.pid == owner_pid]
    return found, notes


def remove(item: Leftover) -> None:
    """Remove one resource (a container by force: its session, if any, ends)."""
    if item.kind == "container":
        import docker.errors

        try:
            item.handle.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: its auto-removal is already under way
                raise
    elif item.kind == "cgroup":
        remove_cgroup(Path(item.where))
    else:
        remove_tree(Path(item.where))


def clean(items: list[Leftover], notes: list[str], *, stop_live: bool = False) -> CleanReport:
    """Remove the dead owners' resources (and, with ``stop_live``, everyone's): containers first."""
    order: dict[Kind, int] = {"container": 0, "cgroup": 1, "directory": 2}  # nothing may still write a dir
    removed, kept, notes = [], [], list(notes)
    for item in sorted(items, key=lambda item: order[item.kind]):
        if item.state != "dead" and not stop_live:
            kept.append(item)
            continue
        try:
            remove(item)
        except Exception as exc:  # one that cannot be removed does not stop the others
            notes.append(f"could not remove {item.describe()}: {exc}")
            kept.append(item)
        else:
            removed.append(item)
    return CleanReport(removed, kept, notes)


def _counted(items: list[Leftover]) -> str:
    kinds = {"container": "container", "directory": "directory", "cgroup": "cgroup"}
    counts = {kind: sum(item.kind == kind for item in items) for kind in kinds}
    plural = {"container": "containers", "directory": "directories", "cgroup": "cgroups"}
    return ", ".join(f"{n} {kinds[k] if n == 1 else plural[k]}" for k, n in counts.items() if n)


def stopping_lines(items: list[Leftover]) -> list[str]:
    """What `clean --all` is about to stop: one line per running (or unknown) session's owner."""
    by_owner: dict[str, list[Leftover]] = {}
    for item in items:
        if item.state != "dead":
            key = f"process {item.owner.pid}" if item.owner else "an unknown process"
            by_owner.setdefault(f"{key} ({item.state})", []).append(item)
    return [
        f"stopping the session of {who}: {', '.join(f'{i.kind} {i.where}' for i in found)}"
        for who, found in by_owner.items()
    ]


def summary_lines(report: CleanReport) -> list[str]:
    """`autorun clean`'s answer: what it removed, what it left and why."""
    lines = [f"removed {_counted(report.removed)}" if report.removed else "nothing to remove"]
    live = [item for item in report.kept if item.state == "live"]
    unknown = [item for item in report.kept if item.state == "unknown"]
    if live:
        lines.append(f"kept {_counted(live)} of running sessions (`autorun clean --all` stops them)")
    if unknown:
        lines.append(
            f"kept {_counted(unknown)} whose owner autorun cannot check (another pid namespace, "
            "or an older autorun); `autorun clean --all` removes them"
        )
    return lines + report.notes
