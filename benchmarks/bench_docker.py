"""Benchmark the Docker executor against raw `docker exec` and the local executor, in the same run.

    python benchmarks/bench_docker.py [--rounds 10] [--blocks 50]

Measures session start (container ready for the first block), a trivial block through the
executor against raw `docker exec` (CLI, and the SDK's exec calls) into the same container,
teardown (`close()`), and an end-to-end `analyse` of the sample with the builtin analyst,
docker against local. Prints a markdown table and writes benchmarks/results/docker.json.
Needs a Docker engine and the image (scripts/docker-test-env.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # also run as a script: python benchmarks/bench_docker.py

from autorun.codeblocks import CodeBlock  # noqa: E402
from autorun.config.schema import ExecutorConfig  # noqa: E402
from autorun.executors.docker.executor import DockerExecutor  # noqa: E402
from autorun.session.executor_settings import docker_settings  # noqa: E402

SAMPLE = REPO / "sample_data" / "sales.csv"
RESULTS = REPO / "benchmarks" / "results" / "docker.json"
TRIVIAL = "print(1)"


def ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "min_ms": round(ordered[0] * 1000, 1),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 1),
        "n": len(ordered),
    }


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def new_executor(work_dir: Path) -> DockerExecutor:
    return DockerExecutor(
        work_dir, 60, docker_settings(ExecutorConfig()), session_id=f"bench{secrets.token_hex(4)}", base_env={}
    )


def bench_lifecycle(work_dir: Path, rounds: int) -> tuple[list[float], list[float]]:
    starts, teardowns = [], []
    for _ in range(rounds):
        executor = new_executor(work_dir)
        starts.append(timed(executor.start))
        teardowns.append(timed(executor.close))
    return starts, teardowns


def bench_blocks(work_dir: Path, blocks: int) -> dict[str, list[float]]:
    block = CodeBlock("python", TRIVIAL, 0)
    cli = ["docker", "exec", "", "python3", "-c", TRIVIAL]
    with new_executor(work_dir) as executor:
        executor.start()
        cli[2] = executor.container_name
        api, container = executor._client.api, executor.container_name  # type: ignore[union-attr]

        def sdk_exec() -> None:
            exec_id = api.exec_create(container, ["python3", "-c", TRIVIAL])["Id"]
            api.exec_start(exec_id)
            api.exec_inspect(exec_id)

        def ours() -> None:
            assert executor.run(block, lambda _text: None).exit_code == 0

        def raw_cli() -> None:
            subprocess.run(cli, check=True, capture_output=True)

        samples: dict[str, list[float]] = {"ours": [], "cli": [], "sdk": []}
        runners = {"ours": ours, "cli": raw_cli, "sdk": sdk_exec}
        for runner in runners.values():
            runner()  # warm up
        for _ in range(blocks):  # interleaved, so load changes hit all three alike
            for name, runner in runners.items():
                samples[name].append(timed(runner))
    return samples


class CountingSink:
    def __init__(self) -> None:
        self.blocks = 0
        self.failed = 0

    def handle(self, event: Any) -> None:
        if getattr(event, "kind", "") == "execution_result":
            self.blocks += 1
            self.failed += getattr(event, "exit_code", 0) != 0

    def close(self) -> None:
        pass


def bench_end_to_end(executor_type: str, work_dir: Path) -> dict[str, Any]:
    from autorun.analyse import AnalyseRequest, analyse
    from autorun.config.schema import Config

    config = Config.model_validate(
        {"model": {"name": "builtin"}, "executor": {"type": executor_type, "work_dir": str(work_dir)}}
    )
    sink = CountingSink()
    started = time.perf_counter()
    outcome = analyse(AnalyseRequest(SAMPLE, config), sink, env={"PATH": os.environ.get("PATH", "")})
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "blocks": sink.blocks,
        "failed_blocks": sink.failed,
        "exit_code": int(getattr(outcome, "exit_code", -1)),
    }


def engine_info() -> dict[str, str]:
    import docker

    client = docker.from_env()
    version = client.version()
    image = client.images.get(ExecutorConfig().image)
    client.close()
    return {"engine": version.get("Version", "?"), "image": ExecutorConfig().image, "image_id": image.short_id}


def table(results: dict[str, Any]) -> str:
    start, teardown = results["session_start"], results["teardown"]
    ours, cli, sdk = results["block_ours"], results["block_raw_cli"], results["block_raw_sdk"]
    e2e = results["end_to_end"]
    rows = [
        ("Session start (container ready)", f"{start['median_ms']} ms", "≤ 400 ms", "350-380 ms"),
        ("Trivial block, our executor", f"{ours['median_ms']} ms", "≤ 40 ms", "62-68 ms"),
        ("Trivial block, raw `docker exec` CLI", f"{cli['median_ms']} ms", "", ""),
        ("Trivial block, raw SDK exec", f"{sdk['median_ms']} ms", "", ""),
        ("Ratio ours / raw `docker exec` CLI", f"{results['ratio_vs_cli']:.2f}", "", ""),
        ("Ratio ours / raw SDK exec", f"{results['ratio_vs_sdk']:.2f}", "", ""),
        ("Teardown (`close()`)", f"{teardown['median_ms']} ms", "≤ 500 ms", "10.1 s"),
    ]
    for kind, figures in e2e.items():
        if "error" in figures:
            rows.append((f"End-to-end analyse, {kind}", f"failed: {figures['error']}", "", ""))
        else:
            value = f"{figures['seconds']} s, {figures['blocks']} blocks, exit {figures['exit_code']}"
            rows.append((f"End-to-end analyse (builtin), {kind}", value, "", ""))
    lines = ["| measure | ours (median) | target | AutoGen reference |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="session start/teardown rounds")
    parser.add_argument("--blocks", type=int, default=50, help="trivial blocks per runner")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="autorun-bench-") as tmp:
        work_dir = Path(tmp) / "work"
        starts, teardowns = bench_lifecycle(work_dir, args.rounds)
        blocks = bench_blocks(work_dir, args.blocks)
        end_to_end: dict[str, Any] = {}
        for kind in ("docker", "local"):
            try:
                end_to_end[kind] = bench_end_to_end(kind, Path(tmp) / f"e2e-{kind}")
            except Exception as exc:  # the session layer may be unfinished; report, don't hide
                end_to_end[kind] = {"error": f"{type(exc).__name__}: {exc}"}
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), **engine_info()},
        "session_start": ms(starts),
        "teardown": ms(teardowns),
        "block_ours": ms(blocks["ours"]),
        "block_raw_cli": ms(blocks["cli"]),
        "block_raw_sdk": ms(blocks["sdk"]),
        "end_to_end": end_to_end,
    }
    results["ratio_vs_cli"] = results["block_ours"]["median_ms"] / results["block_raw_cli"]["median_ms"]
    results["ratio_vs_sdk"] = results["block_ours"]["median_ms"] / results["block_raw_sdk"]["median_ms"]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"\n(written to {RESULTS.relative_to(REPO)})")


if __name__ == "__main__":
    main()
