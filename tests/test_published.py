"""Published lines leave a block's output however its output arrives in pieces."""

from __future__ import annotations

import random

from autorun.published import PublishedFilter, published_line, split_published


def test_the_filter_takes_out_published_lines_split_anywhere_and_keeps_the_rest() -> None:
    text = (
        "Loaded 10 rows\n"
        + published_line({"step": "load", "data": {"rows": 10}})
        + "a line with \x1e inside, not at its start\n"
        + "\x1eautorun-fact is not the marker\n"
        + published_line({"step": "trend", "data": {"top": "2026-03"}})
        + "the end, without a newline"
    )
    expected_text, expected_values = split_published(text)
    assert [v["step"] for v in expected_values] == ["load", "trend"]
    assert "autorun-facts" not in expected_text and "not the marker" in expected_text
    rng = random.Random(7)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, 12)))
        pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        found = PublishedFilter()
        shown = "".join(found.feed(piece) for piece in pieces) + found.finish()
        assert (shown, found.values) == (expected_text, expected_values)


def test_a_flood_without_markers_passes_through_whole() -> None:
    found = PublishedFilter()
    chunk = "x" * 99 + "\n"
    assert all(found.feed(chunk * 600) == chunk * 600 for _ in range(2000))
    assert found.feed(published_line({"step": "load", "data": {}})) == "" and found.values == [
        {"step": "load", "data": {}}
    ]
