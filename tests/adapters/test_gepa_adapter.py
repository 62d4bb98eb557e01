"""gepa's own DefaultAdapter (and a small custom GEPAAdapter) on paretext's engine.

The task model is the rule world behind a real OpenAI-compatible server on
127.0.0.1, reached through gepa's own litellm client; reflection is paretext's.
"""

from __future__ import annotations

import gc
import re
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "lm"))

from fake_server import FakeOpenAIServer
from gepa import EvaluationBatch
from gepa.adapters.default_adapter.default_adapter import (
    DefaultAdapter,
    EvaluationResult,
)

from paretext import MergeConfig, ReflectionConfig
from paretext.adapters.gepa import optimize_with_adapter
from paretext.errors import ConfigError
from paretext.testing import rule_reflector

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

CATEGORIES = 4
SEED = {"system_prompt": "Answer the question."}


def task_model(body: dict[str, Any]) -> str:
    """Answers ``q<i>`` with ``a<i>`` only when the system prompt holds its category's rule."""
    system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
    i = int(user.strip().lstrip("q"))
    return f"a{i}" if f"RULE-{i % CATEGORIES}" in system else "I do not know."


def data(start: int, stop: int) -> list[dict[str, Any]]:
    return [
        {"input": f"q{i}", "additional_context": {}, "answer": f"a{i}"} for i in range(start, stop)
    ]


def rule_evaluator(inst: Mapping[str, Any], response: str) -> EvaluationResult:
    if inst["answer"] in response:
        return EvaluationResult(1.0, "Correct.")
    i = int(inst["input"].lstrip("q"))
    return EvaluationResult(0.0, f"Wrong. The instruction must include RULE-{i % CATEGORIES}.")


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(responder=task_model) as s:
        yield s
    # litellm keeps the OpenAI clients gepa's LM made (and their connections to this server)
    # in a process-wide cache: close them here, not in whichever later test collects them.
    import litellm
    import openai

    cache = litellm.in_memory_llm_clients_cache
    for client in list(cache.cache_dict.values()):
        if isinstance(client, openai.OpenAI):
            client.close()
    cache.flush_cache()
    with warnings.catch_warnings():  # and the per-call clients litellm did not cache
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def default_adapter(server: FakeOpenAIServer) -> DefaultAdapter:
    return DefaultAdapter(
        model="openai/task-model",
        evaluator=rule_evaluator,
        litellm_batch_completion_kwargs={"api_base": server.base_url, "api_key": "k"},
    )


@pytest.mark.slow
def test_gepas_default_adapter_runs_on_paretext_with_an_exact_budget(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    def run() -> Any:
        return optimize_with_adapter(
            default_adapter(server),
            SEED,
            data(0, 12),
            data(12, 24),
            reflection_lm=rule_reflector(1),
            budget=150,
            run=tmp_path / "run",
        )

    result = run()
    assert result.rollouts_limit == 150
    assert result.rollouts_used <= 150
    # One task-model call per rollout, none repeated: the budget counts what was paid.
    assert server.total_requests == result.rollouts_used
    assert result.best.score > result.candidates[0].score == 0.0
    assert re.findall(r"RULE-\d", result.best.components["system_prompt"])
    assert not result.failures
    seed_rollout = next(iter(result.best_outputs.values()))
    assert "full_assistant_response" in seed_rollout["output"]

    # Running again with the same run store resumes: nothing is paid twice.
    paid = server.total_requests
    again = run()
    assert server.total_requests == paid
    assert again.best.components == result.best.components


class CountingAdapter:
    """A small custom GEPAAdapter: two components, no LM, its own record shape."""

    def __init__(self) -> None:
        self.evaluated = 0

    def evaluate(
        self, batch: list[dict[str, Any]], candidate: dict[str, str], capture_traces: bool = False
    ) -> EvaluationBatch[Any, Any]:
        self.evaluated += len(batch)
        text = candidate["style"] + " " + candidate["rules"]
        scores = [1.0 if f"RULE-{b['category']}" in text else 0.0 for b in batch]
        outputs = [{"answer": "right" if s else "wrong"} for s in scores]
        trajectories = [{"example": b, "score": s} for b, s in zip(batch, scores, strict=True)]
        return EvaluationBatch(outputs=outputs, scores=scores, trajectories=trajectories)

    def make_reflective_dataset(
        self,
        candidate: dict[str, str],
        eval_batch: EvaluationBatch[Any, Any],
        components_to_update: list[str],
    ) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for component in components_to_update:
            if component != "rules":
                continue  # only one component has something to learn
            out[component] = [
                {
                    "Inputs": {"category": t["example"]["category"]},
                    "Feedback": "Correct."
                    if t["score"]
                    else f"Wrong. The instruction must include RULE-{t['example']['category']}.",
                }
                for t in eval_batch.trajectories or []
            ]
        return out

    propose_new_texts = None


def run_two_components(adapter: CountingAdapter, **kwargs: Any) -> Any:
    """Three categories, 9 train and 9 val examples, 120 rollouts."""
    world = [{"category": i % 3} for i in range(18)]
    seed = {"style": "Be brief.", "rules": "Solve it."}
    return optimize_with_adapter(
        adapter, seed, world[:9], world[9:], reflection_lm=rule_reflector(1), budget=120, **kwargs
    )


def test_a_custom_adapter_with_two_components() -> None:
    adapter = CountingAdapter()
    result = run_two_components(adapter)
    assert adapter.evaluated == result.rollouts_used <= 120
    assert result.best.score == 1.0
    assert result.best.components["style"] == "Be brief."
    # No record for "style": its proposals fail cleanly and are reported, never crash the run.
    assert any("style" in str(f) for f in result.failures)


def test_bad_adapters_and_options_are_refused() -> None:
    with pytest.raises(ConfigError, match="evaluate"):
        optimize_with_adapter(
            object(), SEED, data(0, 3), reflection_lm=rule_reflector(1), budget=50
        )
    with pytest.raises(ConfigError, match="propose_new_texts"):
        optimize_with_adapter(
            CountingAdapter(),
            SEED,
            data(0, 3),
            reflection_lm=rule_reflector(1),
            budget=50,
            proposer="adapter",
        )


class ProposingAdapter(CountingAdapter):
    """An adapter with its own ``propose_new_texts`` (gepa's custom proposer seam)."""

    def __init__(self) -> None:
        super().__init__()
        self.datasets: list[Mapping[str, Sequence[Mapping[str, Any]]]] = []

    def propose_new_texts(  # type: ignore[override]
        self,
        candidate: dict[str, str],
        reflective_dataset: Mapping[str, Any],
        components_to_update: list[str],
    ) -> dict[str, str]:
        self.datasets.append(reflective_dataset)
        wanted = sorted(
            {
                m
                for r in reflective_dataset.get("rules", [])
                for m in re.findall(r"RULE-\d", r["Feedback"])
            }
            - set(re.findall(r"RULE-\d", candidate["rules"]))
        )
        return {
            c: candidate[c] + (f" {wanted[0]}" if c == "rules" and wanted else " ok")
            for c in components_to_update
        }


def test_proposer_adapter_uses_the_adapters_own_propose_new_texts() -> None:
    adapter = ProposingAdapter()
    result = run_two_components(
        adapter,
        proposer="adapter",
        reflection=ReflectionConfig(components="all"),
        merge=MergeConfig(enabled=False),
    )
    assert adapter.datasets and all(set(d) == {"rules", "style"} for d in adapter.datasets)
    assert all(d["style"] == [] for d in adapter.datasets)
    assert result.best.score == 1.0 and adapter.evaluated == result.rollouts_used <= 120
