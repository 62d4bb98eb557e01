"""Every baseline runs on the shared engine, within its rollout budget, seeing only what it may."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

import paretext as pt
from paretext.baselines import (
    BASELINES,
    DEMOS_HEADER,
    BootstrapFewShotProposer,
    get_baseline,
    opro_prompt,
    split_demos,
)
from paretext.errors import ConfigError
from paretext.lm import ChatRequest
from paretext.testing import RuleWorld, rule_reflector

SEED = {"system": "Solve it."}
_RULE = re.compile(r"RULE-(\d+)")


class RecordingLM:
    """Answers every kind of prompt the optimizers send and keeps each request.

    Reflection and merge prompts go to :func:`rule_reflector`; OPRO and best-of-N
    prompts (which carry no feedback) get the rules already shown plus one more,
    picked by the request's sample index.
    """

    def __init__(self, categories: int = 6) -> None:
        self.requests: list[ChatRequest] = []
        self.categories = categories
        self._reflector = rule_reflector(1)

    def respond(self, request: ChatRequest) -> Any:
        self.requests.append(request)
        prompt = request.messages[1].content  # the task prompt, also on a retry
        if "Feedback:" in prompt or "Version A" in prompt:
            return None
        shown = {int(m) for m in _RULE.findall(prompt)}
        extra = (request.sample // 1000 + request.sample % 1000) % self.categories
        rules = sorted(shown | {extra})
        return "```\nSolve it. " + " ".join(f"RULE-{r}" for r in rules) + "\n```"

    def lm(self) -> pt.ScriptedLM:
        async def answer(request: ChatRequest) -> Any:
            mine = self.respond(request)
            if mine is None:
                return await self._reflector.chat(request)
            return mine

        return pt.ScriptedLM(answer, model="scripted-recording")

    @property
    def prompts(self) -> list[str]:
        return [r.messages[1].content for r in self.requests]


def run(world: RuleWorld, name: str, lm: pt.LM, budget: int = 120, **kw: Any) -> pt.Result:
    data = world.examples()
    kwargs = get_baseline(name).optimize_kwargs(seed=1)
    return pt.optimize(
        SEED, world.program, world.metric, data[:15], data[15:],
        reflection_lm=lm, budget=budget, **kwargs, **kw,
    )


@pytest.mark.parametrize("name", list(BASELINES))
def test_every_baseline_runs_within_its_rollout_budget(world: RuleWorld, name: str) -> None:
    recorder = RecordingLM()
    result = run(world, name, recorder.lm(), budget=120)
    assert result.rollouts_limit == 120
    assert result.rollouts_used <= 120
    assert result.proposals, "the loop proposed nothing"
    assert result.candidates[0].origin == "seed"
    if name != "bootstrap_fewshot":
        assert result.best.score > result.candidates[0].score
    merges = [p for p in result.proposals if p.kind == "merge"]
    if not BASELINES[name].merge:
        assert not merges


@pytest.mark.parametrize("budget", [60, 77, 101])
def test_budget_is_exact_for_the_lm_free_baseline_too(budget: int) -> None:
    world = GroupWorld()
    data = world.examples()
    kwargs = get_baseline("bootstrap_fewshot").optimize_kwargs()
    result = pt.optimize(
        {"system": "Solve it. RULE-0"}, world.program, world.metric, data[:15], data[15:],
        reflection_lm=pt.ScriptedLM(lambda r: "unused"), budget=budget, **kwargs,
    )
    assert result.rollouts_used <= budget


def test_opro_prompts_show_scores_and_never_feedback(world: RuleWorld) -> None:
    recorder = RecordingLM()
    result = run(world, "opro", recorder.lm(), budget=200)
    assert recorder.prompts
    for prompt in recorder.prompts:
        assert "Score:" in prompt
        assert "Feedback" not in prompt and "Wrong." not in prompt and "must include" not in prompt
        assert "q1" not in prompt  # no example inputs or outputs either
    accepted = [p for p in result.proposals if p.accepted]
    assert accepted, "OPRO never improved the rule world"
    # Later prompts list earlier accepted instructions with their validation scores.
    last = recorder.prompts[-1]
    assert last.count("Instruction:") >= 2
    best_shown = round(100 * result.candidates[-2].score) if len(result.candidates) > 1 else 0
    assert f"Score: {best_shown}" in last or len(result.candidates) == 1
    assert all(r.temperature == 1.0 for r in recorder.requests)
    assert len({r.sample for r in recorder.requests}) == len(recorder.requests)


def test_opro_prompt_orders_by_score_best_last() -> None:
    def cand(i: int, text: str, scores: Mapping[str, float]) -> pt.Candidate:
        return pt.Candidate(
            id=pt.CandidateId(f"c{i}"), components={"system": text}, parents=(), origin="seed",
            iteration=None, changed=(), val_scores={pt.ExampleId(k): v for k, v in scores.items()},
        )

    history = (
        cand(0, "low prompt", {"a": 0.0, "b": 0.5}),
        cand(1, "top prompt", {"a": 1.0, "b": 1.0}),
        cand(2, "mid prompt", {"a": 0.5, "b": 1.0}),
    )
    prompt = opro_prompt(history, "system", rejected=("tried and failed",))
    texts = ("tried and failed", "low prompt", "mid prompt", "top prompt")
    order = [prompt.index(t) for t in texts]
    assert order == sorted(order)
    assert "Score: 25" in prompt and "Score: 75" in prompt and "Score: 100" in prompt
    assert len(opro_prompt(history, "system", max_shown=1).split("Instruction:")) == 2


def test_best_of_n_rewrites_the_seed_without_feedback(world: RuleWorld) -> None:
    recorder = RecordingLM()
    run(world, "best_of_n", recorder.lm(), budget=150)
    assert recorder.prompts
    for request, prompt in zip(recorder.requests, recorder.prompts, strict=True):
        assert "```\nSolve it.\n```" in prompt  # always the seed's text, never a child's
        assert "Feedback" not in prompt and "Score" not in prompt
        assert request.temperature == 1.0


class GroupWorld(RuleWorld):
    """Categories come in pairs: a demonstration of either one teaches both."""

    def examples(self, prefix: str = "ex") -> list[dict[str, Any]]:
        return [{**e, "group": e["category"] // 2} for e in super().examples(prefix)]

    def program(self, candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        text = candidate[self.component]
        if f"RULE-{example['category']}" in text or f'"group": {example["group"]}' in text:
            return "right"
        return "wrong"


def test_bootstrap_fewshot_adds_successful_demonstrations_without_an_lm() -> None:
    world = GroupWorld()
    data = world.examples()
    lm = pt.ScriptedLM(lambda r: "never called")
    kwargs = get_baseline("bootstrap_fewshot").optimize_kwargs(seed=2)
    result = pt.optimize(
        {"system": "Solve it. RULE-0 RULE-2 RULE-4"}, world.program, world.metric,
        data[:15], data[15:], reflection_lm=lm, budget=200, **kwargs,
    )
    assert lm.calls == 0
    assert result.rollouts_used <= 200
    assert result.best.score > result.candidates[0].score
    instruction, demos = split_demos(result.best.components["system"])
    assert instruction == "Solve it. RULE-0 RULE-2 RULE-4"
    assert 1 <= len(demos) <= 4
    assert all(d.startswith("### Example") and "Answer: right" in d for d in demos)


async def test_bootstrap_without_a_success_is_an_unusable_proposal(world: RuleWorld) -> None:
    from paretext.errors import ReflectionParseError
    from paretext.propose import MutationRequest

    data = world.examples()[:2]
    rollouts = [
        pt.Rollout("h", pt.ExampleId(e["id"]), "wrong", (), 0.0, "Wrong.") for e in data
    ]
    parent = pt.Candidate(pt.CandidateId("c0"), {"system": "x"}, (), "seed", None, (), {})
    request = MutationRequest(0, parent, ("system",), data, rollouts, {}, (parent,))
    with pytest.raises(ReflectionParseError):
        await BootstrapFewShotProposer().propose(request)


def test_split_demos_round_trips() -> None:
    demo_a, demo_b = "### Example\nInput: a\nAnswer: b", "### Example\nInput: c\nAnswer: d"
    text = f"Do it.\n\n{DEMOS_HEADER}\n{demo_a}\n\n{demo_b}"
    instruction, demos = split_demos(text)
    assert instruction == "Do it."
    assert demos == ["### Example\nInput: a\nAnswer: b", "### Example\nInput: c\nAnswer: d"]
    assert split_demos("plain") == ("plain", [])


def test_configurations_and_lookup() -> None:
    greedy = get_baseline("greedy_reflective").optimize_kwargs(seed=4, concurrency=2)
    assert greedy["engine"].selector == "best" and greedy["engine"].seed == 4
    assert greedy["engine"].concurrency == 2
    assert greedy["merge"].enabled is False and greedy["proposer"] is None
    gepa = get_baseline("gepa").optimize_kwargs()
    assert gepa["engine"].selector == "pareto" and gepa["merge"].enabled
    assert get_baseline("gepa_best").optimize_kwargs()["engine"].selector == "best"
    assert get_baseline("gepa_no_merge").optimize_kwargs()["merge"].enabled is False
    opro = get_baseline("opro").optimize_kwargs(reflection=pt.ReflectionConfig(max_tokens=77))
    assert opro["proposer"].max_tokens == 77 and not opro["proposer"].reads_rollouts
    with pytest.raises(ConfigError, match="unknown optimizer"):
        get_baseline("nope")
