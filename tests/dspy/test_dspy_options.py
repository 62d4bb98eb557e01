"""paretext.dspy.GEPA's constructor: what maps, what is refused (by name), and the LM adapter."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import dspy
import pytest
from conftest import lms
from dspy_world import TwoStep, examples, metric
from fake_server import FakeOpenAIServer, Fault

from paretext.dspy import GEPA, DspyLM, auto_budget
from paretext.errors import ConfigError, LMAuthError, LMRateLimitError
from paretext.lm import ChatRequest, Message


def make(**kwargs: Any) -> GEPA:
    options: dict[str, Any] = {"max_metric_calls": 100, "reflection_lm": object()}
    options.update(kwargs)
    return GEPA(metric=metric, **options)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("instruction_proposer", lambda **_: {}),
        ("code_proposer", lambda **_: {}),
        ("use_wandb", True),
        ("wandb_init_kwargs", {"project": "x"}),
        ("use_mlflow", True),
        ("gepa_kwargs", {"batch_sampler": "epoch_shuffled"}),
    ],
)
def test_an_unsupported_option_is_refused_by_name(option: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=option):
        make(**{option: value})


def test_bad_settings_are_refused_before_anything_runs() -> None:
    with pytest.raises(ConfigError, match="exactly one of auto, max_full_evals, max_metric_calls"):
        make(auto="light")
    with pytest.raises(ConfigError, match="five arguments"):
        GEPA(metric=lambda gold, pred: 1.0, auto="light", reflection_lm=object())
    with pytest.raises(ConfigError, match="candidate_selection_strategy"):
        make(candidate_selection_strategy="random")
    with pytest.raises(ConfigError, match="component_selector"):
        make(component_selector=object())
    with pytest.raises(ConfigError, match="track_stats"):
        make(track_best_outputs=True)
    with pytest.raises(ConfigError, match="reflection_lm"):
        make(reflection_lm=None)
    with pytest.raises(ConfigError, match="teacher"):
        make().compile(TwoStep(), trainset=examples(0, 2), teacher=TwoStep())
    with pytest.raises(ConfigError, match="trainset"):
        make().compile(TwoStep(), trainset=[])


@pytest.mark.parametrize("preset", ["light", "medium", "heavy"])
@pytest.mark.parametrize(("predictors", "n_val"), [(1, 10), (2, 24), (5, 300)])
def test_auto_budgets_are_dspy_gepas_own(preset: str, predictors: int, n_val: int) -> None:
    theirs = dspy.GEPA(metric=metric, auto=preset, reflection_lm=object())
    n = {"light": 6, "medium": 12, "heavy": 18}[preset]
    assert auto_budget(predictors, n, n_val) == theirs.auto_budget(predictors, n, n_val)


def test_a_missing_dspy_names_the_extra() -> None:
    code = "import sys; sys.modules['dspy'] = None\nimport paretext.dspy"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode != 0
    assert "pip install 'paretext[dspy]'" in done.stderr


async def test_the_reflection_dspy_lm_speaks_the_lm_protocol(
    servers: tuple[FakeOpenAIServer, FakeOpenAIServer],
) -> None:
    task, _ = servers
    lm = DspyLM(
        dspy.LM(
            "openai/reflector",
            api_base=task.base_url,
            api_key="k",
            cache=False,
            num_retries=0,
            temperature=0.7,
            max_tokens=99,
        )
    )
    request = ChatRequest(
        messages=(
            Message("system", "Be brief."),
            Message("user", "hi"),
            Message("assistant", "hello"),
            Message("user", "[[ ## question ## ]]\nq1"),
        ),
    )
    task.responder = lambda body: "fine thanks"
    response = await lm.chat(request)
    sent = task.requests[-1]
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
    assert sent["temperature"] == 0.7 and 99 in (
        sent.get("max_tokens"),
        sent.get("max_completion_tokens"),
    )
    assert response.text == "fine thanks" and response.model == "openai/reflector"
    assert response.usage.prompt_tokens == 10 and response.usage.completion_tokens == 2
    assert response.cost_usd == 0.0

    await lm.chat(ChatRequest(messages=request.messages, temperature=0.0))
    assert task.requests[-1]["temperature"] == 0.0
    task.inject(Fault("length"))
    assert (await lm.chat(ChatRequest(messages=request.messages, max_tokens=2))).truncated
    task.inject("unauthorized")
    with pytest.raises(LMAuthError):
        await lm.chat(request)
    task.inject(Fault("rate_limit", retry_after=3))
    with pytest.raises(LMRateLimitError):
        await lm.chat(request)


def test_num_threads_defaults_to_dspys_setting(
    servers: tuple[FakeOpenAIServer, FakeOpenAIServer],
) -> None:
    task, reflection = servers
    task_lm, reflection_lm = lms(task, reflection)
    optimizer = GEPA(
        metric=metric,
        max_metric_calls=40,
        reflection_lm=reflection_lm,
        track_stats=True,
        use_merge=False,
    )
    with dspy.context(lm=task_lm, num_threads=3):
        optimized = optimizer.compile(TwoStep(), trainset=examples(0, 4), valset=examples(4, 8))
    assert optimized.detailed_results.total_metric_calls <= 40
