"""One AutoGen 0.7 JupyterCodeExecutor session, timed: run by benchmarks/bench_kernel_blocks.py in the ag07 venv.

    benchmarks/.venv-ag07/bin/python benchmarks/autogen07_kernel.py WORK_DIR TRIVIAL_REPS

Prints one JSON object: the seconds of the first block after the kernel is up, of each trivial
block, and of each block of the ten-block pandas sequence; each one `execute_code_blocks([block])`.
The blocks are passed in on stdin (a JSON object) so both sides run exactly the same code.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path


async def session(work: Path, trivial_reps: int, blocks: dict) -> dict:
    from autogen_core import CancellationToken
    from autogen_core.code_executor import CodeBlock
    from autogen_ext.code_executors.jupyter import JupyterCodeExecutor

    token = CancellationToken()

    async def run(code: str) -> float:
        start = time.perf_counter()
        result = await executor.execute_code_blocks([CodeBlock(code=code, language="python")], token)
        elapsed = time.perf_counter() - start
        if result.exit_code != 0:
            raise RuntimeError(f"AutoGen block failed: {result.output}")
        return elapsed

    executor = JupyterCodeExecutor(output_dir=work, timeout=60)
    start = time.perf_counter()
    await executor.start()
    started_s = time.perf_counter() - start
    await asyncio.sleep(blocks["settle_s"])  # as autorun's warm-up: the kernel is idle when the first block comes
    try:
        first = await run(blocks["first"])
        trivial = [await run(blocks["trivial"]) for _ in range(trivial_reps)]
        await run(blocks["sequence_setup"])
        sequence = [await run(code) for code in blocks["sequence"]]
    finally:
        await executor.stop()
    return {"start_s": started_s, "first_s": first, "trivial_s": trivial, "sequence_s": sequence}


def main() -> None:
    work, reps = Path(sys.argv[1]), int(sys.argv[2])
    blocks = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(session(work, reps, blocks))))


if __name__ == "__main__":
    main()
