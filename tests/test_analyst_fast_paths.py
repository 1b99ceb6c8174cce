"""The builtin's fast paths equal the plain ones: labels once per distinct value, source cut from lines split once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from autorun.analyst.report import date_labels, group_labels, label, same_groups


def row_by_row(values: pd.Series) -> list[str]:
    return [label(v) if v is not None and v == v else "(missing)" for v in values.astype(object)]


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["b", "a", None, "b", np.nan]),
        pd.Series([3, 1, 3, 2]),
        pd.Series([1.5, np.nan, 1.5]),
        pd.Series([1, "1", "x", None], dtype=object),  # 1 and "1" print alike: one group
        pd.Series(["(missing)", None, "a"]),  # a literal "(missing)" joins the gaps
        pd.Series([[1, 2], [1, 2], None], dtype=object),  # unhashable cells (JSON lists)
        pd.Series(["x", "y"], dtype="category"),
    ],
)
def test_group_labels_match_labelling_each_row(values: pd.Series) -> None:
    labels = group_labels(values)
    assert list(labels.astype(object)) == row_by_row(values)
    counts = labels.value_counts()
    assert counts.sum() == len(values) and (counts > 0).all()


def test_same_groups_compares_partitions() -> None:
    station = group_labels(pd.Series(["a", "b", "a", "c"]))
    station_id = group_labels(pd.Series([10, 20, 10, 30]))
    region = group_labels(pd.Series(["n", "n", "n", "s"]))
    assert same_groups(station, station_id)
    assert not same_groups(station, region)


@pytest.mark.parametrize("tz", [None, "Europe/Berlin"])
@pytest.mark.parametrize("pattern", ["%Y", "%Y-%m", "week of %Y-%m-%d", "%Y-%m-%d %H:00"])
def test_date_labels_equal_strftime_of_every_row(tz: str | None, pattern: str) -> None:
    rng = np.random.default_rng(3)
    dates = pd.Series(pd.Timestamp("2024-03-30") + pd.to_timedelta(rng.integers(0, 90 * 24, 500), unit="h"))
    dates = dates.dt.tz_localize("UTC").dt.tz_convert(tz) if tz else dates  # across a DST change
    dates[::7] = pd.NaT
    expected = [None if d is pd.NaT else d.strftime(pattern) for d in dates]
    got = [None if v != v or v is None else v for v in date_labels(dates, pattern).astype(object)]
    assert got == expected


@pytest.mark.parametrize("module", ["reading", "roles", "report"])
def test_carried_definitions_are_the_exact_source_segments(module: str) -> None:
    """The fast segment cut matches ast.get_source_segment, trailing comments and all."""
    import ast
    import importlib
    import inspect

    from autorun.analyst.inline import _segment

    source = inspect.getsource(importlib.import_module(f"autorun.analyst.{module}"))
    lines = source.encode("utf-8").splitlines(keepends=True)
    for node in ast.parse(source).body:
        assert _segment(lines, node) == ast.get_source_segment(source, node)
    one_liner = ast.parse("x = 'é'  # note\n").body[0]
    assert _segment("x = 'é'  # note\n".encode().splitlines(keepends=True), one_liner) == "x = 'é'"
