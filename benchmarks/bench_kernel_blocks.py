"""A kernel block in autorun against AutoGen 0.7's JupyterCodeExecutor, side by side in one run (issue 19).

    bash benchmarks/setup_ag07.sh   # once: autogen-ext[jupyter-executor] 0.7.5 in benchmarks/.venv-ag07
    python -m benchmarks.bench_kernel_blocks [--reps 5] [--trivial 15] [--no-docker]

Each rep runs one session per contender, in a rotating order so load changes hit all alike:
AutoGen's JupyterCodeExecutor (a subprocess in the ag07 venv, benchmarks/autogen07_kernel.py,
printing its timings as JSON) and autorun's stateful executors: local, sandbox and docker
(autorun-runtime:1), built from autorun's default config as `autorun analyse` builds them
(default limits, disk quota). The unit of work is the same on both sides: one
``execute_code_blocks([block])`` against one ``executor.run(block)``.

* first block: ``x = 1`` once the kernel is up (after the warm-up a session does while the model writes);
* trivial block: ``print(1)``, the median of ``--trivial`` blocks per session;
* ten-block sequence: ten stateful pandas blocks on sample_data/sales.csv (copied into the work
  dir, the kernel's cwd on both sides; pandas imported before, untimed), the sum of the ten.

Figures are medians over the reps; ratio = autorun / AutoGen (<= 1.0: autorun is as fast or faster).
Writes benchmarks/results/kernel_blocks.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "sales.csv"
AUTOGEN_PYTHON = Path(os.environ.get("AUTOGEN07_PYTHON", REPO / "benchmarks" / ".venv-ag07" / "bin" / "python"))
AUTOGEN_SCRIPT = REPO / "benchmarks" / "autogen07_kernel.py"
SETTLE_S = 1.0  # idle time after the kernel is up, before the first block (both sides)
EXECUTORS = ("local", "sandbox", "docker")
Row = dict[str, Any]

SEQUENCE = [
    f"df = pd.read_csv({SAMPLE.name!r})",
    "df['date'] = pd.to_datetime(df['date'])",
    "print(df.shape)",
    "by_region = df.groupby('region')['revenue'].sum()\nprint(by_region)",
    "print(df.groupby('product')['units'].sum().to_dict())",
    "df['price'] = df['revenue'] / df['units']\nprint(df['price'].describe())",
    "monthly = df.set_index('date').resample('MS')['revenue'].sum()\nprint(monthly)",
    "print(df.nlargest(3, 'revenue')[['product', 'revenue']])",
    "print(df.pivot_table(index='region', columns='product', values='revenue', aggfunc='sum', fill_value=0))",
    "print(round(float(df['revenue'].mean()), 2))",
]
BLOCKS = {
    "first": "x = 1",
    "trivial": "print(1)",
    "sequence_setup": "import pandas as pd",
    "sequence": SEQUENCE,
    "settle_s": SETTLE_S,
}


def autogen_session(trivial_reps: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as work:
        shutil.copy(SAMPLE, work)
        proc = subprocess.run(
            [str(AUTOGEN_PYTHON), str(AUTOGEN_SCRIPT), work, str(trivial_reps)],
            input=json.dumps(BLOCKS),
            capture_output=True,
            text=True,
            timeout=600,
            cwd=work,  # the kernel's working directory, as autorun's is the work dir
        )
    if proc.returncode != 0:
        raise RuntimeError(f"the AutoGen session failed: {proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _config(kind: str, work: Path) -> Any:
    from autorun.config.schema import Config

    executor: dict[str, Any] = {"type": kind, "work_dir": str(work), "stateful": True}
    if kind == "docker":
        executor |= {"image": "autorun-runtime:1", "pull": False}
    return Config.model_validate({"executor": executor})


def _wait_until_ready(executor: Any) -> None:
    """Wait for the kernel warm_up() started, as a session's first model reply does (private names: a benchmark)."""
    warm = getattr(executor, "_warm", None)
    if warm is not None:
        warm.finish()
    kernel = getattr(executor, "_kernel", None)
    driver = getattr(kernel, "driver", kernel)
    wait = getattr(driver, "wait_for_start", None)
    if wait is None:
        time.sleep(15)
    else:
        wait()


def autorun_session(kind: str, trivial_reps: int) -> dict[str, Any]:
    from autorun.codeblocks import CodeBlock
    from autorun.session.components import build_executor

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        shutil.copy(SAMPLE, work)
        executor = build_executor(
            _config(kind, work), session_id=uuid.uuid4().hex[:8], env=dict(os.environ), on_notice=print
        )
        numbers = iter(range(1, 1000))

        def run(code: str) -> float:
            start = time.perf_counter()
            result = executor.run(CodeBlock("python", code, next(numbers)), lambda _text: None)
            elapsed = time.perf_counter() - start
            if result.exit_code != 0:
                raise RuntimeError(f"autorun {kind} block failed: {result.output}")
            return elapsed

        with executor:
            start = time.perf_counter()
            executor.warm_up()
            _wait_until_ready(executor)
            started_s = time.perf_counter() - start
            time.sleep(SETTLE_S)
            first = run(BLOCKS["first"])
            trivial = [run(BLOCKS["trivial"]) for _ in range(trivial_reps)]
            run(BLOCKS["sequence_setup"])
            sequence = [run(code) for code in SEQUENCE]
    return {"start_s": started_s, "first_s": first, "trivial_s": trivial, "sequence_s": sequence}


def summary(session: dict[str, Any]) -> dict[str, float]:
    return {
        "first": session["first_s"],
        "trivial": statistics.median(session["trivial_s"]),
        "sequence": sum(session["sequence_s"]),
    }


MEASURES = {
    "first": "first block of a session (x = 1)",
    "trivial": "trivial kernel block (print(1))",
    "sequence": "ten-block stateful pandas sequence",
}


def measure(reps: int, trivial_reps: int, kinds: tuple[str, ...]) -> dict[str, dict[str, list[float]]]:
    contenders: list[tuple[str, Callable[[], dict[str, Any]]]] = [("autogen", lambda: autogen_session(trivial_reps))]
    contenders += [(kind, lambda kind=kind: autorun_session(kind, trivial_reps)) for kind in kinds]
    samples: dict[str, dict[str, list[float]]] = {name: {m: [] for m in MEASURES} for name, _ in contenders}
    for rep in range(reps):
        shift = rep % len(contenders)
        for name, session in contenders[shift:] + contenders[:shift]:
            for key, value in summary(session()).items():
                samples[name][key].append(value)
            print(f"rep {rep + 1}/{reps} {name}: done", file=sys.stderr)
    return samples


def rows(samples: dict[str, dict[str, list[float]]], reps: int, trivial_reps: int) -> list[Row]:
    out = []
    for key, label in MEASURES.items():
        autogen = statistics.median(samples["autogen"][key])
        for kind in [name for name in samples if name != "autogen"]:
            ours = statistics.median(samples[kind][key])
            out.append(
                {
                    "benchmark": f"{label}, {kind}",
                    "median_s": round(ours, 4),
                    "baseline": "AutoGen 0.7 JupyterCodeExecutor",
                    "baseline_s": round(autogen, 4),
                    "ratio_autorun_over_autogen": round(ours / autogen, 2),
                    "runs": reps,
                    **({"blocks_per_session": trivial_reps} if key == "trivial" else {}),
                }
            )
    return out


def machine() -> str:
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs, load {load}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_kernel_blocks")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--trivial", type=int, default=15, help="trivial blocks per session")
    parser.add_argument("--no-docker", action="store_true")
    parser.add_argument("--only", choices=EXECUTORS, action="append", help="autorun executors to run (default: all)")
    args = parser.parse_args()
    if not AUTOGEN_PYTHON.exists():
        sys.exit("run `bash benchmarks/setup_ag07.sh` first (AutoGen 0.7 in benchmarks/.venv-ag07)")
    kinds = tuple(args.only or [k for k in EXECUTORS if not (args.no_docker and k == "docker")])
    samples = measure(args.reps, args.trivial, kinds)
    results = rows(samples, args.reps, args.trivial)
    print(f"Machine: {machine()}\n")
    print("| benchmark | autorun (ms) | AutoGen 0.7 (ms) | autorun / AutoGen |")
    print("|---|---|---|---|")
    for r in results:
        print(
            f"| {r['benchmark']} | {r['median_s'] * 1000:.1f} | {r['baseline_s'] * 1000:.1f} | "
            f"{r['ratio_autorun_over_autogen']} |"
        )
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    document = {"machine": machine(), "reps": args.reps, "rows": results, "samples": samples}
    (out / "kernel_blocks.json").write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
