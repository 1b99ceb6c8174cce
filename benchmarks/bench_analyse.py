"""End-to-end `autorun analyse` (builtin, default executor) against a hand-written pandas script.

The baseline, ``analyse_baseline.py``, computes the same figures and charts as the builtin's
four steps in one plain process. ``python -m benchmarks.bench_analyse [ROWS]`` times both on
the sample and on a generated file of ROWS rows (default 1,000,000); ``python -m benchmarks``
includes the same rows in its table.
"""

from __future__ import annotations

import sys
from pathlib import Path

BASELINE_SCRIPT = Path(__file__).with_name("analyse_baseline.py")


def generate(path: Path, rows: int) -> None:
    """A sales-like CSV (date, product, region, revenue, units) of ``rows`` rows over the days of 2025."""
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


def main() -> None:
    from benchmarks.kernel import builtin_analyse

    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    for result in builtin_analyse(5, rows):
        print(result)


if __name__ == "__main__":
    main()
