"""What the session container sees, and the data mount points in the work dir (no engine needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autorun.errors import ExecutorError
from autorun.executors.docker.mounts import mounts, package_dir, prepare_mount_points, remove_mount_points
from autorun.executors.kernel.host import KernelDirs


def targets(found: list) -> dict[str, tuple[str, bool]]:
    return {m["Target"]: (m["Source"], m["ReadOnly"]) for m in found}


def test_a_data_file_in_the_work_dir_is_read_only_over_its_own_path_too(tmp_path: Path) -> None:
    work, outside = tmp_path / "work", tmp_path / "in" / "b.csv"
    exposed = {"a.csv": work / "sub" / "a.csv", "b.csv": outside, "c.csv": work / "data" / "c.csv"}
    dirs = KernelDirs(tmp_path / "k", tmp_path / "s", tmp_path / "l")
    found = targets(mounts(work, exposed, dirs))
    assert found == {
        "/workspace": (str(work), False),
        "/workspace/data/a.csv": (str(work / "sub" / "a.csv"), True),
        "/workspace/sub/a.csv": (str(work / "sub" / "a.csv"), True),
        "/workspace/data/b.csv": (str(outside), True),
        "/workspace/data/c.csv": (str(work / "data" / "c.csv"), True),  # once: it is its own mount point
        "/autorun-kernel": (str(tmp_path / "k"), False),
        "/autorun-kernel-start": (str(tmp_path / "s"), True),
        "/opt/autorun/autorun": (str(package_dir()), True),  # the builtin's runtime, never writable
    }


def test_mount_points_are_made_and_removed_without_following_links(tmp_path: Path) -> None:
    work = tmp_path / "work"
    remove_mount_points(work, prepare_mount_points(work, ["a.csv"]))
    assert list(work.iterdir()) == []
    created = prepare_mount_points(work, ["a.csv", "b.csv"])
    assert created == ["data", "data/a.csv", "data/b.csv"]
    assert (work / "data" / "a.csv").stat().st_size == 0
    # what a block can do meanwhile: move data/ away and put a link to a host dir in its place
    host = tmp_path / "host"
    host.mkdir()
    (host / "a.csv").write_text("")
    (host / "keep").mkdir()
    os.rename(work / "data", work / "moved")
    (work / "data").symlink_to(host)
    remove_mount_points(work, created)
    assert (host / "a.csv").exists() and (host / "keep").is_dir(), "removal followed the planted link"


def test_a_planted_symlink_where_a_mount_point_goes_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    (work / "data" / "a.csv").symlink_to("/etc/passwd")
    with pytest.raises(ExecutorError, match="a symlink"):
        prepare_mount_points(work, ["a.csv", "b.csv"])
    assert not (work / "data" / "b.csv").exists(), "what was made before the refusal is removed"
    (work / "data" / "a.csv").unlink()
    (work / "data").rmdir()
    (work / "data").symlink_to(tmp_path)
    with pytest.raises(ExecutorError, match="symlink"):
        prepare_mount_points(work, ["a.csv"])
