"""The builtin analyst's figures for a sales-like CSV, written by hand with DuckDB.

The DuckDB baseline of `python -m benchmarks.bench_bigfile`: one process that reads the file
once into a DuckDB table, then computes what the builtin's four steps report: rows, distinct
values, missing values and duplicate rows; per measure count, total, mean, median, quartiles,
minimum, maximum, outliers beyond 1.5 IQR and the correlation; rows, share and totals per
product and per region; totals per month, the top month and the change between the first and
last month. Usage: python duckdb_baseline.py FILE.csv [MEMORY_LIMIT_MB]
"""

import sys

import duckdb

con = duckdb.connect()
if len(sys.argv) > 2:
    con.execute(f"SET memory_limit = '{sys.argv[2]}MB'")
con.execute("SET temp_directory = 'duckdb-baseline-spill'")
con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{sys.argv[1]}')")
columns = [r[0] for r in con.execute("DESCRIBE t").fetchall()]
print(con.execute("SELECT count(*) FROM t").fetchall())
for c in columns:
    print(c, con.execute(f'SELECT count("{c}"), count(DISTINCT "{c}") FROM t').fetchall())
print(
    "duplicates", con.execute("SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM t)) FROM t").fetchall()
)
for m in ("revenue", "units"):
    n, total, mean, low, high = con.execute(
        f"SELECT count({m}), sum({m}), avg({m}), min({m}), max({m}) FROM t"
    ).fetchone()
    q1, median, q3 = con.execute(f"SELECT quantile_cont({m}, [0.25, 0.5, 0.75]) FROM t").fetchone()[0]
    a, b = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    outliers = con.execute(f"SELECT count(*) FROM t WHERE {m} < {a} OR {m} > {b}").fetchone()[0]
    print(m, n, total, mean, median, low, high, outliers)
print(con.execute("SELECT corr(revenue, units) FROM t").fetchall())
for g in ("product", "region"):
    print(con.execute(f"SELECT {g}, count(*), sum(revenue), sum(units) FROM t GROUP BY 1 ORDER BY 3 DESC").fetchall())
months = con.execute("SELECT strftime(date, '%Y-%m') AS m, sum(revenue) FROM t GROUP BY 1 ORDER BY 1").fetchall()
print(max(months, key=lambda r: r[1]), months[0], months[-1], (months[-1][1] / months[0][1] - 1) * 100)
