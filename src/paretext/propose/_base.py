"""The proposer seam: how a mutation's new texts are produced.

GEPA's reflective mutation is one implementation; baselines (OPRO-style,
resampling, few-shot bootstrapping) are others, all run by the same engine
with the same budget, gate and store.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from .._ids import content_hash
from .._types import Candidate, Rollout
from ..errors import ReflectionParseError
from ..lm import LM, ChatRequest, Message
from ._extract import extract_text, truncate_middle
from ._templates import RETRY

__all__ = ["MutationProposer", "MutationRequest", "ask_for_rewrite", "ask_for_text"]


@dataclass(frozen=True, slots=True)
class MutationRequest:
    """What a proposer may read: all of it committed before the proposal was planned."""

    iteration: int
    parent: Candidate
    components: tuple[str, ...]
    examples: Sequence[Any]
    rollouts: Sequence[Rollout]
    rejected: Mapping[str, tuple[str, ...]]
    history: tuple[Candidate, ...]
    #: Content hashes of every candidate evaluated before this proposal was planned.
    known_hashes: frozenset[str] = frozenset()
    #: Which of the proposal's parallel reflections this is (0 for the first or only one).
    draw: int = 0

    def already_evaluated(self, component: str, text: str) -> bool:
        """Whether the parent with ``component`` set to ``text`` was evaluated before.

        Such a text would be refused before its gate; a proposer that checks first
        can ask its LM again instead of wasting the proposal.  When a proposal
        changes several components the child is new unless all its texts are, which
        one text cannot tell, so this says ``False``.
        """
        if self.components != (component,):
            return False
        return content_hash({**self.parent.components, component: text}) in self.known_hashes


class MutationProposer(ABC):
    """Returns new texts for ``request.components``.

    Raise :class:`~paretext.errors.ReflectionParseError` for an unusable LM reply
    and let :class:`~paretext.errors.LMError` through: the engine records both.
    ``bind`` is called once with the reflection LM and the run's limiter.

    ``reads_rollouts`` says whether proposals read the parent's minibatch
    rollouts (GEPA's do).  A proposer that does not is never given them, and the
    parent is not run on a minibatch for it: its gate is drawn from validation,
    where the parent's scores are already known.  ``uses_lm`` says whether it calls
    the reflection LM; one that does not gets one minibatch per proposal, since
    combining the texts of parallel reflections takes an LM synthesis.
    """

    lm: LM
    limiter: asyncio.Semaphore
    reads_rollouts: bool = True
    uses_lm: bool = True

    def bind(self, lm: LM, limiter: asyncio.Semaphore) -> None:
        self.lm = lm
        self.limiter = limiter

    @abstractmethod
    async def propose(self, request: MutationRequest) -> dict[str, str]: ...


async def ask_for_text(
    lm: LM,
    limiter: asyncio.Semaphore,
    messages: Sequence[Message],
    parse: Callable[[str, bool], str],
    *,
    iteration: int,
    attempts: int,
    temperature: float | None,
    max_tokens: int | None = None,
    response_format: Mapping[str, Any] | None = None,
    retry_temperature: float | None = None,
    retry: str = RETRY,
    draw: int = 0,
) -> str:
    """Call ``lm`` until ``parse(reply, cut_off)`` accepts a reply, ``attempts`` times at most.

    Every LM-written text (mutation, merge, the baselines' rewrites) is asked for
    here.  A retry shows the model its refused reply and the reason, rather than
    asking the same question blind (a small model asked again often repeats
    itself), at ``retry_temperature`` when one is given; ``retry`` is that turn's text,
    with ``{problem}`` for the reason.  ``draw`` tells apart calls of one proposal that
    would otherwise send the same request (each is its own sample).  The last
    :class:`~paretext.errors.ReflectionParseError` is raised when every attempt fails.
    """
    last: ReflectionParseError | None = None
    for attempt in range(attempts):
        turn = list(messages)
        heat = temperature
        if last is not None:
            heat = temperature if retry_temperature is None else retry_temperature
            turn += [
                Message("assistant", truncate_middle(last.reply, 1500)),
                Message("user", retry.format(problem=last)),
            ]
        request = ChatRequest(
            messages=tuple(turn),
            temperature=heat,
            max_tokens=max_tokens,
            response_format=response_format,
            sample=iteration * 100_000 + draw * 1000 + attempt,
        )
        async with limiter:
            response = await lm.chat(request)
        try:
            return parse(response.text, response.truncated)
        except ReflectionParseError as exc:
            last = exc
    assert last is not None
    raise last


async def ask_for_rewrite(
    lm: LM,
    limiter: asyncio.Semaphore,
    request: MutationRequest,
    component: str,
    current: str,
    system: str,
    prompt: str,
    *,
    attempts: int,
    temperature: float | None,
    max_tokens: int | None = None,
    retry_temperature: float | None = None,
    retry: str = RETRY,
    draw: int = 0,
) -> str:
    """A new text for ``component`` of ``request``: :func:`ask_for_text` refusing a reply that
    repeats ``current`` or a text already evaluated."""

    def parse(reply: str, cut_off: bool) -> str:
        return extract_text(
            reply, current=current, cut_off=cut_off,
            known=partial(request.already_evaluated, component),
        )

    messages = (Message("system", system), Message("user", prompt))
    return await ask_for_text(
        lm, limiter, messages, parse, iteration=request.iteration, attempts=attempts,
        temperature=temperature, max_tokens=max_tokens, retry_temperature=retry_temperature,
        retry=retry, draw=draw,
    )
