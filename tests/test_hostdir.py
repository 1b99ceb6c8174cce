"""The executors' host directories: named for their owner, removed without following anything planted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autorun.executors.hostdir import HostDir, owner_of
from autorun.executors.owner import Owner, current_owner, process_start
from autorun.nofollow import MAX_DEPTH, remove_tree


def planted_tree(root: Path, victim_dir: Path) -> None:
    """What a block can leave in a shared dir: links to a host dir and file, a fifo, unwritable dirs."""
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "sub" / "deeper" / "file").write_text("x")
    (root / "to-dir").symlink_to(victim_dir)
    (root / "sub" / "to-file").symlink_to(victim_dir / "precious")
    (root / "sub" / "deeper" / "loop").symlink_to("..")
    os.mkfifo(root / "fifo")
    (root / "sub" / "deeper").chmod(0o500)
    (root / "sub").chmod(0o000)


def victim_and_shared(base: Path) -> tuple[Path, Path]:
    """A host dir with a precious file, and a shared dir full of what a block planted pointing at it."""
    victim_dir = base / "host"
    victim_dir.mkdir()
    (victim_dir / "precious").write_text("keep me")
    root = base / "shared"
    root.mkdir()
    planted_tree(root, victim_dir)
    return victim_dir, root


def test_remove_tree_never_follows_planted_links(tmp_path: Path) -> None:
    victim_dir, root = victim_and_shared(tmp_path)
    remove_tree(root)
    assert not root.exists()
    assert (victim_dir / "precious").read_text() == "keep me"


def test_remove_tree_of_a_symlink_removes_the_link_only(tmp_path: Path) -> None:
    victim_dir = tmp_path / "host"
    victim_dir.mkdir()
    (victim_dir / "precious").write_text("keep me")
    (tmp_path / "link").symlink_to(victim_dir)
    remove_tree(tmp_path / "link")
    assert not (tmp_path / "link").is_symlink() and (victim_dir / "precious").exists()
    remove_tree(tmp_path / "never-made")


def test_remove_tree_gives_back_permissions_code_took_away_as_a_normal_user(tmp_path: Path) -> None:
    """As root nothing is unwritable; run the removal as user nobody on a tree nobody owns."""
    if os.getuid() == 0 and not shutil.which("setpriv"):
        pytest.skip("needs setpriv to drop to user nobody")
    base = Path(tempfile.mkdtemp(prefix="hostdir-test-"))
    try:
        victim_dir, root = victim_and_shared(base)
        os.chmod(base, 0o777)
        for path in (root, *root.rglob("*")) if os.getuid() == 0 else ():
            os.lchown(path, 65534, 65534)
        (root / "sub").chmod(0o000)
        code = f"from pathlib import Path; from autorun.nofollow import remove_tree; remove_tree(Path({str(root)!r}))"
        command = [sys.executable, "-c", code]
        if os.getuid() == 0:
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", *command]
        env = {"PATH": os.environ.get("PATH", "/usr/bin"), "PYTHONPATH": str(Path(__file__).parents[1])}
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
        if done.returncode != 0 and "Permission denied" in done.stderr and "python" in done.stderr.lower():
            pytest.skip(f"user nobody cannot run this Python: {done.stderr.strip()[-200:]}")
        assert done.returncode == 0, done.stderr
        assert not root.exists() and (victim_dir / "precious").read_text() == "keep me"
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", str(base)], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_remove_tree_stops_at_a_depth_bound(tmp_path: Path) -> None:
    root = tmp_path / "deep"
    root.mkdir()
    current = os.open(root, os.O_RDONLY)
    for _ in range(MAX_DEPTH + 2):
        os.mkdir("d", dir_fd=current)
        deeper = os.open("d", os.O_RDONLY, dir_fd=current)
        os.close(current)
        current = deeper
    os.close(current)
    with pytest.raises(OSError, match="nested directories"):
        remove_tree(root)
    assert root.exists()


def test_a_host_dir_is_private_and_named_for_its_owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None
    try:
        host = HostDir()
        assert not host.exists
        dirs = host.kernel_dirs()
        assert host.path.parent == tmp_path and oct(host.path.stat().st_mode & 0o777) == "0o700"
        assert {dirs.sockets.name, dirs.start.name, dirs.links.name} == {"kernel", "kernel-start", "kernel-links"}
        assert owner_of(host.path.name) == current_owner()
        path = host.path
        host.remove()
        assert not path.exists() and not host.exists
    finally:
        tempfile.tempdir = None


def test_owners_are_live_dead_or_of_another_scope() -> None:
    me = current_owner()
    assert me.pid == os.getpid() and me.start == process_start(os.getpid())
    assert Owner.parse(me.tag) == me and me.liveness() == "live"
    assert Owner(me.pid, me.start + 1, me.scope).liveness() == "dead"  # the pid was reused
    assert Owner(2**22 + 7, 1, me.scope).liveness() == "dead"
    assert Owner(me.pid, me.start, "00000000" if me.scope != "00000000" else "11111111").liveness() == "unknown"
    assert Owner.parse("12-34") is None and owner_of("autorun-kernel-abcdefgh") is None


def test_a_work_dir_holding_autorun_or_a_linked_data_path_is_refused(tmp_path: Path) -> None:
    from autorun.errors import ConfigError, InputFileError
    from autorun.executors.work_dir_checks import refuse_data_through_work_dir_links, refuse_work_dir_holding_autorun

    package = Path(__file__).resolve().parents[1] / "autorun"
    with pytest.raises(ConfigError, match="contains autorun's own installation"):
        refuse_work_dir_holding_autorun(package.parent, "sandbox")
    refuse_work_dir_holding_autorun(tmp_path, "sandbox")
    work = tmp_path / "work"
    (work / "moved").mkdir(parents=True)
    (work / "moved" / "a.csv").write_text("a\n1\n")
    (work / "input").symlink_to(work / "moved")
    with pytest.raises(InputFileError, match="symlink inside the work dir"):
        refuse_data_through_work_dir_links(work, [work / "input" / "a.csv"])
    refuse_data_through_work_dir_links(work, [work / "moved" / "a.csv", tmp_path / "elsewhere.csv"])
