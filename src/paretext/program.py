"""Programs: what maps (candidate, example) to an output plus a trace.

Contract (for anything used as a program):

* it never mutates ``candidate`` or the example;
* it returns the output (JSON-serialisable values replay exactly on resume);
* it may record steps in the :class:`Trace` it is given, each tagged with the
  component whose text it used, so reflection sees what each component did;
* an exception fails that one example only: the engine records it as a failed
  rollout carrying the message, and reflection is shown the message.

Sync callables run in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ._callables import is_async, positional_arity
from ._types import TraceStep
from .errors import ConfigError, ProgramSignatureError
from .lm import LM, ChatRequest, Message

__all__ = [
    "ChatProgram",
    "ChatStep",
    "FunctionProgram",
    "Pipeline",
    "Program",
    "ProgramOutput",
    "Trace",
    "as_program",
]


class Trace:
    """A recorder handed to each program run; steps appear in the rollout's trace."""

    def __init__(self) -> None:
        self._steps: list[TraceStep] = []

    def step(self, component: str | None, inputs: Any, output: Any, name: str = "") -> None:
        self._steps.append(TraceStep(component=component, inputs=inputs, output=output, name=name))

    @property
    def steps(self) -> tuple[TraceStep, ...]:
        return tuple(self._steps)


@dataclass(frozen=True, slots=True)
class ProgramOutput:
    output: Any
    trace: tuple[TraceStep, ...] = ()


@runtime_checkable
class Program(Protocol):
    """The engine's view of a program.  Wrap plain callables with :func:`as_program`."""

    async def run(self, candidate: Mapping[str, str], example: Any) -> ProgramOutput: ...

    def uses_components(self) -> frozenset[str] | None:
        """Component names the program reads, or ``None`` when unknown."""
        ...


class FunctionProgram:
    """A program from a function ``f(candidate, example)`` or ``f(candidate, example, trace)``.

    Sync or async.  Without a trace argument, one untagged step (example in,
    output out) is recorded, so reflection still sees inputs and outputs.
    ``inputs`` names the example fields the function reads: that step then
    records only those, so a label the function never reads (the gold answer,
    an id) is never shown to the reflection LM.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        components: Sequence[str] | None = None,
        inputs: Sequence[str] | None = None,
    ) -> None:
        if not callable(fn):
            raise ProgramSignatureError(f"program must be callable, got {type(fn).__name__}")
        arity = positional_arity(fn)
        if arity is not None and arity not in (2, 3):
            raise ProgramSignatureError(
                f"program {getattr(fn, '__name__', fn)!r} takes {arity} positional arguments; "
                "expected (candidate, example) or (candidate, example, trace)"
            )
        self._fn = fn
        self._wants_trace = arity is None or arity == 3
        self._async = is_async(fn)
        self._components = frozenset(components) if components is not None else None
        self._inputs = None if inputs is None else tuple(inputs)

    @property
    def fn(self) -> Callable[..., Any]:
        """The user's callable (its source is part of the run's code identity)."""
        return self._fn

    def uses_components(self) -> frozenset[str] | None:
        return self._components

    async def run(self, candidate: Mapping[str, str], example: Any) -> ProgramOutput:
        trace = Trace()
        args: tuple[Any, ...] = (
            (candidate, example, trace) if self._wants_trace else (candidate, example)
        )
        if self._async:
            output = await self._fn(*args)
        else:
            output = await asyncio.to_thread(self._fn, *args)
        read = example
        if self._inputs is not None and isinstance(example, Mapping):
            read = {k: example[k] for k in self._inputs if k in example}
        steps = trace.steps or (TraceStep(component=None, inputs=read, output=output),)
        return ProgramOutput(output=output, trace=steps)


def _render(template: str | Callable[[Any], str], example: Any, context: Mapping[str, Any]) -> str:
    if callable(template):
        return template(example)
    fields: dict[str, Any] = dict(example) if isinstance(example, Mapping) else {"input": example}
    fields.update(context)
    try:
        return template.format(**fields)
    except KeyError as exc:
        raise ConfigError(
            f"template field {exc.args[0]!r} is not in the example (fields: {sorted(fields)})"
        ) from None


@dataclass(frozen=True, slots=True)
class ChatStep:
    """One LM call of a pipeline: system text from ``component``, user text from ``template``.

    The template may use the example's fields and the outputs of earlier steps
    by their ``name``.
    """

    component: str
    template: str | Callable[[Any], str] = "{input}"
    name: str = ""

    @property
    def key(self) -> str:
        return self.name or self.component


class Pipeline:
    """A multi-step program: each step is one LM call tagged with its component.

    ``lm`` is an LM or a model string (as for :func:`ChatProgram`).  The output
    is the last step's reply; every step lands in the trace.
    """

    def __init__(
        self,
        lm: LM | str,
        steps: Sequence[ChatStep] = (),
        temperature: float | None = None,
        max_tokens: int | None = None,
        response_format: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(lm, Sequence) and not isinstance(lm, str):
            raise ConfigError(
                "Pipeline takes the LM first: Pipeline('openai/<model>', [ChatStep(...), ...])"
            )
        if not steps:
            raise ConfigError("a pipeline needs at least one step")
        if isinstance(lm, str):
            from .lm import resolve_lm

            lm = resolve_lm(lm)
        if not isinstance(lm, LM):
            raise ConfigError(
                f"lm must be a model string or implement the LM protocol, got {type(lm).__name__}"
            )
        self.lm: LM = lm
        self.steps: tuple[ChatStep, ...] = tuple(steps)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.response_format = response_format
        self._components = frozenset(s.component for s in self.steps)

    def __repr__(self) -> str:
        return f"Pipeline({self.lm.model!r}, {list(self.steps)!r})"

    def uses_components(self) -> frozenset[str] | None:
        return self._components

    def with_lm(self, lm: LM) -> Pipeline:
        return Pipeline(lm, self.steps, self.temperature, self.max_tokens, self.response_format)

    async def run(self, candidate: Mapping[str, str], example: Any) -> ProgramOutput:
        trace = Trace()
        context: dict[str, Any] = {}
        reply = ""
        for i, step in enumerate(self.steps):
            user = _render(step.template, example, context)
            last = i == len(self.steps) - 1
            request = ChatRequest(
                messages=(Message("system", candidate[step.component]), Message("user", user)),
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                response_format=self.response_format if last else None,
            )
            response = await self.lm.chat(request)
            reply = response.text
            if response.truncated:
                reply_note = f"{reply}\n[truncated: the reply hit max_tokens]"
                trace.step(step.component, user, reply_note, name=step.key)
            else:
                trace.step(step.component, user, reply, name=step.key)
            context[step.key] = reply
        return ProgramOutput(output=reply, trace=trace.steps)


def ChatProgram(
    lm: LM | str,
    component: str = "system",
    template: str | Callable[[Any], str] = "{input}",
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
    response_format: Mapping[str, Any] | None = None,
) -> Pipeline:
    """One system-prompt component plus a user template: the most common program.

    ``lm`` is an LM or a model string (``"openai/gpt-4.1-mini"``, ``"local"``, ...).
    """
    return Pipeline(
        lm,
        [ChatStep(component=component, template=template)],
        temperature=temperature,
        max_tokens=max_tokens,
        response_format=response_format,
    )


def as_program(obj: object) -> Program:
    """Turn a user's program (a Program or a callable) into a Program."""
    if isinstance(obj, Program):
        return obj
    if callable(obj):
        return FunctionProgram(obj)
    raise ProgramSignatureError(
        f"program must be a callable or implement Program.run, got {type(obj).__name__}"
    )
