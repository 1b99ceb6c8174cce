"""`autorun clean`'s library: which resources are leftovers, and removing only the dead owners' ones."""

from __future__ import annotations

import os
from pathlib import Path

from autorun.executors.leftovers import clean, find_leftovers, stopping_lines, summary_lines
from autorun.executors.owner import Owner, current_owner


def owners() -> dict[str, Owner]:
    me = current_owner()
    other = "00000000" if me.scope != "00000000" else "11111111"
    return {"live": me, "dead": Owner(me.pid, me.start + 1, me.scope), "unknown": Owner(me.pid, me.start, other)}


def fake_machine(tmp_path: Path) -> tuple[Path, list[tuple[str, str, str]]]:
    """A $TMPDIR and a cgroup hierarchy (plain directories) holding one resource of each owner."""
    tmp, cgroup = tmp_path / "tmp", tmp_path / "cgroup"
    for state, owner in owners().items():
        (tmp / f"autorun-{owner.tag}-abcd{state[:4]:_<4}" / "kernel").mkdir(parents=True)
        (cgroup / "system.slice" / f"autorun-pids-{owner.tag}-1").mkdir(parents=True)
    (tmp / "autorun-kernel-abcdefgh").mkdir()  # an older autorun's: its owner cannot be told
    (tmp / "autorun-probe-abcdefgh").mkdir()
    (cgroup / "autorun-1234-5").mkdir()
    return tmp, [(str(cgroup), "cgroup2", "rw")]


def test_resources_are_sorted_by_their_owners_life(tmp_path: Path) -> None:
    tmp, mounts = fake_machine(tmp_path)
    items, notes = find_leftovers(tmp_root=tmp, mounts=mounts, docker=False)
    assert notes == []
    states = sorted((item.kind, item.state) for item in items)
    assert states == sorted((kind, state) for kind in ("directory", "cgroup") for state in ("live", "dead", "unknown"))
    only_mine, _ = find_leftovers(tmp_root=tmp, mounts=mounts, docker=False, owner_pid=os.getpid() + 1)
    assert only_mine == []


def test_clean_removes_only_the_dead_and_all_removes_the_rest_after_saying_so(tmp_path: Path) -> None:
    tmp, mounts = fake_machine(tmp_path)
    items, notes = find_leftovers(tmp_root=tmp, mounts=mounts, docker=False)
    report = clean(items, notes)
    assert sorted(item.kind for item in report.removed) == ["cgroup", "directory"]
    assert all(item.state == "dead" for item in report.removed) and not any(
        Path(i.where).exists() for i in report.removed
    )
    assert all(Path(item.where).exists() for item in report.kept) and len(report.kept) == 4
    lines = summary_lines(report)
    assert lines[0] == "removed 1 directory, 1 cgroup"
    assert "kept 1 directory, 1 cgroup of running sessions (`autorun clean --all` stops them)" in lines
    assert any(line.startswith("kept 1 directory, 1 cgroup whose owner autorun cannot check") for line in lines)
    left, _ = find_leftovers(tmp_root=tmp, mounts=mounts, docker=False)
    stopping = stopping_lines(left)
    assert len(stopping) == 2 and all(f"process {os.getpid()}" in line for line in stopping)
    everything = clean(left, [], stop_live=True)
    assert len(everything.removed) == 4 and everything.kept == []
    assert sorted(p.name for p in tmp.iterdir()) == ["autorun-kernel-abcdefgh", "autorun-probe-abcdefgh"]


def test_a_planted_link_inside_a_dead_sessions_dir_is_not_followed(tmp_path: Path) -> None:
    tmp, mounts = fake_machine(tmp_path)
    host = tmp_path / "host"
    host.mkdir()
    (host / "precious").write_text("keep me")
    dead = next(p for p in tmp.iterdir() if p.name.endswith("dead"))
    (dead / "kernel" / "link").symlink_to(host)
    items, _ = find_leftovers(tmp_root=tmp, mounts=mounts, docker=False)
    clean(items, [])
    assert not dead.exists() and (host / "precious").read_text() == "keep me"
