"""Disk and memory limits that fit real work: the work dir's growth, the free-space floor, a
1,000,000-row CSV under the default memory limit (and a memory bomb still stopped).

The disk probes scale the issue's loop of 900 MB files down (16 MB files, a 64 MiB
quota) to spare the disk; the realistic run is measured by hand (see the README).
"""

from __future__ import annotations

import functools
import random
import resource
from pathlib import Path

import pytest

from autorun.config.schema import Config
from autorun.executors.disk import allocated_bytes, free_bytes
from tests.security.harness import check_common, replies_for, run_probe
from tests.security.probes import record
from tests.security.test_sec_resources import MEMORY_BOMB

MiB = 1024**2
FILE_MB = 16
WRITE_LOOP = f"""
import os, time
written = 0
try:
    for i in range(40):
        with open(f"big{{i}}.bin", "wb") as fh:
            for _ in range({FILE_MB}):
                fh.write(b"\\1" * (1024 * 1024))
        written += 1
        time.sleep(0.1)
except OSError as exc:
    print(f"write failed after {{written}} files: {{exc.strerror}}")
print(f"wrote {{written}} files")
"""


def grown(work_dir: Path) -> int:
    return allocated_bytes(work_dir)


def test_disk_quota_stops_a_loop_of_big_files(executor: str, tmp_path: Path) -> None:
    quota = 64 * MiB
    run = run_probe(executor, tmp_path, replies_for([WRITE_LOOP]), disk="64m", min_free_disk=None)
    check_common(run)
    result = run.results()[0]
    assert result.exit_code == 137, result.output
    assert "killed: the work dir grew by" in result.output and "over executor.disk (64 MiB)" in result.output
    assert "wrote 40 files" not in result.output
    overshoot = (3 if executor == "docker" else 2) * FILE_MB * MiB  # docker: killed through `docker exec`
    assert grown(run.work_dir) <= quota + overshoot, grown(run.work_dir)
    how = "polled from the host (bind mount)" if executor == "docker" else "polled every 50 ms"
    record("res.disk_quota", executor, "contained", f"executor.disk (default 2 GiB per session), {how}; killed")


def test_free_space_floor_holds(executor: str, tmp_path: Path) -> None:
    tmp_path.joinpath("work").mkdir()
    floor_mb = (free_bytes(tmp_path) - 48 * MiB) // MiB
    run = run_probe(executor, tmp_path, replies_for([WRITE_LOOP]), disk=None, min_free_disk=f"{floor_mb}m")
    check_common(run)
    result = run.results()[0]
    assert result.exit_code == 137, result.output
    assert "below executor.min_free_disk" in result.output, result.output
    assert "wrote 40 files" not in result.output
    assert grown(run.work_dir) <= 48 * MiB + 3 * FILE_MB * MiB
    assert run.records[-1]["event"] == "session_end", "autorun finished its transcript"
    record("res.disk_floor", executor, "contained", "executor.min_free_disk (default 1 GiB) kept free; killed")


@functools.cache
def million_row_csv(directory: str) -> Path:
    """A generated 1,000,000-row CSV of about 35 MB (the issue's realistic file)."""
    path = Path(directory) / "million.csv"
    rng = random.Random(7)
    products = ["Widget Pro", "Gadget Lite", "Widget Max", "Gizmo"]
    regions = ["North", "South", "East", "West"]
    with path.open("w", encoding="utf-8") as fh:
        fh.write("date,product,region,revenue,units\n")
        for _ in range(1_000_000):
            fh.write(
                f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},{rng.choice(products)},"
                f"{rng.choice(regions)},{rng.randint(100, 20000)},{rng.randint(1, 500)}\n"
            )
    return path


def test_big_csv_loads_under_the_default_memory_limit(
    executor: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    data = million_row_csv(str(tmp_path_factory.getbasetemp()))
    assert data.stat().st_size > 30 * MiB
    path = f"/workspace/data/{data.name}" if executor == "docker" else str(data.resolve())
    load = f"import pandas as pd\ndf = pd.read_csv({path!r})\nprint('rows', len(df))"
    default_memory = Config().executor.memory
    run = run_probe(executor, tmp_path, replies_for([load, MEMORY_BOMB]), data_file=data, memory=default_memory)
    check_common(run)
    loaded, bomb = run.results()
    assert loaded.exit_code == 0 and "rows 1000000" in loaded.output, loaded.output
    assert bomb.exit_code == 137 and "killed: out of memory (limit 1 GiB)" in bomb.output, bomb.output
    note = f"loads under executor.memory {default_memory} (resident, not address space); a bomb is killed"
    record("res.big_csv", executor, "handled", note)


def test_no_address_space_limit_by_default() -> None:
    from autorun.executors.host.limits import ProcessLimits

    limits = ProcessLimits(memory_bytes=1024**3, max_file_size=1024**3)
    assert resource.RLIMIT_AS not in [which for which, _pair in limits.rlimits()]
