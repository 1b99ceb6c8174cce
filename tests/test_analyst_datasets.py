"""End to end on generated public-style data sets: the builtin's figures against an independent pandas computation.

Each data set has its pitfalls (ids, codes, years, coordinates, prices); no identifier, code,
year, coordinate or non-additive measure may be summed anywhere in the output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autorun.analyst.report import fmt
from tests.test_builtin import PYTHONS, Run, analyst, drive, facts_of

RNG = np.random.default_rng(2026)


def penguins(path: Path) -> pd.DataFrame:
    n = 330
    species = RNG.choice(["Adelie", "Chinstrap", "Gentoo"], n, p=[0.45, 0.2, 0.35])
    base = pd.Series(species).map({"Adelie": 3700.0, "Chinstrap": 3730.0, "Gentoo": 5080.0}).to_numpy()
    df = pd.DataFrame(
        {
            "rowid": np.arange(1, n + 1),
            "species": species,
            "island": RNG.choice(["Biscoe", "Dream", "Torgersen"], n),
            "bill_length_mm": RNG.normal(44, 5, n).round(1),
            "bill_depth_mm": RNG.normal(17, 2, n).round(1),
            "flipper_length_mm": RNG.normal(200, 14, n).round(0),
            "body_mass_g": (base + RNG.normal(0, 400, n)).round(0),
            "sex": RNG.choice(["male", "female"], n),
            "year": RNG.choice([2007, 2008, 2009], n),
        }
    )
    df.loc[[3, 40, 271], "body_mass_g"] = np.nan
    df.to_csv(path, index=False)
    return df


def weather(path: Path) -> pd.DataFrame:
    days = pd.date_range("2024-01-01", periods=730, freq="D")
    frames = []
    for station, sid, lat, lon in (("Oslo", 1001, 59.91, 10.75), ("Bergen", 1002, 60.39, 5.32)):
        n = len(days)
        wet = RNG.random(n) < (0.6 if station == "Bergen" else 0.35)
        frames.append(
            pd.DataFrame(
                {
                    "date": days.strftime("%Y-%m-%d"),
                    "station": station,
                    "station_id": sid,
                    "latitude": lat,
                    "longitude": lon,
                    "temp_max": RNG.normal(10, 8, n).round(1),
                    "temp_min": RNG.normal(3, 7, n).round(1),
                    "precipitation": np.where(wet, RNG.exponential(6, n), 0).round(1),
                    "humidity": RNG.uniform(40, 100, n).round(0),
                    "wind_speed": RNG.gamma(2, 2, n).round(1),
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    df.to_csv(path, index=False)
    return df


def stocks(path: Path) -> pd.DataFrame:
    days = pd.bdate_range("2023-01-02", periods=500)
    frames = []
    for ticker, start in (("AAA", 120.0), ("BBB", 35.0), ("CCC", 410.0)):
        close = start * np.exp(np.cumsum(RNG.normal(0, 0.015, len(days))))
        frames.append(
            pd.DataFrame(
                {
                    "Date": days.strftime("%Y-%m-%d"),
                    "Ticker": ticker,
                    "Open": (close * (1 + RNG.normal(0, 0.004, len(days)))).round(2),
                    "High": (close * (1.01 + RNG.uniform(0, 0.01, len(days)))).round(2),
                    "Low": (close * (0.99 - RNG.uniform(0, 0.01, len(days)))).round(2),
                    "Close": close.round(2),
                    "Adj Close": (close * 0.98).round(2),
                    "Volume": RNG.integers(1_000_000, 20_000_000, len(days)),
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    df.to_csv(path, index=True)  # a saved index: "Unnamed: 0" when read back
    return df


def titanic(path: Path) -> pd.DataFrame:
    n = 400
    df = pd.DataFrame(
        {
            "PassengerId": np.arange(1, n + 1),
            "Survived": RNG.integers(0, 2, n),
            "Pclass": RNG.choice([1, 2, 3], n, p=[0.25, 0.2, 0.55]),
            "Name": [f"Passenger, Mr. Person Number {i}" for i in range(n)],
            "Sex": RNG.choice(["male", "female"], n),
            "Age": RNG.normal(30, 13, n).clip(1, 80).round(0),
            "SibSp": RNG.choice([0, 0, 0, 1, 1, 2, 3, 4], n),
            "Parch": RNG.choice([0, 0, 0, 1, 2], n),
            "Ticket": [f"T{100000 + i}" for i in RNG.permutation(n)],
            "Fare": RNG.lognormal(3, 1, n).round(2),
            "Embarked": RNG.choice(["S", "C", "Q"], n, p=[0.7, 0.2, 0.1]),
        }
    )
    df.loc[RNG.choice(n, 60, replace=False), "Age"] = np.nan
    df.to_csv(path, index=False)
    return df


def outputs(run: Run) -> str:
    return "\n".join(m.content for m in run.messages if m.role == "user")


def assert_never_summed(df: pd.DataFrame, run: Run, facts: dict, not_additive: list[str]) -> None:
    """Neither a table nor the summary holds a sum of these columns, nor labels one 'total'; the summary is
    at most eight bullets, each naming what it reports (its aggregation for every figure by group or period)."""
    bullets = [line for line in run.final.splitlines() if line.startswith("- ")]
    assert 3 <= len(bullets) <= 8, run.final
    starts = ("- Total ", "- Mean ", "- Median ", "- Rows ", "- Overall: ", "- Strongest correlations: ")
    starts += ("- Outliers beyond 1.5 IQR: ", "- Data quality: ", "- Reading: ")
    assert all(line.startswith(starts) for line in bullets), bullets
    seen = outputs(run) + "\n" + run.final
    roles = {r["column"]: r for r in facts["load"]["roles"]}
    for name in not_additive:
        assert roles[name]["role"] != "additive", roles[name]
        assert f"total {name}" not in seen
        assert "total" not in facts.get("measures", {}).get("stats", {}).get(name, {})
        values = pd.to_numeric(df[name], errors="coerce") if name in df.columns else None
        if values is not None and abs(values.sum()) >= 10_000:
            assert fmt(values.sum()) not in seen, f"the sum of {name} appears in the output"
    for found in facts.get("groups", {}).values():
        assert all(agg != "sum" for column, agg, _ in found["columns"] if column in not_additive)


@pytest.mark.parametrize("python", PYTHONS)
def test_penguins(tmp_path: Path, python: str) -> None:
    df = penguins(tmp_path / "penguins.csv")
    run = drive(analyst(tmp_path / "penguins.csv", tmp_path), python, tmp_path)
    facts = facts_of(run)

    by_species = df.groupby("species")["body_mass_g"].mean().sort_values(ascending=False)
    expected = ", ".join(f"{k} {fmt(v)}" for k, v in by_species.items())
    assert f"- Mean body_mass_g by species: {expected}.\n" in run.final
    by_year = df.groupby("year")["body_mass_g"].mean()
    assert f"Mean body_mass_g by year: top year {by_year.idxmax()} with {fmt(by_year.max())}" in run.final
    roles = {r["column"]: r["role"] for r in facts["load"]["roles"]}
    assert roles == {
        "rowid": "identifier",
        "species": "category",
        "island": "category",
        "bill_length_mm": "measure",
        "bill_depth_mm": "measure",
        "flipper_length_mm": "measure",
        "body_mass_g": "measure",
        "sex": "category",
        "year": "date",
    }
    assert "missing values in body_mass_g (3)" in run.final
    assert_never_summed(df, run, facts, ["rowid", "year", "bill_length_mm", "flipper_length_mm", "body_mass_g"])


@pytest.mark.parametrize("python", PYTHONS)
def test_weather(tmp_path: Path, python: str) -> None:
    df = weather(tmp_path / "weather.csv")
    run = drive(analyst(tmp_path / "weather.csv", tmp_path), python, tmp_path)
    facts = facts_of(run)

    by_station = df.groupby("station")["precipitation"].sum().sort_values(ascending=False)
    table = facts["groups"]["station"]["table"]
    assert {k: table[k]["total precipitation"] for k in by_station.index} == pytest.approx(by_station.to_dict())
    expected = ", ".join(f"{k} {fmt(table[k]['total precipitation'])}" for k in by_station.index)  # same sums,
    assert f"- Total precipitation by station: {expected}.\n" in run.final  # another float order: x.5 may round apart
    assert "by station_id" not in run.final and "station_id: the same groups as station" in outputs(run)
    by_month = df.groupby(df["date"].str[:7])["precipitation"].sum()
    assert f"Total precipitation by month: top month {by_month.idxmax()} with {fmt(by_month.max())}" in run.final
    roles = {r["column"]: r["role"] for r in facts["load"]["roles"]}
    assert roles["latitude"] == roles["longitude"] == "coordinate"
    assert roles["station_id"] == "category" and roles["precipitation"] == "additive"
    assert roles["temp_max"] == roles["humidity"] == "measure"
    assert_never_summed(df, run, facts, ["station_id", "latitude", "longitude", "temp_max", "humidity"])


@pytest.mark.parametrize("python", PYTHONS)
def test_stock_prices(tmp_path: Path, python: str) -> None:
    df = stocks(tmp_path / "prices.csv")
    run = drive(analyst(tmp_path / "prices.csv", tmp_path), python, tmp_path)
    facts = facts_of(run)

    by_ticker = df.groupby("Ticker")["Volume"].sum().sort_values(ascending=False)
    expected = ", ".join(f"{k} {fmt(v)}" for k, v in by_ticker.items())
    assert f"- Total Volume by Ticker: {expected}.\n" in run.final
    by_month = df.groupby(df["Date"].str[:7])["Volume"].sum()
    assert f"Total Volume by month: top month {by_month.idxmax()} with {fmt(by_month.max())}" in run.final
    roles = {r["column"]: r["role"] for r in facts["load"]["roles"]}
    assert roles["Unnamed: 0"] == "identifier" and roles["Date"] == "date"
    assert {roles[c] for c in ("Open", "High", "Low", "Close", "Adj Close")} == {"measure"}
    saved_index = pd.Series(np.arange(len(df)), name="Unnamed: 0")
    assert_never_summed(df.assign(**{"Unnamed: 0": saved_index}), run, facts, ["Unnamed: 0", "Open", "Close"])
    measures = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
    pairs = [(a, b, df[a].corr(df[b])) for i, a in enumerate(measures) for b in measures[i + 1 :]]
    a, b, r = max(pairs, key=lambda p: abs(p[2]))
    assert (a, b) == ("Close", "Adj Close")
    assert f"- Strongest correlations: {a} and {b} r = {r:.2f} (n = {len(df):,})" in run.final


@pytest.mark.parametrize("python", PYTHONS)
def test_titanic(tmp_path: Path, python: str) -> None:
    df = titanic(tmp_path / "train.csv")
    run = drive(analyst(tmp_path / "train.csv", tmp_path), python, tmp_path)
    facts = facts_of(run)

    roles = {r["column"]: (r["role"], r["agg"]) for r in facts["load"]["roles"]}
    assert roles["PassengerId"] == ("identifier", "none") and roles["Survived"] == ("flag", "share")
    assert roles["Pclass"] == ("category", "count") and roles["Fare"] == ("measure", "median")
    assert roles["Name"][0] == "text" and roles["Ticket"][0] == "identifier" and roles["Age"] == ("measure", "mean")
    by_class = df.groupby("Pclass")["Fare"].median().sort_values(ascending=False)
    expected = ", ".join(f"{k} {fmt(v)}" for k, v in by_class.items())
    assert f"- Median Fare by Pclass: {expected}.\n" in run.final
    assert_never_summed(df, run, facts, ["PassengerId", "Pclass", "Age", "Fare", "SibSp"])


@pytest.mark.parametrize("python", PYTHONS)
def test_a_partial_last_period_is_not_taken_for_a_full_one(tmp_path: Path, python: str) -> None:
    """Readings every 30 minutes from 1 January to 20 April: April is a partial month (2/3 of its rows)."""
    stamps = pd.date_range("2024-01-01", "2024-04-20 23:30", freq="30min")
    df = pd.DataFrame({"time": stamps.strftime("%Y-%m-%d %H:%M"), "amount": RNG.uniform(1, 3, len(stamps)).round(2)})
    df.to_csv(tmp_path / "meter.csv", index=False)
    run = drive(analyst(tmp_path / "meter.csv", tmp_path), python, tmp_path)
    by_month = df.groupby(df["time"].str[:7])["amount"].sum()
    first, last = by_month["2024-01"], by_month["2024-03"]
    assert f"From the first to the last full month: 2024-01 {fmt(first)} -> 2024-03 {fmt(last)}" in outputs(run)
    assert "-> 2024-04" not in outputs(run)
