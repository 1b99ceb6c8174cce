"""The tutorial's example end to end: a scripted OpenAI-compatible server, one pandas block, two model turns.

autorun (stateful and per-process) against the same conversation in AutoGen 0.2 (ag2 0.3.2 in
benchmarks/.venv-ag2, made by `bash benchmarks/setup_ag2.sh`); without that venv only autorun is timed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "sales.csv"
AG2_PYTHON = Path(__file__).resolve().parent / ".venv-ag2" / "bin" / "python"
BLOCK = (
    "```python\nimport pandas as pd\n"
    f"df = pd.read_csv({str(SAMPLE)!r})\n"
    "print(df.groupby('product')['revenue'].sum().sort_values(ascending=False))\n```\n"
)
STEPS = [{"reply": f"Let me load the data.\n{BLOCK}"}, {"reply": "Widget Pro leads with 73,300.\nTERMINATE"}]


def _one(command: list[str]) -> float:
    from tests.fake_openai_server import FakeOpenAIServer

    with FakeOpenAIServer([dict(step) for step in STEPS]) as server:
        start = time.perf_counter()
        proc = subprocess.run([part.replace("{URL}", server.base_url) for part in command], capture_output=True)
        elapsed = time.perf_counter() - start
        served = len(server.chat_requests)
    if proc.returncode != 0 or served != 2:
        raise RuntimeError(f"{command[:3]} failed ({served} requests): {proc.stderr.decode()[-800:]}")
    return elapsed


def tutorial(runs: int) -> list[dict[str, Any]]:
    from benchmarks.kernel import median_s, row

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        autorun = [
            sys.executable,
            "-m",
            "autorun",
            "analyse",
            str(SAMPLE),
            "--model",
            "fake",
            "--base-url",
            "{URL}",
            "--work-dir",
            str(work / "a"),
            "--quiet",
        ]
        config = work / "per-process.yaml"
        config.write_text("executor:\n  stateful: false\n")
        times = {
            "stateful": median_s([_one(autorun) for _ in range(runs)]),
            "per-process": median_s([_one([*autorun, "--config", str(config)]) for _ in range(runs)]),
        }
        if AG2_PYTHON.exists():
            ag2 = [
                str(AG2_PYTHON),
                str(Path(__file__).with_name("ag2_tutorial.py")),
                "{URL}",
                str(work / "g"),
                str(SAMPLE),
            ]
            baseline, name = median_s([_one(ag2) for _ in range(runs)]), "AutoGen 0.2 (ag2 0.3.2)"
        else:
            baseline, name = times["per-process"], "autorun per-process (no ag2 venv)"
        for mode, seconds in times.items():
            rows.append(
                row(
                    f"tutorial example end to end, autorun {mode}",
                    seconds,
                    name,
                    baseline,
                    runs,
                    fraction_of_baseline=round(seconds / baseline, 2),
                )
            )
    return rows


if __name__ == "__main__":
    for result in tutorial(3):
        print(result)
