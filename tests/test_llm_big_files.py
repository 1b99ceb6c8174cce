"""The LLM path for files of any size: the description states size, rows and whether pandas can hold the
file within the memory limit; the prompt names DuckDB; a block that dies for memory is told to use it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from autorun.datafile import describe_for_prompt, inspect_data_file
from autorun.executors.host.memory import memory_hint
from autorun.prompts import analyst_system_message


def big_csv(path: Path, rows: int = 30_000) -> Path:
    pd.DataFrame({"region": ["North", "South"] * (rows // 2), "amount": range(rows)}).to_csv(path, index=False)
    return path


def test_a_file_too_big_for_the_limit_is_described_with_the_duckdb_way(tmp_path: Path) -> None:
    path = big_csv(tmp_path / "big.csv")
    info = inspect_data_file(path)
    assert info.n_rows is None, "only the head was inspected"
    text = describe_for_prompt(info, "/workspace/data/big.csv", memory_limit=1024**2)
    assert "KiB on disk" in text and "30,000 rows, 2 columns" in text, text
    assert "too much for the 1 MiB memory limit: do not pd.read_csv it whole" in text
    assert "duckdb.sql(\"SELECT region, sum(amount) FROM read_csv('/workspace/data/big.csv') GROUP BY ALL\")" in text
    roomy = describe_for_prompt(info, "big.csv", memory_limit=1024**3)
    assert "which fits the 1 GiB memory limit" in roomy and "do not pd.read_csv" not in roomy


def test_the_system_prompt_says_duckdb_is_importable() -> None:
    text = analyst_system_message("Data file: x.csv")
    assert "duckdb is importable" in text and "DuckDB SQL" in text


def test_a_block_that_died_for_memory_is_told_to_use_duckdb() -> None:
    assert "query the file with DuckDB SQL" in (memory_hint("killed: out of memory (limit 1 GiB)\n", 137) or "")
    assert memory_hint("Traceback ...\nMemoryError\n", 1) is not None
    assert memory_hint("all fine\n", 0) is None and memory_hint("KeyError: 'x'\n", 1) is None
