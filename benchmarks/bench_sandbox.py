"""The sandbox's cost, as ratios against baselines measured in the same run (median of >= 5 runs).

    python -m benchmarks.bench_sandbox [--runs 7] [--blocks 20] [--no-docker]

* a trivial python block: raw ``subprocess.run`` vs the local executor vs the sandbox
  (bwrap, uid 65534, no capabilities, memory cgroup or watchdog, disk quota) — target
  sandbox / raw <= 1.3;
* the disk quota's own cost: the local executor with and without executor.disk/min_free_disk;
* `autorun analyse sample_data/sales.csv --model builtin` end to end: auto, sandbox and
  docker against local.

``rows(runs, blocks, docker)`` returns the rows for the `python -m benchmarks` runner;
``main()`` prints a Markdown table and writes benchmarks/results/sandbox.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SAMPLE = REPO / "sample_data" / "sales.csv"
TRIVIAL = "print(1)"
Row = dict[str, Any]


def row(name: str, value_s: float, baseline_name: str, baseline_s: float, runs: int, **extra: Any) -> Row:
    """One result: ``ratio`` is value / baseline (1.12 = 12 % slower than the baseline)."""
    ratio = round(value_s / baseline_s, 2) if baseline_s else None
    return {
        "benchmark": name,
        "median_s": round(value_s, 4),
        "baseline": baseline_name,
        "baseline_s": round(baseline_s, 4),
        "ratio": ratio,
        "runs": runs,
        **extra,
    }


def save(name: str, document: dict[str, Any]) -> Path:
    """Write a benchmark's figures to benchmarks/results/NAME.json (with the machine they were measured on)."""
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **document}, indent=2))
    return path


def per_block(action: Callable[[], object], blocks: int) -> float:
    """Seconds per call of ``action``, averaged over ``blocks`` calls."""
    started = time.perf_counter()
    for _ in range(blocks):
        action()
    return (time.perf_counter() - started) / blocks


def interleaved(runs: int, blocks: int, actions: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median seconds per call of each action; the actions take turns in a shuffled order, so a busy
    machine hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in actions}
    order = list(actions)
    for _ in range(runs):
        random.shuffle(order)  # no variant always runs right after another
        for name in order:
            samples[name].append(per_block(actions[name], blocks))
    return {name: statistics.median(values) for name, values in samples.items()}


def trivial_block(runs: int, blocks: int) -> list[Row]:
    from autorun.codeblocks import CodeBlock
    from autorun.executors.disk import DiskLimits
    from autorun.executors.host.limits import ProcessLimits
    from autorun.executors.local.executor import LocalExecutor
    from autorun.executors.sandbox.executor import sandbox_executor

    block = CodeBlock("python", TRIVIAL, 0)
    limits = ProcessLimits(memory_bytes=1024**3, max_processes=256, max_file_size=1024**3, max_open_files=1024)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    with tempfile.TemporaryDirectory(prefix="autorun-bench-") as tmp:
        work = Path(tmp)
        executors = {
            "no quota": LocalExecutor(work / "a", 60, base_env=env, limits=limits),
            "local": LocalExecutor(work / "b", 60, base_env=env, limits=limits, disk=DiskLimits()),
            "sandbox": sandbox_executor(work / "c", 60, base_env=env, limits=limits, disk=DiskLimits()),
        }
        try:
            for executor in executors.values():  # warm up: cgroup, bwrap check, page cache
                executor.run(block, lambda _text: None)
            raw_dir = work / "a"

            def raw() -> object:
                return subprocess.run([sys.executable, "-c", TRIVIAL], cwd=raw_dir, env=env, capture_output=True)

            actions: dict[str, Callable[[], object]] = {"raw": raw}
            for name, executor in executors.items():
                actions[name] = functools.partial(executor.run, block, lambda _text: None)
            medians = interleaved(runs, blocks, actions)
            mechanism = executors["sandbox"].memory_mechanism
        finally:
            for executor in executors.values():
                executor.close()
    raw_s = medians["raw"]
    return [
        row("trivial block: sandbox", medians["sandbox"], "raw subprocess.run", raw_s, runs, memory=mechanism),
        row("trivial block: local", medians["local"], "raw subprocess.run", raw_s, runs, memory=mechanism),
        row("trivial block: disk quota", medians["local"], "local, no disk quota", medians["no quota"], runs),
    ]


def analyse_once(flags: list[str]) -> float:
    with tempfile.TemporaryDirectory(prefix="autorun-bench-") as tmp:
        command = [sys.executable, "-m", "autorun", "analyse", str(SAMPLE), "--model", "builtin", "--work-dir", tmp]
        started = time.perf_counter()
        proc = subprocess.run([*command, *flags], capture_output=True, text=True, cwd=REPO)
        elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"analyse {' '.join(flags)} failed: {proc.stderr[-500:]}")
    return elapsed


def analyse_end_to_end(runs: int, docker: bool) -> list[Row]:
    variants = {"local": ["--local"], "auto": [], "sandbox": ["--sandbox"]}
    if docker:
        variants["docker"] = ["--docker", "python:3.11-slim", "--no-pull"]
    for flags in variants.values():
        analyse_once(flags)  # warm up
    actions = {name: functools.partial(analyse_once, flags) for name, flags in variants.items()}
    medians = interleaved(runs, 1, actions)
    return [
        row(f"analyse sales.csv: {name}", medians[name], "local", medians["local"], runs)
        for name in variants
        if name != "local"
    ]


def docker_up() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "image", "inspect", "python:3.11-slim"], capture_output=True, timeout=30)
    return probe.returncode == 0


def rows(runs: int = 7, blocks: int = 20, docker: bool | None = None) -> list[Row]:
    """Every row of this benchmark (the `python -m benchmarks` runner calls this)."""
    docker = docker_up() if docker is None else docker
    return trivial_block(runs, blocks) + analyse_end_to_end(runs, docker)


def machine() -> str:
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (the median is kept; >= 5)")
    parser.add_argument("--blocks", type=int, default=20, help="trivial blocks per run")
    parser.add_argument("--no-docker", action="store_true")
    args = parser.parse_args()
    runs = max(5, args.runs)
    results = rows(runs, args.blocks, False if args.no_docker else None)
    print(f"Machine: {machine()}\n")
    print("| benchmark | median (s) | baseline | baseline (s) | ratio |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['benchmark']} | {r['median_s']:.4f} | {r['baseline']} | {r['baseline_s']:.4f} | {r['ratio']} |")
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "sandbox.json").write_text(json.dumps({"machine": machine(), "runs": runs, "rows": results}, indent=2))


if __name__ == "__main__":
    main()
