"""Benchmarks of the session kernel (issue 9): each figure the median of N runs, with a baseline from the same run."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autorun.codeblocks import CodeBlock

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "sales.csv"
Row = dict[str, Any]


def median_s(samples: list[float]) -> float:
    return round(statistics.median(samples), 4)


def row(name: str, value_s: float, baseline_name: str, baseline_s: float, runs: int, **extra: Any) -> Row:
    ratio = round(baseline_s / value_s, 2) if value_s else None
    return {
        "benchmark": name,
        "median_s": value_s,
        "baseline": baseline_name,
        "baseline_s": baseline_s,
        "speedup_vs_baseline": ratio,
        "runs": runs,
        **extra,
    }


def _local(work: Path, *, stateful: bool, sandbox: str = "none", timeout: float = 60, memory: int | None = None):
    from autorun.executors.host.limits import ProcessLimits
    from autorun.executors.local.executor import LocalExecutor
    from autorun.executors.sandbox.executor import sandbox_executor

    make = LocalExecutor if sandbox == "none" else sandbox_executor
    return make(work, timeout, stateful=stateful, limits=ProcessLimits(memory_bytes=memory))


def _docker(work: Path, *, stateful: bool, timeout: float = 60):
    from autorun.config.schema import ExecutorConfig
    from autorun.executors.docker.executor import DockerExecutor
    from autorun.session.executor_settings import docker_settings

    return DockerExecutor(
        work,
        timeout,
        docker_settings(ExecutorConfig(pull=False)),
        session_id=f"bench{time.monotonic_ns() % 10**8}",
        stateful=stateful,
    )


def _block_times(make: Callable[[], Any], codes: list[str]) -> list[float]:
    """Run ``codes`` in one fresh executor (started first), returning each block's wall time."""
    times = []
    with make() as ex:
        ex.run(CodeBlock("python", "pass", 0), lambda _t: None)  # container / kernel up
        for n, code in enumerate(codes, 1):
            start = time.perf_counter()
            result = ex.run(CodeBlock("python", code, n), lambda _t: None)
            times.append(time.perf_counter() - start)
            assert result.exit_code == 0, result.output
    return times


def trivial_block(runs: int, docker: bool) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        raw = median_s([_timed_run([sys.executable, "-c", "print(1)"]) for _ in range(runs)])
        worlds = [("local", {}), ("bwrap", {"sandbox": "bwrap"})]
        for world, options in worlds:
            for stateful in (True, False):
                times = _block_times(lambda s=stateful, o=options: _local(work, stateful=s, **o), ["print(1)"] * runs)
                mode = "stateful" if stateful else "per-process"
                rows.append(row(f"trivial block, {world}, {mode}", median_s(times), "subprocess.run python", raw, runs))
        if docker:
            for stateful in (True, False):
                times = _block_times(lambda s=stateful: _docker(work, stateful=s), ["print(1)"] * runs)
                mode = "stateful" if stateful else "per-process"
                rows.append(row(f"trivial block, docker, {mode}", median_s(times), "subprocess.run python", raw, runs))
    return rows


PANDAS_FIRST = f"import pandas as pd\ndf = pd.read_csv({str(SAMPLE)!r})\nprint(df['revenue'].sum())"
PANDAS_NEXT = "print(df.groupby('region')['revenue'].sum().to_dict())"
PANDAS_SELF_CONTAINED = PANDAS_FIRST + "\n" + PANDAS_NEXT


def pandas_blocks(runs: int) -> list[Row]:
    totals: dict[bool, list[float]] = {True: [], False: []}
    after_first: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            times = _block_times(lambda: _local(Path(tmp), stateful=True), [PANDAS_FIRST] + [PANDAS_NEXT] * 9)
            totals[True].append(sum(times))
            after_first.append(statistics.median(times[1:]))
            times = _block_times(lambda: _local(Path(tmp), stateful=False), [PANDAS_SELF_CONTAINED] * 10)
            totals[False].append(sum(times))
    per_process = median_s(totals[False])
    return [
        row(
            "10 pandas blocks on the sample, stateful",
            median_s(totals[True]),
            "one process per block",
            per_process,
            runs,
            per_block_after_first_s=median_s(after_first),
        ),
    ]


def timeout_recovery(runs: int) -> list[Row]:
    """`while True: pass` at a 2 s timeout: seconds past the timeout until control returns, then the next block."""
    late, nxt = [], []
    with tempfile.TemporaryDirectory() as tmp, _local(Path(tmp), stateful=True, timeout=2) as ex:
        ex.run(CodeBlock("python", "x = 1", 0), lambda _t: None)
        for n in range(runs):
            start = time.perf_counter()
            result = ex.run(CodeBlock("python", "while True: pass", n), lambda _t: None)
            late.append(time.perf_counter() - start - 2)
            assert result.timed_out
            start = time.perf_counter()
            ex.run(CodeBlock("python", "print(x)", n), lambda _t: None)
            nxt.append(time.perf_counter() - start)
    return [
        row("timeout at 2 s: control back after the timeout", median_s(late), "target", 0.5, runs),
        row("timeout at 2 s: the next block", median_s(nxt), "target (per block)", 0.015, runs),
    ]


def help_time(runs: int) -> list[Row]:
    ours = median_s([_timed_run([sys.executable, "-m", "autorun", "--help"]) for _ in range(runs)])
    typer = median_s([_timed_run([sys.executable, "-c", "import typer"]) for _ in range(runs)])
    return [row("autorun --help", ours, 'python -c "import typer"', typer, runs)]


def builtin_analyse(runs: int, rows_count: int | None) -> list[Row]:
    """`autorun analyse` (builtin, default executor and limits) vs analyse_baseline.py on the same file;
    the runs alternate, so load changes hit both alike. Peak memory: what autorun reports."""
    from benchmarks.bench_analyse import BASELINE_SCRIPT, generate

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        files = [("sample", SAMPLE)]
        if rows_count:
            big = Path(tmp) / "big.csv"
            generate(big, rows_count)
            files.append((f"{rows_count:,} rows ({big.stat().st_size / 1e6:.0f} MB)", big))
        charts = Path(tmp) / "baseline-charts"
        charts.mkdir()
        for label, path in files:
            command = [sys.executable, "-m", "autorun", "analyse", str(path), "--model", "builtin"]
            command += ["--work-dir", str(Path(tmp) / "w"), "--json"]
            raw, samples, peaks = [], [], []
            for _ in range(runs):
                raw.append(_timed_run([sys.executable, str(BASELINE_SCRIPT), str(path)], cwd=charts))
                elapsed, end = _timed_session(command)
                samples.append(elapsed)
                peaks.append(end.get("peak_memory_bytes") or 0)
            out.append(
                row(
                    f"builtin analyse, {label}",
                    median_s(samples),
                    "hand-written pandas script (analyse_baseline.py)",
                    median_s(raw),
                    runs,
                    fraction_of_baseline=round(median_s(samples) / median_s(raw), 2),
                    peak_memory_mb=round(max(peaks) / 2**20, 1),
                )
            )
    return out


def _timed_run(command: list[str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - start


def _timed_session(command: list[str]) -> tuple[float, dict[str, Any]]:
    """Wall time of an `autorun ... --json` run, and its session_end record."""
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{command} failed: {proc.stderr[-500:]}")
    return elapsed, json.loads(proc.stdout.strip().splitlines()[-1])


def docker_executor(runs: int) -> list[Row]:
    """bench_docker.py's measures: container start and teardown, a block through the agent vs raw `docker exec`."""
    from benchmarks import bench_docker

    with tempfile.TemporaryDirectory() as tmp:
        starts, teardowns = bench_docker.bench_lifecycle(Path(tmp) / "w", runs)
        blocks = bench_docker.bench_blocks(Path(tmp) / "w", runs * 4)
    cli = median_s(blocks["cli"])
    return [
        row(
            "docker: trivial block through the agent (per-process)",
            median_s(blocks["ours"]),
            "raw `docker exec` CLI",
            cli,
            runs * 4,
        ),
        row(
            "docker: session start (container ready)", median_s(starts), "raw `docker exec` CLI (one block)", cli, runs
        ),
        row("docker: teardown (close)", median_s(teardowns), "raw `docker exec` CLI (one block)", cli, runs),
    ]
