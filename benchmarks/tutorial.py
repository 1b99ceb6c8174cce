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
    """The runs are interleaved (autorun stateful, per-process, AutoGen, again...), so load changes hit all alike."""
    from benchmarks.kernel import median_s, row

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
        commands = {"stateful": autorun, "per-process": [*autorun, "--config", str(config)]}
        name = "autorun per-process (no ag2 venv)"
        if AG2_PYTHON.exists():
            name = "AutoGen 0.2 (ag2 0.3.2)"
            commands[name] = [
                str(AG2_PYTHON),
                str(Path(__file__).with_name("ag2_tutorial.py")),
                "{URL}",
                str(work / "g"),
                str(SAMPLE),
            ]
        samples: dict[str, list[float]] = {key: [] for key in commands}
        for _ in range(runs):
            for key, command in commands.items():
                samples[key].append(_one(command))
    baseline = median_s(samples[name] if name in samples else samples["per-process"])
    return [
        row(
            f"tutorial example end to end, autorun {mode}",
            median_s(samples[mode]),
            name,
            baseline,
            runs,
            fraction_of_baseline=round(median_s(samples[mode]) / baseline, 2),
        )
        for mode in ("stateful", "per-process")
    ]


if __name__ == "__main__":
    for result in tutorial(int(sys.argv[1]) if len(sys.argv) > 1 else 5):
        print(result)
