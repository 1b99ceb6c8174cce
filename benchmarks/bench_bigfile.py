"""Files of any size, whole: the builtin end to end against hand-written DuckDB and pandas scripts.

``python -m benchmarks.bench_bigfile [--rows 1000000,10000000] [--runs 3]`` generates sales-like CSVs
(date, product, region, revenue, units; 10M rows are about 360 MB, 100M about 3.6 GB: generated
on demand, never in CI) and times, in the same run and alternating, under the default executor
(the sandbox where bwrap works) and its default 1 GiB memory limit:

- the builtin: ``autorun analyse FILE --model builtin`` in a fresh work dir (a cold cache);
- a hand-written DuckDB script (``duckdb_baseline.py``, DuckDB given half the limit) and
- the hand-written pandas script (``analyse_baseline.py``), each run as one block in the same
  executor with the same limit, started from a fresh process (``--baseline``: autorun's executor
  API, no session and no model), so the three pay the same executor start and report their peak
  memory the same way.

It prints a Markdown table: seconds (median), peak memory, and the ratios the targets are set
in (builtin / DuckDB script at 10M rows <= 1.3; builtin / pandas script at 1M rows <= 1.0).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SCRIPTS = {"duckdb": HERE / "duckdb_baseline.py", "pandas": HERE / "analyse_baseline.py"}


def generate(path: Path, rows: int) -> None:
    """A sales-like CSV of ``rows`` rows over the days of 2025, written by DuckDB (deterministic: hashes)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(
        f"""COPY (SELECT strftime(DATE '2025-01-01' + CAST(hash(i, 1) % 365 AS INTEGER), '%Y-%m-%d') AS date,
        ['Widget Pro', 'Gadget Lite', 'Doohickey'][(hash(i, 2) % 3 + 1)::BIGINT] AS product,
        ['North', 'South', 'East', 'West'][(hash(i, 3) % 4 + 1)::BIGINT] AS region,
        CAST(100 + hash(i, 4) % 19900 AS BIGINT) AS revenue, CAST(1 + hash(i, 5) % 199 AS BIGINT) AS units
        FROM range({rows}) t(i)) TO '{path}' (HEADER, DELIMITER ',')"""
    )


def session(command: list[str]) -> tuple[float, dict[str, Any]]:
    """Wall time of an `autorun ... --json` run (or a ``--baseline`` run) and its last JSON line."""
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    return elapsed, json.loads(lines[-1]) if lines else {"exit_code": proc.returncode}


def run_baseline(script: Path, data: Path, work: Path) -> dict[str, Any]:
    """Run ``script`` on ``data`` as one python block in the default executor and limit; its exit and peak.

    The executor is built from autorun's default config as a session would build it (the sandbox
    where bwrap works, the 1 GiB limit); the script is copied into the work dir, the data file exposed."""
    from autorun.codeblocks import CodeBlock
    from autorun.config.schema import Config
    from autorun.session.components import build_executor

    shutil.copy(script, work / script.name)
    config = Config.model_validate({"executor": {"work_dir": str(work), "timeout": 3600}})
    limit_mb = int(config.executor.memory or 2**31) // 2**21  # DuckDB's share: half, as the builtin gives it
    executor = build_executor(config, session_id=uuid.uuid4().hex[:8], env=dict(os.environ), on_notice=print)
    with executor:
        seen = executor.expose(data)
        argv = [script.name, seen, str(limit_mb)]
        code = f"import runpy, sys\nsys.argv = {argv!r}\nrunpy.run_path({script.name!r})\n"
        result = executor.run(CodeBlock("python", code, 1), lambda _text: None)
        peak = executor.peak_memory()
    return {"exit_code": result.exit_code, "peak_memory_bytes": peak, "executor": executor.name}


def measure(data: Path, runs: int, tmp: Path) -> dict[str, dict[str, float | str]]:
    found: dict[str, list[tuple[float, dict[str, Any]]]] = {"builtin": [], "duckdb": [], "pandas": []}
    for n in range(runs):
        for name in found:
            work = tmp / f"{name}-{n}" / "w"
            work.mkdir(parents=True)
            if name == "builtin":
                command = [sys.executable, "-m", "autorun", "analyse", str(data), "--model", "builtin"]
                command += ["--work-dir", str(work), "--json"]
            else:
                command = [sys.executable, "-m", "benchmarks.bench_bigfile", "--baseline", name, str(data), str(work)]
            found[name].append(session(command))
            shutil.rmtree(work.parent, ignore_errors=True)
    result: dict[str, dict[str, float | str]] = {}
    for name, samples in found.items():
        ok = [t for t, end in samples if end.get("exit_code") == 0]
        peak = max((end.get("peak_memory_bytes") or 0) for _, end in samples) / 2**20
        result[name] = {"s": statistics.median(ok) if ok else "failed (memory?)", "peak_mb": round(peak)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_bigfile")
    parser.add_argument("--rows", default="1000000,10000000", help="comma-separated sizes, e.g. 100000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", nargs=3, metavar=("NAME", "FILE", "WORK_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        name, data, work = args.baseline
        print(json.dumps(run_baseline(SCRIPTS[name], Path(data), Path(work))))
        return
    print(
        "| rows | file | builtin (s) | peak | DuckDB script (s) | peak | pandas script (s) | peak "
        "| builtin/DuckDB | builtin/pandas |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for rows in (int(r) for r in args.rows.split(",")):
            data = tmp / f"sales-{rows}.csv"
            generate(data, rows)
            m = measure(data, args.runs, tmp)
            b, d, p = (m[k]["s"] for k in ("builtin", "duckdb", "pandas"))
            ratio = lambda x, y: f"{x / y:.2f}" if isinstance(x, float) and isinstance(y, float) else "-"  # noqa: E731
            cells = [f"{rows:,}", f"{data.stat().st_size / 1e6:.0f} MB"]
            for k in ("builtin", "duckdb", "pandas"):
                s = m[k]["s"]
                cells += [f"{s:.2f}" if isinstance(s, float) else str(s), f"{m[k]['peak_mb']} MiB"]
            print("| " + " | ".join([*cells, ratio(b, d), ratio(b, p)]) + " |", flush=True)
            data.unlink()


if __name__ == "__main__":
    main()
