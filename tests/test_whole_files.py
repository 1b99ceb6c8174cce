"""Files too big for pandas within the memory limit are analysed whole, in every executor.

`autorun analyse FILE` runs under a small ``executor.memory`` (256 MiB) and states every figure
over the whole file, checked against DuckDB run here, independently, over all of it: a sales
file of 3M rows (110 MB) that pandas cannot hold within that limit (reading it whole there is
killed for memory: checked), and a long-format export (order ids, timestamps, 40 stores, 500
SKUs, a sparse note) whose trends are per store. Bigger files (10M, 8M, 100M
rows) are for ``benchmarks/bench_bigfile.py``, generated on demand.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest

from autorun.analyst.report import fmt
from tests.conftest import autorun_cmd
from tests.docker_fixtures import runtime_image  # noqa: F401 (a fixture)

LIMIT = "256m"
SALES_ROWS = 3_000_000
EXPORT_ROWS = 1_000_000
EXECUTORS = ["sandbox", "local", "docker"]


def write(sql: str) -> None:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(sql)


def write_sales(path: Path, rows: int) -> None:
    write(
        f"""COPY (SELECT strftime(DATE '2025-01-01' + CAST(hash(i, 1) % 365 AS INTEGER), '%Y-%m-%d') AS date,
        ['Widget Pro', 'Gadget Lite', 'Doohickey'][(hash(i, 2) % 3 + 1)::BIGINT] AS product,
        ['North', 'South', 'East', 'West'][(hash(i, 3) % 4 + 1)::BIGINT] AS region,
        CAST(100 + hash(i, 4) % 19900 AS BIGINT) AS revenue, CAST(1 + hash(i, 5) % 199 AS BIGINT) AS units
        FROM range({rows}) t(i)) TO '{path}' (HEADER, DELIMITER ',')"""
    )


def write_export(path: Path, rows: int) -> None:
    """Order lines spread evenly over 2025: a unique order id, a timestamp, stores of uneven size, a note
    on 2% of the rows."""
    write(
        f"""COPY (SELECT 100000 + i AS order_id,
        strftime(TIMESTAMP '2025-01-01' + to_seconds(CAST(i * 365 * 86400 // {rows} AS BIGINT)),
                 '%Y-%m-%d %H:%M:%S') AS ts,
        'S' || lpad(CAST(CAST(floor(sqrt(hash(i, 2) % 1600)) AS INTEGER) AS VARCHAR), 2, '0') AS store,
        'SKU-' || CAST(hash(i, 3) % 500 AS VARCHAR) AS sku,
        CAST(1 + hash(i, 4) % 5 AS INTEGER) AS quantity,
        round(1 + (hash(i, 5) % 10000) / 100, 2) AS unit_price,
        round((1 + hash(i, 4) % 5) * round(1 + (hash(i, 5) % 10000) / 100, 2), 2) AS amount,
        CASE WHEN hash(i, 6) % 50 = 0 THEN 'customer asked for gift wrap, ref ' || CAST(hash(i, 7) % 997 AS VARCHAR)
        END AS note
        FROM range({rows}) t(i)) TO '{path}' (HEADER, DELIMITER ',')"""
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("whole")
    sales, export = root / "sales.csv", root / "export.csv"
    write_sales(sales, SALES_ROWS)
    write_export(export, EXPORT_ROWS)
    return {"sales": sales, "export": export}


def analyse(path: Path, work: Path, executor: str, env: dict[str, str], image: str | None) -> dict[str, Any]:
    """`autorun analyse PATH --model builtin` under the small limit: its output, figures by step, session end."""
    flags = {"sandbox": ["--sandbox"], "local": ["--local"], "docker": ["--docker", image or ""]}[executor]
    proc = subprocess.run(
        autorun_cmd("analyse", str(path), "--model", "builtin", *flags, "--work-dir", str(work), "--json"),
        env={**env, "AUTORUN_EXECUTOR_MEMORY": LIMIT},  # and the default timeout, with the builtin's room
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["executor"] == executor
    facts = {
        value["step"]: value["data"]
        for e in events
        if e["event"] == "execution_result"
        for value in e.get("published", [])
    }
    output = "".join(e["text"] for e in events if e["event"] == "execution_output")
    return {"facts": facts, "output": output, "end": events[-1]}


def executor_image(executor: str, request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("runtime_image") if executor == "docker" else None


def truth(sql: str) -> list[tuple[Any, ...]]:
    return duckdb.sql(sql).fetchall()


def analysed(
    name: str, files: dict[str, Path], tmp_path: Path, env: dict[str, str], executor: str, request: Any
) -> Any:
    """(the run of `autorun analyse` on the named file, its figures, its session end, the file as DuckDB's source)."""
    path = files[name]
    run = analyse(path, tmp_path / "w", executor, env, executor_image(executor, request))
    return run, run["facts"], run["end"], f"read_csv('{path}')"


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_sales_file_too_big_for_pandas_is_analysed_whole(
    files: dict[str, Path], tmp_path: Path, clean_env: dict[str, str], executor: str, request: pytest.FixtureRequest
) -> None:
    run, facts, end, source = analysed("sales", files, tmp_path, clean_env, executor, request)

    assert (
        facts["load"]["rows"] == SALES_ROWS
        and f"Loaded {SALES_ROWS:,} rows x 5 columns (the whole file" in run["output"]
    )
    assert (
        "first" not in end["final_message"].split("\n")[0]
        and f"({SALES_ROWS:,} rows, 5 columns)" in end["final_message"]
    )
    (duplicates,) = truth(f"SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM {source})) FROM {source}")[
        0
    ]
    assert facts["load"]["duplicates"] == duplicates
    stats = facts["measures"]["stats"]
    ((total, median, units),) = truth(f"SELECT sum(revenue), median(revenue), sum(units) FROM {source}")
    assert (stats["revenue"]["total"], stats["revenue"]["median"], stats["units"]["total"]) == (total, median, units)
    for group in ("product", "region"):
        expected = dict(truth(f"SELECT {group}, sum(revenue) FROM {source} GROUP BY 1"))
        table = facts["groups"][group]["table"]
        assert {k: v["total revenue"] for k, v in table.items()} == expected
    months = dict(truth(f"SELECT strftime(date, '%Y-%m'), sum(revenue) FROM {source} GROUP BY 1"))
    assert dict(facts["trend"]["periods"]) == months
    top = max(months, key=lambda k: months[k])
    assert f"top month {top} with {fmt(months[top])}" in end["final_message"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_long_export_is_analysed_whole_with_a_trend_per_store(
    files: dict[str, Path], tmp_path: Path, clean_env: dict[str, str], executor: str, request: pytest.FixtureRequest
) -> None:
    _, facts, end, source = analysed("export", files, tmp_path, clean_env, executor, request)

    assert facts["load"]["rows"] == EXPORT_ROWS and facts["load"]["duplicates"] == 0
    assert facts["load"]["missing"] == {"note": truth(f"SELECT count(*) - count(note) FROM {source}")[0][0]}
    roles = {r["column"]: r["role"] for r in facts["load"]["roles"]}
    assert roles["order_id"] == "identifier" and roles["ts"] == "date" and roles["note"] == "text"
    assert facts["load"]["shape"]["entity"] == "store"
    stores = dict(truth(f"SELECT store, sum(amount) FROM {source} GROUP BY 1"))
    table = facts["groups"]["store"]["table"]
    assert {k: v["total amount"] for k, v in table.items()} == pytest.approx(stores, rel=1e-12)
    top = max(stores, key=lambda k: stores[k])
    assert next(iter(table)) == top and f"Total amount by store: {top} {fmt(stores[top])}" in end["final_message"]

    per_store = facts["trend"]["entity"]
    assert per_store["column"] == "store" and per_store["count"] == 40
    monthly = truth(f"SELECT store, strftime(ts, '%Y-%m'), sum(amount) FROM {source} GROUP BY 1, 2")
    by_store: dict[str, dict[str, float]] = {}
    for store, month, amount in monthly:
        by_store.setdefault(store, {})[month] = amount
    largest = sorted(stores, key=lambda k: -stores[k])[:5]
    assert [r["entity"] for r in per_store["rows"]] == largest
    for r in per_store["rows"]:
        assert (r["first"], r["last"]) == ("2025-01", "2025-12")
        assert r["from"] == pytest.approx(by_store[r["entity"]]["2025-01"], rel=1e-12)
        assert r["to"] == pytest.approx(by_store[r["entity"]]["2025-12"], rel=1e-12)


def test_pandas_cannot_hold_the_sales_file_within_that_limit(files: dict[str, Path], tmp_path: Path) -> None:
    """What makes the files above too big: read whole with pandas in the same sandbox and limit, it dies."""
    from autorun.codeblocks import CodeBlock
    from autorun.config.schema import Config
    from autorun.session.components import build_executor

    work = tmp_path / "w"
    work.mkdir()
    config = Config.model_validate({"executor": {"work_dir": str(work), "memory": LIMIT, "type": "sandbox"}})
    with build_executor(config, session_id="whole-files", env=dict(os.environ), on_notice=print) as executor:
        seen = executor.expose(files["sales"])
        code = f"import pandas as pd\ndf = pd.read_csv({seen!r})\nprint(len(df))\n"
        result = executor.run(CodeBlock("python", code, 1), lambda _text: None)
    assert result.exit_code != 0 and "out of memory" in result.output, result.output
