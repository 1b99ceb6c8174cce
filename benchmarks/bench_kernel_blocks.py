"""A kernel block in autorun against AutoGen 0.7's JupyterCodeExecutor, side by side in one run (issue 19).

    bash benchmarks/setup_ag07.sh   # once: autogen-ext[jupyter-executor] 0.7.5 in benchmarks/.venv-ag07
    python -m benchmarks.bench_kernel_blocks [--reps 5] [--trivial 15] [--no-docker]

Each rep opens one session per contender at once: AutoGen's JupyterCodeExecutor (a subprocess
in the ag07 venv, benchmarks/autogen07_kernel.py, that runs the blocks it is sent and says how
long each took) and autorun's stateful executors: local, sandbox and docker (autorun-runtime:1),
built from autorun's default config as `autorun analyse` builds them (default limits, disk
quota). Then every block runs on each contender in turn, the order rotating from block to block,
so the load of a shared machine hits all alike. The unit of work is the same on both sides: one
``execute_code_blocks([block])`` against one ``executor.run(block)``. AutoGen's kernel runs on
autorun's interpreter and packages (a kernelspec for ``sys.executable``), as autorun's local and
sandbox kernels do, so both run the same pandas: with pyarrow installed, pandas 3 stores strings
in Arrow and its first read_csv imports more, which made AutoGen's own venv (no pyarrow) do less
work per block. The Docker image has the same pandas and pyarrow versions.

* first block: ``x = 1`` once the kernel is up (after the warm-up a session does while the model writes);
* trivial block: ``print(1)``, the median of ``--trivial`` blocks per session;
* ten-block sequence: ten stateful pandas blocks on sample_data/sales.csv (copied into the work
  dir, the kernel's cwd on both sides; pandas imported before, untimed), the sum of the ten.

Figures are medians over the reps; ratio = autorun / AutoGen (<= 1.0: autorun is as fast or faster).
Writes benchmarks/results/kernel_blocks.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "sales.csv"
AUTOGEN_PYTHON = Path(os.environ.get("AUTOGEN07_PYTHON", REPO / "benchmarks" / ".venv-ag07" / "bin" / "python"))
AUTOGEN_SCRIPT = REPO / "benchmarks" / "autogen07_kernel.py"
SETTLE_S = 1.0  # idle time after every kernel is up, before the first block
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
FIRST, TRIVIAL, SETUP = "x = 1", "print(1)", "import pandas as pd"


class Session(Protocol):
    def run(self, code: str) -> float:
        """Seconds the block took; raises when it failed."""
        ...


class ServedSession:
    """A session in a process of its own that runs each block it is sent and says how long it took.

    autorun's executors too: one process holds one executor, as `autorun analyse` does (the
    sweeps kill any child of the process a block could have left, another executor's kernel too).
    """

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self._proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=cwd, env=env
        )
        self._reply()

    def _reply(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the session {self._proc.args} ended")
        return dict(json.loads(line))

    def run(self, code: str) -> float:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(code) + "\n")
        self._proc.stdin.flush()
        reply = self._reply()
        if reply["exit_code"] != 0:
            raise RuntimeError(f"{self._proc.args[-2:]}: a block failed: {reply['output']}")
        return float(reply["s"])

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=60)


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


def serve(kind: str, work: Path) -> None:
    """The autorun side of a ServedSession: one executor, warmed up, then a block per line of stdin."""
    from autorun.codeblocks import CodeBlock
    from autorun.session.components import build_executor

    executor = build_executor(
        _config(kind, work), session_id=uuid.uuid4().hex[:8], env=dict(os.environ), on_notice=_to_stderr
    )
    with executor:
        start = time.perf_counter()
        executor.warm_up()
        _wait_until_ready(executor)
        print(json.dumps({"start_s": time.perf_counter() - start}), flush=True)
        for number, line in enumerate(sys.stdin, 1):
            block = CodeBlock("python", json.loads(line), number)
            start = time.perf_counter()
            result = executor.run(block, lambda _text: None)
            elapsed = time.perf_counter() - start
            print(json.dumps({"s": elapsed, "exit_code": result.exit_code, "output": result.output}), flush=True)


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr)  # stdout is the channel to the benchmark


KERNEL_NAME = "autorun-python"


def _kernelspec(jupyter_path: Path) -> dict[str, str]:
    """A kernelspec on ``jupyter_path`` that runs ipykernel on this interpreter; the env to find it by."""
    spec = jupyter_path / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL_NAME, "language": "python"}))
    return {**os.environ, "JUPYTER_PATH": str(jupyter_path)}


def _command(name: str, work: Path) -> list[str]:
    if name == "autogen":
        return [str(AUTOGEN_PYTHON), str(AUTOGEN_SCRIPT), str(work), KERNEL_NAME]
    return [sys.executable, "-m", "benchmarks.bench_kernel_blocks", "--serve", name, str(work)]


@contextlib.contextmanager
def sessions(kinds: tuple[str, ...]) -> Iterator[dict[str, Session]]:
    """One session per contender, each in a work dir of its own holding the sample; all up before the first block."""
    with tempfile.TemporaryDirectory() as tmp:
        opened: dict[str, ServedSession] = {}
        autogen_env = _kernelspec(Path(tmp) / "jupyter")
        try:
            for name in ("autogen", *kinds):
                work = Path(tmp) / name
                work.mkdir()
                shutil.copy(SAMPLE, work)
                # AutoGen's kernel runs in its process's cwd; autorun's in the executor's work dir
                if name == "autogen":
                    opened[name] = ServedSession(_command(name, work), work, autogen_env)
                else:
                    opened[name] = ServedSession(_command(name, work), REPO)
            time.sleep(SETTLE_S)
            yield dict(opened)
        finally:
            for session in opened.values():
                session.close()


def one_rep(rep: int, trivial_reps: int, kinds: tuple[str, ...]) -> dict[str, dict[str, float]]:
    with sessions(kinds) as opened:
        names = list(opened)
        turn = iter(range(rep, 10**6))

        def each(code: str) -> dict[str, float]:
            shift = next(turn) % len(names)
            return {name: opened[name].run(code) for name in names[shift:] + names[:shift]}

        first = each(FIRST)
        trivial = [each(TRIVIAL) for _ in range(trivial_reps)]
        each(SETUP)
        sequence = [each(code) for code in SEQUENCE]
    return {
        name: {
            "first": first[name],
            "trivial": statistics.median(t[name] for t in trivial),
            "sequence": sum(block[name] for block in sequence),
        }
        for name in names
    }


MEASURES = {
    "first": "first block of a session (x = 1)",
    "trivial": "trivial kernel block (print(1))",
    "sequence": "ten-block stateful pandas sequence",
}


def measure(reps: int, trivial_reps: int, kinds: tuple[str, ...]) -> dict[str, dict[str, list[float]]]:
    samples: dict[str, dict[str, list[float]]] = {name: {m: [] for m in MEASURES} for name in ("autogen", *kinds)}
    for rep in range(reps):
        for name, values in one_rep(rep, trivial_reps, kinds).items():
            for key, value in values.items():
                samples[name][key].append(value)
        print(f"rep {rep + 1}/{reps}: done", file=sys.stderr)
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
    parser.add_argument("--serve", nargs=2, metavar=("KIND", "WORK_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], Path(args.serve[1]))
        return
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
