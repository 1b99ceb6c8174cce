"""Column roles on small generated frames, one per role and pitfall, with the aggregation each allows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from autorun.analyst.reading import convert_number_text
from autorun.analyst.roles import infer_roles, name_tokens, primary_measure

RNG = np.random.default_rng(7)
N = 60


def shuffled(values: np.ndarray) -> np.ndarray:
    return RNG.permutation(values)


CASES = [
    # (what, column name, values, expected role, expected aggregation)
    ("row counter", "instant", np.arange(1, N + 1), "identifier", "none"),
    ("unnamed counter", "n", np.arange(N), "identifier", "none"),
    ("saved index", "Unnamed: 0", shuffled(np.arange(N)), "identifier", "none"),
    ("id by name", "PassengerId", shuffled(np.arange(100, 100 + N)), "identifier", "none"),
    ("number by name", "Provider Number", shuffled(np.arange(10_000, 10_000 + N)), "identifier", "none"),
    ("string codes", "ticket", [f"A{i:05d}" for i in range(N)], "identifier", "none"),
    ("integer codes", "weathersit", RNG.integers(1, 4, N), "category", "count"),
    ("time-part code", "season", RNG.integers(1, 5, N), "category", "count"),
    ("month number", "mnth", RNG.integers(1, 13, N), "category", "count"),
    ("0/1 flag", "holiday", RNG.integers(0, 2, N), "flag", "share"),
    ("yes/no flag", "smoker", RNG.choice(["yes", "no"], N), "flag", "share"),
    ("boolean", "active", RNG.choice([True, False], N), "flag", "share"),
    ("year column", "Year", RNG.integers(2000, 2021, N), "date", "period"),
    ("date strings", "day", [f"2026-01-{i % 28 + 1:02d}" for i in range(N)], "date", "period"),
    ("latitude", "latitude", RNG.uniform(-60, 70, N), "coordinate", "none"),
    ("longitude", "lon", RNG.uniform(-170, 170, N), "coordinate", "none"),
    ("price", "price", RNG.uniform(5, 50, N).round(2), "measure", "mean"),
    ("stock open", "Open", RNG.uniform(100, 110, N), "measure", "mean"),
    ("age", "age", RNG.integers(18, 90, N), "measure", "mean"),
    ("rank", "Happiness Rank", shuffled(np.arange(1, N + 1)), "measure", "mean"),
    ("temperature", "temp_max", RNG.normal(15, 8, N), "measure", "mean"),
    ("amount", "amount", RNG.uniform(10, 500, N).round(2), "additive", "sum"),
    ("volume", "Volume", RNG.integers(1_000_000, 9_000_000, N), "additive", "sum"),
    ("count", "cnt", RNG.integers(0, 900, N), "additive", "sum"),
    ("precipitation", "precipitation", RNG.exponential(2, N).round(1), "additive", "sum"),
    ("skewed measure", "response_time", RNG.lognormal(0, 1.5, N), "measure", "median"),
    ("unnamed number", "carat", RNG.normal(1, 0.2, N), "measure", "mean"),
    ("few text values", "region", RNG.choice(["North", "South", "East"], N), "category", "count"),
    ("free text", "comment", [f"the customer said thing number {i} about it" for i in range(N)], "text", "none"),
    ("constant", "source", ["export"] * N, "constant", "none"),
    ("empty", "notes", [None] * N, "empty", "none"),
]


@pytest.mark.parametrize(("what", "column", "values", "role", "agg"), CASES, ids=[c[0] for c in CASES])
def test_role_and_aggregation(what: str, column: str, values: object, role: str, agg: str) -> None:
    found = infer_roles(pd.DataFrame({column: values}))[0]
    assert (found["role"], found["agg"]) == (role, agg), f"{what}: {found}"
    assert found["why"], "every role says why"


def test_percent_written_as_text_is_a_non_additive_measure() -> None:
    df = pd.DataFrame({"margin": [f"{v:.1f}%" for v in RNG.uniform(5, 30, N)]})
    units = convert_number_text(df)
    found = infer_roles(df, units)[0]
    assert units == {"margin": "percent"}
    assert (found["role"], found["agg"]) == ("measure", "mean") and "percent" in found["why"]


def test_money_written_as_text_becomes_an_additive_number() -> None:
    df = pd.DataFrame({"revenue": ["$12,500", "$(1,200)", "$3.50", None, "€7"]})
    assert convert_number_text(df) == {"revenue": "money"}
    assert df["revenue"].tolist()[:3] == [12500.0, -1200.0, 3.5] and df["revenue"].isna().sum() == 1
    assert infer_roles(df)[0]["role"] == "additive"


def test_plain_digits_are_left_alone() -> None:
    df = pd.DataFrame({"zip": ["02134", "10001", "94105"]})
    assert convert_number_text(df) == {}
    assert df["zip"].tolist() == ["02134", "10001", "94105"]


@pytest.mark.parametrize(
    ("columns", "primary"),
    [
        (["units", "revenue", "price"], "revenue"),  # revenue over units, whatever the order
        (["price", "units"], "units"),  # an additive measure over a non-additive one
        (["bill_length_mm", "body_mass_g"], "body_mass_g"),  # mass over lengths
        (["Open", "Close", "Volume"], "Volume"),
        (["x", "y"], "x"),
    ],
)
def test_primary_measure_by_role_and_name(columns: list[str], primary: str) -> None:
    df = pd.DataFrame({name: RNG.uniform(1, 100, N) for name in columns})
    assert primary_measure(infer_roles(df)) == primary


def test_name_tokens() -> None:
    assert name_tokens("PassengerId") == ["passenger", "id"]
    assert name_tokens("Adj Close") == ["adj", "close"]
    assert name_tokens("body_mass_g") == ["body", "mass", "g"]
