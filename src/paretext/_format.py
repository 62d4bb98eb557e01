"""How amounts read everywhere a person sees them: progress line, summaries, report, bench."""

from __future__ import annotations

__all__ = ["tokens", "usd"]


def usd(x: float | None, unknown: str = "unknown") -> str:
    """Dollars to four places (``None``: the price is unknown, which is not $0)."""
    return unknown if x is None else f"${x:,.4f}"


def tokens(n: float) -> str:
    """A token count, in thousands from 1,000 up."""
    return f"{n / 1000:.1f}k" if n >= 1000 else f"{n:.0f}"
