"""Usage accounting: tokens, calls and cost per model, paid calls apart from cache hits."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from .._types import UsageTotals
from ._base import LM, ChatRequest, LMResponse

__all__ = ["MeteredLM", "UsageTracker"]


@dataclass(slots=True)
class _Tally:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    cache_hits: int = 0
    hedged: int = 0


class UsageTracker:
    """Sums usage per (role, model).  Cost stays ``None`` once any call's price is unknown.

    ``logical`` totals count every response the run consumed, hits included, so a
    resumed run's budget decisions replay exactly; ``paid`` totals count only
    calls that reached a provider in this process.
    """

    def __init__(self) -> None:
        self._logical: dict[tuple[str, str], _Tally] = {}
        self._paid: dict[tuple[str, str], _Tally] = {}
        self._warned_unknown_cost = False

    def record(self, role: str, response: LMResponse, *, warn: bool = True) -> None:
        tallies = [self._logical]
        if not response.cache_hit:
            tallies.append(self._paid)
        for table in tallies:
            tally = table.setdefault((role, response.model), _Tally())
            tally.calls += 1
            tally.prompt_tokens += response.usage.prompt_tokens
            tally.completion_tokens += response.usage.completion_tokens
            tally.cache_hits += int(response.cache_hit)
            if response.cost_usd is None or tally.cost_usd is None:
                tally.cost_usd = None
            else:
                tally.cost_usd += response.cost_usd
        if warn and response.cost_usd is None and not self._warned_unknown_cost:
            self._warned_unknown_cost = True
            warnings.warn(
                f"no price known for model {response.model!r}: its cost is reported as unknown",
                RuntimeWarning,
                stacklevel=2,
            )

    def hedged(self, role: str, model: str) -> None:
        """A call was sent a second time (see :class:`HedgedLM`): paid, its answer unused."""
        for table in (self._logical, self._paid):
            table.setdefault((role, model), _Tally()).hedged += 1

    def totals(self, *, paid: bool = False) -> tuple[UsageTotals, ...]:
        table = self._paid if paid else self._logical
        return tuple(
            UsageTotals(
                model=f"{role}:{model}",
                calls=t.calls,
                prompt_tokens=t.prompt_tokens,
                completion_tokens=t.completion_tokens,
                cost_usd=t.cost_usd,
                cache_hits=t.cache_hits,
                role=role,
                hedged=t.hedged,
            )
            for (role, model), t in sorted(table.items())
        )

    def total_tokens(self) -> int:
        return sum(t.prompt_tokens + t.completion_tokens for t in self._logical.values())

    def total_cost_usd(self) -> float | None:
        total = 0.0
        for t in self._logical.values():
            if t.cost_usd is None:
                return None
            total += t.cost_usd
        return total


class MeteredLM:
    """Records every response of ``inner`` in ``tracker`` under ``role``."""

    def __init__(self, inner: LM, tracker: UsageTracker, *, role: str) -> None:
        self.inner = inner
        self._tracker = tracker
        self._role = role

    @property
    def model(self) -> str:
        return self.inner.model

    async def chat(self, request: ChatRequest) -> LMResponse:
        response = await self.inner.chat(request)
        self._tracker.record(self._role, response)
        return response
