"""What the artifact scan adds to a block, as a ratio to the same block without it.

After every block autorun compares the work dir with its state before the block.
This runs the same trivial Python block through a real session N times with and
without the watcher, in a work dir holding FILES files, and prints the per-block
time of both and their ratio (1.0x = free). A block itself costs a process start
(~20-50 ms), so for work dirs of normal size the ratio stays close to 1.

Run: python benchmarks/bench_artifacts.py [FILES] [BLOCKS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from autorun.artifacts import ArtifactWatcher
from autorun.config.schema import Config
from autorun.events import Event
from autorun.executors.local.executor import LocalExecutor
from autorun.session.loop import Session
from autorun.session.values import SessionSettings

REPEATS = 5


class _Replies:
    name = "bench"
    usage = None

    def __init__(self, blocks: int) -> None:
        self.left = blocks

    def cost(self, usage: object) -> None:
        return None

    def reply(self, messages: object) -> Iterator[str]:
        self.left -= 1
        yield "```python\nprint('x')\n```" if self.left >= 0 else "TERMINATE"


class _Discard:
    def handle(self, event: Event) -> None:
        pass

    def close(self) -> None:
        pass


def per_block(work: Path, blocks: int, watch: bool) -> float:
    settings = replace(SessionSettings.from_config(Config()), max_consecutive_auto_reply=blocks + 1)
    with LocalExecutor(work, timeout=60) as executor:
        session = Session(
            _Replies(blocks),
            executor,
            _Discard(),
            settings=settings,
            artifacts=ArtifactWatcher(work) if watch else None,
        )
        start = time.perf_counter()
        session.run("go")
        return (time.perf_counter() - start) / blocks


def main() -> None:
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    blocks = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n in range(files):
            folder = work / f"d{n // 100}"
            folder.mkdir(exist_ok=True)
            (folder / f"f{n}.csv").write_text("a,b\n1,2\n")
        per_block(work, 2, watch=True)  # warm up
        # Alternate, and keep each side's best of REPEATS: this machine's other load only ever adds time.
        plain = watched = float("inf")
        for _ in range(REPEATS):
            plain = min(plain, per_block(work, blocks, watch=False))
            watched = min(watched, per_block(work, blocks, watch=True))
    print(f"work dir of {files:,} files, {blocks} blocks")
    print(f"  without the artifact scan: {plain * 1000:7.1f} ms per block")
    print(f"  with the artifact scan:    {watched * 1000:7.1f} ms per block")
    print(f"  ratio: {watched / plain:.2f}x")


if __name__ == "__main__":
    main()
