"""Prices in USD per million tokens, so a run can report and cap what it spends.

A model without a known price costs ``None``, never a silent 0.  Users add or
correct prices with :func:`register_price`; lookups ignore the provider prefix
and dated snapshot suffixes (``gpt-4.1-mini-2025-04-14`` → ``gpt-4.1-mini``).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from ._base import Usage

__all__ = ["Price", "cost_usd", "get_price", "register_price"]


@dataclass(frozen=True, slots=True)
class Price:
    """USD per one million input (prompt) and output (completion) tokens."""

    input_per_million: float
    output_per_million: float

    def cost(self, usage: Usage) -> float:
        return (
            usage.prompt_tokens * self.input_per_million
            + usage.completion_tokens * self.output_per_million
        ) / 1_000_000


# List prices as published by the providers (standard tier, no batch or cache discounts).
_DEFAULT_PRICES: dict[str, Price] = {
    "gpt-5": Price(1.25, 10.0),
    "gpt-5-mini": Price(0.25, 2.0),
    "gpt-5-nano": Price(0.05, 0.40),
    "gpt-4.1": Price(2.0, 8.0),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.0),
    "gpt-4o-mini": Price(0.15, 0.60),
    "o3": Price(2.0, 8.0),
    "o4-mini": Price(1.10, 4.40),
    "o3-mini": Price(1.10, 4.40),
    "claude-opus-4-1": Price(15.0, 75.0),
    "claude-sonnet-4-5": Price(3.0, 15.0),
    "claude-sonnet-4": Price(3.0, 15.0),
    "claude-3-7-sonnet": Price(3.0, 15.0),
    "claude-haiku-4-5": Price(1.0, 5.0),
    "claude-3-5-haiku": Price(0.80, 4.0),
    "gemini-2.5-pro": Price(1.25, 10.0),
    "gemini-2.5-flash": Price(0.30, 2.50),
    "gemini-2.5-flash-lite": Price(0.10, 0.40),
    "gemini-2.0-flash": Price(0.10, 0.40),
}

_prices: dict[str, Price] = dict(_DEFAULT_PRICES)
_lock = threading.Lock()
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


def _normalize(model: str) -> str:
    return model.strip().lower()


def register_price(model: str, input_per_million: float, output_per_million: float) -> None:
    """Set the price of ``model`` (with or without its provider prefix) in USD per 1M tokens."""
    if input_per_million < 0 or output_per_million < 0:
        from ..errors import ConfigError

        raise ConfigError(
            f"prices must not be negative, got {input_per_million}, {output_per_million}"
        )
    with _lock:
        _prices[_normalize(model)] = Price(float(input_per_million), float(output_per_million))


def get_price(model: str) -> Price | None:
    """The price of ``model``: exact name first, then without prefix, then without snapshot date."""
    name = _normalize(model)
    candidates = [name]
    if "/" in name:
        candidates.append(name.split("/", 1)[1])
    candidates += [_SNAPSHOT.sub("", c) for c in list(candidates)]
    with _lock:
        for candidate in candidates:
            price = _prices.get(candidate)
            if price is not None:
                return price
    return None


def cost_usd(model: str, usage: Usage) -> float | None:
    """What ``usage`` of ``model`` cost, or ``None`` when the price is unknown."""
    price = get_price(model)
    return None if price is None else price.cost(usage)
