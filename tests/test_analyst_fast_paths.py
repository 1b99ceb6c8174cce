"""The runtime's exact statistics in DuckDB equal pandas': quantiles (in memory and spill-safe), duplicates."""

from __future__ import annotations

import os

import duckdb
import numpy as np
import pandas as pd
import pytest

from autorun.analyst import sqlstats
from autorun.analyst.engine import Data, describe


def data_of(frame: pd.DataFrame) -> Data:
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE data AS SELECT * FROM frame")
    return Data(con, *describe(con))


@pytest.mark.parametrize("rows_in_memory", [10**9, 0])  # quantile_cont, and the counts-and-window way
def test_quantiles_equal_pandas(monkeypatch: pytest.MonkeyPatch, rows_in_memory: int) -> None:
    monkeypatch.setattr(sqlstats, "IN_MEMORY_QUANTILE_ROWS", rows_in_memory)
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"g": rng.choice(["a", "b", "c"], 501), "v": rng.integers(0, 40, 501) * 1.5})
    frame.loc[::9, "v"] = np.nan
    data = data_of(frame)
    found = sqlstats.quantiles(data, '"v"', (0.25, 0.5, 0.75))[None]
    assert found == pytest.approx(frame["v"].quantile([0.25, 0.5, 0.75]).tolist())
    by_group = sqlstats.aggregate(data, "median", '"v"', '"g"')
    assert by_group == pytest.approx(frame.groupby("g")["v"].median().to_dict())


def test_duplicates_and_profiles_equal_pandas() -> None:
    frame = pd.DataFrame({"a": [1, 1, 2, 2, None], "b": ["x", "x", "y", "z", None]})
    data = data_of(frame)
    found = sqlstats.profiles(data)
    assert found["a"]["distinct"] == frame["a"].nunique() and found["b"]["non_null"] == 4
    assert found["a"]["integral"] and (found["a"]["min"], found["a"]["max"]) == (1.0, 2.0)
    assert sqlstats.duplicate_rows(data, found) == int(frame.duplicated().sum())


def test_profiles_estimate_only_distinct_counts_too_large_to_matter_exactly() -> None:
    """Ids and the like (mostly distinct in the first rows, over 100,000 values) are estimated and marked;
    every other count is exact, also for a column whose first rows looked unique but has few values."""
    rows = 250_000
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"id": np.arange(rows), "code": rng.integers(0, 7, rows), "v": rng.integers(0, 50_000, rows)})
    data = data_of(frame)
    found = sqlstats.profiles(data, frame.head(1000))
    assert found["id"].get("approx") and abs(found["id"]["distinct"] - rows) <= 0.08 * rows
    assert not found["code"].get("approx") and found["code"]["distinct"] == frame["code"].nunique()
    assert not found["v"].get("approx") and found["v"]["distinct"] == frame["v"].nunique()
    assert sqlstats.duplicate_rows(data, found) == 0


@pytest.mark.parametrize("pass_rows", [10**9, 100])  # one pass, and slices of the hash's range
def test_duplicates_by_row_hash_are_exact_with_many_repeats(monkeypatch: pytest.MonkeyPatch, pass_rows: int) -> None:
    monkeypatch.setattr(sqlstats, "DUPLICATE_PASS_ROWS", pass_rows)
    frame = pd.DataFrame({"a": [1, 2, 3, 4] * 400 + [None] * 10, "b": ["x", "y", "z", "x"] * 400 + ["w"] * 10})
    frame.loc[::7, "a"] = 5
    data = data_of(frame)
    assert sqlstats.duplicate_rows(data, sqlstats.profiles(data)) == int(frame.duplicated().sum())


def test_duckdb_threads_follow_the_cpu_quota(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from autorun.analyst.engine import _cgroup_quota, connect, cpu_allowance

    monkeypatch.chdir(tmp_path)  # connect() makes its spill directory in the work dir

    v2, quota, period = tmp_path / "cpu.max", tmp_path / "quota", tmp_path / "period"
    v2.write_text("150000 100000\n")
    assert _cgroup_quota(str(v2)) == 1.5
    v2.write_text("max 100000\n")
    assert _cgroup_quota(str(v2)) is None
    quota.write_text("-1\n")
    period.write_text("100000\n")
    assert _cgroup_quota(str(quota), str(period)) is None
    quota.write_text("50000\n")
    assert _cgroup_quota(str(quota), str(period)) == 0.5
    assert _cgroup_quota(str(tmp_path / "missing")) is None
    assert 1 <= cpu_allowance() <= len(os.sched_getaffinity(0))
    con = connect(memory_limit=2**30)
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == cpu_allowance()
