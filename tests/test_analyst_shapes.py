"""Table shapes an analyst reads before any statistic, on data made here: panels get trends per entity,
a year and a quarter (or month) are one period, a wide table of years or months is melted first."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autorun.analyst.report import fmt
from tests.test_builtin import analyst, drive, facts_of

RNG = np.random.default_rng(17)


def test_a_firm_by_year_panel_gets_a_trend_per_firm_never_a_pooled_one(tmp_path: Path) -> None:
    firms = {"GM": 600.0, "US Steel": 400.0, "GE": 100.0, "Chrysler": 80.0}
    rows = [
        {"firm": f, "year": y, "invest": round(base * (1.1 ** (y - 1935)) + RNG.normal(0, 5), 1), "value": base * 3}
        for f, base in firms.items()
        for y in range(1935, 1955)
    ]
    df = pd.DataFrame(rows)
    df.to_csv(tmp_path / "grunfeld.csv", index=False)
    run = drive(analyst(tmp_path / "grunfeld.csv", tmp_path), sys.executable, tmp_path)

    facts = facts_of(run)
    assert facts["load"]["shape"]["entity"] == "firm"
    assert "periods" not in facts["trend"], "a mean over firms by year is not a trend of anything"
    gm = df[df["firm"] == "GM"].set_index("year")["invest"]
    expected = f"GM 1935 {fmt(gm[1935])} -> 1954 {fmt(gm[1954])} ({(gm[1954] - gm[1935]) / gm[1935] * 100:+.1f}%)"
    assert "Median invest by year per firm, first to last full year: " + expected in run.final  # skewed: median
    assert "by year: top year" not in run.final


def test_year_and_quarter_columns_are_one_period(tmp_path: Path) -> None:
    years = np.repeat(np.arange(1959, 2009), 4)
    df = pd.DataFrame({"year": years, "quarter": np.tile([1, 2, 3, 4], 50)})
    df["realgdp"] = (2700 + np.arange(len(df)) * 55 + RNG.normal(0, 20, len(df))).round(1)
    df.to_csv(tmp_path / "macro.csv", index=False)
    run = drive(analyst(tmp_path / "macro.csv", tmp_path), sys.executable, tmp_path)

    facts = facts_of(run)
    assert facts["load"]["shape"]["split"] == ["year", "quarter", "quarter"]
    assert "quarter" not in facts.get("groups", {}), "a bare quarter number is not a group"
    top = df.loc[df["realgdp"].idxmax()]
    assert f"top quarter {int(top['year'])}-Q{int(top['quarter'])} with {fmt(top['realgdp'])}" in run.final
    first, last = df.iloc[0], df.iloc[-1]
    assert f"1959-Q1 {fmt(first['realgdp'])} -> 2008-Q4 {fmt(last['realgdp'])}" in run.final


def test_a_country_by_year_wide_table_is_melted_before_any_statistic(tmp_path: Path) -> None:
    countries = [f"Country {c}" for c in "ABCDEFG"]
    wide = pd.DataFrame({"Country Name": countries})
    for year in range(1960, 1970):
        wide[str(year)] = (RNG.uniform(1, 9, len(countries)) + (year - 1960) * 0.1).round(2)
    wide.to_csv(tmp_path / "wide.csv", index=False)
    run = drive(analyst(tmp_path / "wide.csv", tmp_path), sys.executable, tmp_path)

    seen = "\n".join(m.content for m in run.messages)
    assert "mean 1960" not in seen and "1961 and 1962" not in seen, "years are periods, not measures"
    facts = facts_of(run)
    assert facts["load"]["shape"]["melted"] == "year" and facts["load"]["rows"] == len(countries)
    assert "melted to one row per year" in run.final
    long = wide.melt(id_vars="Country Name", var_name="year", value_name="value")
    a = long[long["Country Name"] == "Country A"].set_index("year")["value"]
    assert f"Country A 1960 {fmt(a['1960'])} -> 1969 {fmt(a['1969'])}" in run.final


def test_a_year_by_month_wide_table_is_one_monthly_series(tmp_path: Path) -> None:
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    wide = pd.DataFrame({"Year": range(2015, 2021)})
    for number, month in enumerate(months):
        wide[month] = (100 + number * 3 + (wide["Year"] - 2015) * 10).astype(float)
    wide.to_csv(tmp_path / "passengers.csv", index=False)
    run = drive(analyst(tmp_path / "passengers.csv", tmp_path), sys.executable, tmp_path)

    facts = facts_of(run)
    assert facts["load"]["shape"]["melted"] == "month"
    assert facts["load"]["shape"]["split"] == ["Year", "month", "month"]
    assert facts["trend"]["period"] == "month"
    assert "top month 2020-12 with 183" in run.final
    assert "Mean Jan" not in run.final and "mean Feb" not in "\n".join(m.content for m in run.messages)


def test_a_long_sales_export_gets_a_trend_per_store(tmp_path: Path) -> None:
    n = 4000
    stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(RNG.integers(0, 366 * 86400, n)), unit="s")
    df = pd.DataFrame(
        {
            "order_id": [f"ORD-{i:06d}" for i in range(n)],
            "ts": stamps.strftime("%Y-%m-%d %H:%M:%S"),
            "store": RNG.choice([f"Store {i:02d}" for i in range(1, 9)], n),
            "amount": RNG.uniform(5, 500, n).round(2),
        }
    )
    df.to_csv(tmp_path / "export.csv", index=False)
    run = drive(analyst(tmp_path / "export.csv", tmp_path), sys.executable, tmp_path)

    assert facts_of(run)["load"]["shape"]["entity"] == "store"
    by_store = df.groupby("store")["amount"].sum().sort_values(ascending=False)
    top = by_store.index[0]
    own = df[df["store"] == top].groupby(df["ts"].str[:7])["amount"].sum()
    first = facts_of(run)["trend"]["entity"]["rows"][0]
    assert first["entity"] == top and first["from"] == pytest.approx(own[first["first"]])
    assert first["to"] == pytest.approx(own[first["last"]]) and first["last"] in ("2024-11", "2024-12")
    text = f"{top} {first['first']} {fmt(own[first['first']])} -> {first['last']} {fmt(own[first['last']])}"
    assert f"Total amount by month per store, first to last full month: {text}" in run.final
    assert "Total amount by month: top month" in run.final, "totals add up across stores: the pooled trend stays"
