"""What the API accepts and returns (pydantic): every input is checked here, once.

Unknown fields are refused (``extra="forbid"``), so a typo is an error rather
than a silently ignored setting, and a provider API key can never be sent in.
"""

from __future__ import annotations

import string
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "AliasMove",
    "EventBatch",
    "EventIn",
    "PolicyIn",
    "ProgramIn",
    "SlotIn",
    "StepIn",
    "TenantIn",
    "VersionIn",
    "template_fields",
]

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
UserKey = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=65536)]
InputValue = str | int | float | bool | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def template_fields(template: str) -> set[str]:
    """The field names a ``str.format`` template reads."""
    fields: set[str] = set()
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None and name != "":
            fields.add(name.split(".")[0].split("[")[0])
    return fields


class StepIn(_Strict):
    component: Name
    template: Annotated[str, Field(max_length=20000)] = "{input}"
    name: Annotated[str, Field(max_length=100)] = ""

    @field_validator("template")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            template_fields(value)
        except ValueError as exc:
            raise ValueError(f"template is not a valid format string: {exc}") from None
        return value


class ProgramIn(_Strict):
    """The program that uses the slot's components: a model string and its steps."""

    model: Annotated[str, Field(min_length=1, max_length=200)]
    steps: Annotated[list[StepIn], Field(min_length=1, max_length=20)]
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    max_tokens: Annotated[int, Field(ge=1, le=100000)] | None = None


class PolicyIn(_Strict):
    """When rounds run, how big they are, what they may spend, and when they promote."""

    min_new_events: Annotated[int, Field(ge=1, le=100000)] = 20
    max_wait_s: Annotated[float, Field(gt=0)] | None = None
    min_events: Annotated[int, Field(ge=4, le=100000)] = 8
    max_events: Annotated[int, Field(ge=4, le=100000)] = 200
    holdout_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.25
    margin: Annotated[float, Field(ge=0, le=1)] = 0.02
    round_rollouts: Annotated[int, Field(ge=10, le=1000000)] = 200
    max_rollouts_per_day: Annotated[int, Field(ge=10)] | None = 2000
    max_usd_per_day: Annotated[float, Field(gt=0)] | None = None
    #: Keep a version per ``user`` of the events; a user's rounds start once they have
    #: ``user_min_events`` events (and again after as many new ones); until then, and for
    #: every other user, the shared version is served.
    personalize: bool = False
    user_min_events: Annotated[int, Field(ge=4, le=100000)] = 10
    reflection_lm: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    judge_lm: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _sizes(self) -> PolicyIn:
        if self.max_events < self.min_events:
            raise ValueError("max_events must be at least min_events")
        return self


class SlotIn(_Strict):
    name: Name
    components: Annotated[dict[Name, Text], Field(min_length=1, max_length=20)]
    program: ProgramIn
    policy: PolicyIn = PolicyIn()

    @model_validator(mode="after")
    def _components_cover_steps(self) -> SlotIn:
        missing = sorted({s.component for s in self.program.steps} - set(self.components))
        if missing:
            raise ValueError(f"the program's steps use components {missing} that are not defined")
        return self


class VersionIn(_Strict):
    components: Annotated[dict[Name, Text], Field(min_length=1, max_length=20)]
    user: UserKey | None = None
    alias: Name | None = None


class AliasMove(_Strict):
    version: Annotated[int, Field(ge=1)]
    user: UserKey | None = None


class EventIn(_Strict):
    """One piece of feedback on one output the app showed; at least one signal is required."""

    id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    input: Text | dict[Name, InputValue]
    output: Text
    version: Annotated[int, Field(ge=1)] | None = None
    user: UserKey | None = None
    feedback: Annotated[str, Field(min_length=1, max_length=65536)] | None = None
    score: Annotated[float, Field(ge=0, le=1)] | None = None
    thumbs: bool | None = None
    corrected: Text | None = None

    @field_validator("input")
    @classmethod
    def _reserved(cls, value: str | dict[str, InputValue]) -> str | dict[str, InputValue]:
        if isinstance(value, dict):
            taken = sorted({"id", "event"} & set(value))
            if taken:
                raise ValueError(f"input fields {taken} are reserved; rename them")
        return value

    @model_validator(mode="after")
    def _has_signal(self) -> EventIn:
        if all(getattr(self, f) is None for f in ("feedback", "score", "thumbs", "corrected")):
            raise ValueError(
                "an event needs a signal: at least one of feedback, score, thumbs or corrected"
            )
        return self

    def fields(self) -> dict[str, Any]:
        """The fields the slot's templates can read (a string input is ``{input}``)."""
        return dict(self.input) if isinstance(self.input, dict) else {"input": self.input}


class EventBatch(_Strict):
    events: Annotated[list[EventIn], Field(min_length=1, max_length=500)]


class TenantIn(_Strict):
    name: Name
