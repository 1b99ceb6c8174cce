"""Estimated cost of token usage, from a small table of list prices (USD per 1M tokens).

Prices change; the table is a convenience, overridden per model by `model.prices` in
the config, e.g. ``{"my-model": {"input": 0.5, "output": 1.5}}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from autorun.models.base import Usage


@dataclass(frozen=True)
class Price:
    input: float  # USD per 1M prompt tokens
    output: float  # USD per 1M completion tokens


DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "o1": Price(15.00, 60.00),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
}

_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def price_table(overrides: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Price]:
    """The default table with ``overrides`` ({model: {"input": x, "output": y}}) applied."""
    table = dict(DEFAULT_PRICES)
    for model, price in (overrides or {}).items():
        table[model] = Price(float(price["input"]), float(price["output"]))
    return table


def price_for(model: str, table: Mapping[str, Price]) -> Price | None:
    """Exact name first, then without a dated snapshot suffix (gpt-4o-2024-08-06 -> gpt-4o)."""
    for name in (model, _SNAPSHOT.sub("", model)):
        if name in table:
            return table[name]
    return None


def estimate_cost(
    model: str, usage: Usage | None, overrides: Mapping[str, Mapping[str, float]] | None = None
) -> float | None:
    """USD for ``usage`` on ``model``, or None when the usage or the model's price is unknown."""
    if usage is None:
        return None
    price = price_for(model, price_table(overrides))
    if price is None:
        return None
    return (usage.prompt_tokens * price.input + usage.completion_tokens * price.output) / 1_000_000
