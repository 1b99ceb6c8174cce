"""executor.disk and executor.min_free_disk: measured on real files, enforced on real blocks,
and a transcript that stays valid JSON Lines when the disk fills anyway (a small tmpfs)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from autorun.codeblocks import CodeBlock
from autorun.errors import AutorunError
from autorun.events import Notice
from autorun.executors.disk import DiskLimits, DiskQuota, allocated_bytes, free_bytes
from autorun.executors.local.executor import LocalExecutor
from autorun.transcripts.store import TranscriptWriter
from tests.host_executors import host_executor

MiB = 1024**2
LOOP = (
    "import time\nfor i in range(40):\n    open(f'f{i}.bin', 'wb').write(b'\\1' * (4 * 1024 * 1024))\n"
    "    time.sleep(0.05)\nprint('wrote all')"
)


def test_allocated_bytes_counts_real_blocks_and_skips_autorun_files(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"x" * MiB)
    with (tmp_path / "sparse.bin").open("wb") as fh:
        fh.seek(512 * MiB)
        fh.write(b"x")
    (tmp_path / ".autorun").mkdir()
    (tmp_path / ".autorun" / "t.jsonl").write_bytes(b"x" * 4 * MiB)
    size = allocated_bytes(tmp_path)
    assert MiB <= size < 2 * MiB


def test_quota_reports_growth_over_the_limit(tmp_path: Path) -> None:
    (tmp_path / "before.bin").write_bytes(b"x" * 2 * MiB)
    quota = DiskQuota(tmp_path, DiskLimits(max_growth=MiB, min_free=None))
    quota.baseline()
    assert quota.check() is None, "what was there before the session does not count"
    (tmp_path / "new.bin").write_bytes(b"x" * 2 * MiB)
    reason = quota.check()
    assert reason is not None and "over executor.disk (1 MiB)" in reason and "\n" not in reason


def test_floor_reports_too_little_free_space(tmp_path: Path) -> None:
    quota = DiskQuota(tmp_path, DiskLimits(max_growth=None, min_free=free_bytes(tmp_path) + 1024**4))
    reason = quota.check()
    assert reason is not None and "below executor.min_free_disk" in reason


def executor(tmp_path: Path, limits: DiskLimits) -> LocalExecutor:
    return LocalExecutor(tmp_path / "work", 30, base_env={"PATH": "/usr/bin:/bin"}, disk=limits)


def test_a_block_over_the_quota_is_killed_and_the_next_is_not_run(tmp_path: Path) -> None:
    with executor(tmp_path, DiskLimits(max_growth=16 * MiB, min_free=None)) as ex:
        first = ex.run(CodeBlock("python", LOOP, 0), lambda _text: None)
        second = ex.run(CodeBlock("python", "print('hello')", 1), lambda _text: None)
    assert first.exit_code == 137 and "wrote all" not in first.output
    assert "killed: the work dir grew by" in first.output
    assert allocated_bytes(tmp_path / "work") < 16 * MiB + 3 * 4 * MiB
    assert second.exit_code == 137 and second.output.startswith("not run: the work dir grew by")


@pytest.mark.parametrize("sandbox", ["none", "bwrap"])
def test_a_kernel_block_over_the_quota_is_stopped_and_told_why(tmp_path: Path, sandbox: str) -> None:
    """With the session kernel, crossing the quota kills the kernel: the result says why and that state is lost."""
    limits = DiskLimits(max_growth=16 * MiB, min_free=None)
    work = tmp_path / "work"
    with host_executor(work, 30, base_env={"PATH": "/usr/bin:/bin"}, disk=limits, stateful=True, sandbox=sandbox) as ex:
        ex.run(CodeBlock("python", "x = 1", 0), lambda _text: None)
        shown: list[str] = []
        first = ex.run(CodeBlock("python", LOOP, 1), shown.append)
        for name in work.glob("f*.bin"):
            name.unlink()
        after = ex.run(CodeBlock("python", "print('x' in globals())", 2), lambda _text: None)
    assert first.exit_code == 137 and "wrote all" not in first.output
    assert "killed: the work dir grew by" in first.output and "killed: the work dir grew by" in "".join(shown)
    assert "variables and imports from earlier blocks are gone" in first.output
    assert (after.exit_code, after.output) == (0, "False\n"), "a fresh kernel runs the next block"


def test_no_limits_no_watch(tmp_path: Path) -> None:
    with executor(tmp_path, DiskLimits(None, None)) as ex:
        result = ex.run(CodeBlock("python", "print('hello')", 0), lambda _text: None)
    assert (result.exit_code, result.output) == (0, "hello\n")


@contextlib.contextmanager
def tmpfs(tmp_path: Path, size: str) -> Iterator[Path]:
    """A small tmpfs to fill (root only; CI runs as root)."""
    mount = tmp_path / f"tmpfs-{size}"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True)
    if proc.returncode != 0:
        if os.environ.get("CI") and os.getuid() == 0:
            pytest.fail(f"cannot mount a tmpfs as root: {proc.stderr!r}")
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> None:
    with pytest.raises(OSError), (directory / "filler").open("wb") as fh:
        while True:
            fh.write(b"x" * 65536)
            fh.flush()


def test_transcript_stays_valid_when_the_disk_is_full(tmp_path: Path) -> None:
    with tmpfs(tmp_path, "2m") as disk:
        path = disk / "t.jsonl"
        writer = TranscriptWriter(path)
        writer.handle(Notice(text="first"))
        fill(disk)
        with pytest.raises(AutorunError) as failed:
            writer.handle(Notice(text="y" * (3 * MiB)))
        assert "No space left on device" in str(failed.value) and "\n" not in str(failed.value)
        writer.handle(Notice(text="after the failure: not recorded, and no second error"))
        writer.close()
        assert [json.loads(line)["text"] for line in path.read_text().splitlines()] == ["first"]


def test_reserved_space_lets_the_transcript_finish_after_the_disk_fills(tmp_path: Path) -> None:
    with tmpfs(tmp_path, "16m") as disk:
        path = disk / "t.jsonl"
        writer = TranscriptWriter(path)
        writer.handle(Notice(text="first"))
        fill(disk)
        for number in range(50):
            writer.handle(Notice(text=f"event {number} " + "z" * 10_000))
        writer.close()
        assert len(path.read_text().splitlines()) == 51
