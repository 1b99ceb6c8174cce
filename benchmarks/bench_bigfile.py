"""Files of any size, whole: the builtin end to end against hand-written DuckDB and pandas scripts.

``python -m benchmarks.bench_bigfile [--rows 1000000,10000000] [--runs 3]`` generates sales-like CSVs
(date, product, region, revenue, units; 10M rows are about 360 MB, 100M about 3.6 GB: generated
on demand, never in CI) and times, in the same run and alternating, under the default executor
(the sandbox where bwrap works) and its default 1 GiB memory limit:

- the builtin: ``autorun analyse FILE --model builtin`` in a fresh work dir (a cold cache);
- a hand-written DuckDB script (``duckdb_baseline.py``, DuckDB given half the limit) and
- the hand-written pandas script (``analyse_baseline.py``), each run as the one block of a replayed
  session in the same executor, so the three pay the same session start and are measured
  under the same limit, which reports each one's peak memory.

It prints a Markdown table: seconds (median), peak memory, and the ratios the targets are set
in (builtin / DuckDB script at 10M rows <= 1.3; builtin / pandas script at 1M rows <= 1.0).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SCRIPTS = {"duckdb": HERE / "duckdb_baseline.py", "pandas": HERE / "analyse_baseline.py"}


def generate(path: Path, rows: int) -> None:
    """A sales-like CSV of ``rows`` rows over the days of 2025, written by DuckDB (deterministic: hashes)."""
    import duckdb

    duckdb.sql(
        f"""COPY (SELECT strftime(DATE '2025-01-01' + CAST(hash(i, 1) % 365 AS INTEGER), '%Y-%m-%d') AS date,
        ['Widget Pro', 'Gadget Lite', 'Doohickey'][(hash(i, 2) % 3 + 1)::BIGINT] AS product,
        ['North', 'South', 'East', 'West'][(hash(i, 3) % 4 + 1)::BIGINT] AS region,
        CAST(100 + hash(i, 4) % 19900 AS BIGINT) AS revenue, CAST(1 + hash(i, 5) % 199 AS BIGINT) AS units
        FROM range({rows}) t(i)) TO '{path}' (HEADER, DELIMITER ',')"""
    )


def session(command: list[str]) -> tuple[float, dict[str, Any]]:
    """Wall time of an `autorun ... --json` run and its session_end record."""
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    end = next((json.loads(x) for x in proc.stdout.splitlines() if '"session_end"' in x), {})
    return elapsed, end


def replay_of(script: Path, data: Path, work: Path) -> Path:
    """A transcript whose one python block runs ``script`` on ``data`` (copied into the work dir)."""
    shutil.copy(script, work / script.name)
    code = f"import runpy, sys\nsys.argv = [{script.name!r}, {str(data)!r}, '512']\nrunpy.run_path({script.name!r})\n"
    record = {
        "event": "message",
        "role": "assistant",
        "name": "recorded",
        "turn": 1,
        "content": f"```python\n{code}```",
    }
    done = {**record, "turn": 2, "content": "TERMINATE"}
    path = work.parent / f"{script.stem}.jsonl"
    path.write_text(json.dumps(record) + "\n" + json.dumps(done) + "\n")
    return path


def measure(data: Path, runs: int, tmp: Path) -> dict[str, dict[str, float | str]]:
    found: dict[str, list[tuple[float, dict[str, Any]]]] = {"builtin": [], "duckdb": [], "pandas": []}
    for n in range(runs):
        for name in found:
            work = tmp / f"{name}-{n}" / "w"
            work.mkdir(parents=True)
            command = [sys.executable, "-m", "autorun", "analyse", str(data), "--work-dir", str(work), "--json"]
            if name == "builtin":
                command += ["--model", "builtin"]
            else:
                command += ["--model", f"replay:{replay_of(SCRIPTS[name], data, work)}"]
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
    args = parser.parse_args()
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
