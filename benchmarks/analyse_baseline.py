"""The builtin analyst's figures for a sales-like CSV, written by hand in pandas and matplotlib.

The baseline of `python -m benchmarks`' "builtin analyse" rows: one process that loads the
file once and computes what the builtin's four steps report — distinct values per column,
duplicate and missing values, the first rows; per measure the count, total, mean, median,
minimum, maximum and outliers beyond 1.5 IQR, and the correlations; rows, share and totals
per product and per region with a bar chart each; the monthly totals with the top month,
the change from the first to the last full month and a line chart.
Usage: python analyse_baseline.py FILE.csv (charts are written to the current directory).
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

MEASURES = ["revenue", "units"]
df = pd.read_csv(sys.argv[1])
print(f"Loaded {len(df):,} rows x {df.shape[1]} columns")
print(pd.DataFrame({"dtype": df.dtypes.astype(str), "distinct": df.nunique()}))
print("Duplicate rows:", int(df.duplicated().sum()))
print("Missing values:", int(df.isna().sum().sum()))
print(df.head())

for name in MEASURES:
    values = df[name].dropna()
    q1, q3 = values.quantile([0.25, 0.75])
    outliers = int(((values < q1 - 1.5 * (q3 - q1)) | (values > q3 + 1.5 * (q3 - q1))).sum())
    print(name, len(values), values.sum(), values.mean(), values.median(), values.min(), values.max(), outliers)
print(df[MEASURES].corr())

for group in ["product", "region"]:
    table = df.groupby(group).agg(rows=("revenue", "size"), revenue=("revenue", "sum"), units=("units", "sum"))
    table["share %"] = table["rows"] / len(df) * 100
    table = table.sort_values("revenue", ascending=False)
    print(table)
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.barh(table.index[::-1], table["revenue"][::-1])
    ax.set_title(f"Total revenue by {group}")
    fig.tight_layout()
    fig.savefig(f"chart-{group}.png", dpi=100)
    plt.close(fig)

dates = pd.to_datetime(df["date"], errors="coerce")
print(f"{dates.notna().sum():,} of {len(df):,} rows have a valid date")
month = df.groupby(dates.dt.to_period("M"))["revenue"].agg(["size", "sum"])
print(month)
print("Top month:", month["sum"].idxmax(), month["sum"].max())
seen = dates.dropna().sort_values()
slack = seen.diff().median() * 1.5  # an edge month counts when the data reaches its edge
first_ok = seen.iloc[0] - month.index[0].start_time <= slack
last_ok = (month.index[-1] + 1).start_time - seen.iloc[-1] <= slack
full = month.iloc[(0 if first_ok else 1) : (None if last_ok else -1)]
change = (full["sum"].iloc[-1] / full["sum"].iloc[0] - 1) * 100
print(f"First to last full month: {full.index[0]} {full['sum'].iloc[0]} -> {full.index[-1]} {full['sum'].iloc[-1]}")
print(f"change {change:+.1f}%")
fig, ax = plt.subplots(figsize=(9, 4))
ax.plot(month.index.astype(str), month["sum"], marker="o")
ax.set_title("Total revenue by month")
fig.tight_layout()
fig.savefig("chart-month.png", dpi=100)
plt.close(fig)
