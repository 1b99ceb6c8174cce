"""Cgroup plumbing the host limits share (memory.py, pids.py) and the Docker executor reads.

Where the hierarchies are mounted, where this process sits in them, how a child joins a
cgroup before it executes anything, and how autorun removes a cgroup it made.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from autorun.executors.host.procfs import START_TIME, stat_fields


def cgroup_mounts() -> list[tuple[str, str, str]]:
    """(mount point, fs type, super options) of every cgroup mount, from /proc/self/mountinfo."""
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) > 4 and len(tail) > 2 and tail[0] in ("cgroup", "cgroup2"):
                found.append((fields[4].replace("\\040", " "), tail[0], tail[2]))
    return found


def own_cgroup_paths() -> dict[str, str]:
    """Controller list -> this process's cgroup path ("" is the v2 hierarchy)."""
    paths = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _id, controllers, path = line.split(":", 2)
            paths[controllers] = path
    return paths


def cgroup_ancestors(mount: Path, own: str) -> list[Path]:
    """The cgroup directories from this process's own cgroup up to the hierarchy's root."""
    parts = [part for part in own.split("/") if part]
    return [mount.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]


def cgroup_joiner(directory: Path, version: int) -> Callable[[], None]:
    """A preexec function that moves the child into the cgroup at ``directory`` before it execs.

    The child is single-threaded between fork and exec. In v1, moving one thread through
    `tasks` skips the global lock (and RCU wait) a `cgroup.procs` write takes: ~1.5 ms
    instead of ~15 ms per block. v2 has no such file outside threaded cgroups.
    """
    path = str(directory / ("tasks" if version == 1 else "cgroup.procs"))

    def join() -> None:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)

    return join


def remove_cgroup(directory: Path, attempts: int = 50) -> None:
    """Kill every process left in a cgroup autorun made, then remove it (retrying while they die)."""
    for _attempt in range(attempts):
        for pid in cgroup_pids(directory) or []:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        try:
            directory.rmdir()
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)
            continue
        return


def cgroup_pids(directory: Path) -> list[int] | None:
    """The processes in the cgroup at ``directory`` (its cgroup.procs), or None when it cannot be read."""
    try:
        with open(directory / "cgroup.procs", "rb") as procs:
            return [int(pid) for pid in procs.read().split()]
    except (OSError, ValueError):
        return None


def holding_only(cgroup: Path, known: Mapping[int, bytes]) -> dict[int, list[bytes]] | None:
    """The stat fields of the ``known`` processes (pid -> start time) when the cgroup holds no other
    process and no cgroup below it, and each is still the process it was; None otherwise (or unreadable).

    No block can move a process out of such a cgroup: none can write the cgroupfs it is in (the
    sandbox has no /sys, a container's is read-only, and one mounted in a namespace of its own shows
    only this cgroup); a cgroup made below it sends the caller to its sweep.
    """
    members = cgroup_pids(cgroup) if known else None
    if members is None or not set(members) <= known.keys():
        return None
    try:
        with os.scandir(cgroup) as entries:
            if any(entry.is_dir(follow_symlinks=False) for entry in entries):
                return None
    except OSError:
        return None
    found = {}
    for pid, started in known.items():
        fields = stat_fields(pid)
        if fields is None or len(fields) <= START_TIME or fields[START_TIME] != started:
            return None
        found[pid] = fields
    return found


def mounts_with(controller: str) -> Iterator[tuple[Path, int]]:
    """(mount point, cgroup version) of the unified hierarchy and of each v1 hierarchy with ``controller``."""
    for mount, fstype, options in cgroup_mounts():
        if fstype == "cgroup2":
            yield Path(mount), 2
        elif fstype == "cgroup" and controller in options.split(","):
            yield Path(mount), 1


def own_hierarchies(controller: str) -> Iterator[tuple[Path, int, str]]:
    """(mount point, version, this process's cgroup path in it) where a cgroup for ``controller`` can go;
    in v2 whether a cgroup may enable the controller is for its caller to check."""
    own = own_cgroup_paths()
    for mount, version in mounts_with(controller):
        path = own.get("") if version == 2 else next((p for c, p in own.items() if controller in c.split(",")), None)
        if path is not None:
            yield mount, version, path


# The files one cgroup is set up with: those it needs, and those written where the kernel has them.
CgroupFiles = tuple[dict[str, str], dict[str, str]]


def new_cgroups(controller: str, name: str, files: Callable[[int], CgroupFiles]) -> Iterator[tuple[Path, int]]:
    """Per hierarchy with ``controller``: the cgroup ``name`` made as near this process's own as it may be,
    with ``files(version)`` written, as (directory, version). The caller takes the first it can use and
    removes any other it was given; cgroups are made only as it asks for the next."""
    for mount, version, own in own_hierarchies(controller):
        needed, optional = files(version)
        for parent in cgroup_ancestors(mount, own):
            made = _make(parent / name, version, controller, needed, optional)
            if made is not None:
                yield made, version
                break


def _make(
    directory: Path, version: int, controller: str, needed: dict[str, str], optional: dict[str, str]
) -> Path | None:
    try:
        if version == 2 and not enable_for_children(directory.parent, controller):
            return None
        directory.mkdir()
    except OSError:
        return None
    try:
        for file, value in needed.items():
            (directory / file).write_text(value)
    except OSError:
        remove_cgroup(directory)
        return None
    for file, value in optional.items():
        with contextlib.suppress(OSError):
            (directory / file).write_text(value)
    return directory


def enable_for_children(parent: Path, controller: str) -> bool:
    """Whether the v2 cgroup ``parent`` has ``controller``; enables it for its children if not yet (OSError
    where that is not allowed)."""
    if controller not in (parent / "cgroup.controllers").read_text().split():
        return False
    if controller not in (parent / "cgroup.subtree_control").read_text().split():
        (parent / "cgroup.subtree_control").write_text(f"+{controller}")
    return True
