"""`--cluster`: what a session costs on a Dask cluster, against the same batch run on this machine.

    python -m benchmarks.bench_cluster [--files 6] [--runs 3] [--executor sandbox]

A ``dask scheduler`` and one ``dask worker --nthreads 1`` are started on this machine (the
worker could read the files, but they travel as bytes anyway, as to another machine). The same
files run as ``autorun analyse FILES --jobs 1 --model builtin`` here (the baseline: child
processes of the batch) and with ``--cluster`` (one Dask task a session), each as a batch of
one file and of --files files, all four taking turns in a shuffled order (--runs each), so a
busy machine slows them alike. A session's cost is the batch's marginal time per file,
(T(files) - T(1)) / (files - 1): what the cluster path adds to each session (sending the file
and configuration, the task, the worker's private folder, the status messages, bringing the
transcript, report and charts back), apart from what it adds once per run (importing
distributed and connecting), which the batch of one file shows. Prints a Markdown table and writes
benchmarks/results/cluster.json. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_sandbox import SAMPLE, interleaved, machine, row, save  # noqa: E402
from tests.cluster_fixtures import running_cluster  # noqa: E402


def environment(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTORUN_") and not k.endswith("_API_KEY")}
    return {**env, "AUTORUN_STATE_DIR": str(state)}


def batch(files: list[Path], work: Path, env: dict[str, str], executor: str, cluster: str | None) -> None:
    """One batch of ``files`` at --jobs 1; SystemExit unless every session succeeded."""
    shutil.rmtree(work, ignore_errors=True)
    command = [sys.executable, "-m", "autorun", "analyse", *map(str, files), "--model", "builtin", "--jobs", "1"]
    command += [f"--{executor}", "--work-dir", str(work), "--quiet"]
    if cluster:
        command += ["--cluster", cluster]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {run.returncode}: {run.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=6, help="files of each batch")
    parser.add_argument("--runs", type=int, default=3, help="batches of each kind (median)")
    parser.add_argument("--executor", choices=("sandbox", "local"), default="sandbox")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="autorun-bench-cluster-") as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        paths = [Path(shutil.copy(SAMPLE, root / "data" / f"sales_{n}.csv")) for n in range(max(2, args.files))]
        env = environment(root / "state")
        with running_cluster(root / "cluster", env) as cluster:
            cluster.start_worker("bench-worker", threads=1)
            cluster.wait_for_workers(1)
            actions = {
                f"{where}-{count}": functools.partial(
                    batch, paths[:count], root / f"work-{where}-{count}", env, args.executor, address
                )
                for where, address in (("local", None), ("cluster", cluster.address))
                for count in (1, len(paths))
            }
            seconds = interleaved(args.runs, 1, actions)
    many = len(paths)

    def per_session(where: str) -> float:
        return (seconds[f"{where}-{many}"] - seconds[f"{where}-1"]) / (many - 1)

    local, on_cluster = per_session("local"), per_session("cluster")
    rows: list[dict[str, Any]] = [
        row(
            f"--cluster (one worker), --jobs 1: seconds per session (marginal over {many} files)",
            on_cluster,
            "the same batch here",
            local,
            args.runs,
            overhead_s=round(on_cluster - local, 3),
        ),
        row(
            "--cluster: a batch of one file (with the run's start: import distributed, connect)",
            seconds["cluster-1"],
            "the same batch here",
            seconds["local-1"],
            args.runs,
            overhead_s=round(seconds["cluster-1"] - seconds["local-1"], 3),
        ),
    ]
    print(f"Machine: {machine()}, executor {args.executor}, builtin model\n")
    print("| benchmark | seconds | baseline | baseline (s) | ratio | overhead per session (s) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['benchmark']} | {r['median_s']:.3f} | {r['baseline']} | {r['baseline_s']:.3f} | {r['ratio']} "
            f"| {r['overhead_s']:.3f} |"
        )
    save("cluster", {"executor": args.executor, "rows": rows})


if __name__ == "__main__":
    main()
