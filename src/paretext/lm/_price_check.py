"""Whether an LM's cost is known before it is called, so a USD cap can be refused up front.

A USD cap over a model without a price would never trigger: the run would spend
its whole rollout budget while "cost unknown".  So the cap is checked against
every LM the run can see (the reflection LM, a pipeline's LM) before it starts.
"""

from __future__ import annotations

from ..errors import ConfigError
from ._base import LM
from ._local import LocalLM
from ._openai import OpenAIClientLM, is_loopback
from ._pricing import get_price
from ._scripted import ScriptedLM

__all__ = ["check_usd_cap"]


def _client(lm: LM) -> LM:
    inner = getattr(lm, "client", None)
    return inner if isinstance(inner, LM) else lm


def _priced(lm: LM) -> bool:
    client = _client(lm)
    if isinstance(client, LocalLM):
        return True
    if isinstance(client, OpenAIClientLM) and client.free:
        return True
    if isinstance(client, ScriptedLM):
        return client.cost_per_token is not None
    return get_price(client.model) is not None


def check_usd_cap(usd: float | None, lms: list[LM]) -> None:
    """Refuse a USD cap when some LM of the run has no known price."""
    if usd is None:
        return
    for lm in lms:
        if _priced(lm):
            continue
        client = _client(lm)
        local = isinstance(client, OpenAIClientLM) and is_loopback(client.base_url)
        hint = (
            " It runs on a local server: if it is free, say so with "
            f"register_price({client.model!r}, 0, 0)."
            if local
            else f" Set it with paretext.lm.register_price({client.model!r}, "
            "usd_in_per_1M, usd_out_per_1M)."
        )
        raise ConfigError(
            f"a USD cap of ${usd:g} needs the price of every model, and {client.model!r} has "
            f"none, so the cap could never stop the run.{hint}"
        )
