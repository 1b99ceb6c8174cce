"""One AutoGen 0.7 JupyterCodeExecutor session, driven block by block: run by bench_kernel_blocks.py in the ag07 venv.

    benchmarks/.venv-ag07/bin/python benchmarks/autogen07_kernel.py WORK_DIR [KERNEL_NAME]

Starts the executor (the kernel's cwd is the process's: run it in WORK_DIR; KERNEL_NAME a
kernelspec on JUPYTER_PATH, by default "python3") and prints
{"start_s": ...}; then for each line of stdin (a JSON string: a python block) runs
``execute_code_blocks([block])`` and prints {"s": its seconds, "exit_code": ..., "output": ...}.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path


async def session(work: Path, kernel_name: str) -> None:
    from autogen_core import CancellationToken
    from autogen_core.code_executor import CodeBlock
    from autogen_ext.code_executors.jupyter import JupyterCodeExecutor

    token = CancellationToken()
    executor = JupyterCodeExecutor(kernel_name=kernel_name, output_dir=work, timeout=60)
    start = time.perf_counter()
    await executor.start()
    print(json.dumps({"start_s": time.perf_counter() - start}), flush=True)
    loop = asyncio.get_running_loop()
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            block = CodeBlock(code=json.loads(line), language="python")
            start = time.perf_counter()
            result = await executor.execute_code_blocks([block], token)
            elapsed = time.perf_counter() - start
            print(json.dumps({"s": elapsed, "exit_code": result.exit_code, "output": result.output}), flush=True)
    finally:
        await executor.stop()


if __name__ == "__main__":
    asyncio.run(session(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "python3"))
