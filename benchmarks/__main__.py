"""python -m benchmarks [--quick] [--no-docker] [--rows N]: a Markdown table on stdout, JSON in benchmarks/results/."""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from benchmarks import kernel, tutorial


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"
    )


def docker_up() -> bool:
    try:
        import docker

        client = docker.from_env()
        client.ping()
        client.images.get("python:3.11-slim")
        return True
    except Exception:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="5 runs each and no 1M-row file")
    parser.add_argument("--no-docker", action="store_true")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    runs = 5 if args.quick else 7
    rows = []
    rows += kernel.help_time(runs)
    docker = not args.no_docker and docker_up()
    rows += kernel.trivial_block(runs, docker=docker)
    if docker:
        rows += kernel.docker_executor(runs)
    rows += kernel.pandas_blocks(runs)
    rows += kernel.timeout_recovery(runs)
    rows += tutorial.tutorial(runs)
    rows += kernel.builtin_analyse(runs, None if args.quick else args.rows)
    print(f"Machine: {machine()}\n")
    print("| benchmark | median (s) | baseline | baseline (s) | baseline / median | extra |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        extra = {k: v for k, v in r.items() if k not in kernel.row("", 0, "", 0, 0)}
        print(
            f"| {r['benchmark']} | {r['median_s']:.4f} | {r['baseline']} | {r['baseline_s']:.4f} | "
            f"{r['speedup_vs_baseline']} | {', '.join(f'{k}={v}' for k, v in extra.items())} |"
        )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "kernel.json").write_text(json.dumps({"machine": machine(), "runs": runs, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
