"""``compose_lm``: how a run sees an LM, for the task and the reflection alike."""

from __future__ import annotations

from ._base import LM
from ._cache import CachedLM, ResponseStore
from ._hedge import HedgedLM
from ._resolve import resolve_lm
from ._usage import MeteredLM, UsageTracker

__all__ = ["compose_lm"]


def compose_lm(
    lm: LM | str,
    store: ResponseStore,
    tracker: UsageTracker,
    *,
    role: str,
    cache: bool = True,
    hedge: bool = True,
) -> LM:
    """``lm`` resolved (a model string goes through :func:`resolve_lm`), its responses
    recorded in ``store`` (a recorded request is never paid twice; ``cache=False`` records
    nothing) and metered into ``tracker`` under ``role``.

    The meter sits outside the cache, so ``tracker`` counts every response the run
    consumed and tells paid calls from replays (``cache_hit``).  ``hedge`` puts a
    :class:`HedgedLM` under the cache: a greedy call that stalls is sent once more
    and the cache records the answer that won.
    """
    model = resolve_lm(lm) if isinstance(lm, str) else lm
    if hedge:
        name = model.model
        model = HedgedLM(model, on_hedge=lambda: tracker.hedged(role, name))
    return MeteredLM(CachedLM(model, store, role=role, enabled=cache), tracker, role=role)
