"""End-to-end `autorun analyse` on a generated CSV, as a ratio to a raw pandas baseline.

The baseline is one plain Python process that loads the same file with pandas and
computes the same groupings the builtin analyst reports; autorun runs four blocks
(each its own process that reloads the file) plus session overhead, so a ratio of
about 4-6x is the expected shape. Run: python benchmarks/bench_analyse.py [ROWS]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = """
import pandas as pd, sys
df = pd.read_csv(sys.argv[1])
print(df.describe())
for col in ("product", "region"):
    print(df.groupby(col)["revenue"].agg(["sum", "mean"]))
month = pd.to_datetime(df["date"], errors="coerce").dt.strftime("%Y-%m")
print(df.groupby(month)["revenue"].sum())
"""


def generate(path: Path, rows: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    pd.DataFrame(
        {
            "date": (pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), unit="D")).strftime(
                "%Y-%m-%d"
            ),
            "product": rng.choice(["Widget Pro", "Gadget Lite", "Doohickey"], rows),
            "region": rng.choice(["North", "South", "East", "West"], rows),
            "revenue": rng.integers(100, 20_000, rows),
            "units": rng.integers(1, 200, rows),
        }
    ).to_csv(path, index=False)


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "big.csv"
        generate(data, rows)
        raw = min(timed([sys.executable, "-c", BASELINE, str(data)]) for _ in range(3))
        ours = min(
            timed(
                [
                    sys.executable,
                    "-m",
                    "autorun",
                    "analyse",
                    str(data),
                    "--model",
                    "builtin",
                    "--work-dir",
                    str(Path(tmp) / "w"),
                    "--quiet",
                ]
            )
            for _ in range(3)
        )
    result = {
        "rows": rows,
        "raw_pandas_s": round(raw, 3),
        "autorun_analyse_s": round(ours, 3),
        "ratio": round(ours / raw, 2),
    }
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "analyse.json").write_text(json.dumps(result, indent=2))
    print("| rows | raw pandas (s) | autorun analyse (s) | ratio |")
    print("|---|---|---|---|")
    print(f"| {rows:,} | {raw:.2f} | {ours:.2f} | {ours / raw:.1f}x |")


if __name__ == "__main__":
    main()
