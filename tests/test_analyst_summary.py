"""The summary from facts alone: its first line, at most eight bullets, and what it says when figures are missing."""

from __future__ import annotations

from autorun.analyst.summary import Outcome, summarise


def load(**extra: object) -> dict[str, object]:
    facts: dict[str, object] = {"rows": 10, "total_rows": 10, "columns": 3, "roles": [], "notes": {}}
    facts.update(duplicates=0, missing={}, constant=[], mostly_missing=[])
    facts.update(extra)
    return facts


def group(values: dict[str, float], title: str = "total amount") -> dict[str, object]:
    table = {k: {"rows": 1, "share %": 10.0, title: v} for k, v in values.items()}
    return {"table": table, "columns": [["amount", "sum", title]]}


def test_a_subset_is_said_in_the_first_line() -> None:
    facts = {"load": load(rows=200_000, total_rows=1_000_000, notes={"subset": 200_000})}
    text = summarise("big.csv", facts, "amount", Outcome())
    assert text.startswith("Summary of `big.csv` (first 200,000 of 1,000,000 rows, 3 columns; figures cover")


def test_at_most_eight_bullets_most_informative_first() -> None:
    groups = {f"g{i}": group({"a": 5.0, "b": 3.0}) for i in range(6)}
    measures = {
        "stats": {"amount": {"agg": "sum", "total": 8.0, "outliers": 2, "extreme": 99.0}},
        "correlations": [{"a": "amount", "b": "x", "r": 0.9, "n": 10}],
    }
    trend = {"periods": [["2026-01", 1.0]], "title": "total amount", "period": "month", "top": "2026-01"}
    trend["top_value"] = 1.0
    facts = {"load": load(notes={"bad_rows": 1}), "groups": groups, "measures": measures, "trend": trend}
    bullets = [line for line in summarise("f.csv", facts, "amount", Outcome()).splitlines() if line.startswith("- ")]
    assert len(bullets) == 8
    assert bullets[0] == "- Reading: 1 row could not be parsed (wrong number of fields) and left out."
    assert bullets[1] == "- Total amount by g0: a 5, b 3."
    assert bullets[4].startswith("- Total amount by month: top month 2026-01 with 1")


def test_long_groups_say_how_many_more() -> None:
    facts = {"load": load(), "groups": {"kind": group({k: 1.0 for k in "abcdef"})}}
    assert "- Total amount by kind: a 1, b 1, c 1, d 1 and 2 more.\n" in summarise("f.csv", facts, "amount", Outcome())


def test_figures_that_cannot_be_read_back_are_not_invented() -> None:
    text = summarise("f.csv", {}, None, Outcome(facts_missing="the load step's published figures"))
    assert "could not be read back from the load step's published figures" in text
    assert text.rstrip().endswith("TERMINATE")


def test_how_many_more_never_counts_the_missing_bucket() -> None:
    table = {"a": 6.0, "b": 5.0, "c": 4.0, "d": 3.0, "(missing)": 2.0, "e": 1.0, "f": 0.5}
    facts = {"load": load(), "groups": {"kind": group(table)}}
    text = summarise("f.csv", facts, "amount", Outcome())
    assert "- Total amount by kind: a 6, b 5, c 4, d 3 and 2 more.\n" in text
